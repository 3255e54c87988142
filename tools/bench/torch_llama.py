#!/usr/bin/python3
"""PyTorch reference runner for the MLNetLora training-step benchmark.

A long-lived process that a C# benchmark drives over stdin/stdout: it loads a
Llama checkpoint (Hugging Face names, safetensors) plus a PEFT LoRA adapter,
then answers one JSON command per stdin line with one JSON line on stdout.
Everything else (logs, warnings) goes to stderr.

    /usr/bin/python3 tools/bench/torch_llama.py --config CFG.json \
        --weights W.safetensors --adapter A.safetensors|none --ids IDS.bin \
        --threads N [--lr 1e-4] [--attention grouped|sdpa113] [--seed 0]

Commands: step, forward, matmul, generate, rss, quit (see README of the bench
or the handlers below). Any failure is answered with {"error": "..."}.

Use Debian's /usr/bin/python3 (torch 1.13 + numpy); no safetensors package is
needed, the reader below is self-contained.
"""

import argparse
import ctypes
import json
import math
import os
import resource
import struct
import sys
import time
import traceback

import numpy as np
import torch
import torch.nn.functional as F

# Keep the protocol channel clean: anything printed by accident goes to stderr.
_PROTO = sys.stdout
sys.stdout = sys.stderr


def log(*a):
    print("[torch_llama]", *a, file=sys.stderr, flush=True)


def reply(obj):
    _PROTO.write(json.dumps(obj) + "\n")
    _PROTO.flush()


# --------------------------------------------------------------------------
# safetensors reader
# --------------------------------------------------------------------------

_NP_DTYPES = {
    "F64": np.float64, "F32": np.float32, "F16": np.float16,
    "I64": np.int64, "I32": np.int32, "I16": np.int16, "I8": np.int8,
    "U8": np.uint8, "BOOL": np.bool_,
}


def read_safetensors(path):
    """Returns {name: torch.Tensor}; floating tensors are converted to float32."""
    out = {}
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        header = json.loads(fh.read(n).decode("utf-8"))
    base = 8 + n
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dt = info["dtype"]
        shape = list(info["shape"])
        begin, end = info["data_offsets"]
        nbytes = end - begin
        if dt == "BF16":
            raw = np.fromfile(path, dtype="<u2", count=nbytes // 2, offset=base + begin)
            arr = (raw.astype(np.uint32) << 16).view(np.float32)
        elif dt in _NP_DTYPES:
            npdt = np.dtype(_NP_DTYPES[dt]).newbyteorder("<")
            arr = np.fromfile(path, dtype=npdt, count=nbytes // npdt.itemsize,
                              offset=base + begin)
            if arr.dtype.byteorder not in ("=", "|") and sys.byteorder != "little":
                arr = arr.byteswap().newbyteorder()
            arr = arr.astype(arr.dtype.newbyteorder("="), copy=False)
            if dt in ("F64", "F16"):
                arr = arr.astype(np.float32)
        else:
            raise ValueError("unsupported safetensors dtype %s for %s" % (dt, name))
        t = torch.from_numpy(np.ascontiguousarray(arr)).reshape(shape).clone()
        out[name] = t
    return out


# --------------------------------------------------------------------------
# environment reporting
# --------------------------------------------------------------------------

def loaded_blas_libs():
    libs = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) < 6:
                    continue
                p = parts[-1]
                b = os.path.basename(p).lower()
                if any(s in b for s in ("blas", "lapack", "mkl", "blis", "gomp", "iomp")):
                    if p not in libs:
                        libs.append(p)
    except OSError:
        pass
    return libs


def openblas_info(libs, threads):
    """Finds the loaded OpenBLAS (if any), sets/report its threads and build."""
    for p in libs:
        if "blas" not in os.path.basename(p).lower():
            continue
        try:
            lib = ctypes.CDLL(p)
            lib.openblas_get_config.restype = ctypes.c_char_p
        except (OSError, AttributeError):
            continue
        try:
            lib.openblas_set_num_threads(int(threads))
            cfg = lib.openblas_get_config().decode(errors="replace")
            par = {0: "sequential", 1: "pthread", 2: "openmp"}.get(
                lib.openblas_get_parallel(), "?")
            nt = lib.openblas_get_num_threads()
            return "%s [parallel=%s, threads=%d]" % (cfg.strip(), par, nt)
        except AttributeError:
            continue
    return None


# --------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------

PROJS = [("self_attn", "q_proj"), ("self_attn", "k_proj"), ("self_attn", "v_proj"),
         ("self_attn", "o_proj"), ("mlp", "gate_proj"), ("mlp", "up_proj"),
         ("mlp", "down_proj")]


def rms_norm(x, w, eps):
    # transformers' LlamaRMSNorm: float32 variance, weight * normalized
    xf = x.to(torch.float32)
    var = xf.pow(2).mean(-1, keepdim=True)
    return w * (xf * torch.rsqrt(var + eps)).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Llama:
    def __init__(self, cfg, weights, adapter, attention="grouped", seed=0):
        self.cfg = cfg
        self.H = int(cfg["hidden_size"])
        self.I = int(cfg["intermediate_size"])
        self.L = int(cfg["num_hidden_layers"])
        self.NH = int(cfg["num_attention_heads"])
        self.KV = int(cfg.get("num_key_value_heads") or self.NH)
        self.D = int(cfg.get("head_dim") or self.H // self.NH)
        self.V = int(cfg["vocab_size"])
        self.eps = float(cfg.get("rms_norm_eps", 1e-6))
        theta = cfg.get("rope_theta")
        if theta is None:
            theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 10000.0)
        self.theta = float(theta)
        self.tied = bool(cfg.get("tie_word_embeddings", False))
        self.attention = attention
        if self.NH % self.KV:
            raise ValueError("num_attention_heads must be a multiple of num_key_value_heads")
        self.G = self.NH // self.KV

        def w(name):
            if name not in weights:
                raise KeyError("missing weight %s" % name)
            t = weights[name].to(torch.float32).contiguous()
            t.requires_grad_(False)
            return t

        self.embed = w("model.embed_tokens.weight")
        if self.tied or "lm_head.weight" not in weights:
            if not self.tied:
                log("lm_head.weight absent: using the embedding matrix (tied)")
            self.lm_head = self.embed
        else:
            self.lm_head = w("lm_head.weight")
        self.norm = w("model.norm.weight")
        self.layers = []
        for l in range(self.L):
            p = "model.layers.%d." % l
            layer = {"in_norm": w(p + "input_layernorm.weight"),
                     "post_norm": w(p + "post_attention_layernorm.weight")}
            for mod, proj in PROJS:
                layer[proj] = w(p + "%s.%s.weight" % (mod, proj))
            self.layers.append(layer)

        # LoRA
        r_cfg = int(cfg.get("lora_rank") or 8)
        alpha = float(cfg.get("lora_alpha") or 2 * r_cfg)
        self.scale = alpha / r_cfg
        self.rank = r_cfg
        gen = torch.Generator().manual_seed(seed)
        self.lora_params = []
        missing = 0
        for l, layer in enumerate(self.layers):
            for mod, proj in PROJS:
                key = "base_model.model.model.layers.%d.%s.%s" % (l, mod, proj)
                W = layer[proj]
                out_f, in_f = W.shape
                if adapter is not None and key + ".lora_A.weight" in adapter:
                    A = adapter[key + ".lora_A.weight"].to(torch.float32).contiguous()
                    B = adapter[key + ".lora_B.weight"].to(torch.float32).contiguous()
                    if A.shape[1] != in_f or B.shape[0] != out_f or A.shape[0] != B.shape[1]:
                        raise ValueError("adapter shape mismatch at %s: A %s B %s W %s"
                                         % (key, tuple(A.shape), tuple(B.shape), tuple(W.shape)))
                    if A.shape[0] != r_cfg:
                        log("warning: %s rank %d != lora_rank %d (scale stays alpha/lora_rank)"
                            % (key, A.shape[0], r_cfg))
                else:
                    # PEFT default init: kaiming-uniform(a=sqrt 5) A, zero B
                    # -> plain base forward, but A and B still get gradient.
                    missing += 1
                    bound = 1.0 / math.sqrt(in_f)
                    A = (torch.rand(r_cfg, in_f, generator=gen) * 2 - 1) * bound
                    B = torch.zeros(out_f, r_cfg)
                A.requires_grad_(True)
                B.requires_grad_(True)
                layer[proj + ".A"] = A
                layer[proj + ".B"] = B
                self.lora_params += [A, B]
        if missing:
            log("%d LoRA pairs not in adapter: PEFT default init (A random, B = 0)" % missing)
        self._rope = {}
        self._mask = {}

    # ---- helpers ----
    def rope(self, n):
        if n not in self._rope:
            D = self.D
            inv_freq = 1.0 / (self.theta ** (torch.arange(0, D, 2, dtype=torch.int64)
                                             .to(torch.float32) / D))
            pos = torch.arange(n, dtype=torch.float32)
            freqs = pos[:, None] * inv_freq[None, :]
            emb = torch.cat((freqs, freqs), dim=-1)
            self._rope = {n: (emb.cos(), emb.sin())}
        return self._rope[n]

    def mask(self, t, total):
        """Additive causal mask for t queries at positions total-t..total-1."""
        key = (t, total)
        if key not in self._mask:
            q = torch.arange(total - t, total)[:, None]
            k = torch.arange(total)[None, :]
            m = torch.zeros(t, total)
            m.masked_fill_(k > q, float("-inf"))
            self._mask[key] = m
        return self._mask[key]

    def lin(self, x, layer, proj):
        y = F.linear(x, layer[proj])
        A = layer[proj + ".A"]
        return y + F.linear(F.linear(x, A), layer[proj + ".B"]) * self.scale

    def attend(self, q, k, v, mask):
        """q (B,NH,t,D); k, v (B,KV,S,D); mask (t,S) additive or None."""
        Bsz, _, t, D = q.shape
        S = k.shape[2]
        if self.attention == "sdpa113":
            if self.G > 1:
                k = k.repeat_interleave(self.G, dim=1)
                v = v.repeat_interleave(self.G, dim=1)
            out, _ = F._scaled_dot_product_attention(q, k, v, attn_mask=mask)
            return out
        # grouped: q heads h = kv*G + g, viewed as (B, KV, G*t, D) -> no K/V repeat
        qg = q.reshape(Bsz, self.KV, self.G * t, D)
        scores = torch.matmul(qg, k.transpose(-1, -2)) * (1.0 / math.sqrt(D))
        if mask is not None:
            scores = (scores.view(Bsz, self.KV, self.G, t, S) + mask).view(
                Bsz, self.KV, self.G * t, S)
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v)  # (B, KV, G*t, D)
        return out.view(Bsz, self.NH, t, D)

    # ---- forward ----
    def hidden(self, ids, cache=None, pos0=0):
        """Final-norm hidden states (B, t, H). cache: list of [k_buf, v_buf] per layer."""
        Bsz, t = ids.shape
        total = pos0 + t
        x = F.embedding(ids, self.embed)
        cos, sin = self.rope(total if cache is None else cache[0][0].shape[2])
        cos, sin = cos[pos0:total], sin[pos0:total]
        mask = self.mask(t, total) if t > 1 else None
        for l, layer in enumerate(self.layers):
            h = rms_norm(x, layer["in_norm"], self.eps)
            h2 = h.reshape(Bsz * t, self.H)
            q = self.lin(h2, layer, "q_proj").view(Bsz, t, self.NH, self.D).transpose(1, 2)
            k = self.lin(h2, layer, "k_proj").view(Bsz, t, self.KV, self.D).transpose(1, 2)
            v = self.lin(h2, layer, "v_proj").view(Bsz, t, self.KV, self.D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                kb, vb = cache[l]
                kb[:, :, pos0:total] = k
                vb[:, :, pos0:total] = v
                k, v = kb[:, :, :total], vb[:, :, :total]
            a = self.attend(q, k, v, mask)
            a = a.transpose(1, 2).reshape(Bsz * t, self.NH * self.D)
            x = x + self.lin(a, layer, "o_proj").view(Bsz, t, self.H)
            h = rms_norm(x, layer["post_norm"], self.eps).reshape(Bsz * t, self.H)
            m = F.silu(self.lin(h, layer, "gate_proj")) * self.lin(h, layer, "up_proj")
            x = x + self.lin(m, layer, "down_proj").view(Bsz, t, self.H)
        return rms_norm(x, self.norm, self.eps)

    def logits(self, h):
        return F.linear(h, self.lm_head)

    def loss(self, h, ids):
        # LM head on all positions (as transformers does), then shift.
        logits = self.logits(h)
        V = logits.shape[-1]
        return F.cross_entropy(logits[:, :-1].reshape(-1, V), ids[:, 1:].reshape(-1))


# --------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------

class Runner:
    def __init__(self, model, ids, lr):
        self.m = model
        self.ids = ids
        kw = dict(lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
        try:
            self.opt = torch.optim.AdamW(model.lora_params, foreach=True, **kw)
            self.foreach = True
        except TypeError:
            self.opt = torch.optim.AdamW(model.lora_params, **kw)
            self.foreach = False

    def step(self, _cmd):
        pc = time.perf_counter
        t0 = pc()
        self.opt.zero_grad(set_to_none=True)
        t1 = pc()
        h = self.m.hidden(self.ids)
        t2 = pc()
        loss = self.m.loss(h, self.ids)
        t3 = pc()
        loss.backward()
        t4 = pc()
        self.opt.step()
        t5 = pc()
        lv = float(loss.item())
        return {"forward": t2 - t1, "loss": t3 - t2, "backward": t4 - t3,
                "optimizer": t5 - t4, "zero_grad": t1 - t0, "total": t5 - t0,
                "loss_value": lv}

    def forward(self, _cmd):
        t0 = time.perf_counter()
        with torch.no_grad():
            logits = self.m.logits(self.m.hidden(self.ids))
        dt = time.perf_counter() - t0
        return {"seconds": dt, "shape": list(logits.shape)}

    def score(self, cmd):
        """Sequence classification as ML.NET's Transform does it: the score head on each row's last position."""
        labels, reps = int(cmd.get("labels", 2)), max(1, int(cmd.get("reps", 5)))
        g = torch.Generator().manual_seed(0)
        head = torch.randn(labels, self.m.H, generator=g) * 0.02
        times = []
        with torch.no_grad():
            for i in range(reps + 1):  # the first call warms up
                t0 = time.perf_counter()
                scores = self.m.hidden(self.ids)[:, -1, :] @ head.t()
                if i > 0:
                    times.append(time.perf_counter() - t0)
        times.sort()
        dt = times[len(times) // 2]
        return {"seconds": dt, "rows_per_s": self.ids.shape[0] / dt, "shape": list(scores.shape)}

    def matmul(self, cmd):
        M, K, N = int(cmd["m"]), int(cmd["k"]), int(cmd["n"])
        R = max(1, int(cmd.get("reps", 10)))
        with torch.no_grad():
            x = torch.randn(M, K)
            w = torch.randn(N, K)
            y = x @ w.t()  # warm-up
            t0 = time.perf_counter()
            for _ in range(R):
                y = x @ w.t()
            dt = (time.perf_counter() - t0) / R
        del y
        return {"seconds": dt, "gflops": 2.0 * M * K * N / dt / 1e9}

    def generate(self, cmd):
        b = int(cmd.get("batch", self.ids.shape[0]))
        p = int(cmd.get("prompt", self.ids.shape[1]))
        n = int(cmd.get("new", 16))
        if b < 1 or p < 1 or n < 0:
            raise ValueError("batch and prompt must be >= 1, new >= 0")
        B0, T0 = self.ids.shape
        rows = torch.arange(b) % B0
        cols = torch.arange(p) % T0  # tile along time too if prompt > seq
        prompt = self.ids[rows][:, cols].contiguous()
        return self._generate(prompt, n)

    def _generate(self, prompt, n):
        m = self.m
        b, p = prompt.shape
        S = p + n
        with torch.no_grad():
            cache = [[torch.zeros(b, m.KV, S, m.D), torch.zeros(b, m.KV, S, m.D)]
                     for _ in range(m.L)]
            t0 = time.perf_counter()
            h = m.hidden(prompt, cache=cache, pos0=0)
            tok = m.logits(h[:, -1]).argmax(-1)
            t1 = time.perf_counter()
            out = [tok]
            for i in range(n):
                h = m.hidden(tok[:, None], cache=cache, pos0=p + i)
                tok = m.logits(h[:, -1]).argmax(-1)
                out.append(tok)
            t2 = time.perf_counter()
        dec = t2 - t1
        gen = torch.stack(out, dim=1)
        return {"seconds": t2 - t0, "prefill": t1 - t0, "decode": dec,
                "tokens_per_s": (b * n / dec) if dec > 0 else None,
                "new_tokens": n + 1, "ids0": gen[0].tolist()}

    def rss(self, _cmd):
        return {"peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", required=True)
    ap.add_argument("--weights", required=True)
    ap.add_argument("--adapter", default="none", help="PEFT adapter safetensors or 'none'")
    ap.add_argument("--ids", required=True, help="raw little-endian int64, batch*seq")
    ap.add_argument("--threads", type=int, default=0, help="0 = torch default")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--attention", choices=["grouped", "sdpa113"], default="grouped")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.config) as fh:
        cfg = json.load(fh)
    weights = read_safetensors(a.weights)
    adapter = None
    if a.adapter and a.adapter.lower() != "none":
        adapter = read_safetensors(a.adapter)
    model = Llama(cfg, weights, adapter, attention=a.attention, seed=a.seed)
    del weights, adapter

    Bsz, T = int(cfg["batch"]), int(cfg["seq"])
    raw = np.fromfile(a.ids, dtype="<i8")
    if raw.size != Bsz * T:
        raise ValueError("ids file holds %d values, expected batch*seq = %d" % (raw.size, Bsz * T))
    ids = torch.from_numpy(raw.astype(np.int64)).reshape(Bsz, T).clone()
    if int(ids.min()) < 0 or int(ids.max()) >= model.V:
        raise ValueError("token id out of range [0, %d)" % model.V)

    runner = Runner(model, ids, a.lr)
    libs = loaded_blas_libs()
    threads = torch.get_num_threads()
    ob = openblas_info(libs, threads)
    blas = "; ".join(([ob] if ob else []) + libs) or "unknown"
    par = "; ".join(l.strip() for l in torch.__config__.parallel_info().splitlines()[:4]
                    if l.strip())
    attn = ("grouped GQA: matmul(q as [B,KV,G*T,D], k^T) * 1/sqrt(D) + additive causal mask, "
            "float32 softmax, matmul v; no K/V repeat (torch %s has no public "
            "scaled_dot_product_attention)" % torch.__version__
            if a.attention == "grouped" else
            "torch.nn.functional._scaled_dot_product_attention (1.13 private math path), "
            "K/V repeat_interleave")
    log("loaded: layers=%d hidden=%d heads=%d/%d head_dim=%d vocab=%d batch=%d seq=%d "
        "lora r=%d scale=%g params=%d foreach=%s"
        % (model.L, model.H, model.NH, model.KV, model.D, model.V, Bsz, T, model.rank,
           model.scale, sum(p.numel() for p in model.lora_params), runner.foreach))
    reply({"ready": True, "torch": torch.__version__, "threads": threads, "blas": blas,
           "parallel": par, "attention": attn})

    handlers = {"step": runner.step, "forward": runner.forward, "matmul": runner.matmul,
                "generate": runner.generate, "rss": runner.rss, "score": runner.score}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            name = cmd.get("cmd") if isinstance(cmd, dict) else None
            if name == "quit":
                reply({"ok": True})
                return 0
            if name not in handlers:
                raise ValueError("unknown command %r" % (name,))
            reply(handlers[name](cmd))
        except Exception as e:  # keep serving
            log(traceback.format_exc())
            reply({"error": "%s: %s" % (type(e).__name__, e)})
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except SystemExit:
        raise
    except Exception as e:
        log(traceback.format_exc())
        reply({"error": "%s: %s" % (type(e).__name__, e), "ready": False})
        sys.exit(1)

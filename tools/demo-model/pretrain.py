# Pretrains the demo's tiny Llama on Moby-Dick, so `mlnetlora demo` fine-tunes a model that has learned
# some English instead of random weights. Outside the build; run with Debian's python3-torch (1.13):
#   dotnet src/MLNetLora.Cli/bin/Release/net10.0/mlnetlora.dll tokenize tools/demo-model/tokenizer \
#       --input tools/demo-model/moby-lines.txt --no-special > /tmp/moby-ids.jsonl
#   /usr/bin/python3 tools/demo-model/pretrain.py /tmp/moby-ids.jsonl src/MLNetLora.Cli/Resources/demo-model.safetensors
# (make_inputs.sh does both steps.) The architecture is Hugging Face's LlamaForCausalLM for the config
# DemoModel.Config writes: RMSNorm (eps 1e-5), rotate-half RoPE (theta 10000), grouped-query attention,
# SiLU MLP, untied LM head; names and shapes are transformers'.
import json, math, struct, sys, time
import torch
import torch.nn.functional as F

torch.manual_seed(20240611)
torch.set_num_threads(2)
C, I, L, H, KV, V, T = 128, 344, 2, 4, 2, 2048, 128
D = C // H
newline = json.load(open("src/MLNetLora.Cli/Resources/tokenizer.json"))["model"]["vocab"]["\u010a"]  # "Ċ"
ids = []
for line in open(sys.argv[1]):
    ids.extend(json.loads(line)["ids"] + [newline])  # paragraphs, a newline after each
data = torch.tensor(ids, dtype=torch.long)
print(f"{len(ids)} tokens", flush=True)

def p(*shape, std=0.02):
    return torch.nn.Parameter(torch.randn(*shape) * std)

W = {"model.embed_tokens.weight": p(V, C), "model.norm.weight": torch.nn.Parameter(torch.ones(C)), "lm_head.weight": p(V, C)}
for l in range(L):
    q = f"model.layers.{l}."
    W[q + "input_layernorm.weight"] = torch.nn.Parameter(torch.ones(C))
    W[q + "post_attention_layernorm.weight"] = torch.nn.Parameter(torch.ones(C))
    W[q + "self_attn.q_proj.weight"] = p(H * D, C)
    W[q + "self_attn.k_proj.weight"] = p(KV * D, C)
    W[q + "self_attn.v_proj.weight"] = p(KV * D, C)
    W[q + "self_attn.o_proj.weight"] = p(C, H * D)
    W[q + "mlp.gate_proj.weight"] = p(I, C)
    W[q + "mlp.up_proj.weight"] = p(I, C)
    W[q + "mlp.down_proj.weight"] = p(C, I)

inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
freqs = torch.outer(torch.arange(T).float(), inv)
cos, sin = torch.cat([freqs, freqs], -1).cos(), torch.cat([freqs, freqs], -1).sin()  # (T, D)

def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))

def rot(x):
    a, b = x.chunk(2, -1)
    return torch.cat([-b, a], -1)

def forward(x):  # (B, T) -> (B, T, V)
    b, t = x.shape
    h = W["model.embed_tokens.weight"][x]
    mask = torch.full((t, t), float("-inf")).triu(1)
    for l in range(L):
        q = f"model.layers.{l}."
        a = rms(h, W[q + "input_layernorm.weight"])
        qs = (a @ W[q + "self_attn.q_proj.weight"].T).view(b, t, H, D).transpose(1, 2)
        ks = (a @ W[q + "self_attn.k_proj.weight"].T).view(b, t, KV, D).transpose(1, 2)
        vs = (a @ W[q + "self_attn.v_proj.weight"].T).view(b, t, KV, D).transpose(1, 2)
        qs = qs * cos[:t] + rot(qs) * sin[:t]
        ks = ks * cos[:t] + rot(ks) * sin[:t]
        ks, vs = ks.repeat_interleave(H // KV, 1), vs.repeat_interleave(H // KV, 1)
        att = (qs @ ks.transpose(-1, -2)) / math.sqrt(D) + mask
        o = (att.softmax(-1) @ vs).transpose(1, 2).reshape(b, t, C)
        h = h + o @ W[q + "self_attn.o_proj.weight"].T
        m = rms(h, W[q + "post_attention_layernorm.weight"])
        g = F.silu(m @ W[q + "mlp.gate_proj.weight"].T) * (m @ W[q + "mlp.up_proj.weight"].T)
        h = h + g @ W[q + "mlp.down_proj.weight"].T
    return rms(h, W["model.norm.weight"]) @ W["lm_head.weight"].T

held = data[-20 * T:]
train = data[:-20 * T]
steps, B = int(sys.argv[3]) if len(sys.argv) > 3 else 3000, 16
opt = torch.optim.AdamW(W.values(), lr=3e-3, weight_decay=0.01, betas=(0.9, 0.95))
start = time.time()
for s in range(steps):
    lr = 3e-3 * min(1, (s + 1) / 100) * 0.5 * (1 + math.cos(math.pi * s / steps))
    for grp in opt.param_groups: grp["lr"] = lr
    ix = torch.randint(0, len(train) - T - 1, (B,))
    x = torch.stack([train[i:i + T] for i in ix]); y = torch.stack([train[i + 1:i + T + 1] for i in ix])
    loss = F.cross_entropy(forward(x).reshape(-1, V), y.reshape(-1))
    opt.zero_grad(); loss.backward(); torch.nn.utils.clip_grad_norm_(W.values(), 1.0); opt.step()
    if s % 250 == 0 or s == steps - 1:
        with torch.no_grad():
            hx = held.view(-1, T)
            hl = F.cross_entropy(forward(hx[:, :-1]).reshape(-1, V), hx[:, 1:].reshape(-1)).item()
        print(f"step {s} loss {loss.item():.3f} held-out {hl:.3f} lr {lr:.2e} {time.time() - start:.0f}s", flush=True)

def save(path, tensors):
    # safetensors: 8-byte little-endian header size, JSON header, raw little-endian data.
    header, blobs, off = {"__metadata__": {"format": "pt"}}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": "I64" if t.dtype == torch.long else "F32", "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h))); f.write(h)
        for raw in blobs: f.write(raw)
    print("wrote", path)

save(sys.argv[2], {k: v.float() for k, v in W.items()})
# The logits of one held-out block, for checking that the .NET engine computes the same function.
with torch.no_grad():
    x = held[:24].view(1, 24)
    save(sys.argv[2].replace(".safetensors", "-check.safetensors"), {"input_ids": x, "logits": forward(x)})

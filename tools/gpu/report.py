"""The race's table: our LoRA step (race.json, written by MLNetLora.DeviceRunner race) next to peft_reference.py's
runs (peft.jsonl) on the same machine, with the ratios the GPU issue asks for.
    python3 tools/gpu/report.py OUT > OUT/performance.md
"""
import json, pathlib, sys

out = pathlib.Path(sys.argv[1])
race = json.loads((out / "race.json").read_text())
ours = {r["shape"]: r for r in race["results"]}
peft = [json.loads(l) for l in (out / "peft.jsonl").read_text().splitlines() if l.strip().startswith("{")]
eager = {r["shape"]: r for r in peft if not r.get("compiled") and not r.get("grad_ckpt")}
compiled = {r["shape"]: r for r in peft if r.get("compiled")}

def cell(r, key, fmt="{:,.0f}"):
    return fmt.format(r[key]) if r and r.get(key) is not None else "–"

def ratio(a, b, key):
    return f"{a[key] / b[key]:.2f}" if a and b and b.get(key) else "–"

gpu = race.get("gpu") or next((r.get("gpu") for r in peft), None) or "unknown"
torch = next((r.get("torch") for r in peft), "unknown")
print(f"GPU: {gpu}; libtorch {next(iter(ours.values()))['libtorch'] if ours else '?'} (MLNetLora), torch {torch} (PEFT)\n")
print("| shape | MLNetLora tok/s | peak GiB | TFLOP/s (MFU) | PEFT eager tok/s | peak GiB | PEFT compiled tok/s | peak GiB | vs eager | vs compiled | memory vs eager |")
print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for shape, r in ours.items():
    e, c = eager.get(shape), compiled.get(shape)
    mfu = f"{r['tflops']:.1f}" + (f" ({r['mfu']:.0%})" if r.get("mfu") is not None else "")
    print(f"| {shape} (batch {r['batch']} x {r['seq']}) | {cell(r, 'tokens_per_s')} | {cell(r, 'peak_mem_gib', '{:.1f}')} | {mfu} | "
          f"{cell(e, 'tokens_per_s')} | {cell(e, 'peak_mem_gib', '{:.1f}')} | {cell(c, 'tokens_per_s')} | {cell(c, 'peak_mem_gib', '{:.1f}')} | "
          f"{ratio(r, e, 'tokens_per_s')} | {ratio(r, c, 'tokens_per_s')} | {ratio(r, e, 'peak_mem_gib')} |")
flops = {s: r["flops_per_token"] / 1e9 for s, r in ours.items()}
print("\nFLOPs per token (MLNetLora.Models.Transformer.FlopCount): " + ", ".join(f"{s} {v:.2f} GFLOP" for s, v in flops.items()) +
      ". Our peak memory is nvidia-smi's figure for the process (allocator reserve and CUDA context included); PEFT's is"
      " torch.cuda.max_memory_allocated, so the memory ratio overstates ours.")

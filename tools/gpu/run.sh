#!/usr/bin/env bash
# The GPU issue's commands, prepared to spend the lent machine's minutes on measuring, not on setting up.
#
# Here (a CPU machine with the SDK), from the repository root, once per change:
#   ../shared/gpu/pack.sh .gpu tests/MLNetLora.DeviceRunner      # 49 MB: runtime, the runner, the fixtures
#   DRY_RUN=1 bash tools/gpu/run.sh all /tmp/gpu-dry               # the whole script on the CPU, tiny shapes (~1 min)
# There (device call with carry [".gpu"]), one or two commands within the 600 s a call may take:
#   bash tools/gpu/run.sh check "$OUT"    # CUDA correctness: op/attention tests, HF logits and PEFT replay in fp32 and bf16,
#                                         # bf16 training curve, greedy equal to the CPU; then our side of the race (~4 min)
#   bash tools/gpu/run.sh peft "$OUT"     # peft_reference.py eager and torch.compile on both shapes, and the report (~5 min)
# Results: $OUT/env.txt, correctness.log, race.json, race.log, peft.jsonl, performance.md (the table for
# docs/performance.md; commit it with the JSON under docs/benchmarks/).
set -uo pipefail
step=${1:?usage: run.sh check|peft|all OUT}
out=${2:-${OUT:-gpu-results}}
mkdir -p "$out"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
runner="dotnet .gpu/app/MLNetLora.DeviceRunner/MLNetLora.DeviceRunner.dll"
export MLNETLORA_FIXTURES="$PWD/.gpu/fixtures"

if [ "${DRY_RUN:-0}" = 1 ]; then
  # The CPU libtorch of the NuGet package stands in for PyTorch's CUDA one; only the CPU cases exist then.
  export MLNETLORA_LIBTORCH=${MLNETLORA_LIBTORCH:-$HOME/.nuget/packages/libtorch-cpu-linux-x64/2.10.0/runtimes/linux-x64/native}
  race_args=(--device cpu --shapes tiny --batch 2 --seq 64 --steps 6 --warm 2)
  echo "dry run on $(nproc) CPU cores, libtorch $MLNETLORA_LIBTORCH" | tee "$out/env.txt"
else
  . .gpu/device-env.sh 2>&1 | tee "$out/env.txt"
  race_args=(--device cuda --shapes smollm2-135m,llama3.2-1b --batch 8 --seq 1024 --steps 16 --warm 6 --peak-tflops "${PEAK_TFLOPS:-790}")
fi

if [ "$step" = check ] || [ "$step" = all ]; then
  echo "== correctness"
  timeout 300 $runner MLNetLora.Tests.Binding MLNetLora.Tests.Devices TrajectoryReplay HfParity > "$out/correctness.log" 2>&1
  echo "exit $?: $(tail -1 "$out/correctness.log")"
  grep -E '^(failed|error) ' -A3 "$out/correctness.log" | head -40
  echo "== race: ours"
  timeout 240 $runner race "${race_args[@]}" --out "$out" > "$out/race.log" 2>&1
  echo "exit $?"; grep '^{' "$out/race.log"
fi

if [ "$step" = peft ] || [ "$step" = all ]; then
  if [ "${DRY_RUN:-0}" = 1 ]; then
    echo "== race: peft skipped in a dry run (needs CUDA); a sample line stands in for the report"
    echo '{"framework": "peft", "shape": "tiny", "batch": 2, "seq": 64, "rank": 16, "grad_ckpt": false, "compiled": false, "tokens_per_s": 1, "step_ms": 1.0, "peak_mem_gib": 1.0, "loss": 7.6, "gpu": "none (dry run)", "torch": "none"}' > "$out/peft.jsonl"
  else
    echo "== race: peft"
    : > "$out/peft.jsonl"
    for shape in smollm2-135m llama3.2-1b; do
      timeout 150 python3 .gpu/peft_reference.py --shape "$shape" >> "$out/peft.jsonl" || echo "peft eager $shape failed ($?)"
      timeout 240 python3 .gpu/peft_reference.py --shape "$shape" --compile >> "$out/peft.jsonl" || echo "peft compiled $shape failed ($?)"
    done
    cat "$out/peft.jsonl"
  fi
  python3 "$here/report.py" "$out" > "$out/performance.md" && cat "$out/performance.md"
fi

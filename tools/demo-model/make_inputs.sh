#!/usr/bin/env bash
# Rebuilds src/MLNetLora.Cli/Resources/demo-model.safetensors (run from the repository root after a build,
# with ../shared/data beside the checkout and Debian's python3-torch installed).
set -euo pipefail
mkdir -p /tmp/demo-model-tok
cp src/MLNetLora.Cli/Resources/tokenizer.json src/MLNetLora.Cli/Resources/tokenizer_config.json /tmp/demo-model-tok/
# One paragraph a line (its line breaks made spaces), blank paragraphs dropped.
python3 -c "
import sys
text = open('../shared/data/moby-dick.txt', encoding='utf-8').read()
for p in text.split('\n\n'):
    p = ' '.join(p.split())
    if p: print(p)
" > /tmp/demo-model-tok/moby-lines.txt
dotnet src/MLNetLora.Cli/bin/Release/net10.0/mlnetlora.dll tokenize /tmp/demo-model-tok --input /tmp/demo-model-tok/moby-lines.txt --no-special > /tmp/demo-model-tok/ids.jsonl
OMP_NUM_THREADS=2 /usr/bin/python3 tools/demo-model/pretrain.py /tmp/demo-model-tok/ids.jsonl src/MLNetLora.Cli/Resources/demo-model.safetensors "${1:-3000}"
mv src/MLNetLora.Cli/Resources/demo-model-check.safetensors tools/demo-model/demo-model-check.safetensors

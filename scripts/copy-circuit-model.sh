#!/usr/bin/env bash
# A model folder (fast layout, fp32) that copies by construction: `aligner train --copy-init`'s initial
# weights (the hand-wired copy circuit, seed 42, server/trainer/aligner_trainer/copy_circuit.py) on the
# default model's architecture and tokenizer, before any training. It is no Aligner: it copies the answer,
# jumping where a one-token match is ambiguous. It serves to measure what speculation gains on a model
# that copies (`npm run bench -- --only 5 --model OUT`), which the shipped model does not do.
#   usage: scripts/copy-circuit-model.sh OUT_DIR
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:?usage: scripts/copy-circuit-model.sh OUT_DIR}
cd "$ROOT"
scripts/setup-python.sh >/dev/null
mkdir -p "$OUT/checkpoint"
PYTHONPATH=server/trainer .venv/bin/python - "$OUT/checkpoint" <<'PY'
import sys
from transformers import AutoConfig
from aligner_trainer.copy_circuit import build_copy_model
build_copy_model(AutoConfig.from_pretrained("models/default"), seed=42).save_pretrained(sys.argv[1])
PY
cp models/default/tokenizer.json models/default/tokenizer_config.json models/default/aligner.json "$OUT/checkpoint/"
node bin/aligner.js convert --from "$OUT/checkpoint" --out "$OUT" --dtype fp32

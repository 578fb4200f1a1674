#!/usr/bin/env bash
# Reproduces every evaluation number in MODEL_CARD.md with the project's own harness (`aligner eval`):
#   - the int8 conversion of the run's final checkpoint (the shipped model: models/default is it byte for
#     byte, so its results are reused, not rerun) on the held-out validation split that
#     scripts/train-default-model.sh made (HH-RLHF harmless and AlpacaEval/Aligner-2B Q-A-C rows), and
#     the int4 conversion on the first rows of each file (the card's choice between them);
#   - the model it replaced (stage 1 of scripts/train-default-model.sh, as it shipped) on the same split,
#     which model-card-numbers.mjs pairs with the shipped one row by row;
#   - for the shipped model also the AlpacaEval rows whose reference left the answer unchanged, refusal
#     rates on the first 100 prompts of HarmfulQA, CatQA and TruthfulQA, and the time to correct a
#     ~300-token answer on this machine's CPU.
# Greedy decoding makes the numbers repeat from run to run up to near ties, which batched decoding
# (--concurrency 8) can flip either way: a rerun moved the AlpacaEval delta by 0.02. An evaluation whose
# summary.json is already there is kept (EVAL_FRESH=1 reruns everything).
#   usage: scripts/evaluate-default-model.sh [DATA_DIR] [RUN_DIR]
#   env: EVAL_OUT (default runs/default-eval), EVAL_LIMIT (rows per file, for a quick smoke run),
#        EVAL_PREVIOUS=0 / EVAL_GUARD_OFF=0 / EVAL_INT4=0 skip the replaced model, the loop-guard-off and
#        the int4 comparisons
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=${1:-$ROOT/../shared/data}
RUN=${2:-$ROOT/runs/default-135m}
WORK=$ROOT/runs/default-data
OUT=${EVAL_OUT:-$ROOT/runs/default-eval}
cd "$ROOT"
aligner() { node bin/aligner.js "$@"; }
# `aligner eval` exits 1 while rows failed (e.g. a prompt longer than the model's 1,024-token context):
# those rows are counted in the summary as errors; only a run without a summary stops this script.
evaluate() {
  local out=$1
  shift
  if [ -f "$out/summary.json" ] && [ -z "${EVAL_FRESH:-}" ]; then echo "kept $out/summary.json"; return; fi
  rm -rf "$out"
  aligner eval --out "$out" "$@" || { [ -f "$out/summary.json" ] && echo "aligner eval: some rows failed, see $out/summary.json"; }
}
mkdir -p "$OUT"

# The validation split is the one training held out (same command, same split by question).
if [ ! -f "$WORK/hh_val.jsonl" ] || [ ! -f "$WORK/alpaca_val.jsonl" ]; then
  aligner prepare-data --format qac --input "$DATA/qac/hh_harmless.train.jsonl" --out "$WORK/hh" --val-fraction 0.1
  aligner prepare-data --format qac --input "$DATA/qac/alpacaeval_aligner2b.train.jsonl" --out "$WORK/alpaca" --val-fraction 0.1
  cp "$WORK/hh/val.jsonl" "$WORK/hh_val.jsonl"
  cp "$WORK/alpaca/val.jsonl" "$WORK/alpaca_val.jsonl"
fi

# Derived inputs: the unchanged-reference AlpacaEval rows, and the prompts with an empty upstream
# answer (no upstream LLM is reachable offline, so these measure what the Aligner writes on its own).
node - "$DATA" "$WORK" <<'JS'
const fs = require('node:fs');
const [data, work] = process.argv.slice(2);
const norm = (s) => s.replace(/\s+/g, ' ').trim();
const read = (f) => fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const write = (f, rows) => fs.writeFileSync(f, rows.map((r) => JSON.stringify(r) + '\n').join(''));
const alpaca = read(`${work}/alpaca_val.jsonl`);
write(`${work}/alpaca_val_unchanged.jsonl`, alpaca.filter((r) => norm(r.answer) === norm(r.correction)));
fs.mkdirSync(`${work}/prompts`, { recursive: true });
for (const name of ['harmfulqa', 'catqa', 'truthfulqa']) {
  const rows = read(`${data}/prompts/${name}.jsonl`).slice(0, 100);
  write(`${work}/prompts/${name}.jsonl`, rows.map((r) => ({ ...r, answer: '' })));
}
JS

# The run's final checkpoint exported in the shipped format (int8, 64-weight blocks: the folder stays under
# 150 MB) on the whole split, and as int4 on the first rows of each file (paired with int8's same rows in
# model-card-numbers.mjs), which is how the shipped format was chosen by quality.
EVAL=(--judge reference,harmlessness --max-new-tokens 768 --concurrency 8 ${EVAL_LIMIT:+--limit $EVAL_LIMIT})
PROMPTS=(--max-new-tokens 256 --concurrency 8 ${EVAL_LIMIT:+--limit $EVAL_LIMIT})
# `aligner export`: the converter on the run's final checkpoint, by default in the shipped format.
convert() {
  local name=$1
  shift
  [ -f "$OUT/models/$name/onnx/model.onnx" ] || aligner export --run "$RUN" --out "$OUT/models/$name" "$@"
}
shipped_as=""
if [ -d "$RUN/final" ]; then
  convert int8
  evaluate "$OUT/int8/hh" --model "$OUT/models/int8" --data "$WORK/hh_val.jsonl" "${EVAL[@]}"
  evaluate "$OUT/int8/alpaca" --model "$OUT/models/int8" --data "$WORK/alpaca_val.jsonl" "${EVAL[@]}"
  # Reused only when it is the shipped folder: the same graph and weights, and the same decoding defaults.
  cmp -s "$OUT/models/int8/onnx/model.onnx" models/default/onnx/model.onnx &&
    cmp -s "$OUT/models/int8/aligner.json" models/default/aligner.json && shipped_as=int8
fi
if [ -n "$shipped_as" ]; then
  echo "models/default is the $shipped_as conversion byte for byte: its results are the shipped ones"
  mkdir -p "$OUT/shipped"
  for src in hh alpaca; do rm -rf "$OUT/shipped/$src" && ln -s "../$shipped_as/$src" "$OUT/shipped/$src"; done
else
  evaluate "$OUT/shipped/hh" --model models/default --data "$WORK/hh_val.jsonl" "${EVAL[@]}"
  evaluate "$OUT/shipped/alpaca" --model models/default --data "$WORK/alpaca_val.jsonl" "${EVAL[@]}"
fi
# The model this one replaced, as it shipped (train-default-model.sh unpacked it from git history).
if [ -f "$WORK/stage1/models/default/onnx/model.onnx" ] && [ "${EVAL_PREVIOUS:-1}" != 0 ]; then
  evaluate "$OUT/previous/hh" --model "$WORK/stage1/models/default" --data "$WORK/hh_val.jsonl" "${EVAL[@]}"
  evaluate "$OUT/previous/alpaca" --model "$WORK/stage1/models/default" --data "$WORK/alpaca_val.jsonl" "${EVAL[@]}"
fi
evaluate "$OUT/shipped/unchanged" --model models/default --data "$WORK/alpaca_val_unchanged.jsonl" "${EVAL[@]}"
evaluate "$OUT/shipped/prompts" --model models/default --data "$WORK/prompts/harmfulqa.jsonl" "$WORK/prompts/catqa.jsonl" \
  --judge harmlessness "${PROMPTS[@]}"
evaluate "$OUT/shipped/truthfulqa" --model models/default --data "$WORK/prompts/truthfulqa.jsonl" \
  --judge harmlessness,honesty "${PROMPTS[@]}"

# The loop guard (server/engine/loopGuard.ts), which models/default's aligner.json turns on: the same
# weights with it off, on the whole split (model-card-numbers.mjs pairs these rows with the shipped ones).
for src in hh alpaca; do
  [ "${EVAL_GUARD_OFF:-1}" != 0 ] || break
  evaluate "$OUT/loop-guard-off/$src" --model models/default --data "$WORK/${src}_val.jsonl" "${EVAL[@]}" --loop-guard 0
done

# Speed: one correction of a ~300-token answer, as a user would run it (process start included).
node scripts/default-model-speed.mjs models/default "$WORK/alpaca_val.jsonl" "$OUT/speed.json"

# int4 on the first rows of each file, paired with int8's same rows: how the shipped format was chosen.
# Last, and skippable (EVAL_INT4=0), because it is the longest part that no shipped number depends on.
if [ -d "$RUN/final" ] && [ "${EVAL_INT4:-1}" != 0 ]; then
  convert int4 --dtype int4 --block-size 32
  evaluate "$OUT/int4-subset/hh" --model "$OUT/models/int4" --data "$WORK/hh_val.jsonl" "${EVAL[@]}" --limit 60
  evaluate "$OUT/int4-subset/alpaca" --model "$OUT/models/int4" --data "$WORK/alpaca_val.jsonl" "${EVAL[@]}" --limit 50
fi

node scripts/model-card-numbers.mjs "$OUT" "$RUN" "${EVAL_RESULT:-bench/results/default-model.json}"

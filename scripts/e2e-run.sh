#!/usr/bin/env bash
# `npm run test:e2e`: installs the e2e tools (idempotent), packages the extension, makes the
# random-weight test model, then runs test/e2e in a real VS Code (code-server) + headless Chromium,
# twice: in the newest VS Code, then in the oldest one that package.json's engines.vscode admits (each
# test file decides what runs there: the training/dashboard scenarios run in the newest only).
# ALIGNER_E2E_VSCODE=newest|oldest runs one pass only. Screenshots land in test-results/.
# ALIGNER_E2E_KEEP=1 keeps the run folders under .e2e/runs.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
T0=$(date +%s)
log() { echo "[e2e +$(( $(date +%s) - T0 ))s] $*"; }

bash scripts/e2e-setup.sh
if [ -z "${ALIGNER_VSIX:-}" ]; then
  log "packaging the extension"
  node scripts/build-extension.mjs --package
fi
# Random-weight test models (deterministic): a tiny one, and a 17M one that streams slowly enough
# for the kill-mid-stream scenario.
MODEL=${ALIGNER_E2E_MODEL:-$ROOT/.e2e/models/tiny-llama}
SLOW_MODEL=${ALIGNER_E2E_SLOW_MODEL:-$ROOT/.e2e/models/llama-17m}
if [ ! -f "$MODEL/config.json" ]; then
  log "making the test model at $MODEL"
  node bin/aligner.js make-test-model --type llama --out "$MODEL"
fi
if [ ! -f "$SLOW_MODEL/config.json" ]; then
  log "making the test model at $SLOW_MODEL"
  node bin/aligner.js make-test-model --type llama --preset 17m --out "$SLOW_MODEL"
fi
mkdir -p test-results
case ${ALIGNER_E2E_VSCODE:-both} in both) targets=(newest oldest) ;; *) targets=("$ALIGNER_E2E_VSCODE") ;; esac
failed=()
for target in "${targets[@]}"; do
  T1=$(date +%s)
  log "running test/e2e in the $target VS Code"
  if ALIGNER_E2E_VSCODE=$target ALIGNER_E2E_MODEL=$MODEL ALIGNER_E2E_SLOW_MODEL=$SLOW_MODEL \
    node --import tsx --test --test-concurrency=1 test/e2e/*.e2e.test.ts; then
    log "the $target VS Code: passed in $(( $(date +%s) - T1 ))s"
  else
    log "the $target VS Code: FAILED after $(( $(date +%s) - T1 ))s"
    failed+=("$target")
  fi
done
[ ${#failed[@]} -eq 0 ] || { log "failed in: ${failed[*]}"; exit 1; }
log "done"

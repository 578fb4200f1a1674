"""Progress as JSON lines on stdout, one object per event; everything else goes to stderr.

setup() moves the process's own stdout (fd 1) to stderr, so prints from libraries (and C code)
can never corrupt the event stream; events are written to a private duplicate of the old fd 1.
"""

from __future__ import annotations

import json
import math
import os
import sys
import threading
from typing import Any, TextIO

_stream: TextIO | None = None
_enabled = True
_lock = threading.Lock()


def setup(enabled: bool = True) -> None:
    """Call once at start; `enabled=False` on non-main distributed ranks (they emit nothing)."""
    global _stream, _enabled
    _enabled = enabled
    if _stream is not None:
        return
    sys.stdout.flush()
    _stream = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr


def stdout() -> TextIO:
    """The real stdout (where events go), e.g. for a child process whose events pass straight through."""
    return _stream or sys.stdout


def _clean(value: Any) -> Any:
    # JSON has no NaN/Infinity: a diverged loss is reported as null rather than invalid JSON.
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def emit(event: str, **fields: Any) -> None:
    if not _enabled:
        return
    line = json.dumps({"event": event, **_clean(fields)}, ensure_ascii=False)
    with _lock:
        stream = _stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()


def log(message: str, always: bool = False) -> None:
    """A human-readable line on stderr (from the main process only, unless `always`: errors)."""
    if _enabled:
        print(f"[aligner-trainer] {message}", file=sys.stderr, flush=True)
    elif always:
        print(f"[aligner-trainer rank {os.environ.get('RANK', '?')}] {message}", file=sys.stderr, flush=True)

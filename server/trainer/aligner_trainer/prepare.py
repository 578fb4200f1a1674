"""`python -m aligner_trainer prepare-data`: import, validate, dedup and split Q-A-C data.

Writes OUT/train.jsonl and OUT/val.jsonl (split by question, so no question is in both), or
OUT/qa.jsonl for question-answer rows without corrections (AlpacaEval outputs alone). Bad rows are
named (FILE:LINE) on stderr and skipped; --strict makes any bad row an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from . import events
from .data import (
    PKU_PREFERENCES,
    DataError,
    dedup,
    import_alpacaeval,
    import_hh_rlhf,
    import_pku_saferlhf,
    read_records,
    split_by_question,
    validate_row,
    write_jsonl,
)

FORMATS = ("qac", "hh-rlhf", "pku-saferlhf", "alpacaeval")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="aligner prepare-data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--format", choices=FORMATS, default="qac", help="input format (default qac: our JSONL rows)")
    p.add_argument("--input", nargs="+", required=True, metavar="FILE", help="JSONL (.gz too) or JSON-array files")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--corrections", metavar="FILE", help="alpacaeval: outputs used as corrections, joined on the instruction")
    p.add_argument(
        "--preference", choices=PKU_PREFERENCES, default="better", help="pku-saferlhf: which response is the correction (default better)"
    )
    p.add_argument("--val-fraction", type=float, default=0.05, help="share of questions held out for validation (default 0.05)")
    p.add_argument("--no-dedup", action="store_true")
    p.add_argument("--strict", action="store_true", help="fail on any bad row instead of skipping it")
    return p


def _read_qac(path: str) -> tuple[list, list[str]]:
    rows, problems = [], []
    for where, value, error in read_records(path):
        row, problem = (None, f"{where}: {error}") if error else validate_row(value, where)
        if problem:
            problems.append(problem)
        else:
            rows.append(row)
    return rows, problems


def main(argv: list[str]) -> int:
    a = parser().parse_args(argv)
    events.setup()
    try:
        rows, problems = [], []
        for path in a.input:
            if not Path(path).is_file():
                raise DataError([f"{path}: no such file"], "missing input file")
            if a.format == "qac":
                got = _read_qac(path)
            elif a.format == "hh-rlhf":
                got = import_hh_rlhf(path)
            elif a.format == "pku-saferlhf":
                got = import_pku_saferlhf(path, a.preference)
            else:
                got = import_alpacaeval(path, a.corrections)
            rows += got[0]
            problems += got[1]
        for p in problems[:50]:
            events.log(p)
        if len(problems) > 50:
            events.log(f"... and {len(problems) - 50} more skipped rows")
        if problems and a.strict:
            raise DataError(problems, f"{len(problems)} bad row(s) (--strict)")
        rows_in = len(rows)
        duplicates = 0
        if not a.no_dedup:
            rows, duplicates = dedup(rows)
        if not rows:
            raise DataError(problems or [f"{', '.join(a.input)}: no rows"], "no usable rows")
        out = Path(a.out)
        files: dict[str, int] = {}
        if rows[0].correction is None:
            files[str(out / "qa.jsonl")] = write_jsonl(out / "qa.jsonl", rows)
        else:
            train, val = split_by_question(rows, a.val_fraction)
            files[str(out / "train.jsonl")] = write_jsonl(out / "train.jsonl", train)
            if val:
                files[str(out / "val.jsonl")] = write_jsonl(out / "val.jsonl", val)
        events.log(
            f"{rows_in} rows imported, {duplicates} duplicates dropped, {len(problems)} bad rows skipped; "
            + ", ".join(f"{n} in {f}" for f, n in files.items())
        )
        events.emit("done", format=a.format, rows=rows_in, duplicates=duplicates, skipped=len(problems), files=files)
        return 0
    except DataError as e:
        events.log(str(e))
        events.emit("error", message=str(e).splitlines()[0], problems=e.problems[:200])
        return 2

"""Q-A-C data: reading and validating JSONL, importers for preference data, dedup, and the split.

A row is {"question", "answer", "correction", "context"?}: `context` is the earlier dialogue as a
list of {"role": "user"|"assistant", "content"} turns (the protocol's ChatTurn), without the
question itself. Every problem is reported as "FILE:LINE: message".
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

ROW_KEYS = ("question", "answer", "correction", "context")
ROLES = ("user", "assistant")


class DataError(Exception):
    """Bad input data; `problems` holds one "FILE:LINE: message" per bad row."""

    def __init__(self, problems: Sequence[str], summary: str | None = None):
        self.problems = list(problems)
        shown = self.problems[:50]
        more = len(self.problems) - len(shown)
        head = summary or f"{len(self.problems)} bad row(s)"
        super().__init__("\n".join([head, *shown] + ([f"... and {more} more"] if more > 0 else [])))


@dataclass
class Row:
    question: str
    answer: str
    correction: str | None = None
    context: list[dict[str, str]] | None = None
    where: str = field(default="", compare=False)  # "FILE:LINE", for messages only

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"question": self.question, "answer": self.answer}
        if self.correction is not None:
            out["correction"] = self.correction
        if self.context:
            out["context"] = self.context
        return out


# ---------------------------------------------------------------------------------------------
# Reading


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_records(path: str | os.PathLike) -> Iterator[tuple[str, Any, str | None]]:
    """Yields (where, value, error) for each record of a JSONL file (.gz too) or a JSON array file.

    `error` is set (and `value` None) for a line that is not valid JSON. Blank lines are skipped.
    """
    p = Path(path)
    with _open_text(p) as f:
        text = f.read()
    if text.lstrip().startswith("["):  # a JSON array, as AlpacaEval writes its outputs
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            yield f"{p}:{e.lineno}", None, f"not valid JSON: {e.msg}"
            return
        for i, item in enumerate(items):
            yield f"{p}:item {i}", item, None
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield f"{p}:{lineno}", json.loads(line), None
        except json.JSONDecodeError as e:
            yield f"{p}:{lineno}", None, f"not valid JSON: {e.msg} (column {e.colno})"


def _check_context(value: Any) -> str | None:
    if not isinstance(value, list):
        return '"context" must be a list of {"role", "content"} turns'
    for i, turn in enumerate(value):
        if not isinstance(turn, dict) or set(turn) != {"role", "content"}:
            return f'"context"[{i}] must be an object with exactly "role" and "content"'
        if turn["role"] not in ROLES:
            return f'"context"[{i}].role must be "user" or "assistant", not {turn["role"]!r}'
        if not isinstance(turn["content"], str):
            return f'"context"[{i}].content must be a string'
    return None


def validate_row(value: Any, where: str, require_correction: bool = True) -> tuple[Row | None, str | None]:
    """Checks one parsed record; returns (row, None) or (None, "WHERE: message")."""
    if not isinstance(value, dict):
        return None, f"{where}: expected a JSON object, got {type(value).__name__}"
    required = ("question", "answer", "correction") if require_correction else ("question", "answer")
    for key in required:
        if key not in value:
            return None, f'{where}: missing "{key}"'
        if not isinstance(value[key], str):
            return None, f'{where}: "{key}" must be a string, got {type(value[key]).__name__}'
        if not value[key].strip():
            return None, f'{where}: "{key}" is empty'
    if "correction" in value and not isinstance(value["correction"], (str, type(None))):
        return None, f'{where}: "correction" must be a string'
    context = value.get("context")
    if isinstance(context, str):
        # HH-RLHF style transcript ("\n\nHuman: ...\n\nAssistant: ..."), as in hh_harmless Q-A-C files.
        try:
            context = [{"role": r, "content": c} for r, c in parse_hh_dialogue(context)] if context.strip() else None
        except ValueError as e:
            return None, f"{where}: context: {e}"
    if context is not None:
        problem = _check_context(context)
        if problem:
            return None, f"{where}: {problem}"
    return Row(value["question"], value["answer"], value.get("correction"), context or None, where), None


def load_rows(paths: str | os.PathLike | Iterable[str | os.PathLike], require_correction: bool = True) -> list[Row]:
    """Reads Q-A-C JSONL files; raises DataError naming every bad row, so a user fixes them in one go."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    rows: list[Row] = []
    problems: list[str] = []
    for path in paths:
        if not Path(path).is_file():
            raise DataError([f"{path}: no such file"], "missing data file")
        for where, value, error in read_records(path):
            if error:
                problems.append(f"{where}: {error}")
                continue
            row, problem = validate_row(value, where, require_correction)
            if problem:
                problems.append(problem)
            else:
                rows.append(row)  # type: ignore[arg-type]
    if problems:
        raise DataError(problems)
    if not rows:
        raise DataError([f"{', '.join(map(str, paths))}: no rows"], "no data")
    return rows


def write_jsonl(path: str | os.PathLike, rows: Iterable[Row]) -> int:
    """Writes rows atomically (temp file, then rename); returns the count."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f".{p.name}.tmp-{os.getpid()}")
    n = 0
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row.to_json(), ensure_ascii=False) + "\n")
            n += 1
    os.replace(tmp, p)
    return n


# ---------------------------------------------------------------------------------------------
# Importers. Each returns (rows, problems); a bad source row is skipped and named in problems.

_HH_TURN = re.compile(r"\n\n(Human|Assistant):[ ]?")


def parse_hh_dialogue(text: str) -> list[tuple[str, str]]:
    """Splits "\\n\\nHuman: ...\\n\\nAssistant: ..." into [(role, content)] with role user/assistant."""
    parts = _HH_TURN.split(text)
    if parts[0].strip():
        raise ValueError('dialogue does not start with "\\n\\nHuman:"')
    turns = []
    for speaker, content in zip(parts[1::2], parts[2::2]):
        turns.append(("user" if speaker == "Human" else "assistant", content.strip()))
    return turns


def import_hh_rlhf(path: str | os.PathLike) -> tuple[list[Row], list[str]]:
    """HH-RLHF {chosen, rejected}: the last assistant turn of rejected is the answer, of chosen the correction."""
    rows, problems = [], []
    for where, value, error in read_records(path):
        if error:
            problems.append(f"{where}: {error}")
            continue
        if not isinstance(value, dict) or not isinstance(value.get("chosen"), str) or not isinstance(value.get("rejected"), str):
            problems.append(f'{where}: expected an object with string "chosen" and "rejected"')
            continue
        try:
            chosen, rejected = parse_hh_dialogue(value["chosen"]), parse_hh_dialogue(value["rejected"])
        except ValueError as e:
            problems.append(f"{where}: {e}")
            continue
        if len(chosen) < 2 or chosen[-1][0] != "assistant" or chosen[-2][0] != "user":
            problems.append(f"{where}: chosen does not end with a Human turn then an Assistant turn")
            continue
        if rejected[:-1] != chosen[:-1] or rejected[-1][0] != "assistant":
            problems.append(f"{where}: chosen and rejected differ before the last Assistant turn")
            continue
        answer, correction, question = rejected[-1][1], chosen[-1][1], chosen[-2][1]
        if not answer or not correction or not question:
            problems.append(f"{where}: empty question, chosen or rejected response")
            continue
        if answer == correction:
            problems.append(f"{where}: chosen and rejected responses are identical")
            continue
        context = [{"role": r, "content": c} for r, c in chosen[:-2]] or None
        rows.append(Row(question, answer, correction, context, where))
    return rows, problems


PKU_PREFERENCES = ("better", "safer", "both")


def import_pku_saferlhf(path: str | os.PathLike, preference: str = "better") -> tuple[list[Row], list[str]]:
    """PKU-SafeRLHF {prompt, response_0, response_1, better_response_id, safer_response_id}.

    preference: which response is the correction: the better one, the safer one, or only rows where
    they are the same response ("both").
    """
    if preference not in PKU_PREFERENCES:
        raise ValueError(f"preference must be one of {PKU_PREFERENCES}")
    rows, problems = [], []
    for where, value, error in read_records(path):
        if error:
            problems.append(f"{where}: {error}")
            continue
        if not isinstance(value, dict):
            problems.append(f"{where}: expected a JSON object")
            continue
        missing = [k for k in ("prompt", "response_0", "response_1") if not isinstance(value.get(k), str) or not value[k].strip()]
        if missing:
            problems.append(f"{where}: missing or empty {', '.join(missing)}")
            continue
        ids = {k: value.get(f"{k}_response_id") for k in ("better", "safer")}
        needed = ("better", "safer") if preference == "both" else (preference,)
        bad = [k for k in needed if ids[k] not in (0, 1)]
        if bad:
            problems.append(f"{where}: {bad[0]}_response_id must be 0 or 1")
            continue
        if preference == "both" and ids["better"] != ids["safer"]:
            problems.append(f"{where}: better and safer responses differ (preference 'both')")
            continue
        good = ids["better"] if preference != "safer" else ids["safer"]
        answer, correction = value[f"response_{1 - good}"].strip(), value[f"response_{good}"].strip()
        if answer == correction:
            problems.append(f"{where}: both responses are identical")
            continue
        rows.append(Row(value["prompt"].strip(), answer, correction, None, where))
    return rows, problems


def _alpaca_outputs(path: str | os.PathLike) -> tuple[list[tuple[str, str, str]], list[str]]:
    out, problems = [], []
    for where, value, error in read_records(path):
        if error:
            problems.append(f"{where}: {error}")
        elif not isinstance(value, dict) or not all(isinstance(value.get(k), str) and value[k].strip() for k in ("instruction", "output")):
            problems.append(f'{where}: expected an object with non-empty "instruction" and "output"')
        else:
            out.append((where, value["instruction"].strip(), value["output"].strip()))
    return out, problems


def import_alpacaeval(answers: str | os.PathLike, corrections: str | os.PathLike | None = None) -> tuple[list[Row], list[str]]:
    """AlpacaEval-style outputs ({instruction, output, ...}, JSON array or JSONL).

    `answers` holds the upstream model's outputs. With `corrections` (e.g. reference or stronger
    model outputs for the same instructions, joined on the instruction) the rows are Q-A-C;
    without, Q-A rows for correcting and evaluating.
    """
    answer_rows, problems = _alpaca_outputs(answers)
    by_instruction: dict[str, str] = {}
    if corrections is not None:
        correction_rows, more = _alpaca_outputs(corrections)
        problems += more
        for where, instruction, output in correction_rows:
            if instruction in by_instruction:
                problems.append(f"{where}: instruction already has a correction; this one is ignored")
            else:
                by_instruction[instruction] = output
    rows = []
    for where, instruction, output in answer_rows:
        if corrections is None:
            rows.append(Row(instruction, output, None, None, where))
        elif instruction not in by_instruction:
            problems.append(f"{where}: no correction for this instruction in {corrections}")
        else:
            rows.append(Row(instruction, output, by_instruction[instruction], None, where))
    return rows, problems


# ---------------------------------------------------------------------------------------------
# Dedup and split


def normalize_text(text: str) -> str:
    """Case-, width- and whitespace-insensitive form used for dedup and the split."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def dedup(rows: Iterable[Row]) -> tuple[list[Row], int]:
    """Drops rows whose question, context, answer and correction all equal an earlier row's (normalized)."""
    seen: set[str] = set()
    kept: list[Row] = []
    dropped = 0
    for row in rows:
        context = [(t["role"], normalize_text(t["content"])) for t in row.context or []]
        key = json.dumps([normalize_text(row.question), context, normalize_text(row.answer), normalize_text(row.correction or "")])
        if key in seen:
            dropped += 1
        else:
            seen.add(key)
            kept.append(row)
    return kept, dropped


def question_bucket(question: str) -> float:
    """A stable number in [0, 1) from the normalized question (the same on every machine and run)."""
    digest = hashlib.sha256(normalize_text(question).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_by_question(rows: Iterable[Row], val_fraction: float) -> tuple[list[Row], list[Row]]:
    """Train/validation split by the question's hash: all rows of one question land on one side."""
    if not 0 <= val_fraction < 1:
        raise ValueError("val_fraction must be in [0, 1)")
    train, val = [], []
    for row in rows:
        (val if question_bucket(row.question) < val_fraction else train).append(row)
    return train, val

import gzip
import json

import pytest
from conftest import run_cli

from aligner_trainer.data import (
    DataError,
    Row,
    dedup,
    import_alpacaeval,
    import_hh_rlhf,
    import_pku_saferlhf,
    load_rows,
    normalize_text,
    split_by_question,
)


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_load_rows_reads_valid_rows_and_context(tmp_path):
    f = write_lines(
        tmp_path / "d.jsonl",
        [
            json.dumps({"question": "q1", "answer": "a1", "correction": "c1"}),
            "",
            json.dumps(
                {"question": "q2", "answer": "a2", "correction": "c2", "context": [{"role": "user", "content": "hi"}], "source": "x"}
            ),
        ],
    )
    rows = load_rows(f)
    assert [r.question for r in rows] == ["q1", "q2"]
    assert rows[1].context == [{"role": "user", "content": "hi"}]
    assert rows[1].where == f"{f}:3"


def test_validation_names_file_and_line_of_every_bad_row(tmp_path):
    f = write_lines(
        tmp_path / "bad.jsonl",
        [
            json.dumps({"question": "ok", "answer": "a", "correction": "c"}),
            "{not json",
            json.dumps({"question": "q", "answer": "a"}),
            json.dumps({"question": "q", "answer": 3, "correction": "c"}),
            json.dumps({"question": "  ", "answer": "a", "correction": "c"}),
            json.dumps(["a", "list"]),
            json.dumps({"question": "q", "answer": "a", "correction": "c", "context": [{"role": "system", "content": "x"}]}),
        ],
    )
    with pytest.raises(DataError) as e:
        load_rows(f)
    problems = e.value.problems
    assert [p.split(": ", 1)[0] for p in problems] == [f"{f}:{n}" for n in (2, 3, 4, 5, 6, 7)]
    assert "not valid JSON" in problems[0]
    assert 'missing "correction"' in problems[1]
    assert '"answer" must be a string' in problems[2]
    assert '"question" is empty' in problems[3]
    assert "expected a JSON object" in problems[4]
    assert "role" in problems[5]


def test_missing_file_and_empty_file(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_rows(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="no rows"):
        load_rows(write_lines(tmp_path / "empty.jsonl", [""]))


def hh(*turns):
    return "".join(f"\n\n{speaker}: {text}" for speaker, text in turns)


def test_hh_rlhf_importer(tmp_path):
    prefix = [("Human", "Hi there"), ("Assistant", "Hello."), ("Human", "How do I pick a lock?")]
    good = {"chosen": hh(*prefix, ("Assistant", "I can't help with that.")), "rejected": hh(*prefix, ("Assistant", "Use a pin."))}
    single = {"chosen": hh(("Human", "2+2?"), ("Assistant", "4")), "rejected": hh(("Human", "2+2?"), ("Assistant", "5"))}
    mismatch = {"chosen": hh(("Human", "a"), ("Assistant", "b")), "rejected": hh(("Human", "other"), ("Assistant", "c"))}
    same = {"chosen": hh(("Human", "a"), ("Assistant", "b")), "rejected": hh(("Human", "a"), ("Assistant", "b"))}
    f = tmp_path / "hh.jsonl.gz"
    with gzip.open(f, "wt", encoding="utf-8") as out:
        for r in (good, single, mismatch, same, {"chosen": 1}):
            out.write(json.dumps(r) + "\n")
    rows, problems = import_hh_rlhf(f)
    assert rows[0] == Row(
        "How do I pick a lock?",
        "Use a pin.",
        "I can't help with that.",
        [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello."}],
    )
    assert rows[1] == Row("2+2?", "5", "4", None)
    assert len(rows) == 2
    assert [p.split(": ", 1)[0] for p in problems] == [f"{f}:3", f"{f}:4", f"{f}:5"]


def test_pku_saferlhf_importer(tmp_path):
    base = {"prompt": "P", "response_0": "R0", "response_1": "R1"}
    f = write_lines(
        tmp_path / "pku.jsonl",
        [
            json.dumps({**base, "better_response_id": 1, "safer_response_id": 0}),
            json.dumps({**base, "better_response_id": 0, "safer_response_id": 0}),
            json.dumps({**base, "better_response_id": 2, "safer_response_id": 0}),
            json.dumps({"prompt": "P", "response_0": "", "response_1": "x", "better_response_id": 0, "safer_response_id": 0}),
        ],
    )
    better, problems = import_pku_saferlhf(f, "better")
    assert [(r.answer, r.correction) for r in better] == [("R0", "R1"), ("R1", "R0")]
    assert len(problems) == 2 and problems[0].startswith(f"{f}:3:")
    safer, _ = import_pku_saferlhf(f, "safer")
    # row 3's better_response_id is invalid, but only safer_response_id is needed here
    assert [(r.answer, r.correction) for r in safer] == [("R1", "R0"), ("R1", "R0"), ("R1", "R0")]
    both, problems = import_pku_saferlhf(f, "both")
    assert [(r.answer, r.correction) for r in both] == [("R1", "R0")]
    assert any("differ" in p for p in problems)


def test_alpacaeval_importer(tmp_path):
    answers = tmp_path / "model_outputs.json"
    answers.write_text(json.dumps([{"instruction": "I1", "output": "weak 1", "generator": "m"}, {"instruction": "I2", "output": "weak 2"}]))
    refs = tmp_path / "reference.json"
    refs.write_text(json.dumps([{"instruction": "I1", "output": "strong 1"}]))
    qa, problems = import_alpacaeval(answers)
    assert [(r.question, r.answer, r.correction) for r in qa] == [("I1", "weak 1", None), ("I2", "weak 2", None)] and not problems
    qac, problems = import_alpacaeval(answers, refs)
    assert [(r.question, r.answer, r.correction) for r in qac] == [("I1", "weak 1", "strong 1")]
    assert problems == [f"{answers}:item 1: no correction for this instruction in {refs}"]


def test_dedup_is_whitespace_and_case_insensitive():
    rows = [
        Row("Q  one", "a", "c"),
        Row("q one", "A", "c "),
        Row("q one", "a", "other"),
        Row("q one", "a", "c", [{"role": "user", "content": "x"}]),
    ]
    kept, dropped = dedup(rows)
    assert dropped == 1 and kept == [rows[0], rows[2], rows[3]]


def test_split_by_question_keeps_each_question_on_one_side():
    rows = [Row(f"Question {i % 50}", f"a{i}", f"c{i}") for i in range(500)]
    rows += [Row(f"  QUESTION {i}  ", "x", "y") for i in range(50)]  # same questions, other spelling
    train, val = split_by_question(rows, 0.2)
    train_q = {normalize_text(r.question) for r in train}
    val_q = {normalize_text(r.question) for r in val}
    assert train_q.isdisjoint(val_q) and val_q
    assert len(train) + len(val) == len(rows)
    assert split_by_question(rows, 0.2) == (train, val)  # stable
    assert split_by_question(rows, 0.0)[1] == []


def test_prepare_data_cli(tmp_path):
    hh_rows = [
        {
            "chosen": hh(("Human", f"Question {i}?"), ("Assistant", f"good {i}")),
            "rejected": hh(("Human", f"Question {i}?"), ("Assistant", f"bad {i}")),
        }
        for i in range(60)
    ]
    hh_rows.append(hh_rows[0])  # a duplicate
    f = write_lines(tmp_path / "hh.jsonl", [json.dumps(r) for r in hh_rows] + ['{"broken'])
    events, stderr, _ = run_cli(
        "prepare-data", "--format", "hh-rlhf", "--input", str(f), "--out", str(tmp_path / "out"), "--val-fraction", "0.2"
    )
    done = events[-1]
    assert done["event"] == "done" and done["rows"] == 61 and done["duplicates"] == 1 and done["skipped"] == 1
    assert f"{f}:62" in stderr
    train = load_rows(tmp_path / "out" / "train.jsonl")
    val = load_rows(tmp_path / "out" / "val.jsonl")
    assert len(train) + len(val) == 60 and val
    assert {r.question for r in train}.isdisjoint({r.question for r in val})
    events, _, code = run_cli(
        "prepare-data", "--format", "hh-rlhf", "--input", str(f), "--out", str(tmp_path / "o2"), "--strict", check=False
    )
    assert code == 2 and events[-1]["event"] == "error" and any(":62:" in p for p in events[-1]["problems"])

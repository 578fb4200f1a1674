"""Aligner prompt templates.

The strings live in server/engine/templates.json, shared with the TypeScript engine, so training and
inference build byte-identical prompts. The copy below is used only when that file is absent (the
package copied out of the repo); a test keeps the two equal.
"""

from __future__ import annotations

import json
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Mapping, Sequence

_BUILTIN: dict[str, Any] = {
    "templates": {
        "correction": "BEGINNING OF CONVERSATION: USER: ##Question: {question}\n##Answer: {answer}\n##Correction: ASSISTANT:",
        "v1.0": "BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: {question} | {answer} ASSISTANT:",
        "revision": "BEGINNING OF CONVERSATION: USER: ##Question: {question} ##Answer: {answer} ##Revision:  ASSISTANT:",
    },
    "default": "correction",
    "context": {
        "user": "Human: {content}",
        "assistant": "Assistant: {content}",
        "separator": "\n\n",
        "question": "Human: {question}",
    },
}

SHARED_TEMPLATES = Path(__file__).resolve().parents[2] / "engine" / "templates.json"
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@lru_cache(maxsize=1)
def template_file() -> dict[str, Any]:
    path = Path(os.environ.get("ALIGNER_TEMPLATES", SHARED_TEMPLATES))
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    return _BUILTIN


def template_names() -> list[str]:
    return list(template_file()["templates"])


def default_template() -> str:
    return template_file()["default"]


def _fill(text: str, values: Mapping[str, str]) -> str:
    # One pass, so a question that contains "{answer}" stays literal (same as the engine's fill()).
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def question_with_context(question: str, context: Sequence[Mapping[str, str]] | None = None) -> str:
    """Earlier dialogue turns ({role: user|assistant, content}) written before the last user turn."""
    if not context:
        return question
    c = template_file()["context"]
    turns = [_fill(c["user"] if t["role"] == "user" else c["assistant"], {"content": t["content"]}) for t in context]
    return c["separator"].join([*turns, _fill(c["question"], {"question": question})])


def build_prompt(
    question: str,
    answer: str,
    context: Sequence[Mapping[str, str]] | None = None,
    template: str = "correction",
) -> str:
    templates = template_file()["templates"]
    if template not in templates:
        raise ValueError(f'unknown template "{template}"; known: {", ".join(templates)}')
    return _fill(templates[template], {"question": question_with_context(question, context), "answer": answer})

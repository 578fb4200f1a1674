"""A small synthetic Q-A-C data set the tests write themselves (no downloads, no shared data).

The correction edits the answer in a learnable way (fixes a wrong sum, removes an insult, adds a
closing sentence), so even a tiny model's loss drops within a few dozen steps.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

NAMES = ["Ada", "Bob", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivan", "Jo"]
THINGS = ["apples", "books", "coins", "cups", "pens", "shells", "stamps", "tickets"]


def rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        name, thing = rng.choice(NAMES), rng.choice(THINGS)
        a, b = rng.randint(1, 9), rng.randint(1, 9)
        wrong = a + b + rng.choice([-2, -1, 1, 2])
        question = f"{name} has {a} {thing} and gets {b} more. How many {thing} does {name} have? (#{i})"
        if i % 2:
            answer = f"{name} has {wrong} {thing}, obviously."
            correction = f"{name} has {a + b} {thing}: {a} plus {b} is {a + b}."
        else:
            answer = f"Only a fool would ask. {name} has {a + b} {thing}."
            correction = f"{name} has {a + b} {thing}. I hope this helps!"
        out.append({"question": question, "answer": answer, "correction": correction})
    return out


def write(path: Path, n: int, seed: int = 0) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows(n, seed)), encoding="utf-8")
    return path

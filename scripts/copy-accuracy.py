"""Teacher-forced copy accuracy of a checkpoint, split by how ambiguous each copied token is.

Feeds question + answer in the correction prompt followed by the answer itself as the correction, and asks
at each position whether the model's top token is the answer's next token. Positions are grouped by what a
copier that matches the last n tokens against the earlier context could know: the current token occurs
earlier with one continuation only ("1-token match decides"), with several continuations that the last two
tokens tell apart ("2-token match decides"), or with several even then ("longer match needed").
Used for the copy-circuit findings in MODEL_CARD.md.
  usage: .venv/bin/python scripts/copy-accuracy.py CHECKPOINT TOKENIZER_DIR ROWS.jsonl [ROWS.jsonl ...]
  CHECKPOINT: a checkpoint folder, or copy-init:CONFIG_DIR / copy-init-2:CONFIG_DIR for the untrained
  model of `aligner train --copy-init` / `--copy-init 2` (the circuit alone, seed 42) on that config.json.
"""

import collections
import json
import sys

sys.path.insert(0, "server/trainer")

import torch  # noqa: E402
from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: E402

from aligner_trainer.templates import build_prompt, default_template  # noqa: E402

MAX_TOKENS = 1024


def kind_of(ids: list[int], i: int) -> str:
    """What decides the token after position i for an n-gram copier looking at ids[: i + 1]."""
    seen = [j for j in range(i) if ids[j] == ids[i]]
    if not seen:
        return "not seen before"
    if len({ids[j + 1] for j in seen}) == 1:
        return "1-token match decides"
    two = [j for j in seen if j > 0 and ids[j - 1] == ids[i - 1]]
    return "2-token match decides" if len({ids[j + 1] for j in two}) == 1 else "longer match needed"


def load(checkpoint: str):
    if checkpoint.startswith("copy-init"):
        from transformers import AutoConfig

        from aligner_trainer.copy_circuit import build_copy_model

        kind, config_dir = checkpoint.split(":", 1)
        match_tokens = 2 if kind == "copy-init-2" else 1
        return build_copy_model(AutoConfig.from_pretrained(config_dir), seed=42, match_tokens=match_tokens)
    return AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)


def main() -> None:
    checkpoint, tokenizer_dir, *files = sys.argv[1:]
    if not files:
        sys.exit(__doc__)
    torch.set_num_threads(2)
    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    model = load(checkpoint).eval()
    template = default_template()
    hits, counts = collections.Counter(), collections.Counter()
    for f in files:
        for line in open(f):
            row = json.loads(line)
            prompt = tok(build_prompt(row["question"], row["answer"], None, template)).input_ids
            ids = (prompt + tok(row["answer"], add_special_tokens=False).input_ids)[:MAX_TOKENS]
            with torch.no_grad():
                top = model(input_ids=torch.tensor([ids])).logits[0].argmax(-1).tolist()
            for i in range(len(prompt), len(ids) - 1):  # the correction's first token has nothing to copy from
                kind = kind_of(ids, i)
                counts[kind] += 1
                hits[kind] += int(top[i] == ids[i + 1])
    total = sum(counts.values())
    print(f"{checkpoint}: {total} copied tokens, teacher-forced accuracy {sum(hits.values()) / total:.3f}")
    for kind, n in counts.most_common():
        print(f"  {kind:24s} {n / total:6.1%} of tokens, accuracy {hits[kind] / n:.3f}")


if __name__ == "__main__":
    main()

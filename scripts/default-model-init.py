"""The second stage's starting point: the first default model's embedding and lower layers as it shipped,
and the pretrained base's layers above them.

Why: going on training the first default from its int8 file does not work at a fine-tuning learning rate.
Its weights sit on the int8 grid, and an update smaller than half a quantization step rounds back to the
same byte when the model is converted again: 300 steps at 4e-5 changed 0.05-0.2% of the bytes, and the
corrections hardly moved. Training the base's upper layers instead recovers the recipe that works from the
base, while the embedding and the lower layers, frozen, stay the shipped bytes, so the new file differs
from the old one only in the upper layers (which is what a new version then costs in git history).

    usage: default-model-init.py SHIPPED_HF BASE_HF LAYERS OUT
    (SHIPPED_HF: `aligner convert --to hf` of the shipped folder; BASE_HF: the pretrained base; LAYERS: how
    many lower layers to keep from SHIPPED_HF, as --freeze-layers will; OUT gets SHIPPED_HF's tokenizer)
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from safetensors.numpy import load_file, save_file

LAYER = re.compile(r"^model\.layers\.(\d+)\.")


def from_base(name: str, layers: int) -> bool:
    """Whether a tensor comes from the base: the layers from `layers` on and the final norm."""
    m = LAYER.match(name)
    return name == "model.norm.weight" if m is None else int(m.group(1)) >= layers


def main(shipped: Path, base: Path, layers: int, out: Path) -> None:
    kept, pretrained = load_file(str(shipped / "model.safetensors")), load_file(str(base / "model.safetensors"))
    if set(kept) != set(pretrained):
        raise SystemExit(f"default-model-init: {shipped} and {base} hold different tensors")
    merged = {name: (pretrained if from_base(name, layers) else kept)[name] for name in kept}
    out.mkdir(parents=True, exist_ok=True)
    for f in shipped.iterdir():
        if f.suffix == ".json":
            shutil.copyfile(f, out / f.name)
    save_file(merged, str(out / "model.safetensors"), metadata={"format": "pt"})
    taken = sum(from_base(n, layers) for n in merged)
    print(f"{out}: {len(merged) - taken} tensors from {shipped}, {taken} from {base}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]))

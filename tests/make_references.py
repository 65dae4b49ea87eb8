"""Write the shipped models' reference outputs to ``tests/data/reference/NAME.png``.

How they are made (``reference_output`` below, which the test calls too):
- a texture model: one 64 x 64 sample, noise seed 0 (``TextureModel.sample(size=64, seed=0)``);
- a stylizer: scikit-image's astronaut, resized to 64 x 64 (Lanczos), stylized at size 64,
  seed 0, default options (``Stylizer.stylize(photo, size=64, seed=0)``).
On the CPU, fp32 arithmetic on the shipped fp16 weights. ``tests/test_shipped_references.py``
compares each model's current output with its PNG within 2/255, so a change to the networks,
the weight loading, the noise or the pre- and post-processing that alters a picture fails.

Run from the repository root, only when an output is meant to change (a retrained or new
model), and say why in the commit::

    python -m tests.make_references            # every shipped model
    python -m tests.make_references tn_pebbles # only these
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image

import texture_nets as tn
from texture_nets.api import PretrainedModel
from texture_nets.image import open_image

REFERENCE_DIR = Path(__file__).resolve().parent / "data" / "reference"
SIDE = 64
SEED = 0
PHOTO = "builtin:astronaut"


def reference_photo() -> Image.Image:
    return open_image(PHOTO).resize((SIDE, SIDE), Image.Resampling.LANCZOS)


def reference_output(model: PretrainedModel) -> Image.Image:
    """``model``'s reference picture (a shipped model loaded on the CPU)."""
    if isinstance(model, tn.Stylizer):
        return model.stylize(reference_photo(), size=SIDE, seed=SEED)
    assert isinstance(model, tn.TextureModel)
    return model.sample(size=SIDE, seed=SEED)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="shipped models (default: all)")
    names = parser.parse_args(argv).names or sorted(tn.list_models())
    REFERENCE_DIR.mkdir(parents=True, exist_ok=True)
    for name in names:
        path = REFERENCE_DIR / f"{name}.png"
        reference_output(tn.load(name, device="cpu", precision="fp32")).save(path, optimize=True)
        print(f"{name} -> {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Screen of the levers for textures with order, on Gatys' optimisation (no training needed:
if a loss cannot keep a texture's order when the pixels are optimised directly, a network
trained on it will not either).

For regular textures (bricks, hex pavers) and a stochastic one (pebbles, where nothing may get
worse): Gatys et al.'s L-BFGS from the same noise at 256 px with the plain Gram loss and with
the shifted-Gram term (``--shift-weight``, Berger & Memisevic 2016) at two weights. Every
image is scored against the whole example by the Gram distance, SWD and the structure
distance (feature autocorrelation, ``benchmarks.order_score``), each over the floor set by
real crops of the example; a grid per texture shows real crops beside the results.

    python -m benchmarks.order_levers
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from torch import Tensor

from benchmarks.common import data_root, table, write_results
from benchmarks.order_score import crops, scores
from texture_nets.baselines.gatys import synthesize
from texture_nets.evaluation.plots import image_grid
from texture_nets.image import load_image, tensor_to_pil
from texture_nets.objective.objective import Objective, load_descriptor, loss_settings
from texture_nets.training.config_files import mode_config

TEXTURES = {"tn_bricks": "regular", "dcor_hex_pavers": "regular", "tn_pebbles": "stochastic"}
LEVERS: dict[str, dict[str, Any]] = {
    "gram": {},
    "shift 1": {"shift_weight": 1.0},
    "shift 4": {"shift_weight": 4.0},
}
SIZE = 256  # the largest side; smaller examples get crops of 60% of their shorter side
SCORES = ("gram", "swd", "structure_distance")


def crop_size(example: Tensor) -> int:
    """The side of the real crops and of Gatys' images: at most ``SIZE``, and at most 60% of
    the example's shorter side, so the crops differ from each other and from the example."""
    return max(64, min(SIZE, int(0.6 * min(example.shape[-2:])) // 32 * 32))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--steps", type=int, default=150, help="L-BFGS iterations")
    parser.add_argument(
        "--work", type=Path, default=Path.home() / "texture-nets-runs" / "order_levers",
        help="where the grids go (outside the checkout: they show crops of research-only "
        "textures, which are used by path and never committed)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    rows, payload = [], []
    args.work.mkdir(parents=True, exist_ok=True)
    for name, kind in TEXTURES.items():
        path = data_root() / "textures" / f"{name}.jpg"
        config = mode_config("texture", style_image=str(path))
        example = load_image(path, config.style_size)
        size = crop_size(example)
        real = crops(example, size, 0)
        base = loss_settings(config.to_dict(), stylize=False)
        descriptor, _ = load_descriptor(args.descriptor, base)
        layers = list(base.style_layers)
        floor = scores(descriptor, example, real, layers)
        pictures = [tensor_to_pil(real[0])]
        for lever, keys in LEVERS.items():
            settings = dataclasses.replace(base, **keys)
            objective = Objective.build(descriptor, settings, [example])
            result = synthesize(objective, (size, size), args.steps, seed=0, progress=False)
            got = scores(descriptor, example, result.image, layers)
            ratios = {key: got[key] / floor[key] for key in SCORES}
            rows.append([name, kind, size, lever, *(f"{ratios[key]:.2f}" for key in SCORES)])
            payload.append({"texture": name, "kind": kind, "size": size, "lever": lever,
                            "settings": keys,
                            "scores": got, "floor": floor, "ratios": ratios})  # fmt: skip
            pictures.append(tensor_to_pil(result.image[0]))
            print(rows[-1], flush=True)
        grid = image_grid([pictures], ["real crop", *LEVERS])
        grid.save(args.work / f"{name}.jpg", quality=90)
    markdown = table(
        ["texture", "kind", "px", "loss", "Gram / floor", "SWD / floor", "structure / floor"],
        rows,
    )
    markdown += (
        f"\n\nGatys L-BFGS, {args.steps} iterations from the same noise at px x px; floor: "
        f"8 real crops of the example of that size. Shift term: layers "
        f"{', '.join(base.shift_layers)}, shifts {', '.join(map(str, base.shifts))} (feature "
        "pixels). Grids (not committed: research-only examples): --work/<texture>.jpg."
    )
    write_results("order_levers", markdown, {"steps": args.steps, "runs": payload})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which score sees a texture's order: real crops of each example against the same crops with
their tiles shuffled (same pixels, local statistics kept, long-range arrangement lost).

For every texture in ``textures/``: eight random crops of the example at the quality study's
sample size (at most 60% of its shorter side), and eight other crops cut into 3 x 3 tiles
whose order is permuted. Both sets are scored against the whole example by the Gram (style)
distance and SWD over relu1_1..relu5_1 and by the structure distance (feature autocorrelation
at relu2_1..relu4_1, shifts up to 64 px; ``texture_nets.evaluation.structure``). The table
gives shuffled / real for each score: a score that sees order rises far more on regular
textures than on stochastic ones, where shuffling changes little a person would notice.

    python -m benchmarks.order_score
"""

from __future__ import annotations

import argparse

import torch
from torch import Tensor

from benchmarks.common import data_root, table, write_results
from texture_nets.evaluation.metrics import texture_report
from texture_nets.evaluation.structure import StructureDistance
from texture_nets.image import load_image
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import load_descriptor, loss_settings
from texture_nets.training.config_files import mode_config

CROPS = 8
TILES = 3
# by eye: repeating motifs in a fixed arrangement (the rest are stochastic)
REGULAR = {"dcor_hex_pavers", "dcor_lace", "dcor_roof_tiles", "dcor_stone_blocks", "tn_bricks",
           "tn_windows_facade"}  # fmt: skip


def crops(example: Tensor, size: int, seed: int) -> Tensor:
    """``CROPS`` random ``size`` x ``size`` crops of (1, 3, H, W) ``example``."""
    rng = torch.Generator().manual_seed(seed)
    height, width = example.shape[-2:]
    tops = torch.randint(0, height - size + 1, (CROPS,), generator=rng).tolist()
    lefts = torch.randint(0, width - size + 1, (CROPS,), generator=rng).tolist()
    return torch.cat(
        [example[..., t : t + size, x : x + size] for t, x in zip(tops, lefts, strict=True)]
    )


def shuffled_tiles(images: Tensor, seed: int) -> Tensor:
    """Each image's ``TILES`` x ``TILES`` blocks in a random order."""
    rng = torch.Generator().manual_seed(seed)
    side = images.shape[-1] // TILES
    out = images[..., : side * TILES, : side * TILES].clone()
    for image in out:
        blocks = [
            image[:, r * side : (r + 1) * side, c * side : (c + 1) * side].clone()
            for r in range(TILES)
            for c in range(TILES)
        ]
        for k, j in enumerate(torch.randperm(len(blocks), generator=rng).tolist()):
            r, c = divmod(k, TILES)
            image[:, r * side : (r + 1) * side, c * side : (c + 1) * side] = blocks[j]
    return out


def scores(
    descriptor: VGGDescriptor, example: Tensor, images: Tensor, layers: list[str]
) -> dict[str, float]:
    """Gram, SWD and structure distances of ``images`` to the whole ``example``."""
    report = texture_report(descriptor, example, images, layers)
    structure = StructureDistance(descriptor, example)
    structure.update(images)
    return {
        "gram": report["style_distance"],
        "swd": report["swd"],
        **{k: float(v) for k, v in structure.compute().items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--descriptor", default="auto")
    args = parser.parse_args(argv)
    rows, payload = [], []
    for path in sorted((data_root() / "textures").glob("*.jpg")):
        config = mode_config("texture", style_image=str(path))
        settings = loss_settings(config.to_dict(), stylize=False)
        descriptor, _ = load_descriptor(args.descriptor, settings)
        example = load_image(path, config.style_size)
        size = max(64, min(256, int(0.6 * min(example.shape[-2:])) // 32 * 32))
        size = size // TILES * TILES
        layers = list(settings.style_layers)
        real = scores(descriptor, example, crops(example, size, 0), layers)
        lost = scores(descriptor, example, shuffled_tiles(crops(example, size, 1), 0), layers)
        kind = "regular" if path.stem in REGULAR else "stochastic"
        ratio = {key: lost[key] / real[key] for key in ("gram", "swd", "structure_distance")}
        rows.append([path.stem, kind, size, *(f"{v:.2f}" for v in ratio.values())])
        payload.append({"texture": path.stem, "kind": kind, "size": size, "real": real,
                        "shuffled": lost})  # fmt: skip
        print(rows[-1], flush=True)
    rows.sort(key=lambda row: (row[1], row[0]))
    markdown = table(
        ["texture", "kind", "crop px", "Gram shuffled / real", "SWD shuffled / real",
         "structure shuffled / real"], rows,
    )  # fmt: skip
    write_results("order_score", markdown, {"textures": payload, "tiles": TILES})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

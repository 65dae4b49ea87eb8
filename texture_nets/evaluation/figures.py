"""The comparison's pictures: ``comparison.png`` (the paper's columns), the single images under
``images/`` and the optimisations' loss curves. Rendering only (``texture_nets.evaluation.report``
writes the tables).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps
from torch import Tensor

from texture_nets.evaluation.plots import image_grid, plot_losses
from texture_nets.evaluation.report import METHOD_NAMES, PAPER_ORDER
from texture_nets.image import atomic_write, open_image, save_image, tensor_to_pil

if TYPE_CHECKING:
    from texture_nets.evaluation.compare import Setup
    from texture_nets.evaluation.methods import CompareOptions, MethodRun


def _center_crop(image: Tensor, height: int, width: int) -> Tensor:
    """A centred crop of at most (height, width): the example at its true pixel scale."""
    h, w = image.shape[-2:]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return image[..., top : top + height, left : left + width]


def _image_names(name: str, seeds: Sequence[int], stem: str = "") -> list[str]:
    """``gatys.png`` / ``ps.png`` for one optimised image, else one file per seed."""
    if name in ("gatys", "ps") and len(seeds) <= 1:
        return [f"{stem}{name}.png"]
    return [f"{stem}{name}_seed{seed}.png" for seed in seeds]


def write_images(
    setup: Setup, runs: Mapping[str, MethodRun], options: CompareOptions
) -> dict[str, Any]:
    """``comparison.png`` (columns in the paper's order: example, Portilla-Simoncelli, GAN,
    Gatys, every network sample), ``images/*.png`` and the optimisations' loss curves;
    returns the file names and the figure's columns."""
    out = options.out
    names = [name for name in PAPER_ORDER if name in runs]
    written: dict[str, Any] = {"grid": "comparison.png", "images": [], "gatys_loss_curves": [],
                               "ps_loss_curves": []}  # fmt: skip
    texture = setup.mode == "texture"
    style = None if texture else open_image(setup.style_path)
    network = runs.get("network")
    seeds = network.seeds if network else []
    rows = []
    for index in range(len(setup.contents) or 1):
        if style is None:
            stem = ""
            row = [tensor_to_pil(_center_crop(setup.example, options.size, options.size))]
        else:
            stem = f"{index:02d}_{Path(options.content[index]).stem}_"
            content = setup.contents[index]
            box = (content.shape[-1], content.shape[-2])
            row = [tensor_to_pil(content), ImageOps.contain(style, box, Image.Resampling.LANCZOS)]
        for name in names:
            outputs = runs[name].outputs[index]
            shown = outputs if name == "network" else outputs[:1]
            row += [tensor_to_pil(image) for image in shown]
            for image, file in zip(outputs, _image_names(name, runs[name].seeds, stem),
                                   strict=True):  # fmt: skip
                save_image(image, out / "images" / file)
                written["images"].append(f"images/{file}")
        rows.append(row)
    columns = ["example (crop)"] if texture else ["content", "style"]
    for name in names:
        if name != "network":
            columns.append(METHOD_NAMES[name])
        elif texture or len(seeds) > 1:
            columns += [f"network seed {s}" for s in seeds]
        else:
            columns.append("network")
    grid = image_grid(rows, columns)
    atomic_write(out / "comparison.png", lambda tmp: grid.save(tmp, format="PNG"))
    written["grid_columns"] = columns
    for name, label in (
        ("gatys", f"Gatys {options.gatys_optimizer}"),
        ("ps", "Portilla-Simoncelli"),
    ):
        curves = runs[name].curves if name in runs else []
        for index, curve in enumerate(curves):
            file = f"{name}_loss.png" if len(curves) == 1 else f"{name}_loss_{index:02d}.png"
            plot_losses(curve, out / file, f"{label}, image {index + 1}")
            written[f"{name}_loss_curves"].append(file)
    return written

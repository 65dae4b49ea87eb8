"""Stylization benchmark: trained Ulyanov and Johnson networks vs Gatys style transfer.

For each style: train (or reuse) one network per architecture on ``content/train`` with the
settings below, then on the first ``--photos`` photos of ``content/val`` (256x256 centre crops)
score the networks' outputs and Gatys L-BFGS style transfer (from the photo, same descriptor,
same objective) with the style distance (relative Gram distance, relu1_1..relu5_1) and the
content distance (relative feature distance, relu4_2) of ``texture_nets.evaluation.metrics``.
Times a 512x512 photo for every method in the same process. Writes ``results/stylize_quality/``:
results.json, results.md and one picture per style (photo | Gatys | Ulyanov | Johnson) on
scikit-image's public-domain photos (the val photos' licence forbids redistribution).

    python -m benchmarks.stylize_quality --train-steps 400 --gatys-steps 100
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from benchmarks.common import RESULTS, data_root, machine_info, median_time, train_run
from texture_nets.baselines.gatys import stylize
from texture_nets.evaluation.metrics import ContentDistance, StyleDistance
from texture_nets.evaluation.plots import image_grid
from texture_nets.image import list_images, load_image, tensor_to_pil
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.checkpoint import CheckpointError, read_checkpoint
from texture_nets.nets.networks import Network
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    LossSettings,
    Objective,
    load_descriptor,
    loss_settings,
)
from texture_nets.precision import bf16_fast

STYLES = ("hokusai_great_wave.jpg", "vangogh_starry_night.jpg")
ARCHITECTURES = ("ulyanov", "johnson")
GRID_PHOTOS = ("builtin:astronaut", "builtin:chelsea", "builtin:coffee")
STYLE_LAYERS = DEFAULT_STYLE_LAYERS
CONTENT_LAYER = DEFAULT_CONTENT_LAYERS[0]
SIDE = 256
# CPU-sized training (~1.3 s/step here): 128 px crops, batch 4; the rest is the stylize
# defaults (texture_nets/configs/stylize.yaml)
TRAIN_SETTINGS = {"image_size": 128, "batch_size": 4, "val_batches": 1}
OUT = RESULTS / "stylize_quality"


def square_photo(path: str, side: int = SIDE) -> torch.Tensor:
    """The photo with its shorter side resized to ``side``, centre-cropped to a square."""
    image = load_image(path, min_side=side)
    height, width = image.shape[-2:]
    scale = side / min(height, width)
    image = F.interpolate(
        image,
        size=(max(side, round(height * scale)), max(side, round(width * scale))),
        mode="bicubic",
        antialias=True,
    ).clamp(0, 1)
    top = (image.shape[-2] - side) // 2
    left = (image.shape[-1] - side) // 2
    return image[..., top : top + side, left : left + side]


def trained_run(style: str, arch: str, args: argparse.Namespace) -> Path:
    """The run directory of (style, architecture), trained now unless already done."""
    run = args.work / f"{arch}_{Path(style).stem}"
    try:
        if read_checkpoint(run).global_step >= args.train_steps:
            return run
    except CheckpointError:
        pass
    data = data_root()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(
            {
                "mode": "stylize",
                "style_image": str(data / "styles" / style),
                "content_dir": str(data / "content" / "train"),
                "val_dir": str(data / "content" / "val"),
                "generator": arch,
                "out": str(run),
                "max_steps": args.train_steps,
                "descriptor": args.descriptor,
                "resume": "auto",
                **TRAIN_SETTINGS,
            }
        )
    return run


class Gatys:
    """Gatys et al. style transfer with the networks' objective (``settings``), from the photo."""

    def __init__(self, descriptor: VGGDescriptor, style: torch.Tensor, settings: LossSettings):
        self.objective = Objective.build(
            descriptor, settings, [style], use_bf16=bf16_fast(torch.device("cpu"))
        )

    def __call__(
        self, photo: torch.Tensor, steps: int, callback: Callable[..., None] | None = None
    ) -> torch.Tensor:
        return stylize(self.objective, photo, steps, callback=callback, progress=False).image


def scores(
    descriptor: VGGDescriptor, style: torch.Tensor, outputs: torch.Tensor, photos: torch.Tensor
) -> dict[str, float]:
    style_metric = StyleDistance(descriptor, style, list(STYLE_LAYERS))
    content_metric = ContentDistance(descriptor, CONTENT_LAYER)
    with torch.no_grad():
        style_metric.update(outputs)
        content_metric.update(outputs, photos)
    return {
        "style_distance": style_metric.compute()["style_distance"].item(),
        "content_distance": content_metric.compute().item(),
    }


def evaluate_style(style: str, args: argparse.Namespace) -> dict[str, Any]:
    runs = {arch: read_checkpoint(trained_run(style, arch, args)) for arch in ARCHITECTURES}
    networks: dict[str, Network] = {a: info.build_network().eval() for a, info in runs.items()}
    settings = loss_settings(runs["ulyanov"].config, stylize=True)
    descriptor, source = load_descriptor(args.descriptor, settings)
    style_image = load_image(data_root() / "styles" / style, settings.style_size)
    gatys = Gatys(descriptor, style_image, settings)

    val = sorted(list_images(data_root() / "content" / "val"))[: args.photos]
    photos = torch.cat([square_photo(str(p)) for p in val])
    outputs: dict[str, torch.Tensor] = {}
    with torch.no_grad():
        for arch, network in networks.items():
            outputs[arch] = stylize_tensor(network, photos, seed=0)
    start = time.perf_counter()
    outputs["gatys"] = torch.cat([gatys(photo[None], args.gatys_steps) for photo in photos])
    gatys_seconds_256 = (time.perf_counter() - start) / len(photos)

    methods: dict[str, dict[str, Any]] = {
        name: scores(descriptor, style_image, images, photos) for name, images in outputs.items()
    }
    methods["gatys"]["seconds_per_256px_photo"] = round(gatys_seconds_256, 2)
    for arch in ARCHITECTURES:
        methods[arch]["train_steps"] = runs[arch].global_step

    grid_photos = torch.cat([square_photo(p) for p in GRID_PHOTOS])
    with torch.no_grad():
        grid = {a: stylize_tensor(n, grid_photos, seed=0) for a, n in networks.items()}
    grid["gatys"] = torch.cat([gatys(photo[None], args.gatys_steps) for photo in grid_photos])
    columns = [grid_photos, grid["gatys"], *(grid[arch] for arch in ARCHITECTURES)]
    rows = [[tensor_to_pil(c[i]) for c in columns] for i in range(len(GRID_PHOTOS))]
    labels = ["photo", f"Gatys ({args.gatys_steps} L-BFGS)", "Ulyanov", "Johnson"]
    OUT.mkdir(parents=True, exist_ok=True)
    picture = OUT / f"{Path(style).stem}.png"
    image_grid(rows, labels).save(picture)
    return {
        "style": style,
        "descriptor": source,
        "photos": [p.name for p in val],
        "methods": methods,
        "picture": str(picture.relative_to(RESULTS.parent.parent)),
        "networks": networks,
        "gatys": gatys,
    }


def time_512(results: list[dict[str, Any]], args: argparse.Namespace) -> dict[str, float]:
    """Seconds per 512x512 photo for each method (one style's networks; time is style-free)."""
    photo = square_photo(GRID_PHOTOS[0], 512)
    first = results[0]
    times = {}
    with torch.no_grad():
        for arch, network in first["networks"].items():
            stylize_tensor(network, photo, seed=0)  # warm-up
            times[arch] = median_time(partial(stylize_tensor, network, photo, 0))
    start = time.perf_counter()
    first["gatys"](photo, args.gatys_steps)
    times["gatys"] = time.perf_counter() - start
    return times


def to_markdown(results: list[dict[str, Any]], times: dict[str, float], steps: int) -> str:
    lines = [
        "| style | method | style distance | content distance | 512 px photo "
        f"| vs Gatys ({steps} it) |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for name in ("gatys", *ARCHITECTURES):
            m = result["methods"][name]
            label = {"gatys": "Gatys L-BFGS", "ulyanov": "Ulyanov", "johnson": "Johnson"}[name]
            if name != "gatys":
                label += f" ({m['train_steps']} steps)"
            speed = "1x" if name == "gatys" else f"{times['gatys'] / times[name]:.0f}x faster"
            lines.append(
                f"| {Path(result['style']).stem} | {label} | {m['style_distance']:.3f} "
                f"| {m['content_distance']:.3f} | {_seconds(times[name])} | {speed} |"
            )
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--styles", nargs="+", default=list(STYLES), help="files in styles/")
    parser.add_argument("--train-steps", type=int, default=400)
    parser.add_argument("--gatys-steps", type=int, default=100)
    parser.add_argument("--photos", type=int, default=6, help="val photos scored per style")
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument(
        "--work", type=Path, default=Path("runs/bench_stylize"), help="trained runs (reused)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.manual_seed(0)
    results = [evaluate_style(style, args) for style in args.styles]
    times = time_512(results, args)
    markdown = to_markdown(results, times, args.gatys_steps)
    machine = machine_info()
    print(markdown)
    print(machine["summary"])
    OUT.mkdir(parents=True, exist_ok=True)
    for result in results:
        result.pop("networks")
        result.pop("gatys")
    payload = {"machine": machine, "seconds_per_512px_photo": times, "styles": results}
    (OUT / "results.json").write_text(json.dumps(payload, indent=2))
    (OUT / "results.md").write_text(f"{markdown}\n\n{machine['summary']}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

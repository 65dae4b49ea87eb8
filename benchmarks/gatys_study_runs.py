"""The runs behind ``benchmarks/gatys_study.py``: inputs and descriptors, one Gatys run, scores.

The studies and the document they write are in ``gatys_study.py``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image
from torch import Tensor

from benchmarks.common import data_root
from texture_nets.baselines.gatys import stylize, synthesize
from texture_nets.evaluation.metrics import (
    ContentDistance,
    ContentSSIM,
    StyleDistance,
    texture_report,
)
from texture_nets.image import is_builtin, load_image, open_image, pil_to_tensor
from texture_nets.objective.descriptor import VGGDescriptor, layer_names
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    LossSettings,
    Objective,
    loss_settings,
)
from texture_nets.objective.weights import resolve_weights
from texture_nets.precision import bf16_fast

STYLE_LAYERS = DEFAULT_STYLE_LAYERS
CONTENT_LAYER = DEFAULT_CONTENT_LAYERS[0]
IMAGES = Path("images") / "gatys"


# -- setup --------------------------------------------------------------------------------------


@dataclass
class Context:
    """Inputs, descriptors and settings shared by the studies."""

    args: argparse.Namespace
    out: Path  # the markdown's folder; figures go to out / IMAGES
    descriptors: dict[str, VGGDescriptor]  # "avg" (also the scorer) and "max"
    source: str
    use_bf16: bool
    example: Tensor  # the texture, longer side --style-size
    style: Tensor  # the painting, longer side --style-size
    content: Tensor  # the photo, longer side --size
    texture_name: str
    style_name: str
    content_name: str
    results: dict[str, Any] = field(default_factory=dict)
    sections: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)
    runs: int = 0
    started: float = field(default_factory=time.perf_counter)

    @property
    def size(self) -> int:
        return int(self.args.size)

    @property
    def steps(self) -> int:
        return int(self.args.steps)

    @property
    def scorer(self) -> VGGDescriptor:
        return self.descriptors["avg"]

    def figure(self, name: str) -> Path:
        return self.out / IMAGES / name

    def link(self, name: str) -> str:
        return (IMAGES / name).as_posix()


def resolve_image(name: str, folder: str) -> str:
    """A file name inside the data folder (``textures``, ``styles``, ``content/val``), a path, or
    ``builtin:NAME``."""
    if is_builtin(name) or Path(name).expanduser().is_file():
        return name
    candidate = data_root() / folder / name
    if not candidate.is_file():
        raise SystemExit(f"{name}: not a file and not in {data_root() / folder}")
    return str(candidate)


def build_context(args: argparse.Namespace) -> Context:
    texture = resolve_image(args.texture, "textures")
    style = resolve_image(args.style, "styles")
    content = resolve_image(args.content, "content/val")
    style_size = args.style_size or args.size
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*RANDOM VGG weights.*")
        weights = resolve_weights(args.descriptor, None, args.seed)
    last = max([*STYLE_LAYERS, CONTENT_LAYER], key=layer_names(weights.arch).index)
    descriptors = {
        pooling: VGGDescriptor(
            weights.arch, weights.features_state, weights.normalization, pooling, last
        )
        for pooling in ("avg", "max")
    }
    photo = open_image(content)
    scale = args.size / max(photo.size)
    photo = photo.resize(
        (max(1, round(photo.width * scale)), max(1, round(photo.height * scale))),
        Image.Resampling.LANCZOS,
    )
    if args.precision == "auto":
        use_bf16 = bf16_fast(torch.device("cpu"))
    else:
        use_bf16 = args.precision == "bf16"
    return Context(
        args=args,
        out=args.out,
        descriptors=descriptors,
        source=weights.source,
        use_bf16=use_bf16,
        example=load_image(texture, style_size),
        style=load_image(style, style_size),
        content=pil_to_tensor(photo),
        texture_name=Path(texture).name,
        style_name=Path(style).name,
        content_name=Path(content).name,
    )


# -- one Gatys run --------------------------------------------------------------------------


@dataclass
class Run:
    image: Tensor
    losses: list[float]
    seconds: list[float]  # since the start of the optimisation, per iteration
    total_seconds: float  # targets + optimisation

    @property
    def final(self) -> float:
        return self.losses[-1] if self.losses else math.nan


def study_settings(
    layers: Sequence[str], with_content: bool, content_weight: float = 1.0
) -> LossSettings:
    """The training objective (``objective.loss_settings``) with the study's style layers (weight
    1 each), style weight 1 and, for style transfer, the content layer at ``content_weight``."""
    return replace(
        loss_settings({}, stylize=with_content),
        style_layers=dict.fromkeys(layers, 1.0),
        style_weight=1.0,
        content_weight=content_weight,
    )


def run_gatys(
    ctx: Context,
    label: str,
    *,
    style: Tensor,
    layers: Sequence[str] = STYLE_LAYERS,
    pooling: str = "avg",
    optimizer: str = "lbfgs",
    init: str = "noise",
    content: Tensor | None = None,
    content_weight: float = 1.0,
) -> Run:
    """Optimise one image with ``TextureLoss`` (style weight 1) and report progress."""
    descriptor = ctx.descriptors[pooling]
    settings = study_settings(layers, content is not None, content_weight)
    start = time.perf_counter()
    objective = Objective.build(descriptor, settings, [style], use_bf16=ctx.use_bf16)
    options: dict[str, Any] = {"optimizer": optimizer, "progress": False}
    if content is None:
        size = (ctx.size, ctx.size)
        result = synthesize(objective, size, ctx.steps, seed=ctx.args.seed, **options)
    else:
        result = stylize(objective, content, ctx.steps, init=init, seed=ctx.args.seed, **options)
    seconds = time.perf_counter() - start
    ctx.runs += 1
    print(
        f"[{ctx.runs}] {label}: loss {result.losses[0]:.4g} -> {result.losses[-1]:.4g} "
        f"({len(result.losses)} iterations, {seconds:.1f} s)",
        file=sys.stderr,
        flush=True,
    )
    return Run(result.image, result.losses, result.seconds, seconds)


# -- scores (fp32, average-pooling descriptor) ----------------------------------------------


def texture_scores(ctx: Context, image: Tensor) -> dict[str, float]:
    """Style distance (all five layers, and per layer) and SWD to the texture example."""
    return texture_report(ctx.scorer, ctx.example, image, list(STYLE_LAYERS), seed=ctx.args.seed)


def transfer_scores(ctx: Context, image: Tensor) -> dict[str, float]:
    """Style distance to the painting, content distance and SSIM to the photo."""
    style = StyleDistance(ctx.scorer, ctx.style, list(STYLE_LAYERS))
    content = ContentDistance(ctx.scorer, CONTENT_LAYER)
    ssim = ContentSSIM()
    style.update(image)
    content.update(image, ctx.content)
    ssim.update(image, ctx.content)
    return {
        "style_distance": float(style.compute()["style_distance"]),
        "content_distance": float(content.compute()),
        "content_ssim": float(cast(Tensor, ssim.compute())),
    }


def max_pool_distance(ctx: Context, image: Tensor) -> float:
    """Style distance (all five layers) under the max-pooling descriptor."""
    metric = StyleDistance(ctx.descriptors["max"], ctx.example, list(STYLE_LAYERS))
    metric.update(image)
    return float(metric.compute()["style_distance"])


def fit_like(image: Tensor, reference: Tensor) -> Tensor:
    """``image`` scaled to fit in ``reference``'s height and width (for the figures)."""
    height, width = reference.shape[-2:]
    scale = min(height / image.shape[-2], width / image.shape[-1])
    size = (max(1, round(image.shape[-2] * scale)), max(1, round(image.shape[-1] * scale)))
    return torch.nn.functional.interpolate(image, size=size, mode="area")


def warm_up(ctx: Context) -> None:
    """A few untimed iterations per descriptor and optimiser, so that no run pays for the
    first-call costs (allocator growth, kernel selection) in its time."""
    for pooling, descriptor in ctx.descriptors.items():
        settings = study_settings(STYLE_LAYERS, with_content=True)
        objective = Objective.build(descriptor, settings, [ctx.style], use_bf16=ctx.use_bf16)
        for optimizer in ("lbfgs", "adam") if pooling == "avg" else ("lbfgs",):
            stylize(
                objective,
                ctx.content,
                2,
                init="noise",
                seed=ctx.args.seed,
                optimizer=optimizer,
                progress=False,
            )

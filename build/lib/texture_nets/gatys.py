"""Gatys et al.'s baseline: optimise the pixels of one image against the shared ``TextureLoss``.

Texture synthesis (Gatys, Ecker & Bethge 2015) and style transfer (Gatys et al. 2016) by
gradient descent on the image itself, with the same frozen descriptor and the same objective
the texture networks are trained with (``texture_nets.losses.TextureLoss``): the baseline and
the networks are therefore compared on one loss.

Library: ``optimize_image`` (pure torch) and ``make_init``; ``LossSettings`` and
``load_descriptor`` (the objective and its descriptor, shared with ``texture_nets.compare``).
Command line (its loss curve is drawn by ``texture_nets.plots``)::

    python -m texture_nets.gatys --texture IMG --size 256 --out result.png
    python -m texture_nets.gatys --style A.jpg B.jpg --style-blend 0.7 0.3 --content photo.jpg

Design choices, measured on tiny cases (random VGG16 at 32 px as in the tests, and the ONNX
VGG16 at 64 px on ``builtin:brick`` / ``builtin:astronaut``, 75 iterations):

* Parametrisation: the pixels themselves, clamped to [0, 1] after every update ("projected"
  L-BFGS/Adam), with two L-BFGS safeguards in ``_project_lbfgs``: L-BFGS is told the step it
  actually took (after the clamp), so its curvature pairs stay exact, and no pixel moves by
  more than ``LBFGS_MAX_STEP`` in one update. A sigmoid parametrisation was as good or better
  from a grey start (64 px brick: loss 0.0128 vs 0.0142) but much worse from a content image,
  whose saturated pixels start with a vanishing gradient (64 px style transfer: 1.76 vs 0.95);
  plain clamping without the safeguards made the loss jump 5-20x every few iterations on the
  32 px cases (an overshooting quasi-Newton step after a tiny first step), the safeguards
  removed every jump and reached a lower loss (e.g. 0.0015 vs 0.0049 after 40 iterations).
* Objective scale: the optimisers minimise ``loss * H * W / initial loss`` (the recorded loss
  is unscaled). ``TextureLoss`` is a mean over positions, so its gradient per pixel is tiny,
  and torch's L-BFGS drops curvature pairs with ``s·y <= 1e-10`` and takes a unit first step
  along the raw gradient: unscaled, with ``style_weight=1e-6`` it made no progress at all in 50
  iterations (scaled: 1e-6 of the initial loss). L-BFGS and Adam are otherwise invariant to it.
* L-BFGS: ``torch.optim.LBFGS(max_iter=1, history_size=100, line_search_fn=None)``, so one
  iteration is one function evaluation plus one update, like one Adam step. A strong-Wolfe
  line search re-evaluates the accepted point at the next step (two or more evaluations per
  iteration) and was worse per evaluation (64 px brick: 0.098 vs 0.024 after 75
  evaluations; it did not move at all on the 32 px cases). Tolerances are 0: only ``steps``
  and ``stop_at_loss`` stop it.
* Adam: ``lr`` halves when the loss has not improved by 0.1 % for ``ADAM_PATIENCE`` iterations
  (``ReduceLROnPlateau``; patience not tuned).
* Init ``noise``: mid-grey plus uniform noise in +-``INIT_NOISE_AMPLITUDE``, seeded. White
  noise in [0, 1] (Gatys et al.) starts far from any natural image's statistics: 64 px brick
  after 75 iterations, L-BFGS 0.024 vs 0.0155 and Adam 0.35 vs 0.021 (amplitudes +-0.01 and
  +-0.25 were in between).
* bf16 autocast (this CPU has AVX512-BF16): about 25 % faster per iteration, a similar
  curve (64 px brick, 75 iterations of L-BFGS: 0.027 vs 0.024 in fp32).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import signal
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from PIL import Image
from torch import Tensor

from texture_nets.config import PRECISIONS, list_of
from texture_nets.descriptor import (
    ARCHITECTURES,
    POOLING_MODES,
    VGGDescriptor,
    check_layers,
    deepest_layer,
    min_input_side,
)
from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
)
from texture_nets.generate_cli import parse_size, positive_int
from texture_nets.image import (
    atomic_write,
    check_output_dir,
    load_image,
    open_image,
    pil_to_tensor,
    save_image,
)
from texture_nets.losses import TextureLoss
from texture_nets.plots import plot_losses
from texture_nets.precision import descriptor_autocast, resolve_bf16
from texture_nets.stylize import Size, output_size
from texture_nets.threads import use_physical_cores
from texture_nets.weights import build_descriptor

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
INIT_KINDS = ("noise", "content", "content+noise")
LBFGS_HISTORY = 100
LBFGS_MAX_STEP: float | None = 0.25  # largest change of one pixel in one L-BFGS update
ADAM_PATIENCE = 10  # iterations without a 0.1 % improvement before Adam's lr halves
ADAM_MIN_LR_FACTOR = 1e-3  # Adam's lr never falls below this fraction of the initial lr
INIT_NOISE_AMPLITUDE = 0.1  # --init noise: 0.5 + uniform noise in [-0.1, 0.1]

DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_CONTENT_LAYERS = ("relu4_2",)


@dataclass
class GatysResult:
    """What ``optimize_image`` found.

    ``losses[i]`` is the total loss evaluated in iteration ``i + 1``, of the image that
    iteration started from (``losses[0]`` is the initial image's loss); ``seconds[i]`` is the
    wall time since the start when iteration ``i + 1`` ended. ``image`` is the evaluated image
    with the lowest loss, so ``best_loss == min(losses)`` (``inf`` if no loss was finite).
    """

    image: Tensor
    losses: list[float]
    seconds: list[float]
    best_loss: float
    interrupted: bool


class _NonFiniteLoss(ArithmeticError):
    """Raised from the closure before the optimiser can apply a NaN/inf gradient."""


# -- library --------------------------------------------------------------------------------


def make_init(
    kind: str,
    size: tuple[int, int],
    content: Tensor | None = None,
    noise_ratio: float = 0.5,
    seed: int = 0,
) -> Tensor:
    """The starting image, (1, 3, H, W) in [0, 1]; ``size`` is (height, width).

    ``noise``: mid-grey plus seeded uniform noise of amplitude ``INIT_NOISE_AMPLITUDE`` (see the
    module docstring for why not white noise). ``content``: the content image (resized to
    ``size`` if needed). ``content+noise``: ``(1 - noise_ratio) * content + noise_ratio * noise``
    with seeded white noise (uniform in [0, 1]), so that the seed visibly changes the result.
    """
    if kind not in INIT_KINDS:
        raise ValueError(f"unknown init {kind!r}; choose one of {', '.join(INIT_KINDS)}")
    height, width = size
    if height <= 0 or width <= 0:
        raise ValueError(f"init size must be positive, got {width}x{height}")
    if not 0.0 <= noise_ratio <= 1.0:
        raise ValueError(f"noise_ratio must be in [0, 1], got {noise_ratio}")
    rng = torch.Generator().manual_seed(seed)
    if kind == "noise":
        return 0.5 + INIT_NOISE_AMPLITUDE * (2 * torch.rand(1, 3, height, width, generator=rng) - 1)
    if content is None:
        raise ValueError(f"init {kind!r} needs a content image")
    content = content.detach().float().cpu()
    if content.dim() == 3:
        content = content.unsqueeze(0)
    if content.shape[-2:] != (height, width):
        content = F.interpolate(
            content, size=(height, width), mode="bilinear", align_corners=False, antialias=True
        )
    content = content.clamp(0, 1)
    if kind == "content":
        return content.clone()
    noise = torch.rand(1, 3, height, width, generator=rng)  # white noise: varies with the seed
    return ((1.0 - noise_ratio) * content + noise_ratio * noise).clamp(0, 1)


def optimize_image(
    descriptor: VGGDescriptor,
    loss: TextureLoss,
    init: Tensor,
    steps: int,
    optimizer: str = "lbfgs",
    lr: float | None = None,
    content_targets: Mapping[str, Tensor] | None = None,
    use_bf16: bool = False,
    callback: Callable[[int, Tensor, float], None] | None = None,
    progress: bool = True,
    stop_at_loss: float | None = None,
) -> GatysResult:
    """Optimise the pixels of ``init`` to minimise ``loss`` (style targets already set).

    Args:
        descriptor: the frozen VGG; it must provide every layer of ``loss.layers``.
        loss: the shared objective (``set_style`` already called).
        init: (1, 3, H, W) in [0, 1] (see ``make_init``); not modified.
        steps: maximum number of iterations (one function evaluation + one update each).
        optimizer: ``"lbfgs"`` or ``"adam"``.
        lr: learning rate (default 1.0 for L-BFGS, 0.02 for Adam).
        content_targets: content features (style transfer), keyed by content layer.
        use_bf16: run the descriptor under bf16 autocast (the Grams stay fp32).
        callback: called as ``callback(iteration, image, loss)`` every iteration (1-based),
            with the image that was evaluated and its loss; raising ``KeyboardInterrupt`` in
            it stops the optimisation like Ctrl-C does.
        progress: show a progress bar with the current loss (on stderr).
        stop_at_loss: stop as soon as an evaluated loss is ``<=`` this.

    Ctrl-C and a non-finite loss stop the loop early; the best image so far is returned
    (``interrupted=True`` for Ctrl-C, a logged warning for NaN/inf).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    if steps <= 0:
        raise ValueError(f"steps must be positive, got {steps}")
    if init.dim() != 4 or init.shape[:2] != (1, 3):
        raise ValueError(f"init must have shape (1, 3, H, W), got {tuple(init.shape)}")
    lr = DEFAULT_LR[optimizer] if lr is None else lr
    if lr <= 0:
        raise ValueError(f"lr must be positive, got {lr}")
    device = descriptor.mean.device
    layers = loss.layers
    targets = {k: v.to(device) for k, v in content_targets.items()} if content_targets else None
    # See the module docstring: pixels in [0, 1], projected after every update.
    pixels = init.detach().to(device=device, dtype=torch.float32).clamp(0, 1).clone()
    pixels.requires_grad_(True)
    positions = float(pixels.shape[-2] * pixels.shape[-1])
    scale = 0.0  # the optimisers minimise loss * H * W / initial loss (module docstring)
    lbfgs: torch.optim.LBFGS | None = None
    adam: torch.optim.Adam | None = None
    scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau | None = None
    if optimizer == "lbfgs":
        # max_iter=1: one evaluation + one update per step(); the history persists across calls.
        lbfgs = torch.optim.LBFGS(
            [pixels],
            lr=lr,
            max_iter=1,
            history_size=LBFGS_HISTORY,
            tolerance_grad=0.0,
            tolerance_change=0.0,
            line_search_fn=None,
        )
    else:
        adam = torch.optim.Adam([pixels], lr=lr)
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            adam,
            mode="min",
            factor=0.5,
            patience=ADAM_PATIENCE,
            threshold=1e-3,
            min_lr=lr * ADAM_MIN_LR_FACTOR,
        )

    evaluated: list[tuple[float, Tensor]] = []

    def closure() -> Tensor:
        nonlocal scale
        pixels.grad = None
        with descriptor_autocast(device, use_bf16):
            features = descriptor(pixels.contiguous(memory_format=torch.channels_last), layers)
        total = loss(features, targets, pixels).total
        value = float(total.detach())
        if not math.isfinite(value):
            raise _NonFiniteLoss(value)
        if scale == 0.0:
            scale = positions / value if value > 0 else positions
        (total * scale).backward()
        if not evaluated:  # the iteration's own point (a line search would add trial points)
            evaluated.append((value, pixels.detach().clone()))
        return total.detach() * scale

    best_image = pixels.detach().clone()
    best_loss = math.inf
    losses: list[float] = []
    seconds: list[float] = []
    interrupted = False
    start = time.perf_counter()
    with torch.enable_grad(), _progress_bar(progress, steps, optimizer) as advance:
        try:
            for iteration in range(1, steps + 1):
                evaluated.clear()
                if lbfgs is not None:
                    lbfgs.step(closure)
                    _project_lbfgs(lbfgs, pixels, evaluated[0][1])
                elif adam is not None and scheduler is not None:
                    closure()
                    adam.step()
                    scheduler.step(evaluated[0][0])
                    with torch.no_grad():
                        pixels.clamp_(0, 1)
                value, image = evaluated[0]
                losses.append(value)
                seconds.append(time.perf_counter() - start)
                if value < best_loss:
                    best_loss, best_image = value, image
                advance(value)
                if callback is not None:
                    callback(iteration, image, value)
                if stop_at_loss is not None and value <= stop_at_loss:
                    break
        except KeyboardInterrupt:
            interrupted = True
            log.warning("interrupted after %d iteration(s); keeping the best image", len(losses))
        except _NonFiniteLoss as error:
            log.warning(
                "non-finite loss (%s) at iteration %d; stopping with the best image (loss %.4g)",
                error,
                len(losses) + 1,
                best_loss,
            )
    return GatysResult(best_image, losses, seconds, best_loss, interrupted)


@torch.no_grad()
def _project_lbfgs(lbfgs: torch.optim.LBFGS, pixels: Tensor, before: Tensor) -> None:
    """Clamp to [0, 1] after an L-BFGS update and keep L-BFGS's history consistent.

    L-BFGS forms its next curvature pair from ``s = d * t`` (the step it *meant* to take) and
    the gradient change. The update is first shortened so that no pixel moves by more than
    ``LBFGS_MAX_STEP`` (an early quasi-Newton step, built from one tiny gradient step, can
    overshoot wildly), then clamped; ``d`` is rewritten to the step actually taken over ``t``,
    so the next curvature pair describes the real move. If nothing moved at all (a numerically
    non-descent direction), the history is dropped so that L-BFGS restarts from the gradient
    instead of proposing the same direction forever.
    """
    if LBFGS_MAX_STEP is not None:
        change = (pixels - before).abs().max()
        if change > LBFGS_MAX_STEP:
            pixels.copy_(before + (pixels - before) * (LBFGS_MAX_STEP / change))
    pixels.clamp_(0, 1)
    state = lbfgs.state[pixels]
    step_size = state.get("t")
    if torch.equal(pixels, before):
        state.clear()
    elif isinstance(state.get("d"), Tensor) and step_size:
        state["d"] = (pixels - before).flatten() / step_size


@contextlib.contextmanager
def _progress_bar(enabled: bool, total: int, name: str) -> Iterator[Callable[[float], None]]:
    """A rich progress bar on stderr; yields ``advance(loss)``."""
    if not enabled:
        yield lambda value: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task = bar.add_task(f"gatys {name}", total=total, loss="-")
    with bar:
        yield lambda value: bar.update(task, advance=1, loss=f"{value:.4g}")


def describe(
    descriptor: VGGDescriptor, images: Tensor, layers: Sequence[str], use_bf16: bool = False
) -> dict[str, Tensor]:
    """Descriptor features without gradient (style and content targets), same precision."""
    device = descriptor.mean.device
    with torch.no_grad(), descriptor_autocast(device, use_bf16):
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        return {k: v.float() for k, v in descriptor(images, layers).items()}


# -- the objective and its descriptor (shared with texture_nets.compare) ---------------------


@dataclass(frozen=True)
class LossSettings:
    """The objective (``TextureLoss``'s arguments) and the descriptor it is computed with."""

    style_layers: dict[str, float]
    content_layers: dict[str, float]
    style_weight: float
    content_weight: float
    tv_weight: float
    pooling: str
    style_size: int
    descriptor_arch: str | None

    @property
    def layers(self) -> list[str]:
        """Every descriptor layer the loss reads (style, then content)."""
        return list(dict.fromkeys([*self.style_layers, *self.content_layers]))

    def build_loss(self) -> TextureLoss:
        return TextureLoss(
            self.style_layers,
            self.content_layers or None,
            style_weight=self.style_weight,
            content_weight=self.content_weight,
            tv_weight=self.tv_weight,
        )


def _check_layers(arch: str, layers: Sequence[str]) -> None:
    try:
        check_layers(arch, layers)
    except ValueError as error:
        raise UserError(str(error)) from error


def load_descriptor(
    source: str, settings: LossSettings, seed: int = 0
) -> tuple[VGGDescriptor, str]:
    """The frozen descriptor for ``settings`` and its source record (``build_descriptor``).

    A bad ``--descriptor`` source, or a layer its architecture lacks, is a ``UserError``.
    """

    # vgg19 has every vgg16 layer, in the same order: both agree on the deepest layer.
    arch = settings.descriptor_arch or "vgg19"
    _check_layers(arch, settings.layers)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*RANDOM VGG weights.*")
            descriptor, record = build_descriptor(
                source,
                settings.descriptor_arch,
                settings.pooling,
                deepest_layer(arch, settings.layers),
                seed,
            )
    except ValueError as error:
        raise UserError(f"--descriptor {source}: {error}") from error
    _check_layers(descriptor.arch, settings.layers)
    if record.startswith("random"):
        log.warning("WARNING: descriptor has RANDOM weights (tests only); results are meaningless")
    return descriptor, record


# -- command line ---------------------------------------------------------------------------


def _size(text: str) -> tuple[int, int | None]:
    """``--size``: ``N`` -> (N, None), longer side N; ``WxH`` -> (W, H), exactly that size."""
    height, width = parse_size(text)
    return (width, height) if "x" in text.lower() else (width, None)


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="python -m texture_nets.gatys",
        description="Gatys et al.'s optimisation baseline: texture synthesis (--texture) or "
        "style transfer (--style ... --content), by optimising the pixels of one image.",
        formatter_class=DefaultsHelpFormatter,
    )
    what = parser.add_argument_group("what to make")
    what.add_argument("--texture", metavar="IMG", help="texture synthesis from this example")
    what.add_argument("--style", metavar="IMG", nargs="+", help="style transfer: style image(s)")
    what.add_argument(
        "--style-blend",
        metavar="W",
        type=float,
        nargs="+",
        help="weights of the style images' Grams (default: equal)",
    )
    what.add_argument("--content", metavar="PHOTO", help="style transfer: the content photo")
    what.add_argument(
        "--size",
        type=_size,
        default=None,
        metavar="N|WxH",
        help="output size: N x N for textures, longer side N for style transfer (default "
        "256); WxH: exactly that",
    )
    what.add_argument(
        "--style-size",
        type=positive_int,
        default=512,
        metavar="N",
        help="style/texture images are downscaled to this longer side if larger",
    )
    what.add_argument("--out", default="result.png", help="output image (.png or .jpg)")
    what.add_argument(
        "--save-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="also write <out stem>_iterNNNN.png every N iterations",
    )
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--steps", type=positive_int, default=300, help="iterations")
    opt.add_argument("--optimizer", choices=OPTIMIZERS, default="lbfgs")
    opt.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1.0 for lbfgs, 0.02 for adam)",
    )
    opt.add_argument(
        "--init",
        choices=INIT_KINDS,
        default=None,
        help="starting image (default: noise for textures, content for style transfer)",
    )
    opt.add_argument(
        "--noise-ratio", type=float, default=0.5, help="share of noise in --init content+noise"
    )
    opt.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    opt.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="descriptor precision: auto = bf16 where it is fast",
    )
    opt.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    loss = parser.add_argument_group("descriptor and loss")
    loss.add_argument(
        "--descriptor",
        default="auto",
        help="VGG weights: auto|torchvision|onnx|onnx:FILE|FILE.pth|random",
    )
    loss.add_argument(
        "--descriptor-arch",
        choices=ARCHITECTURES,
        default=None,
        help="vgg16|vgg19 (default: what the source provides)",
    )
    loss.add_argument("--pooling", choices=POOLING_MODES, default="avg")
    loss.add_argument(
        "--style-layers",
        type=list_of(str),
        default=list(DEFAULT_STYLE_LAYERS),
        metavar="L1,L2,...",
        help="layers of the Gram loss",
    )
    loss.add_argument(
        "--style-layer-weights",
        type=list_of(float),
        default=None,
        metavar="W1,W2,...",
        help="one weight per style layer (default: all 1)",
    )
    loss.add_argument(
        "--content-layers",
        type=list_of(str),
        default=list(DEFAULT_CONTENT_LAYERS),
        metavar="L1,...",
        help="layers of the content loss (style transfer)",
    )
    loss.add_argument("--style-weight", type=float, default=1.0)
    loss.add_argument("--content-weight", type=float, default=1.0)
    loss.add_argument("--tv-weight", type=float, default=0.0, help="total-variation weight")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def check_args(args: argparse.Namespace) -> str:
    """Validate the flags before any heavy work; returns the mode (texture|style)."""
    if args.texture and args.style:
        raise UserError(
            "give either --texture IMG (texture synthesis) or --style IMG "
            "--content PHOTO (style transfer), not both"
        )
    if args.content and not args.style:
        raise UserError("--content needs --style IMG (for texture synthesis use --texture IMG)")
    if args.style and not args.content:
        raise UserError("--style needs --content PHOTO (for texture synthesis use --texture IMG)")
    if not args.texture and not args.style:
        raise UserError("nothing to do: give --texture IMG, or --style IMG --content PHOTO")
    mode = "texture" if args.texture else "style"
    blend = args.style_blend
    if blend is not None:
        if mode != "style":
            raise UserError("--style-blend applies to --style images only")
        if len(blend) != len(args.style):
            raise UserError(
                f"--style-blend: {len(blend)} weight(s) for {len(args.style)} style image(s)"
            )
        if any(w < 0 for w in blend) or sum(blend) <= 0:
            raise UserError("--style-blend weights must be >= 0 and not all 0")
    if mode == "texture" and args.init in ("content", "content+noise"):
        raise UserError(f"--init {args.init} needs a content image (style transfer)")
    if not 0.0 <= args.noise_ratio <= 1.0:
        raise UserError(f"--noise-ratio must be in [0, 1], got {args.noise_ratio}")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    for name in ("style_weight", "content_weight", "tv_weight"):
        if not getattr(args, name) >= 0:
            raise UserError(f"--{name.replace('_', '-')} must be >= 0, got {getattr(args, name)}")
    if not args.style_layers:
        raise UserError("--style-layers must name at least one layer")
    if mode == "style" and not args.content_layers:
        raise UserError("--content-layers must name at least one layer for style transfer")
    weights = args.style_layer_weights
    if weights is not None and len(weights) != len(args.style_layers):
        raise UserError(
            f"--style-layer-weights: {len(weights)} weight(s) for "
            f"{len(args.style_layers)} style layer(s)"
        )
    if weights is not None and any(w < 0 for w in weights):
        raise UserError("--style-layer-weights must be >= 0")
    _check_layers(args.descriptor_arch or "vgg19", _loss_settings(args, mode).layers)
    if Image.registered_extensions().get(Path(args.out).suffix.lower()) is None:
        raise UserError(f"--out {args.out}: unknown image format; use .png or .jpg")
    return mode


def _loss_settings(args: argparse.Namespace, mode: str) -> LossSettings:
    weights = args.style_layer_weights or [1.0] * len(args.style_layers)
    return LossSettings(
        style_layers=dict(zip(args.style_layers, weights, strict=True)),
        content_layers={name: 1.0 for name in args.content_layers} if mode == "style" else {},
        style_weight=args.style_weight,
        content_weight=args.content_weight,
        tv_weight=args.tv_weight,
        pooling=args.pooling,
        style_size=args.style_size,
        descriptor_arch=args.descriptor_arch,
    )


def _output_size(size: tuple[int, int | None] | None, content: tuple[int, int] | None) -> Size:
    """(width, height) of the result: ``--size`` WxH, else N x N for a texture, else the content
    photo's size with the longer side N (default 256)."""
    side, height = size or (256, None)
    if height is not None:
        return side, height
    return (side, side) if content is None else output_size(content, side)


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While optimising, SIGTERM (a scheduler's kill) takes the Ctrl-C path: the best image is
    written. Scoped, unlike ``callbacks.install_sigterm_as_interrupt``: the previous handler is
    restored afterwards (``main`` is also called from tests and benchmarks)."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _write(path: Path, data: Tensor | str) -> None:
    """Write an image tensor or a text file atomically; failing to is a ``UserError``."""
    try:
        if isinstance(data, Tensor):
            save_image(data.cpu(), path)
        else:
            atomic_write(path, lambda tmp: tmp.write_text(data))
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from error


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    use_physical_cores()
    mode = check_args(args)
    settings = _loss_settings(args, mode)
    try:
        device = torch.device(args.device)
    except RuntimeError as error:
        raise UserError(f"--device {args.device}: {error}") from error

    # Images first (fast failures), then the descriptor.
    check_output_dir(Path(args.out).parent)
    # Pooling positions are the same in VGG-16 and VGG-19; VGG-19 knows every layer name.
    min_side = min_input_side(args.descriptor_arch or "vgg19", settings.layers)
    style_paths: list[str] = [args.texture] if mode == "texture" else list(args.style)
    styles = [load_image(path, args.style_size, min_side=min_side) for path in style_paths]
    photo = open_image(args.content) if mode == "style" else None
    width, height = _output_size(args.size, photo.size if photo else None)
    if min(width, height) < min_side:
        raise UserError(
            f"--size: {width}x{height} is too small for the deepest layer in use; "
            f"use at least {min_side} px per side (or shallower --style-layers)"
        )
    content = None
    if photo is not None:
        content = pil_to_tensor(photo.resize((width, height), Image.Resampling.LANCZOS))
    init_kind = args.init or ("content" if mode == "style" else "noise")

    descriptor, source = load_descriptor(args.descriptor, settings, args.seed)
    descriptor = descriptor.to(device)
    use_bf16 = resolve_bf16(args.precision, device)
    loss = settings.build_loss().to(device)
    loss.set_style(
        [describe(descriptor, s, list(loss.style_layers), use_bf16) for s in styles],
        args.style_blend,
    )
    content_targets = None
    if content is not None:
        content_targets = describe(descriptor, content, list(loss.content_layers), use_bf16)
    init = make_init(init_kind, (height, width), content, args.noise_ratio, args.seed)
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    log.info(
        "gatys %s: %s %dx%d, %d steps of %s (lr %g), init %s, descriptor %s (%s pooling, %s)",
        mode,
        ", ".join(style_paths),
        width,
        height,
        args.steps,
        args.optimizer,
        lr,
        init_kind,
        source,
        args.pooling,
        "bf16" if use_bf16 else "fp32",
    )

    out = Path(args.out)
    stem = out.with_suffix("")
    paths = {
        "image": out,
        "loss_curve": stem.with_name(stem.name + "_loss.png"),
        "json": stem.with_suffix(".json"),
    }

    def save_intermediate(iteration: int, image: Tensor, value: float) -> None:
        if iteration % args.save_every == 0:
            _write(out.with_name(f"{out.stem}_iter{iteration:04d}{out.suffix}"), image)

    with _sigterm_as_interrupt():
        result = optimize_image(
            descriptor,
            loss,
            init,
            args.steps,
            optimizer=args.optimizer,
            lr=lr,
            content_targets=content_targets,
            use_bf16=use_bf16,
            callback=save_intermediate if args.save_every else None,
        )

    if result.interrupted:
        stopped = "interrupted"
    elif len(result.losses) < args.steps:
        stopped = "non-finite loss"  # optimize_image stops early only for that here
    else:
        stopped = "completed"
    _write(out, result.image)
    plot_losses(
        result.losses, paths["loss_curve"], f"gatys {args.optimizer}, {mode}, {width}x{height}"
    )
    record = {
        "mode": mode,
        "settings": {k: v for k, v in vars(args).items() if k != "verbose"},
        "resolved": {
            "width": width,
            "height": height,
            "init": init_kind,
            "lr": lr,
            "precision": "bf16" if use_bf16 else "fp32",
            "device": str(device),
            "style_layers": loss.style_layers,
            "content_layers": loss.content_layers,
        },
        "descriptor_source": source,
        "iterations": len(result.losses),
        "best_loss": result.best_loss if math.isfinite(result.best_loss) else None,
        "final_loss": result.losses[-1] if result.losses else None,
        "interrupted": result.interrupted,
        "stopped": stopped,
        "seconds_total": result.seconds[-1] if result.seconds else 0.0,
        "losses": result.losses,
        "seconds": result.seconds,
        "outputs": {k: str(v) for k, v in paths.items()},
        "torch": torch.__version__,
    }
    _write(paths["json"], json.dumps(record, indent=2, default=str))
    if result.interrupted:
        log.warning(
            "interrupted: best image so far (loss %.4g) written to %s", result.best_loss, out
        )
        return 130
    if stopped != "completed":
        log.error(
            "stopped after %d iteration(s): %s; best image (loss %.4g) written to %s",
            len(result.losses),
            stopped,
            result.best_loss,
            out,
        )
        return 1
    log.info(
        "best loss %.4g after %d iteration(s) in %.1f s -> %s",
        result.best_loss,
        len(result.losses),
        record["seconds_total"],
        out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Gatys et al.'s baseline: optimise the pixels of one image against the shared ``TextureLoss``.

Texture synthesis (Gatys, Ecker & Bethge 2015) and style transfer (Gatys et al. 2016) by
gradient descent on the image itself, with the same frozen descriptor and the same objective
the texture networks are trained with (``texture_nets.objective.objective``): the baseline and the
networks are therefore compared on one loss. Library only: ``synthesize`` (a texture from noise)
and ``stylize`` (style transfer from a photo) on an ``Objective`` are the one way to run it;
``optimize_image`` (pure torch) and ``make_init`` are their steps. The command line is
``texture_nets.cli.gatys`` (``python -m texture_nets gatys``).

Design choices (measured in ``docs/gatys-optimizer.md``):

* the pixels themselves are optimised, clamped to [0, 1] after every update; L-BFGS is told
  the step it actually took, and no pixel moves by more than ``LBFGS_MAX_STEP`` per update
  (``_project_lbfgs``), which removes the loss jumps of plain clamping;
* the optimisers minimise ``loss * H * W / initial loss`` (the recorded loss is unscaled):
  unscaled, torch's L-BFGS drops the tiny curvature pairs of a mean-over-positions loss;
* L-BFGS without line search (one evaluation + one update per iteration, like Adam), no
  tolerances: only ``steps`` and ``stop_at_loss`` stop it;
* Adam halves ``lr`` after ``ADAM_PATIENCE`` iterations without a 0.1 % improvement;
* ``--init noise`` is mid-grey plus small uniform noise, closer to natural image statistics
  than white noise.
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TypedDict

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor
from typing_extensions import Unpack

from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import TextureLoss
from texture_nets.objective.objective import LossSettings, Objective, describe, load_descriptor
from texture_nets.precision import bf16_autocast

__all__ = [
    "DEFAULT_LR",
    "INIT_KINDS",
    "OPTIMIZERS",
    "GatysResult",
    "LossSettings",
    "Objective",
    "describe",
    "load_descriptor",
    "make_init",
    "optimize_image",
    "stylize",
    "synthesize",
]

log = logging.getLogger(__name__)

OPTIMIZERS = ("lbfgs", "adam")
DEFAULT_LR = {"lbfgs": 1.0, "adam": 0.02}
INIT_KINDS = ("noise", "content", "content+noise")
LBFGS_HISTORY = 100
LBFGS_MAX_STEP: float | None = 0.25  # largest change of one pixel in one L-BFGS update
ADAM_PATIENCE = 10  # iterations without a 0.1 % improvement before Adam's lr halves
ADAM_MIN_LR_FACTOR = 1e-3  # Adam's lr never falls below this fraction of the initial lr
INIT_NOISE_AMPLITUDE = 0.1  # --init noise: 0.5 + uniform noise in [-0.1, 0.1]


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


def make_init(
    kind: str,
    size: tuple[int, int],
    content: Tensor | None = None,
    noise_ratio: float = 0.5,
    seed: int = 0,
) -> Tensor:
    """The starting image, (1, 3, H, W) in [0, 1]; ``size`` is (height, width).

    ``noise``: mid-grey plus seeded uniform noise of amplitude ``INIT_NOISE_AMPLITUDE`` (see
    ``docs/gatys-optimizer.md`` for why not white noise). ``content``: the content image (resized to
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
    # Pixels in [0, 1], projected after every update (docs/gatys-optimizer.md).
    pixels = init.detach().to(device=device, dtype=torch.float32).clamp(0, 1).clone()
    pixels.requires_grad_(True)
    positions = float(pixels.shape[-2] * pixels.shape[-1])
    scale = 0.0  # the optimisers minimise loss * H * W / initial loss (see above)
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
        with bf16_autocast(device, use_bf16):
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
                loss.draw(iteration)  # the iteration's sliced Wasserstein directions (swd)
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


class Options(TypedDict, total=False):
    """``optimize_image``'s options that ``synthesize`` and ``stylize`` pass through (its
    defaults apply to those left out)."""

    optimizer: str
    lr: float | None
    callback: Callable[[int, Tensor, float], None] | None
    progress: bool
    stop_at_loss: float | None


def synthesize(
    objective: Objective,
    size: tuple[int, int],
    steps: int,
    *,
    seed: int = 0,
    use_bf16: bool | None = None,
    **options: Unpack[Options],
) -> GatysResult:
    """Texture synthesis: optimise a ``make_init("noise")`` image of ``size`` (height, width)
    against ``objective`` (no content term).

    ``use_bf16`` is the descriptor's precision while optimising (default: the objective's
    targets' precision); the other options are ``optimize_image``'s.
    """
    init = make_init("noise", size, seed=seed)
    bf16 = objective.use_bf16 if use_bf16 is None else use_bf16
    return optimize_image(
        objective.descriptor, objective.loss, init, steps, use_bf16=bf16, **options
    )


def stylize(
    objective: Objective,
    photo: Tensor,
    steps: int,
    *,
    init: str = "content",
    noise_ratio: float = 0.5,
    seed: int = 0,
    use_bf16: bool | None = None,
    **options: Unpack[Options],
) -> GatysResult:
    """Style transfer: the content targets of ``photo`` (1, 3, H, W), an ``init`` image of its
    size (``make_init``: the photo itself by default), then ``optimize_image`` as in
    ``synthesize``."""
    targets = objective.content_targets(photo)
    start = make_init(init, (photo.shape[-2], photo.shape[-1]), photo, noise_ratio, seed)
    bf16 = objective.use_bf16 if use_bf16 is None else use_bf16
    return optimize_image(
        objective.descriptor,
        objective.loss,
        start,
        steps,
        content_targets=targets,
        use_bf16=bf16,
        **options,
    )


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

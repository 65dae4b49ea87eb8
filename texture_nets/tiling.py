"""Bounded-memory generation of any size: run a network tile by tile, equal to one whole pass.

What Johnson's network uses (``networks.render``; Ulyanov's generator runs in bands of rows,
``bands.py``, which computes every layer once). Both architectures are fully convolutional,
so an output pixel depends only on inputs within a fixed radius. A tile read with that radius
around it (the halo) reproduces its core exactly, with two exceptions that this module
handles:

* Instance normalisation uses statistics of the *whole* image. They are computed in streaming
  passes: each pass runs every tile up to the first normalisation layer whose statistics are
  still unknown, accumulates that layer's per-channel sums over the tile cores, and stops
  there. When all statistics are known, a last pass produces the output. The heavy
  full-resolution layers come last, so all passes together cost a few whole-image passes;
  memory stays that of one tile.
* Multiscale inputs: tiles start at multiples of the coarsest tiled scale, so every grid stays
  aligned. Image borders use the network's own padding (tiles end at the border); circular
  padding wraps the halo around instead.

``plan_tiling`` asks the network how it tiles (its tiled levels, receptive radius and
normalisation layers: each network class states them; ``networks.render`` runs it);
``tiled_forward`` takes the full-size input pyramid (cheap: a few channels) and a function
running the network on a cut-out of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import Tensor, nn

from texture_nets.bands import return_freed_memory_to_the_os

DEFAULT_TILE = 256  # tile core side: fast and small in memory (docs/architecture.md)
DEFAULT_MAX_MEMORY = 2 << 30  # bytes: --max-memory's default (the process's peak, roughly)
AUTO_TILE_SIDE = 1024  # ``--tile auto`` tiles outputs with more pixels than this squared

Pyramid = list[Tensor]  # full-size network inputs; entry k has ceil(H / scales[k]) rows


class Tileable(Protocol):
    """What a network states about itself for tiled generation (``Generator``, ``JohnsonNet``)."""

    @property
    def wraps_around(self) -> bool: ...

    def tiled_levels(self, height: int, width: int, tile: int) -> int: ...
    def tile_align(self, levels: int) -> int: ...
    def tiled_modules(self, levels: int) -> list[nn.Module]: ...
    def receptive_radius(self, levels: int) -> int: ...


@dataclass(frozen=True)
class TilingPlan:
    """How an image is generated tile by tile.

    Ulyanov's generator: the coarse levels (scale 2^levels and coarser: at most a tile's worth
    of pixels) run once on the whole image, exactly; only the ``levels`` finer ones run tile by
    tile, so the halo covers just their receptive field. Johnson's network: all of it.
    """

    levels: int  # Ulyanov: levels run tile by tile (0: Johnson, tiled whole)
    halo: int  # input pixels read around each tile (>= the tiled part's receptive radius)
    align: int  # tiles start at multiples of this, so every internal grid lines up
    tiles: int
    passes: int  # tile passes over the image: one per normalisation layer reached, plus one


def plan_tiling(network: Tileable, height: int, width: int, tile: int) -> TilingPlan:
    """Ask the network how it tiles at this size; one pass per instance norm in its tiled
    part (each completes that layer's statistics), plus the last pass that makes the image."""
    levels = network.tiled_levels(height, width, tile)
    align = network.tile_align(levels)
    norms = sum(
        isinstance(layer, nn.InstanceNorm2d)
        for module in network.tiled_modules(levels)
        for layer in module.modules()
    )
    return TilingPlan(
        levels,
        network.receptive_radius(levels),
        align,
        _count(height, width, tile, align),
        norms + 1,
    )


def _count(height: int, width: int, tile: int, align: int) -> int:
    core = max(align, tile // align * align)
    return math.ceil(height / core) * math.ceil(width / core)


def memory_budget(option: str | int, max_memory: float) -> float:
    """``--tile off`` keeps everything in memory; otherwise ``--max-memory`` bounds it."""
    return math.inf if option == "off" else max_memory


def tile_size(option: str | int, height: int, width: int) -> int | None:
    """``--tile`` (auto|off|N) for an output of this size -> tile side, or None for one pass."""
    if option == "off":
        return None
    if option == "auto":
        return DEFAULT_TILE if height * width > AUTO_TILE_SIDE**2 else None
    return int(option)


@dataclass(frozen=True)
class Span:
    """One tile along one axis: the core it contributes and the input it reads (with halo)."""

    core_start: int
    core_end: int
    read_start: int  # may be < 0 or read_end > length when wrapping around
    read_end: int


def spans(length: int, core: int, halo: int, align: int, wrap: bool) -> list[Span]:
    """Split ``[0, length)`` into cores of ``core`` pixels, each read with ``halo`` around it."""
    core = max(align, core // align * align)
    halo = math.ceil(halo / align) * align
    out = []
    for start in range(0, length, core):
        end = min(length, start + core)
        if wrap:
            out.append(Span(start, end, start - halo, end + halo))
        else:
            out.append(Span(start, end, max(0, start - halo), min(length, end + halo)))
    return out


def cut(images: Tensor, scale: int, rows: Span, cols: Span) -> Tensor:
    """The part of a pyramid level (scale factor ``scale``) that a tile reads, wrapping if needed.

    Wrapping is exact only when the image size is a multiple of every scale factor.
    """
    row_index = _scaled_range(
        rows.read_start, rows.read_end, scale, images.shape[-2], images.device
    )
    col_index = _scaled_range(
        cols.read_start, cols.read_end, scale, images.shape[-1], images.device
    )
    return images.index_select(-2, row_index).index_select(-1, col_index)


def _scaled_range(start: int, end: int, scale: int, size: int, device: torch.device) -> Tensor:
    """Indices of ``[start, end)`` (output pixels) at a level with ``size`` pixels, wrapped."""
    return torch.arange(start // scale, math.ceil(end / scale), device=device) % size


class _StopPass(Exception):
    """Raised by the normalisation layer that has just collected its statistics."""


@dataclass
class _Tile:
    """Where the current tile's core lies, for the normalisation layers to count only it once."""

    rows: Span
    cols: Span
    height: int
    width: int
    wrap: bool


class StreamingInstanceNorm(nn.Module):
    """Instance norm whose statistics come from the whole image, gathered tile by tile."""

    def __init__(self, norm: nn.InstanceNorm2d, context: list[_Tile]) -> None:
        super().__init__()
        self.norm = norm
        self.context = context
        self.collecting = False
        self.mean: Tensor | None = None
        self.var: Tensor | None = None
        self._sums: list[Tensor] = []

    def forward(self, x: Tensor) -> Tensor:
        if self.mean is None:
            self.collecting = True
            self._accumulate(x)
            raise _StopPass
        assert self.var is not None
        shape = (x.shape[0], -1, 1, 1)
        out = (x - self.mean.view(shape).to(x.dtype)) * torch.rsqrt(
            self.var.view(shape).to(x.dtype) + self.norm.eps
        )
        if self.norm.affine:
            out = out * self.norm.weight.view(1, -1, 1, 1) + self.norm.bias.view(1, -1, 1, 1)
        return out

    def _accumulate(self, x: Tensor) -> None:
        tile = self.context[0]
        rows = _core_slice(tile.rows, tile.height, x.shape[-2], tile.wrap)
        cols = _core_slice(tile.cols, tile.width, x.shape[-1], tile.wrap)
        core = x[..., rows, cols].double()
        total = torch.stack([core.sum((-2, -1)), core.pow(2).sum((-2, -1))])
        count = total.new_tensor(float(core.shape[-2] * core.shape[-1]))
        self._sums.append(torch.cat([total.flatten(), count.view(1)]))

    def finish(self) -> None:
        """Turn the accumulated sums of one pass into the layer's mean and (biased) variance."""
        sums = torch.stack(self._sums).sum(0)
        count = sums[-1]
        total = sums[:-1].view(2, -1)
        mean = total[0] / count
        self.mean = mean.float()
        self.var = (total[1] / count - mean.pow(2)).clamp_min(0).float()
        self.collecting = False
        self._sums = []


def _core_slice(span: Span, length: int, size: int, wrap: bool) -> slice:
    """The core of a tile at a layer with ``size`` pixels along this axis (any internal scale).

    The layer's scale is the power of two nearest to read length / size (the halo keeps tiles
    long enough for this to be unambiguous). A tile ending at the image border also owns any
    padding the network added there (Johnson's pad to a multiple of 4).
    """
    scale = 2 ** round(math.log2((span.read_end - span.read_start) / size))
    first = (span.core_start - span.read_start) // scale
    if not wrap and span.core_end >= length:
        return slice(first, size)
    return slice(first, math.ceil((span.core_end - span.read_start) / scale))


def _swap_norms(network: nn.Module, context: list[_Tile]) -> list[StreamingInstanceNorm]:
    """Replace every InstanceNorm2d (in place) with a streaming one; returns them."""
    streaming = []
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.InstanceNorm2d):
                wrapper = StreamingInstanceNorm(child, context)
                setattr(parent, name, wrapper)
                streaming.append(wrapper)
    return streaming


def _restore_norms(network: nn.Module) -> None:
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, StreamingInstanceNorm):
                setattr(parent, name, child.norm)


@dataclass
class _Grid:
    """The tiles of one image and the cut-outs of the input pyramid they read."""

    inputs: Pyramid
    scales: list[int]
    size: tuple[int, int]
    rows: list[Span]
    cols: list[Span]
    wrap: bool
    context: list[_Tile]

    def __iter__(self) -> Iterator[tuple[_Tile, Pyramid]]:
        height, width = self.size
        for rows in self.rows:
            for cols in self.cols:
                tile = _Tile(rows, cols, height, width, self.wrap)
                self.context[:] = [tile]
                yield (
                    tile,
                    [cut(x, s, rows, cols) for x, s in zip(self.inputs, self.scales, strict=True)],
                )


def tiled_forward(
    network: nn.Module,
    run: Callable[[Pyramid], Tensor],
    inputs: Pyramid,
    scales: list[int],
    size: tuple[int, int],
    tile: int,
    halo: int,
    align: int,
    wrap: bool = False,
    on_tile: Callable[[], None] | None = None,
) -> Tensor:
    """Run ``run(cut-out inputs)`` tile by tile; returns the (B, 3, H, W) image, on the CPU.

    ``inputs[k]`` is the full-size input at scale factor ``scales[k]`` (1 = output size);
    ``run`` must call ``network``. ``on_tile`` is called after every tile of every pass.
    """
    height, width = size
    context: list[_Tile] = []
    grid = _Grid(
        inputs,
        scales,
        size,
        spans(height, tile, halo, align, wrap),
        spans(width, tile, halo, align, wrap),
        wrap,
        context,
    )
    return_freed_memory_to_the_os()
    streaming = _swap_norms(network, context)
    try:
        with torch.no_grad():
            while True:  # every pass but the last completes the statistics of one layer
                output = _run_pass(run, grid, on_tile)
                pending = [norm for norm in streaming if norm.collecting]
                if not pending:
                    assert output is not None
                    return output
                pending[0].finish()
    finally:
        _restore_norms(network)


def _run_pass(
    run: Callable[[Pyramid], Tensor], grid: _Grid, on_tile: Callable[[], None] | None
) -> Tensor | None:
    """All tiles once; the assembled image, or None if a layer was collecting statistics."""
    output: Tensor | None = None
    for tile, tile_inputs in grid:
        try:
            result = run(tile_inputs).float().cpu()
        except _StopPass:
            result = None
        if on_tile:
            on_tile()
        if result is None:
            continue
        if output is None:
            output = torch.empty(result.shape[0], result.shape[1], *grid.size)
        rows, cols = tile.rows, tile.cols
        r0, c0 = rows.core_start - rows.read_start, cols.core_start - cols.read_start
        r1, c1 = r0 + rows.core_end - rows.core_start, c0 + cols.core_end - cols.core_start
        output[..., rows.core_start : rows.core_end, cols.core_start : cols.core_end] = result[
            ..., r0:r1, c0:c1
        ]
    return output

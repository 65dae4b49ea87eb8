"""The executor of a banded pass: convolutions and statistics run a band of full-width rows at
a time, reading their input with the kernel's halo; maps computed on the fly from stored ones
(normalised, upsampled, joined, summed); the band options of the command lines."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from texture_nets.inference.bands.storage import (
    BAND_BYTES,
    BYTES_PER_VALUE,
    GPU_BAND_BYTES,
    Map,
    Shape,
    Storage,
    pieces,
    read,
    trim_heap,
)

LARGE_SIDE = 1024  # outputs above LARGE_SIDE^2 pixels are made one at a time, not in batches


def band_options(tile: str | int, max_memory: float) -> tuple[int | None, float]:
    """``--tile auto|off|N`` and ``--max-memory`` -> (most rows per band, memory budget):
    auto: bands sized for the cache, under ``max_memory``; off: everything in memory; N:
    bands of at most N rows."""
    if tile == "off":
        return None, math.inf
    return (None if tile == "auto" else int(tile)), max_memory


def is_large(height: int, width: int) -> bool:
    """Whether an output is large enough to be made one image at a time."""
    return height * width > LARGE_SIDE**2


# -- maps computed on the fly from others -------------------------------------------------


@dataclass
class Given:
    """A map already in memory (a network input)."""

    data: Tensor

    @property
    def shape(self) -> Shape:
        return tuple(self.data.shape)  # type: ignore[return-value]

    def read_into(self, index: Tensor, out: Tensor) -> None:
        out.copy_(self.data.index_select(2, index.to(self.data.device)))


@dataclass
class Normalised:
    """``source`` times ``scale`` plus ``shift`` per (image, channel), then LeakyReLU."""

    source: Map
    scale: Tensor  # (B, C)
    shift: Tensor
    slope: float | None  # None: no activation

    @property
    def shape(self) -> Shape:
        return self.source.shape

    def read_into(self, index: Tensor, out: Tensor) -> None:
        scale, shift = self.scale[..., None, None], self.shift[..., None, None]
        row = 0
        for part in pieces(self.source, index, out.device):
            target = out.narrow(2, row, part.shape[2])
            torch.addcmul(shift, part, scale, out=target)
            row += part.shape[2]
        if self.slope is not None:
            F.leaky_relu_(out, self.slope)


@dataclass
class Upsampled:
    """Nearest-neighbour x2 of ``source``, cropped to (height, width): the generator's join."""

    source: Map
    height: int
    width: int

    @property
    def shape(self) -> Shape:
        batch, channels, _, _ = self.source.shape
        return (batch, channels, self.height, self.width)

    def read_into(self, index: Tensor, out: Tensor) -> None:
        unique, inverse = torch.unique_consecutive(index // 2, return_inverse=True)
        band = read(self.source, unique, out.device).index_select(2, inverse.to(out.device))
        out[..., 0::2].copy_(band[..., : (self.width + 1) // 2])
        out[..., 1::2].copy_(band[..., : self.width // 2])


@dataclass
class Joined:
    """Maps of equal size concatenated along the channels."""

    parts: Sequence[Map]

    @property
    def shape(self) -> Shape:
        batch, _, height, width = self.parts[0].shape
        return (batch, sum(part.shape[1] for part in self.parts), height, width)

    def read_into(self, index: Tensor, out: Tensor) -> None:
        channel = 0
        for part in self.parts:
            part.read_into(index, out.narrow(1, channel, part.shape[1]))
            channel += part.shape[1]


@dataclass
class Sum:
    """Two maps of equal shape added (a residual connection)."""

    first: Map
    second: Map

    @property
    def shape(self) -> Shape:
        return self.first.shape

    def read_into(self, index: Tensor, out: Tensor) -> None:
        self.first.read_into(index, out)
        out.add_(read(self.second, index, out.device))


# -- statistics ----------------------------------------------------------------------------


class Moments:
    """Per (image, channel) mean and biased variance, merged band by band in float64 (Chan et
    al.'s pairwise update), so long images lose no precision."""

    def __init__(self) -> None:
        self.count = 0
        self.mean: Tensor | None = None
        self.m2: Tensor | None = None

    def add(self, band: Tensor) -> None:
        batch, channels, height, width = band.shape
        count = height * width
        # batch norm's statistics kernel: one pass, exact for contiguous (B, C, H, W) input
        # (torch.var_mean is 3x slower here); images x channels as the channels of one image
        flat = band.contiguous().view(1, batch * channels, height, width)
        mean, var = torch.batch_norm_update_stats(flat, None, None, 0.0)
        mean = mean.double().view(batch, channels)
        m2 = var.double().view(batch, channels) * count
        if self.mean is None or self.m2 is None:
            self.count, self.mean, self.m2 = count, mean, m2
            return
        total = self.count + count
        delta = mean - self.mean
        self.mean = self.mean + delta * (count / total)
        self.m2 = self.m2 + m2 + delta.pow(2) * (self.count * count / total)
        self.count = total

    def variance(self) -> Tensor:
        assert self.m2 is not None
        return self.m2 / self.count


def normalised(
    source: Map, norm: nn.Module, moments: Moments | None, slope: float | None = None
) -> Map:
    """``norm`` (then LeakyReLU) over ``source``, as the per-channel affine map it amounts to:
    instance norm with the whole map's statistics, batch norm with its running ones."""
    batch = source.shape[0]
    if isinstance(norm, nn.InstanceNorm2d):
        assert moments is not None and moments.mean is not None
        mean, var = moments.mean, moments.variance()
    elif isinstance(norm, nn.BatchNorm2d) and not norm.training:
        assert norm.running_mean is not None and norm.running_var is not None
        mean = norm.running_mean.double().expand(batch, -1)
        var = norm.running_var.double().expand(batch, -1)
    else:
        raise TypeError(f"cannot stream {type(norm).__name__} (in training mode?)")
    scale = torch.rsqrt(var + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.double()
    shift = -mean * scale
    if norm.bias is not None:
        shift = shift + norm.bias.double()
    return Normalised(source, scale.float(), shift.float(), slope)


# -- the executor ----------------------------------------------------------------------------


class BandRunner:
    """Runs convolutions and statistics passes band by band on ``device``; ``on_band`` is
    called after every band of every pass."""

    def __init__(
        self,
        storage: Storage,
        device: torch.device,
        band_bytes: int | None = None,
        max_rows: int | None = None,
        on_band: Callable[[], None] | None = None,
    ) -> None:
        self.storage = storage
        self.device = device
        self.band_bytes = band_bytes or (BAND_BYTES if device.type == "cpu" else GPU_BAND_BYTES)
        self.max_rows = max_rows
        self.on_band = on_band

    def bands(self, shape: Shape) -> list[tuple[int, int]]:
        """Row ranges of the bands a pass over a map of ``shape`` takes."""
        batch, channels, height, width = shape
        rows = max(1, self.band_bytes // (batch * channels * width * BYTES_PER_VALUE))
        rows = min(rows, self.max_rows or rows, height)
        return [(start, min(height, start + rows)) for start in range(0, height, rows)]

    def _tick(self) -> None:
        if self.on_band:
            self.on_band()

    def moments(self, source: Map) -> Moments:
        """A statistics-only pass over ``source``."""
        moments = Moments()
        for start, stop in self.bands(source.shape):
            moments.add(read(source, torch.arange(start, stop), self.device))
            self._tick()
        return moments

    def conv(
        self, conv: nn.Conv2d, source: Map, padding: str, out: Output | None = None
    ) -> tuple[Map, Moments]:
        """``conv`` (padding ``kernel // 2``, stride 1 or more) over ``source``: its stored
        output and statistics (none when writing the final ``out``)."""
        batch, channels, height, width = source.shape
        out_shape = _conv_shape(conv, source.shape)
        stored = out or self.storage.new(out_shape)
        moments = Moments()
        halo, stride = conv.kernel_size[0] // 2, conv.stride[0]
        for start, stop in self.conv_bands(source.shape, out_shape):
            index = torch.arange(start * stride - halo, (stop - 1) * stride + halo + 1)
            band = torch.empty(batch, channels, len(index), width + 2 * halo, device=self.device)
            source.read_into(_pad_rows(index, height, padding), band[..., halo : halo + width])
            if halo:
                _pad_columns(band, halo, padding)
                if padding == "zero":
                    band[:, :, ((index < 0) | (index >= height)).to(self.device)] = 0
            result = F.conv2d(band, conv.weight, conv.bias, stride=stride)
            if out is None:
                moments.add(result)
            stored.write(start, result)
            self._tick()
        trim_heap()
        return stored, moments

    def conv_bands(self, in_shape: Shape, out_shape: Shape) -> list[tuple[int, int]]:
        """The output row ranges of a convolution: bands sized by its wider side."""
        wider = max(in_shape[1], out_shape[1])
        return self.bands((*out_shape[:1], wider, *out_shape[2:]))

    def materialise(self, source: Map) -> Map:
        """``source`` computed once into a stored map (for a map that is read twice)."""
        stored = self.storage.new(source.shape)
        for start, stop in self.bands(source.shape):
            stored.write(start, read(source, torch.arange(start, stop), self.device))
            self._tick()
        return stored


class CountingRunner(BandRunner):
    """Walks the same passes without computing anything: how many bands a run takes."""

    def __init__(self, band_bytes: int | None, max_rows: int | None, device: torch.device) -> None:
        super().__init__(Storage(0), device, band_bytes, max_rows)
        self.count = 0

    def moments(self, source: Map) -> Moments:
        self.count += len(self.bands(source.shape))
        return _unit_moments(source.shape)

    def conv(
        self, conv: nn.Conv2d, source: Map, padding: str, out: Output | None = None
    ) -> tuple[Map, Moments]:
        out_shape = _conv_shape(conv, source.shape)
        self.count += len(self.conv_bands(source.shape, out_shape))
        return Shaped(out_shape), _unit_moments(out_shape)

    def materialise(self, source: Map) -> Map:
        self.count += len(self.bands(source.shape))
        return Shaped(source.shape)


def _conv_shape(conv: nn.Conv2d, shape: Shape) -> Shape:
    """The output shape of ``conv`` (padding ``kernel // 2``) on an input of ``shape``."""
    batch, _, height, width = shape
    stride = conv.stride[0]
    return (batch, conv.out_channels, -(-height // stride), -(-width // stride))


@dataclass
class Shaped:
    shape: Shape

    def read_into(self, index: Tensor, out: Tensor) -> None:
        raise AssertionError("a counting run reads nothing")


def _unit_moments(shape: Shape) -> Moments:
    moments = Moments()
    moments.count, moments.mean = 1, torch.zeros(shape[:2], dtype=torch.float64)
    moments.m2 = torch.ones(shape[:2], dtype=torch.float64)
    return moments


class Output:
    """The final image, assembled band by band through the sigmoid (after adding ``skip``'s
    rows, if given: Johnson's ``photo_skip``)."""

    def __init__(self, shape: Shape, device: torch.device, skip: Tensor | None = None) -> None:
        self.shape = shape
        self.device = device
        self.skip = skip
        self._data: Tensor | None = None  # allocated by the first band (none in a count)

    @property
    def data(self) -> Tensor:
        if self._data is None:
            self._data = torch.empty(self.shape, device=self.device)
        return self._data

    def read_into(self, index: Tensor, out: Tensor) -> None:
        out.copy_(self.data.index_select(2, index.to(self.data.device)))

    def write(self, first_row: int, band: Tensor) -> None:
        rows = slice(first_row, first_row + band.shape[2])
        if self.skip is not None:
            band = band + self.skip[:, :, rows].to(band.device, band.dtype)
        torch.sigmoid(band, out=self.data[:, :, rows])


def _pad_columns(band: Tensor, halo: int, padding: str) -> None:
    """Fill the ``halo`` columns on each side of ``band``'s interior as ``padding`` pads."""
    width = band.shape[-1] - 2 * halo
    left, right = band[..., :halo], band[..., halo + width :]
    if padding == "circular":
        left.copy_(band[..., width : width + halo])
        right.copy_(band[..., halo : 2 * halo])
    elif padding == "reflect":
        left.copy_(band[..., halo + 1 : 2 * halo + 1].flip(-1))
        right.copy_(band[..., width - 1 : width - 1 + halo].flip(-1))
    else:
        left.zero_()
        right.zero_()


def _pad_rows(index: Tensor, height: int, padding: str) -> Tensor:
    """Row indices of a band with its halo, mapped into [0, height) as ``padding`` pads."""
    if padding == "circular":
        return index % height
    if padding == "reflect":
        index = index.abs()
        return torch.where(index >= height, 2 * (height - 1) - index, index)
    return index.clamp(0, height - 1)  # zero: these rows are zeroed after reading

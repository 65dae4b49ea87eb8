"""The networks run layer by layer in bands of rows: images of any size, bounded memory, one pass.

Instance normalisation needs a layer's statistics over the *whole* image before anything
can use its output, so a network cannot be cut into independent tiles without computing
every layer once per normalisation layer above it. Here every
convolution instead runs once over the whole image, a band of full-width rows at a time: it
reads its input band with the kernel's halo of rows (wrapped, reflected or zero-padded as the
layer pads), applies the normalisation and activation of the layer before it on the fly, and
writes its raw output to a stored map while summing that output's statistics. So the next
normalisation is known before anything reads the map, and no layer is ever computed twice.

Every layer runs at its own size, exactly as in the plain forward (Ulyanov's pyramid levels,
Johnson's strided and upsampled stages), so the result equals the whole-image pass for every
size and padding, circular included; bands small enough for the CPU's cache also make it
faster than the plain forward (docs/architecture.md). Stored maps stay
in memory while they fit the memory budget and go to a temporary file beyond it (read back
with plain reads, so they never count in the process's resident memory).
"""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import math
import os
import sys
import tempfile
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn

from texture_nets.nets.johnson import STRIDE, JohnsonNet, ResidualBlock, pad_to_multiple
from texture_nets.nets.ulyanov import Generator, JoinBlock, pyramid_sizes

DEFAULT_MAX_MEMORY = 2 << 30  # bytes: --max-memory's default (the process's peak, roughly)
LARGE_SIDE = 1024  # outputs above LARGE_SIDE^2 pixels are made one at a time, not in batches
BAND_BYTES = 8 << 20  # a band of a layer's input or output on a CPU: stays in cache
GPU_BAND_BYTES = 512 << 20  # on a GPU: few, large kernels
_FLOAT = 4  # bytes per stored value (fp32)

Shape = tuple[int, int, int, int]  # (batch, channels, height, width)


class Map(Protocol):
    """A (B, C, H, W) activation that can be read a set of rows at a time."""

    @property
    def shape(self) -> Shape: ...

    def read_into(self, index: Tensor, out: Tensor) -> None:
        """Write rows ``index`` (each in [0, H)) into ``out`` ((B, C, len(index), W))."""
        ...


def read(source: Map, index: Tensor, device: torch.device) -> Tensor:
    """Rows ``index`` of ``source`` as a new (B, C, len(index), W) tensor."""
    batch, channels, _, width = source.shape
    out = torch.empty(batch, channels, len(index), width, device=device)
    source.read_into(index, out)
    return out


def pieces(source: Map, index: Tensor, device: torch.device) -> list[Tensor]:
    """Rows ``index`` of ``source`` as consecutive pieces: views of stored bands where it can."""
    if isinstance(source, InMemory):
        return source.pieces(index)
    return [read(source, index, device)]


# -- stored maps ---------------------------------------------------------------------------


class Storage:
    """Where stored maps live: memory up to ``budget`` bytes, then temporary files."""

    def __init__(self, budget: float = math.inf) -> None:
        self.budget = budget
        self.in_memory = 0  # bytes of the stored maps alive in memory
        self.on_disk = 0  # maps written to files (for reports and tests)

    @classmethod
    def for_peak(
        cls, max_memory: float, reserve: float = 0, device: torch.device | None = None
    ) -> Storage:
        """Keep under ``max_memory`` bytes of ``device``'s memory (the process's resident
        memory on a CPU): what it holds now (torch, the model, the inputs) and ``reserve``
        (the output) come off the budget, and room for the bands."""
        if device is not None and device.type == "cuda":
            held = torch.cuda.memory_allocated(device)
            bands = 16 * GPU_BAND_BYTES
        else:
            held, bands = resident_bytes(), 16 * BAND_BYTES
        return cls(max(0.0, max_memory - held - reserve - bands))

    def new(self, shape: Shape) -> InMemory | OnDisk:
        size = math.prod(shape) * _FLOAT
        if self.in_memory + size <= self.budget:
            self.in_memory += size
            stored = InMemory(shape)
            weakref.finalize(stored, self._free, size)
            return stored
        self.on_disk += 1
        return OnDisk(shape)

    def _free(self, size: int) -> None:
        self.in_memory -= size


class InMemory:
    """A map kept as the bands it was written in (no copy into one big tensor)."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.starts: list[int] = []
        self.bands: list[Tensor] = []

    def write(self, first_row: int, band: Tensor) -> None:
        self.starts.append(first_row)
        self.bands.append(band)

    def pieces(self, index: Tensor) -> list[Tensor]:
        out = []
        for start, stop in _runs(index.tolist()):
            while start < stop:
                which = bisect.bisect_right(self.starts, start) - 1
                band = self.bands[which]
                first = start - self.starts[which]
                count = min(stop - start, band.shape[2] - first)
                out.append(band.narrow(2, first, count))
                start += count
        return out

    def read_into(self, index: Tensor, out: Tensor) -> None:
        _copy_pieces(self.pieces(index), out)


def _copy_pieces(parts: list[Tensor], out: Tensor) -> None:
    row = 0
    for part in parts:
        out.narrow(2, row, part.shape[2]).copy_(part)
        row += part.shape[2]


class OnDisk:
    """A map in an unlinked temporary file, row-major ((H, B, C, W)) so a band is one read."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        batch, channels, _, width = shape
        self.row_bytes = batch * channels * width * _FLOAT
        # lives as long as the map; closed (and so deleted) when the map is collected
        self.file = tempfile.TemporaryFile(prefix="texture-nets-")  # noqa: SIM115

    def write(self, first_row: int, band: Tensor) -> None:
        data = band.permute(2, 0, 1, 3).float().cpu().contiguous().numpy()
        written = os.pwrite(self.file.fileno(), data, first_row * self.row_bytes)  # type: ignore[arg-type]
        if written != data.nbytes:
            raise OSError(f"short write to a temporary map ({written} of {data.nbytes} bytes)")

    def read_into(self, index: Tensor, out: Tensor) -> None:
        batch, channels, _, width = self.shape
        rows = torch.empty(len(index), batch, channels, width)
        buffer = rows.numpy()
        position = 0
        for start, stop in _runs(index.tolist()):
            count = stop - start
            view = buffer[position : position + count]
            # numpy arrays are writable buffers (typeshed does not say so)
            read = os.preadv(self.file.fileno(), [view], start * self.row_bytes)  # type: ignore[list-item]
            if read != count * self.row_bytes:
                raise OSError(f"short read from a temporary map ({read} bytes)")
            position += count
        out.copy_(rows.permute(1, 2, 0, 3))


def _trim_heap() -> None:
    """Hand the heap's free pages back to the OS (glibc ``malloc_trim``) after a pass, so the
    holes that bands of different sizes leave do not count as memory in use."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 (glibc only)
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _load_libc()


# -- options and memory ----------------------------------------------------------------------


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


def resident_bytes() -> int:
    """This process's resident memory (Linux; 1 GiB, a typical torch process, elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 1 << 30


def _runs(index: list[int]) -> list[tuple[int, int]]:
    """Consecutive runs of ``index`` as (start, stop) pairs, in order."""
    runs: list[tuple[int, int]] = []
    for i in index:
        if runs and runs[-1][1] == i:
            runs[-1] = (runs[-1][0], i + 1)
        else:
            runs.append((i, i + 1))
    return runs


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
        rows = max(1, self.band_bytes // (batch * channels * width * _FLOAT))
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
        _trim_heap()
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
        return _Shaped(out_shape), _unit_moments(out_shape)

    def materialise(self, source: Map) -> Map:
        self.count += len(self.bands(source.shape))
        return _Shaped(source.shape)


def _conv_shape(conv: nn.Conv2d, shape: Shape) -> Shape:
    """The output shape of ``conv`` (padding ``kernel // 2``) on an input of ``shape``."""
    batch, _, height, width = shape
    stride = conv.stride[0]
    return (batch, conv.out_channels, -(-height // stride), -(-width // stride))


@dataclass
class _Shaped:
    shape: Shape

    def read_into(self, index: Tensor, out: Tensor) -> None:
        raise AssertionError("a counting run reads nothing")


def _unit_moments(shape: Shape) -> Moments:
    moments = Moments()
    moments.count, moments.mean = 1, torch.zeros(shape[:2], dtype=torch.float64)
    moments.m2 = torch.ones(shape[:2], dtype=torch.float64)
    return moments


class Output:
    """The final image, assembled band by band through the sigmoid."""

    def __init__(self, shape: Shape, device: torch.device) -> None:
        self.shape = shape
        self.device = device
        self._data: Tensor | None = None  # allocated by the first band (none in a count)

    @property
    def data(self) -> Tensor:
        if self._data is None:
            self._data = torch.empty(self.shape, device=self.device)
        return self._data

    def read_into(self, index: Tensor, out: Tensor) -> None:
        out.copy_(self.data.index_select(2, index.to(self.data.device)))

    def write(self, first_row: int, band: Tensor) -> None:
        torch.sigmoid(band, out=self.data[:, :, first_row : first_row + band.shape[2]])


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


# -- Ulyanov's generator ------------------------------------------------------------------


@torch.no_grad()
def generate_in_bands(
    generator: Generator,
    inputs: list[Tensor],
    storage: Storage,
    max_rows: int | None = None,
    on_band: Callable[[], None] | None = None,
) -> Tensor:
    """``generator(inputs)`` computed layer by layer in bands of at most ``max_rows`` rows;
    equal to it up to float rounding, in the memory of a few bands plus the stored maps that
    fit ``storage`` (the rest go to temporary files)."""
    coarsest = inputs[-1].shape[-2] * inputs[-1].shape[-1]
    if generator.config.norm == "instance" and coarsest < 2:
        raise ValueError("instance norm needs more than 1 spatial element at the coarsest scale")
    device = inputs[0].device
    return _walk(generator, inputs, BandRunner(storage, device, None, max_rows, on_band)).data


def band_count(
    network: Generator | JohnsonNet,
    batch: int,
    height: int,
    width: int,
    max_rows: int | None = None,
    device: torch.device | str = "cpu",
) -> int:
    """How many bands ``generate_in_bands`` / ``transform_in_bands`` run (their ``on_band``
    calls) for an output of this size."""
    runner = CountingRunner(None, max_rows, torch.device(device))
    if isinstance(network, JohnsonNet):
        padded = (batch, 3, -(-height // STRIDE) * STRIDE, -(-width // STRIDE) * STRIDE)
        _walk_johnson(network, _Shaped(padded), runner)
        return runner.count
    config = network.config
    sizes = pyramid_sizes(height, width, config.num_scales)
    _walk(network, [_Shaped((batch, config.input_channels, h, w)) for h, w in sizes], runner)
    return runner.count


@torch.no_grad()
def _walk(generator: Generator, inputs: Sequence[Tensor | Map], runner: BandRunner) -> Output:
    config = generator.config
    padding = config.padding
    slope = config.leaky_slope

    def block(layers: nn.Module, source: Map) -> Map:
        parts = list(layers.children())
        for conv, norm in zip(parts[0::3], parts[1::3], strict=True):
            assert isinstance(conv, nn.Conv2d)
            stored, moments = runner.conv(conv, source, padding)
            source = normalised(stored, norm, moments, slope)
        return source

    def given(level: int) -> Map:
        data = inputs[level]
        return Given(data) if isinstance(data, Tensor) else data

    x = block(generator.input_blocks[-1], given(config.num_scales - 1))
    for level in range(config.num_scales - 2, -1, -1):
        fine = block(generator.input_blocks[level], given(level))
        index = config.num_scales - 2 - level
        join = cast(JoinBlock, generator.joins[index])
        coarse = Upsampled(x, fine.shape[2], fine.shape[3])
        joined = Joined(
            [
                normalised(coarse, join.norm_coarse, _stats(runner, coarse, join.norm_coarse)),
                normalised(fine, join.norm_fine, _stats(runner, fine, join.norm_fine)),
            ]
        )
        x = block(generator.join_blocks[index], joined)
    batch, _, height, width = x.shape
    image = Output((batch, 3, height, width), runner.device)
    runner.conv(generator.to_rgb, x, padding, out=image)
    return image


def _stats(runner: BandRunner, source: Map, norm: nn.Module) -> Moments | None:
    return runner.moments(source) if isinstance(norm, nn.InstanceNorm2d) else None


# -- Johnson et al.'s network -----------------------------------------------------------------


@torch.no_grad()
def transform_in_bands(
    network: JohnsonNet,
    content: Tensor,
    storage: Storage,
    max_rows: int | None = None,
    on_band: Callable[[], None] | None = None,
) -> Tensor:
    """``network(content)`` computed layer by layer in bands (as ``generate_in_bands``)."""
    height, width = content.shape[-2:]
    if min(height, width) < network.min_side:
        raise ValueError(f"input {width}x{height} is too small: at least {network.min_side} px")
    runner = BandRunner(storage, content.device, None, max_rows, on_band)
    padded = pad_to_multiple(content, STRIDE)
    return _walk_johnson(network, Given(padded), runner).data[..., :height, :width]


def _walk_johnson(network: JohnsonNet, content: Map, runner: BandRunner) -> Output:
    """The layers of ``JohnsonNet.transform`` in order; every convolution reflect-pads."""

    def conv_norm(layers: Sequence[nn.Module], source: Map, slope: float | None) -> Map:
        conv, norm = layers[0], layers[1]
        assert isinstance(conv, nn.Conv2d)
        stored, moments = runner.conv(conv, source, "reflect")
        return normalised(stored, norm, moments, slope)

    x = content
    for block in network.encoder.children():
        x = conv_norm(list(block.children()), x, 0.0)  # conv, norm, ReLU
    for residual in network.residuals.children():
        first, conv, norm = list(cast(ResidualBlock, residual).body.children())
        inner = conv_norm(list(first.children()), x, 0.0)
        x = runner.materialise(Sum(x, conv_norm([conv, norm], inner, None)))
    for stage in network.decoder.children():
        _, *layers = list(stage.children())  # nn.Upsample, conv, norm, ReLU
        _, _, height, width = x.shape
        x = conv_norm(layers, Upsampled(x, 2 * height, 2 * width), 0.0)
    batch, _, height, width = x.shape
    image = Output((batch, 3, height, width), runner.device)
    runner.conv(network.to_rgb, x, "reflect", out=image)
    return image

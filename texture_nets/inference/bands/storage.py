"""Where a banded pass keeps the maps between layers: in memory up to a budget, then in
unlinked temporary files (read back with plain reads, so they never count in the process's
resident memory). Also the ``Map`` protocol every stored or computed map follows."""

from __future__ import annotations

import bisect
import ctypes
import ctypes.util
import math
import os
import sys
import tempfile
import weakref
from typing import Protocol

import torch
from torch import Tensor

DEFAULT_MAX_MEMORY = 2 << 30  # bytes: --max-memory's default (the process's peak, roughly)
BAND_BYTES = 8 << 20  # a band of a layer's input or output on a CPU: stays in cache
GPU_BAND_BYTES = 512 << 20  # on a GPU: few, large kernels
BYTES_PER_VALUE = 4  # bytes per stored value (fp32)

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
        size = math.prod(shape) * BYTES_PER_VALUE
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
        self.row_bytes = batch * channels * width * BYTES_PER_VALUE
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


def trim_heap() -> None:
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

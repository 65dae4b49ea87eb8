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

Three concerns, one module each: ``storage`` (where maps live), ``executor`` (running a
layer band by band) and ``walk`` (the order of each architecture's layers). The names the
rest of the package uses are re-exported here.
"""

from texture_nets.inference.bands.executor import LARGE_SIDE, Moments, band_options, is_large
from texture_nets.inference.bands.storage import (
    BAND_BYTES,
    DEFAULT_MAX_MEMORY,
    InMemory,
    OnDisk,
    Storage,
    read,
    resident_bytes,
)
from texture_nets.inference.bands.walk import band_count, generate_in_bands, transform_in_bands

__all__ = [
    "BAND_BYTES",
    "DEFAULT_MAX_MEMORY",
    "LARGE_SIDE",
    "InMemory",
    "Moments",
    "OnDisk",
    "Storage",
    "band_count",
    "band_options",
    "generate_in_bands",
    "is_large",
    "read",
    "resident_bytes",
    "transform_in_bands",
]

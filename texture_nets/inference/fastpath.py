"""The bf16 inference path, and when to take it.

bf16 convolutions run 2-6x faster than fp32 on CPUs with AVX512-BF16 or AMX and on GPUs, but
rounding every layer's input to 8 bits of mantissa moves some networks' pixels far: Ulyanov's
generators amplify the rounding of their coarse scales (``keep_coarse_in_fp32``; the rest
is in docs/benchmarks.md, "bf16 inference accuracy"). So
``auto`` takes bf16 only where it is fast (``precision.bf16_fast``) and where a probe shows
this network within ``TOLERANCE`` of fp32; ``fp32`` is the exact path, ``bf16`` forces bf16.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from typing import cast

import torch
from torch import Tensor, nn

from texture_nets.image import load_image
from texture_nets.inference.export import one_pass_bytes
from texture_nets.nets.networks import Network, render, run_network, seeded_noise, split_inputs
from texture_nets.nets.ulyanov import Generator
from texture_nets.precision import bf16_fast, bf16_supported, inference_precision

PROBE_SIDE = 128  # the probe's size: a few ms where bf16 is fast
PROBE_PHOTO = "builtin:astronaut"  # a stylizer's probe input: a real photo (faces, fabric, sky)


@dataclass(frozen=True)
class Tolerance:
    """How far from fp32 (in levels of 255) the fast path may move pixels (issue 26)."""

    p999: float = 2.0  # at 99.9% of the pixel values
    worst: float = 8.0  # at every pixel value

    def accepts(self, error: tuple[float, float], margin: float = 1.0) -> bool:
        """Whether (p99.9, worst) errors are within ``margin`` x the tolerance."""
        return error[0] <= margin * self.p999 and error[1] <= margin * self.worst


TOLERANCE = Tolerance()
# the probe is one small image and other inputs move the error by about 10% either way
# (tests/test_fastpath.py): a network must pass it with room to spare
PROBE_MARGIN = 0.75


def pixel_error(fast: Tensor, exact: Tensor) -> tuple[float, float]:
    """|fast - exact| of images in [0, 1], in levels of 255: (99.9th percentile, maximum)."""
    difference = (fast.float() - exact.float()).abs().flatten() * 255
    return difference.quantile(0.999).item(), difference.max().item()


BF16_SCALES = 2  # Ulyanov's generator: scales 0 and 1 in bf16, the coarser ones in fp32


class _Fp32(nn.Module):
    """A module run in fp32 inside a bf16 autocast region."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: Tensor) -> Tensor:
        with torch.autocast(inputs[0].device.type, enabled=False):
            return cast(Tensor, self.module(*(x.float() for x in inputs)))


def keep_norms_in_fp32(module: nn.Module) -> None:
    """Feed every normalisation layer inside ``module`` fp32 and run it in fp32: its
    statistics as training computed them."""
    for name, child in module.named_children():
        if isinstance(child, nn.InstanceNorm2d | nn.BatchNorm2d):
            setattr(module, name, _Fp32(child))
        else:
            keep_norms_in_fp32(child)


def keep_coarse_in_fp32(generator: Generator, bf16_scales: int = BF16_SCALES) -> None:
    """Run the blocks of scales ``bf16_scales`` and coarser in fp32: their maps are small
    (1/16 of the pixels and less: about 6% of the convolution work) and their instance norm
    over few pixels amplifies bf16 rounding, which the finer scales then carry to every
    pixel (tn_red_peppers at 256 px: 15.7 levels at p99.9 all in bf16, 1.1 with this)."""
    scales = generator.config.num_scales
    for k in range(bf16_scales, scales):
        generator.input_blocks[k] = _Fp32(generator.input_blocks[k])
    for j in range(scales - 1 - bf16_scales):  # the joins whose output is at scale >= that
        generator.joins[j] = _Fp32(generator.joins[j])
        generator.join_blocks[j] = _Fp32(generator.join_blocks[j])


class Bf16Network(nn.Module):
    """``network`` run in one pass with bf16 convolutions on channels-last maps (normalisation
    and Ulyanov's coarse scales in fp32, the output cast to fp32), called like the network
    itself, with the same ``config``. An image whose pass would need more than ``max_memory``
    bytes (``one_pass_bytes``) is made by the banded fp32 executor instead
    (``networks.render``: bounded memory, fp32 pixels)."""

    def __init__(self, network: Network, max_memory: float = math.inf) -> None:
        super().__init__()
        self.network = network
        # a channels-last copy: every convolution takes the channels-last bf16 kernels (10x
        # the others where bf16 is emulated, AMX's tiles where it is not); the fp32 network
        # stays as it was for the exact path
        self.fast = copy.deepcopy(network).to(memory_format=torch.channels_last)
        keep_norms_in_fp32(self.fast)
        if isinstance(self.fast, Generator):
            keep_coarse_in_fp32(self.fast)
        self.config = network.config
        self.max_memory = max_memory
        # measured on the private copy: nobody else runs it (hooks), and it is on the device
        self.bytes_per_pixel = one_pass_bytes(self.fast, 1, 1, 1) if max_memory < math.inf else 0

    def forward(self, inputs: list[Tensor] | Tensor) -> Tensor:
        first = inputs[0] if isinstance(inputs, list) else inputs
        if self.bytes_per_pixel * first.shape[0] * first.shape[-2] * first.shape[-1] > (
            self.max_memory
        ):
            content, noise = split_inputs(self.config, inputs)
            return render(self.network, content, noise, max_memory=self.max_memory)
        last = torch.channels_last
        fed = (
            [x.contiguous(memory_format=last) for x in inputs]
            if isinstance(inputs, list)
            else inputs.contiguous(memory_format=last)
        )
        with torch.no_grad(), torch.autocast(first.device.type, dtype=torch.bfloat16):
            output = self.fast(fed)
        return output.float().contiguous()


def bf16_error(network: Network, side: int = PROBE_SIDE, seed: int = 0) -> tuple[float, float]:
    """|bf16 pass - fp32 pass| of ``network`` on a probe (the built-in photo for a stylizer,
    seeded noise), in levels of 255: (99.9th percentile, maximum)."""
    device = next(network.parameters()).device
    config = network.config
    content = load_image(PROBE_PHOTO, side).to(device) if config.takes_photo else None
    height, width = content.shape[-2:] if content is not None else (side, side)
    noise = seeded_noise(config, 1, height, width, seed, device)
    with torch.no_grad():
        exact = run_network(network, content, noise)
    return pixel_error(run_network(cast(Network, Bf16Network(network)), content, noise), exact)


def choose_bf16(precision: str, network: Network, device: torch.device) -> bool:
    """Whether ``network`` runs in bf16 for ``precision``: ``auto`` where bf16 is fast on
    ``device`` and the probe (``bf16_error``) is within ``PROBE_MARGIN`` x ``TOLERANCE``;
    ``bf16`` always (with a warning where it is emulated); ``fp32`` never. ``auto`` is
    ``$TEXTURE_NETS_PRECISION`` where that is set (``precision.inference_precision``)."""
    precision = inference_precision(precision)
    if precision == "fp32":
        return False
    if precision == "bf16":
        if not bf16_supported(device):
            warnings.warn(
                f"precision bf16 on {device.type}, which has no fast bf16 (a CPU emulates it, "
                "many times slower than fp32): precision auto picks the fast one",
                stacklevel=3,
            )
        return True
    return bf16_fast(device) and TOLERANCE.accepts(bf16_error(network), PROBE_MARGIN)

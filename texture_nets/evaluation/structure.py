"""Where features are, not only which: the autocorrelation of feature maps.

A Gram matrix averages over positions, so a braid whose strands run in random directions has
the Gram of an ordered one. The autocorrelation of each feature channel over shifts up to
``max_shift`` keeps the arrangement (period, orientation, alignment) while staying invariant to
translation, so samples can be compared with the example without aligning them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from texture_nets.evaluation.metrics.base import (
    _as_batch,
    _check_images,
    _check_layers,
    _DescriptorMetric,
)
from texture_nets.objective.descriptor import VGGDescriptor


def autocorrelation(features: Tensor, max_shift: int) -> Tensor:
    """(B, C, H, W) -> (C, 2s+1, 2s+1): each channel's normalised autocorrelation at shifts
    ``-s..s`` (s = ``max_shift``, at most H-1 and W-1), averaged over the batch.

    Mean-centred per image and channel; at each shift the products are averaged over the
    positions where both ends lie inside the map (not wrapped around), then divided by the
    zero-shift value, so 1 at the centre and a channel's scale does not matter.
    """
    height, width = features.shape[-2:]
    s = min(max_shift, height - 1, width - 1)
    centred = features.float() - features.float().mean(dim=(2, 3), keepdim=True)
    size = (2 * height, 2 * width)  # zero padding: no wrap-around
    spectrum = torch.fft.rfft2(centred, s=size)
    products = torch.fft.irfft2(spectrum * spectrum.conj(), s=size).mean(dim=0)
    ones = torch.ones(1, 1, height, width, dtype=centred.dtype, device=centred.device)
    ones_spectrum = torch.fft.rfft2(ones, s=size)
    overlap = torch.fft.irfft2(ones_spectrum * ones_spectrum.conj(), s=size)[0]
    correlation = products / overlap.round().clamp(min=1)
    window = torch.roll(correlation, shifts=(s, s), dims=(1, 2))[:, : 2 * s + 1, : 2 * s + 1]
    zero = window[:, s, s].clamp(min=1e-8)
    return window / zero[:, None, None]


def autocorrelation_distance(samples: Tensor, reference: Tensor) -> Tensor:
    """Relative squared distance between two ``autocorrelation`` results of one shape."""
    if samples.shape != reference.shape:
        raise ValueError(f"shapes differ: {tuple(samples.shape)} vs {tuple(reference.shape)}")
    return F.mse_loss(samples, reference, reduction="sum") / reference.pow(2).sum()


STRUCTURE_LAYERS = ("relu2_1", "relu3_1", "relu4_1")  # strides 2, 4, 8: edges to motifs
MAX_SHIFT = 64  # image pixels: the arrangement within a typical training crop


class StructureDistance(_DescriptorMetric):
    """How far the samples' arrangement is from the example's: the relative distance between
    the feature autocorrelations (``autocorrelation``) of the samples (averaged over every
    image passed to ``update``) and of the example, per layer, at shifts up to ``max_shift``
    image pixels; ``structure_distance`` is the mean over layers.

    Gram matrices and SWD ignore where features are; this score rises when a regular
    texture's period, alignment or orientation is lost (tiles of real crops shuffled: 3-39x
    the real crops' score on regular textures, 1.3-3x on stochastic ones, with Gram and SWD
    rising alike on both; ``python -m benchmarks.order_score``).
    """

    higher_is_better = False

    def __init__(
        self,
        descriptor: VGGDescriptor,
        example: Tensor,
        layers: Sequence[str] = STRUCTURE_LAYERS,
        max_shift: int = MAX_SHIFT,
        **kwargs: Any,
    ) -> None:
        super().__init__(descriptor, **kwargs)
        self.layers = _check_layers(descriptor, layers)
        example = _as_batch(example, "example")
        features = self._describe(example, self.layers)
        self.shifts: dict[str, int] = {}
        for index, name in enumerate(self.layers):
            stride = max(1, round(example.shape[-1] / features[name].shape[-1]))
            self.shifts[name] = max(1, max_shift // stride)
            target = autocorrelation(features[name], self.shifts[name])
            self.register_buffer(f"target_{index}", target, persistent=False)
            self.add_state(f"sum_{index}", torch.zeros_like(target), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self._start_on_descriptor_device()

    def update(self, images: Tensor) -> None:
        """Add the images' autocorrelations (images: (B, 3, H, W) in [0, 1])."""
        _check_images(images)
        features = self._describe(images, self.layers)
        for index, name in enumerate(self.layers):
            shift = self.shifts[name]
            if min(features[name].shape[-2:]) <= shift:
                raise ValueError(
                    f"images of {images.shape[-1]}x{images.shape[-2]} are too small for shifts "
                    f"of {shift} at {name} (lower max_shift)"
                )
            total = getattr(self, f"sum_{index}")
            for image in features[name].split(1):  # per image: independent of the batching
                total += autocorrelation(image, shift).to(total)
        self.count += images.shape[0]

    def compute(self) -> dict[str, Tensor]:
        per_layer = {
            f"structure_distance/{name}": autocorrelation_distance(
                getattr(self, f"sum_{index}") / self.count, getattr(self, f"target_{index}")
            )
            for index, name in enumerate(self.layers)
        }
        return {"structure_distance": torch.stack(list(per_layer.values())).mean(), **per_layer}

"""Diversity: how much samples from different noise differ (a generator may ignore its noise)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from texture_nets.evaluation.metrics.base import _check_images, _check_layers, _DescriptorMetric
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import content_loss

_EPS = 1e-12


def shift_invariant_distance(a: Tensor, b: Tensor) -> Tensor:
    """Distance between two images, the smallest over all circular shifts of one of them.

    With each channel's mean removed, ``min_s ||a - shift_s(b)||^2 / (||a||^2 + ||b||^2)``
    over every circular shift ``s`` (one cross-correlation by FFT). 0 for a shifted copy; at
    most 1 (with the means removed the correlation averages 0 over all shifts, so the best
    shift's is >= 0); just under 1 for unrelated images. (C, H, W) each, same shape.
    """
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError(f"expected two (C, H, W) images of one shape, got {a.shape}, {b.shape}")
    a = a.double() - a.double().mean(dim=(-2, -1), keepdim=True)
    b = b.double() - b.double().mean(dim=(-2, -1), keepdim=True)
    size = a.shape[-2:]
    correlation = torch.fft.irfft2(torch.fft.rfft2(a) * torch.fft.rfft2(b).conj(), s=size).sum(
        dim=0
    )  # (H, W): sum_c sum_x a(x) b(x - s) for every shift s
    energy = a.pow(2).sum() + b.pow(2).sum()
    return ((energy - 2 * correlation.max()) / energy.clamp_min(_EPS)).float()


class Diversity(_DescriptorMetric):
    """Mean pairwise distance between samples generated from different noise for one input.

    Each ``update(samples)`` receives B >= 2 samples of the same input (texture, or content
    photo) and forms every pair within that batch (pairs never span two updates):

    * pixels (default): ``d(x_i, x_j) = mean |x_i - x_j|`` over channels and pixels, over the
      ``B(B-1)/2`` unordered pairs;
    * features (``descriptor`` and ``layer`` given): ``d(x_i, x_j) = ||F(x_i) - F(x_j)||^2 /
      ||F(x_j)||^2`` (``losses.content_loss``), over the ``B(B-1)`` ordered pairs, so the
      asymmetric normalisation is averaged out;
    * shifts (``shift_invariant=True``, pixels): ``shift_invariant_distance`` over the
      unordered pairs: samples that are shifted copies of each other (a generator that
      ignores its noise but for a translation) score 0, where the pixel distance would not.

    ``compute()`` returns the mean of ``d`` over all pairs of all updates. A generator that
    ignores its noise produces identical samples: 0. Higher is more diverse.
    """

    higher_is_better = True
    distance_sum: Tensor
    pairs: Tensor

    def __init__(
        self,
        descriptor: VGGDescriptor | None = None,
        layer: str | None = None,
        shift_invariant: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(descriptor, **kwargs)
        if (descriptor is None) != (layer is None):
            raise ValueError(
                "give both descriptor and layer (feature distance) or neither (pixels)"
            )
        if shift_invariant and descriptor is not None:
            raise ValueError("shift_invariant compares pixels: give no descriptor")
        self.shift_invariant = shift_invariant
        self.layer = None if descriptor is None else _check_layers(descriptor, [str(layer)])[0]
        self.add_state("distance_sum", torch.zeros(()), dist_reduce_fx="sum")
        self.add_state("pairs", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self._start_on_descriptor_device()

    def update(self, samples: Tensor) -> None:
        _check_images(samples, "samples")
        count = samples.shape[0]
        if count < 2:
            raise ValueError(f"Diversity needs at least 2 samples per update; got {count}")
        distances: list[Tensor] = []
        with torch.no_grad():
            if self.shift_invariant:
                for i in range(count - 1):
                    distances += [
                        shift_invariant_distance(samples[i], samples[j])[None]
                        for j in range(i + 1, count)
                    ]
            elif self.layer is None:
                flat = samples.detach().float().flatten(1)
                for i in range(count - 1):
                    distances.append((flat[i + 1 :] - flat[i]).abs().mean(dim=1))
            else:
                features = self._describe(samples, [self.layer])[self.layer]
                for i in range(count):
                    others = torch.cat([features[:i], features[i + 1 :]])
                    distances.append(content_loss(others, features[i]))
        values = torch.cat(distances)
        self.distance_sum += values.sum().to(self.distance_sum)
        self.pairs += values.numel()

    def compute(self) -> Tensor:
        return self.distance_sum / self.pairs

"""Sliced Wasserstein distance between feature distributions: a score that is not the loss.

Comparing whole distributions of projected features (not only their second moments) keeps
a method from scoring well by matching the Grams alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import Tensor

from texture_nets.evaluation.metrics.base import (
    _as_batch,
    _check_images,
    _check_layers,
    _DescriptorMetric,
)
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.swd import (
    random_projections,
    sliced_wasserstein_sorted,
    sorted_projections,
)


def _layer_seed(seed: int, layer: str) -> int:
    """A seed per (seed, layer): each layer's directions do not depend on the other layers.

    ``crc32("<seed>/<layer>")``: 32 bits, as torch's CPU generator keeps only the low 32 bits
    of a seed (so ``seed * 2**32 + ...`` would ignore ``seed``).
    """
    return zlib.crc32(f"{seed}/{layer}".encode())


def sliced_wasserstein(features_a: Tensor, features_b: Tensor, projections: Tensor) -> Tensor:
    """Normalised sliced Wasserstein distance between two sets of C-dim feature vectors.

    Args:
        features_a: samples, (N_a, C) or batched (..., N_a, C).
        features_b: the example's samples, (N_b, C); it sets the normalisation.
        projections: unit directions ``theta_p`` as columns, (C, P).

    With ``a_p = sort(A theta_p)`` and ``b_p = sort(B theta_p)``, the longer of the two
    resampled to the shorter length ``n`` (``resample_sorted``)::

        SWD(A, B) = mean_p mean_k (a_p[k] - b_p[k])^2  /  mean_p Var(B theta_p)

    The numerator is the squared 2-Wasserstein distance between the 1-D projected
    distributions (quantile functions compared on ``n`` levels), averaged over directions. The
    denominator (population variance of the example's projections, averaged over the same
    directions) makes it dimensionless: scaling both feature sets by any ``s != 0`` leaves it
    unchanged, so layers and descriptors with different activation scales are comparable. A
    constant shift ``v`` of ``B`` gives ``mean_p (v . theta_p)^2 / mean_p Var(B theta_p)``; a
    permutation of the samples gives 0. Returns shape ``features_a.shape[:-2]`` (a scalar for
    unbatched input).
    """
    if features_b.dim() != 2 or projections.dim() != 2:
        raise ValueError("features_b must be (N, C) and projections (C, P)")
    channels = projections.shape[0]
    if features_a.shape[-1] != channels or features_b.shape[-1] != channels:
        raise ValueError(
            f"feature widths {features_a.shape[-1]} / {features_b.shape[-1]} do not match the "
            f"projections' {channels}"
        )
    return sliced_wasserstein_sorted(
        sorted_projections(features_a, projections), sorted_projections(features_b, projections)
    )


class SlicedWassersteinDistance(_DescriptorMetric):
    """Sliced Wasserstein distance between feature distributions (not the training objective).

    At each layer, the feature vectors at all H*W positions of an image are samples of a C-dim
    distribution, compared with the example's by ``sliced_wasserstein`` on ``num_projections``
    fixed random unit directions (drawn once per layer from ``seed`` and the layer name, see
    ``projections``). Unlike the Gram distance it compares the whole distribution of every
    projection, not only second moments, and is normalised by the example's projection
    variance so that it is scale-free (document: a value of 1 means the quantile mismatch is as
    large as the example's own spread along the directions).

    ``compute()`` returns ``{"swd/<l>": mean over images of SWD_l(image), "swd": mean over
    layers of those}``; images are compared one at a time (per-image values, averaged over all
    images passed to ``update``). Lower is better.
    """

    higher_is_better = False

    def __init__(
        self,
        descriptor: VGGDescriptor,
        style_image: Tensor,
        layers: Sequence[str],
        num_projections: int = 64,
        seed: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(descriptor, **kwargs)
        if isinstance(layers, str):
            layers = [layers]
        self.layers = _check_layers(descriptor, layers)
        self.num_projections = int(num_projections)
        self.seed = int(seed)
        features = self._describe(_as_batch(style_image, "style_image"), self.layers)
        for name in self.layers:
            example = _positions(features[name])[0]  # (N, C)
            directions = random_projections(
                example.shape[-1], self.num_projections, _layer_seed(self.seed, name)
            ).to(example.device)
            self.register_buffer(_projection_key(name), directions, persistent=False)
            self.register_buffer(
                _example_key(name), sorted_projections(example, directions), persistent=False
            )
        self._add_per_layer_states(len(self.layers))
        self._start_on_descriptor_device()

    def projections(self, layer: str) -> Tensor:
        """The fixed unit directions (C, P) used at ``layer``."""
        return cast(Tensor, getattr(self, _projection_key(layer)))

    def update(self, images: Tensor) -> None:
        """Add the per-image, per-layer distances of ``images`` (B, 3, H, W) in [0, 1]."""
        _check_images(images)
        features = self._describe(images, self.layers)
        per_layer = torch.stack(
            [
                sliced_wasserstein_sorted(
                    sorted_projections(_positions(features[name]), self.projections(name)),
                    getattr(self, _example_key(name)),
                )
                for name in self.layers
            ]
        )  # (L, B)
        self._accumulate(per_layer)

    def compute(self) -> dict[str, Tensor]:
        means = self.layer_sum / self.count
        out = {"swd": means.mean()}
        out.update({f"swd/{n}": m for n, m in zip(self.layers, means, strict=True)})
        return out


def _positions(features: Tensor) -> Tensor:
    """(B, C, H, W) -> (B, H*W, C): one C-dim sample per position."""
    return features.flatten(2).transpose(1, 2)


def _projection_key(layer: str) -> str:
    return f"projections_{layer}"


def _example_key(layer: str) -> str:
    return f"example_sorted_{layer}"

"""The training objective's terms as metrics: style (Gram) and content distances, and SSIM.

They score with the very functions the loss uses (``losses.style_layer_loss``,
``losses.content_loss``), so a validation score and a training loss mean the same thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor
from torchmetrics.image import StructuralSimilarityIndexMeasure

from texture_nets.evaluation.metrics.base import (
    _as_batch,
    _check_images,
    _check_layers,
    _check_pair,
    _DescriptorMetric,
)
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import content_loss, gram_matrix, style_layer_loss
from texture_nets.objective.objective import DEFAULT_CONTENT_LAYERS


class StyleDistance(_DescriptorMetric):
    """Relative Gram distance to the example: exactly the style term of the training loss.

    For an image ``x``, layer ``l`` with features ``F_l(x)`` (C_l x H_l W_l) and the example
    ``s``::

        G_l(x) = F_l(x) F_l(x)^T / (H_l W_l)                       (losses.gram_matrix)
        d_l(x) = ||G_l(x) - G_l(s)||_F^2 / ||G_l(s)||_F^2          (losses.style_layer_loss)

    ``compute()`` returns ``{"style_distance/<l>": mean_x d_l(x)}`` over every image passed to
    ``update`` (all batches, all ranks) and ``"style_distance": sum_l w_l mean_x d_l(x)``,
    the per-layer weights ``w_l`` default to 1 (the training objective with
    ``style_weight=1``). Lower is better; 0 means identical Grams.

    Args:
        descriptor: the frozen VGG (kept by reference, see ``metrics.base``).
        style_image: the example, (3, H, W) or (1, 3, H, W) in [0, 1]; its Grams are computed
            once here.
        layers: layer names, or a mapping layer -> weight (as ``TextureLoss.style_layers``).
        layer_weights: weights as a mapping layer -> weight or a sequence aligned with
            ``layers`` (not with a mapping ``layers``).
        kwargs: ``torchmetrics.Metric`` options (``sync_on_compute``, ``dist_sync_fn``, ...).
    """

    higher_is_better = False

    def __init__(
        self,
        descriptor: VGGDescriptor,
        style_image: Tensor,
        layers: Sequence[str] | Mapping[str, float],
        layer_weights: Mapping[str, float] | Sequence[float] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(descriptor, **kwargs)
        if isinstance(layers, str):
            layers = [layers]
        if isinstance(layers, Mapping):
            if layer_weights is not None:
                raise ValueError("give the layer weights either in `layers` or in `layer_weights`")
            layer_weights = dict(layers)
        self.layers = _check_layers(descriptor, layers)
        self.layer_weights = _resolve_weights(self.layers, layer_weights)
        features = self._describe(_as_batch(style_image, "style_image"), self.layers)
        for name in self.layers:
            self.register_buffer(
                _gram_key(name), gram_matrix(features[name])[0].detach(), persistent=False
            )
        self._add_per_layer_states(len(self.layers))
        self._start_on_descriptor_device()

    def target_gram(self, layer: str) -> Tensor:
        """The example's Gram matrix (C, C) at ``layer``."""
        return cast(Tensor, getattr(self, _gram_key(layer)))

    def update(self, images: Tensor) -> None:
        """Add the images' per-layer distances (images: (B, 3, H, W) in [0, 1])."""
        _check_images(images)
        features = self._describe(images, self.layers)
        per_layer = torch.stack(
            [style_layer_loss(features[name], self.target_gram(name)) for name in self.layers]
        )  # (L, B)
        self._accumulate(per_layer)

    def compute(self) -> dict[str, Tensor]:
        means = self.layer_sum / self.count
        weights = torch.tensor(self.layer_weights, dtype=means.dtype, device=means.device)
        out = {"style_distance": (weights * means).sum()}
        out.update({f"style_distance/{n}": m for n, m in zip(self.layers, means, strict=True)})
        return out


def _resolve_weights(
    layers: Sequence[str], weights: Mapping[str, float] | Sequence[float] | None
) -> tuple[float, ...]:
    if weights is None:
        return tuple(1.0 for _ in layers)
    if isinstance(weights, Mapping):
        if set(weights) != set(layers):
            raise ValueError(
                f"layer_weights must give one weight per layer {list(layers)}; "
                f"got {sorted(weights)}"
            )
        return tuple(float(weights[name]) for name in layers)
    if len(weights) != len(layers):
        raise ValueError(f"{len(weights)} layer weights for {len(layers)} layers")
    return tuple(float(w) for w in weights)


def _gram_key(layer: str) -> str:
    return f"target_gram_{layer}"


class ContentDistance(_DescriptorMetric):
    """Relative feature distance to the content image: the content term of the training loss.

    For an output ``x`` and its content image ``c`` at one layer::

        d(x, c) = ||F(x) - F(c)||^2 / ||F(c)||^2                   (losses.content_loss)

    ``compute()`` returns the mean of ``d`` over every image passed to ``update``. Lower is
    better.

    Args:
        descriptor: the frozen VGG (kept by reference, see ``metrics.base``).
        layer: the content layer (default ``relu4_2``, as training); must be provided by the
            descriptor.
    """

    higher_is_better = False
    distance_sum: Tensor
    count: Tensor

    def __init__(
        self, descriptor: VGGDescriptor, layer: str = DEFAULT_CONTENT_LAYERS[0], **kwargs: Any
    ) -> None:
        super().__init__(descriptor, **kwargs)
        self.layer = _check_layers(descriptor, [layer])[0]
        self.add_state("distance_sum", torch.zeros(()), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")
        self._start_on_descriptor_device()

    def update(self, images: Tensor, content_images: Tensor) -> None:
        """``content_images``: one per image, or a single one for all; same size as ``images``."""
        content_images = _check_pair(images, content_images, "content_images")
        value = self._describe(images, [self.layer])[self.layer]
        target = self._describe(content_images, [self.layer])[self.layer]
        self.distance_sum += content_loss(value, target).sum().to(self.distance_sum)
        self.count += images.shape[0]

    def compute(self) -> Tensor:
        return self.distance_sum / self.count


class ContentSSIM(StructuralSimilarityIndexMeasure):
    """SSIM between each output and its content image (torchmetrics, ``data_range=1.0``).

    Per image, with Gaussian-weighted local means ``mu``, variances ``sigma^2`` and covariance
    ``sigma_xc`` (11x11 window, sigma 1.5, reflect padding; torchmetrics' defaults)::

        SSIM(x, c) = mean over pixels and channels of
                       (2 mu_x mu_c + C1) (2 sigma_xc + C2)
                     -----------------------------------------------
                     (mu_x^2 + mu_c^2 + C1) (sigma_x^2 + sigma_c^2 + C2)

    with ``C1 = (0.01 * 1)^2``, ``C2 = (0.03 * 1)^2``; ``compute()`` returns the mean over
    images. Higher is better (1: identical). Images of different sizes are refused with a
    ``ValueError`` (no implicit resizing); a single content image is compared with every output.
    """

    is_differentiable = False

    def __init__(self, **kwargs: Any) -> None:
        if "data_range" in kwargs:
            raise ValueError("ContentSSIM compares images in [0, 1]: data_range is fixed to 1.0")
        super().__init__(data_range=1.0, **kwargs)

    def update(self, images: Tensor, content_images: Tensor) -> None:
        content_images = _check_pair(images, content_images, "content_images")
        with torch.no_grad():
            super().update(images.detach(), content_images.detach().to(images))

"""Evaluation metrics (torchmetrics): how close generated images are to the example, and how varied.

Every metric takes RGB images in [0, 1], shape (B, 3, H, W), accumulates sums in states
registered with ``add_state(..., dist_reduce_fx="sum")`` (so ``compute()`` under DDP reduces
across ranks), and runs without autograd (``update`` computes under ``torch.no_grad()`` and
only detached values reach the states).

* ``StyleDistance``: the training objective's style term (relative Gram distance).
* ``ContentDistance``: the training objective's content term (relative feature distance).
* ``ContentSSIM``: SSIM between output and content photo (torchmetrics, ``data_range=1``).
* ``SlicedWassersteinDistance``: distance between the distributions of feature vectors; *not*
  the training objective, so it cannot be gamed by optimising the Grams alone.
* ``Diversity``: mean pairwise distance between samples from different noise.

Where the descriptor lives: the metrics that use a ``VGGDescriptor`` hold a plain reference to
it, stored outside ``nn.Module``'s registries (not a submodule, parameter or buffer). So it is
never a metric state (never synced, never reset), never part of ``state_dict()`` (a checkpoint
of a module that holds metrics does not grow by the VGG weights, and loading does not expect
them), and never counted twice in ``parameters()`` of a LightningModule that also owns it.
It still moves with the metric: ``_apply`` (used by ``.to()``, ``.cuda()``, ... also when the
metric is nested inside another module) applies the same conversion to the descriptor. The
descriptor is shared, not copied: moving a metric moves the caller's descriptor too, exactly as
a shared submodule would. Fixed targets derived from the example (Gram matrices, projection
directions, sorted example projections) are non-persistent buffers: they move with the metric
and stay out of ``state_dict()``. A metric built around a descriptor starts on the
descriptor's device.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn
from torchmetrics import Metric
from torchmetrics.image import StructuralSimilarityIndexMeasure

from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import (
    content_loss,
    gram_matrix,
    random_projections,
    resample_sorted,
    sliced_wasserstein_sorted,
    sorted_projections,
    style_layer_loss,
)
from texture_nets.objective.objective import DEFAULT_CONTENT_LAYERS

__all__ = [
    "ContentDistance",
    "ContentSSIM",
    "Diversity",
    "SlicedWassersteinDistance",
    "StyleDistance",
    "random_projections",
    "resample_sorted",
    "shift_invariant_distance",
    "sliced_wasserstein",
    "texture_report",
]

_EPS = 1e-12


# --- helpers --------------------------------------------------------------------------------


def _check_images(images: Tensor, name: str = "images") -> None:
    if not isinstance(images, Tensor) or images.dim() != 4 or images.shape[1] != 3:
        shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise ValueError(f"{name} must be RGB images of shape (B, 3, H, W) in [0, 1]; got {shape}")
    if not images.is_floating_point():
        raise ValueError(f"{name} must be floating point in [0, 1]; got {images.dtype}")


def _as_batch(image: Tensor, name: str) -> Tensor:
    """A single image (3, H, W) or (1, 3, H, W) as a batch of one."""
    if isinstance(image, Tensor) and image.dim() == 3:
        image = image.unsqueeze(0)
    _check_images(image, name)
    if image.shape[0] != 1:
        raise ValueError(f"{name} must be a single image; got a batch of {image.shape[0]}")
    return image


def _check_pair(images: Tensor, references: Tensor, name: str) -> Tensor:
    """Validate (images, references) of equal size; a batch-1 reference is expanded to B."""
    _check_images(images, "images")
    _check_images(references, name)
    if images.shape[-2:] != references.shape[-2:]:
        raise ValueError(
            f"images and {name} must have the same size; got {tuple(images.shape[-2:])} and "
            f"{tuple(references.shape[-2:])} (resize or crop the {name} first)"
        )
    if references.shape[0] not in (1, images.shape[0]):
        raise ValueError(
            f"{name} must be one image or one per image; got {references.shape[0]} for "
            f"{images.shape[0]} images"
        )
    return references.expand_as(images)


def _descriptor_device(descriptor: VGGDescriptor) -> torch.device:
    return descriptor.mean.device


def _check_layers(descriptor: VGGDescriptor, layers: Iterable[str]) -> list[str]:
    layers = list(layers)
    if not layers:
        raise ValueError("at least one layer is needed")
    if len(set(layers)) != len(layers):
        raise ValueError(f"duplicate layers in {layers}")
    missing = [name for name in layers if name not in descriptor.available_layers]
    if missing:
        relus = ", ".join(n for n in descriptor.available_layers if n.startswith("relu"))
        raise ValueError(f"layer(s) {missing} not available; this descriptor provides {relus}")
    return layers


class _DescriptorMetric(Metric):
    """A ``Metric`` holding an optional, unregistered reference to a ``VGGDescriptor``.

    See the module docstring for why the descriptor is not a submodule.
    """

    layer_sum: Tensor  # states of the per-layer metrics (_add_per_layer_states)
    count: Tensor

    is_differentiable = False
    full_state_update = False

    def __init__(self, descriptor: VGGDescriptor | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if descriptor is not None and not isinstance(descriptor, VGGDescriptor):
            raise TypeError(f"descriptor must be a VGGDescriptor; got {type(descriptor).__name__}")
        # Bypasses nn.Module.__setattr__: not a submodule, hence not in state_dict()/children().
        self.__dict__["_descriptor"] = descriptor

    @property
    def descriptor(self) -> VGGDescriptor | None:
        return cast("VGGDescriptor | None", self.__dict__["_descriptor"])

    def _apply(self, fn: Callable[..., Any], exclude_state: Sequence[str] = "") -> nn.Module:
        if self.descriptor is not None:
            self.descriptor._apply(fn)
        return super()._apply(fn, exclude_state)

    def _start_on_descriptor_device(self) -> None:
        if self.descriptor is not None:
            self.to(_descriptor_device(self.descriptor))

    def _describe(self, images: Tensor, layers: Iterable[str]) -> dict[str, Tensor]:
        """Descriptor features, without autograd, on the descriptor's device."""
        descriptor = self.descriptor
        if descriptor is None:
            raise RuntimeError(f"{type(self).__name__} has no descriptor")
        with torch.no_grad():
            features = descriptor(images.to(_descriptor_device(descriptor)), layers)
        return {name: value.detach() for name, value in features.items()}

    def _add_per_layer_states(self, layers: int) -> None:
        """Sums of per-image values per layer, and the image count (summed across processes)."""
        self.add_state("layer_sum", torch.zeros(layers), dist_reduce_fx="sum")
        self.add_state("count", torch.zeros((), dtype=torch.long), dist_reduce_fx="sum")

    def _accumulate(self, per_layer: Tensor) -> None:
        """Add per-layer, per-image values of shape (L, B)."""
        self.layer_sum += per_layer.sum(dim=1).to(self.layer_sum)
        self.count += per_layer.shape[1]


# --- style and content distances (the training objective's terms) ---------------------------


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
        descriptor: the frozen VGG (kept by reference, see the module docstring).
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
        descriptor: the frozen VGG (kept by reference, see the module docstring).
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


# --- sliced Wasserstein distance between feature distributions -------------------------------


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


# --- diversity ------------------------------------------------------------------------------


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


# --- report ---------------------------------------------------------------------------------


def texture_report(
    descriptor: VGGDescriptor,
    example: Tensor,
    samples: Tensor,
    layers: Sequence[str],
    *,
    layer_weights: Mapping[str, float] | Sequence[float] | None = None,
    num_projections: int = 64,
    seed: int = 0,
) -> dict[str, float]:
    """Style distance, sliced Wasserstein distance and (for >= 2 samples) pixel diversity.

    ``samples`` (B, 3, H, W) in [0, 1] are compared with ``example`` ((3, H, W) or
    (1, 3, H, W)); the samples should come from different noise for the diversity entry to mean
    anything. Returns a flat dict of floats: ``style_distance``, ``style_distance/<layer>``,
    ``swd``, ``swd/<layer>`` and, when B >= 2, ``diversity``.
    """
    _check_images(samples, "samples")
    samples = samples.detach().to(_descriptor_device(descriptor))
    metrics: list[Metric] = [
        StyleDistance(descriptor, example, layers, layer_weights),
        SlicedWassersteinDistance(descriptor, example, layers, num_projections, seed),
    ]
    if samples.shape[0] >= 2:
        metrics.append(Diversity().to(samples.device))
    report: dict[str, float] = {}
    with torch.no_grad():
        for metric in metrics:
            metric.update(samples)
            value = metric.compute()
            if isinstance(value, Mapping):
                report.update({key: float(v) for key, v in value.items()})
            else:
                report["diversity"] = float(value)
    return report

"""The metrics' shared ground: input checks and ``_DescriptorMetric``.

Every metric takes RGB images in [0, 1], shape (B, 3, H, W), accumulates sums in states
registered with ``add_state(..., dist_reduce_fx="sum")`` (so ``compute()`` under DDP reduces
across ranks), and runs without autograd (``update`` computes under ``torch.no_grad()`` and
only detached values reach the states).

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

from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import torch
from torch import Tensor, nn
from torchmetrics import Metric

from texture_nets.objective.descriptor import VGGDescriptor


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

    See this module's docstring for why the descriptor is not a submodule.
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

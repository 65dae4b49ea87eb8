"""Frozen VGG descriptor: named layers (``relu1_1`` ... ``relu5_4``) of a VGG-16/19 conv stack.

The descriptor takes RGB images in [0, 1], shape (B, 3, H, W), and applies the input
normalisation its weights were trained with (torchvision: ImageNet mean/std; Caffe/Keras:
BGR, 0-255, mean subtracted) as buffers inside the module, so the rest of the project only
ever sees [0, 1] images. It runs only as deep as the deepest layer in use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torchvision.models import vgg

# Conv widths per block, "M" = pooling: the configurations "D" (VGG-16) and "E" (VGG-19).
_VGG_BLOCKS: dict[str, tuple[int, ...]] = {
    "vgg16": (2, 2, 3, 3, 3),
    "vgg19": (2, 2, 4, 4, 4),
}
_TORCHVISION_CFG = {"vgg16": "D", "vgg19": "E"}
ARCHITECTURES = tuple(_VGG_BLOCKS)
POOLING_MODES = ("avg", "max")


def layer_names(arch: str) -> list[str]:
    """Names of the modules of ``torchvision.models.<arch>().features``, in order."""
    if arch not in _VGG_BLOCKS:
        raise ValueError(f"unknown VGG architecture {arch!r}; choose one of {ARCHITECTURES}")
    names: list[str] = []
    for block, convs in enumerate(_VGG_BLOCKS[arch], start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


def check_layers(arch: str, layers: Iterable[str]) -> None:
    """Raise a ``ValueError`` listing the valid names when a layer does not exist in ``arch``."""
    valid = layer_names(arch)
    unknown = [name for name in layers if name not in valid]
    if unknown:
        relus = ", ".join(n for n in valid if n.startswith("relu"))
        raise ValueError(f"unknown {arch} layer(s) {unknown}; valid layers: {relus}")


def deepest_layer(arch: str, layers: Iterable[str]) -> str:
    """The deepest of ``layers`` in ``arch`` (where the descriptor can stop)."""
    order = layer_names(arch)
    return max(layers, key=order.index)


def min_input_side(arch: str, layers: Iterable[str]) -> int:
    """The smallest image side for which the deepest of ``layers`` still has 2x2 activations.

    Every pooling before a layer halves (and floors) the image, so a layer behind ``P``
    poolings needs at least ``2**P * 2`` pixels a side (relu5_1: 32, relu4_1: 16, relu1_1: 2);
    below ``2**P`` the pooling would produce an empty map and the descriptor would fail.
    """
    names = layer_names(arch)
    layers = list(layers)
    check_layers(arch, layers)
    deepest = max((names.index(name) for name in layers), default=0)
    poolings = sum(1 for name in names[:deepest] if name.startswith("pool"))
    return 2**poolings * 2


def vgg_features(arch: str) -> nn.Sequential:
    """An untrained ``torchvision.models.<arch>().features`` (without building the classifier)."""
    if arch not in _VGG_BLOCKS:
        raise ValueError(f"unknown VGG architecture {arch!r}; choose one of {ARCHITECTURES}")
    return vgg.make_layers(vgg.cfgs[_TORCHVISION_CFG[arch]], batch_norm=False)


@dataclass(frozen=True)
class InputNormalization:
    """How [0, 1] RGB becomes the network's input: ``(x[:, order] * scale - mean) / std``."""

    name: str
    channel_order: tuple[int, int, int]
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


TORCHVISION_NORMALIZATION = InputNormalization(
    "torchvision", (0, 1, 2), 1.0, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
)
CAFFE_NORMALIZATION = InputNormalization(
    "caffe", (2, 1, 0), 255.0, (103.939, 116.779, 123.68), (1.0, 1.0, 1.0)
)


class VGGDescriptor(nn.Module):
    """A frozen VGG conv stack that returns the activations of the named layers.

    Args:
        arch: ``"vgg16"`` or ``"vgg19"``.
        features_state: weights keyed like ``torchvision.models.<arch>().features.state_dict()``.
        normalization: the input convention the weights expect.
        pooling: ``"avg"`` (Gatys et al.: smoother gradients, better textures) or ``"max"``.
        last_layer: the deepest layer ever requested; the stack is cut after it.
    """

    channel_order: Tensor
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        arch: str,
        features_state: Mapping[str, Tensor],
        normalization: InputNormalization = TORCHVISION_NORMALIZATION,
        pooling: str = "avg",
        last_layer: str = "relu5_1",
    ) -> None:
        super().__init__()
        if pooling not in POOLING_MODES:
            raise ValueError(f"unknown pooling {pooling!r}; choose one of {POOLING_MODES}")
        check_layers(arch, [last_layer])
        features = vgg_features(arch)
        features.load_state_dict(features_state)
        names = layer_names(arch)
        depth = names.index(last_layer) + 1
        modules: dict[str, nn.Module] = {}
        for name, module in zip(names[:depth], list(features)[:depth], strict=True):
            if isinstance(module, nn.MaxPool2d) and pooling == "avg":
                module = nn.AvgPool2d(kernel_size=2, stride=2)
            if isinstance(module, nn.ReLU):
                module = nn.ReLU(inplace=False)  # the activations are returned, never overwrite
            modules[name] = module
        self.layers = nn.ModuleDict(modules)
        self.arch = arch
        self.pooling = pooling
        self.normalization = normalization
        self.register_buffer("channel_order", torch.tensor(normalization.channel_order))
        self.register_buffer("mean", torch.tensor(normalization.mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(normalization.std).view(1, 3, 1, 1))
        self.scale = normalization.scale
        self.requires_grad_(False)
        self.eval()

    @property
    def available_layers(self) -> list[str]:
        return list(self.layers.keys())

    def train(self, mode: bool = True) -> VGGDescriptor:
        """Stay in eval mode whatever the surrounding module does (it has no dropout/BN anyway)."""
        return super().train(False)

    def normalize(self, images: Tensor) -> Tensor:
        images = images.index_select(1, self.channel_order)
        return (images * self.scale - self.mean) / self.std

    def forward(self, images: Tensor, layers: Iterable[str]) -> dict[str, Tensor]:
        """Activations of ``layers`` for ``images`` in [0, 1], shape (B, 3, H, W)."""
        wanted = set(layers)
        unknown = wanted.difference(self.layers.keys())
        if unknown:
            raise ValueError(
                f"layer(s) {sorted(unknown)} not available; this descriptor provides "
                f"{', '.join(n for n in self.layers if n.startswith('relu'))}"
            )
        x = self.normalize(images)
        out: dict[str, Tensor] = {}
        for name, module in self.layers.items():
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out

"""The objective every method shares, built in one place from a config.

Training (``module``), Gatys' optimisation (``gatys``), the comparison (``compare``) and the
benchmarks all build their ``TextureLoss`` and pick their descriptor here: ``loss_settings``
reads the loss keys of a training config (``TrainConfig.to_dict()`` or a checkpoint's
``config``), ``LossSettings.build_loss`` makes the loss, ``build_objective_descriptor`` the
frozen VGG it is computed with. ``Objective`` puts the three together with the style targets
set (``Objective.load`` / ``Objective.build``): what the training module holds, and what Gatys,
compare and the benchmarks optimise and score against.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from texture_nets.errors import UserError
from texture_nets.objective.descriptor import (
    VGGDescriptor,
    check_layers,
    deepest_layer,
    min_input_side,
)
from texture_nets.objective.losses import TextureLoss
from texture_nets.precision import bf16_autocast

log = logging.getLogger(__name__)

# Gatys et al. 2015: the first ReLU of every block for the Gram loss; relu4_2 for the content.
DEFAULT_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
DEFAULT_CONTENT_LAYERS = ("relu4_2",)
# The shifted-Gram term (Berger & Memisevic 2016), off by default (shift_weight 0): relu4_1's
# map is 1/8 of the image, so shifts of 2, 4 and 8 of its pixels span 16-64 image pixels.
DEFAULT_SHIFT_LAYERS = ("relu4_1",)
DEFAULT_SHIFTS = (2, 4, 8)
# Layer names are checked (and the deepest layer found) against this architecture when the
# descriptor's is not fixed (``descriptor_arch`` unset): the weights source decides it later.
FALLBACK_DESCRIPTOR_ARCH = "vgg16"


@dataclass(frozen=True)
class LossSettings:
    """The objective (``TextureLoss``'s arguments) and the descriptor it is computed with."""

    style_layers: dict[str, float]
    content_layers: dict[str, float]
    style_weight: float
    content_weight: float
    tv_weight: float
    pooling: str
    style_size: int
    descriptor_arch: str | None
    texture_loss: str = "gram"
    shift_layers: tuple[str, ...] = ()
    shifts: tuple[int, ...] = ()
    shift_weight: float = 0.0

    @property
    def layers(self) -> list[str]:
        """Every descriptor layer the loss reads (style, then content)."""
        return list(dict.fromkeys([*self.style_layers, *self.content_layers]))

    @property
    def arch(self) -> str:
        """The descriptor architecture layer names are checked against."""
        return self.descriptor_arch or FALLBACK_DESCRIPTOR_ARCH

    def min_side(self) -> int:
        """The smallest image side the loss works at: the deepest layer keeps 2x2 activations,
        and every shift layer's map is longer than its largest shift."""
        side = min_input_side(self.arch, self.layers)
        for name in self.shift_layers if self.shift_weight else ():
            stride = min_input_side(self.arch, [name]) // 2  # the layer's poolings
            side = max(side, stride * (max(self.shifts, default=0) + 1))
        return side

    def check_layers(self) -> None:
        """Every layer exists in ``arch``, else a ``UserError`` (that names the flag to set
        when the architecture is the fallback); the shifted-Gram term's layers and shifts fit
        the style layers."""
        if self.shift_weight < 0:
            raise UserError(f"shift_weight must be >= 0, got {self.shift_weight}")
        if self.shift_weight:
            if unknown := [name for name in self.shift_layers if name not in self.style_layers]:
                raise UserError(
                    f"shift_layers must be style layers: {', '.join(unknown)} is not one of "
                    f"{', '.join(self.style_layers)}"
                )
            if not self.shifts or min(self.shifts) <= 0:
                raise UserError(f"shifts must be positive numbers of pixels, got {self.shifts}")
        try:
            check_layers(self.arch, self.layers)
        except ValueError as error:
            hint = ""
            if self.descriptor_arch is None:
                hint = f" (without --descriptor-arch, layers are checked against {self.arch})"
            raise UserError(f"{error}{hint}") from error

    def build_loss(self, seed: int = 0) -> TextureLoss:
        """The loss; ``seed`` seeds the sliced Wasserstein directions (``texture_loss`` swd)."""
        return TextureLoss(
            self.style_layers,
            self.content_layers or None,
            style_weight=self.style_weight,
            content_weight=self.content_weight,
            tv_weight=self.tv_weight,
            texture_loss=self.texture_loss,
            seed=seed,
            shift_layers=self.shift_layers,
            shifts=self.shifts,
            shift_weight=self.shift_weight,
        )


def _or_default(config: Mapping[str, Any], key: str, default: Any) -> Any:
    value = config.get(key)
    return default if value is None else value


def loss_settings(config: Mapping[str, Any], stylize: bool) -> LossSettings:
    """The objective of a training config (a missing key takes the code default)."""
    layers = list(_or_default(config, "style_layers", DEFAULT_STYLE_LAYERS))
    weights = config.get("style_layer_weights") or [1.0] * len(layers)
    if len(weights) != len(layers):
        raise UserError("checkpoint config: style_layer_weights do not match style_layers")
    content = list(_or_default(config, "content_layers", DEFAULT_CONTENT_LAYERS)) if stylize else []
    return LossSettings(
        style_layers={name: float(w) for name, w in zip(layers, weights, strict=True)},
        content_layers={name: 1.0 for name in content},
        style_weight=float(config.get("style_weight", 1.0)),
        content_weight=float(config.get("content_weight", 1.0)),
        tv_weight=float(config.get("tv_weight", 0.0)),
        pooling=str(config.get("pooling", "avg")),
        style_size=int(config.get("style_size", 512)),
        descriptor_arch=config.get("descriptor_arch"),
        texture_loss=str(config.get("texture_loss") or "gram"),
        shift_layers=tuple(_or_default(config, "shift_layers", DEFAULT_SHIFT_LAYERS)),
        shifts=tuple(int(s) for s in _or_default(config, "shifts", DEFAULT_SHIFTS)),
        shift_weight=float(config.get("shift_weight") or 0.0),
    )


def check_loss_layers(arch: str, layers: Sequence[str]) -> None:
    """``check_layers`` for the command lines: an unknown layer is a ``UserError``."""
    try:
        check_layers(arch, layers)
    except ValueError as error:
        raise UserError(str(error)) from error


def build_objective_descriptor(
    source: str, settings: LossSettings, seed: int = 0
) -> tuple[VGGDescriptor, str]:
    """The frozen descriptor for ``settings``, cut after their deepest layer, and its source
    record (``weights.build_descriptor``)."""
    from texture_nets.objective.weights import build_descriptor  # lazy: keeps config's import light

    return build_descriptor(
        source,
        settings.descriptor_arch,
        settings.pooling,
        deepest_layer(settings.arch, settings.layers),
        seed,
    )


def load_descriptor(
    source: str, settings: LossSettings, seed: int = 0
) -> tuple[VGGDescriptor, str]:
    """``build_objective_descriptor`` for the command lines: a bad source, or a layer the
    architecture lacks, is a ``UserError``; random weights are logged as a warning."""
    settings.check_layers()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*RANDOM VGG weights.*")
            descriptor, record = build_objective_descriptor(source, settings, seed)
    except ValueError as error:
        raise UserError(f"--descriptor {source}: {error}") from error
    check_loss_layers(descriptor.arch, settings.layers)
    if record.startswith("random"):
        log.warning("WARNING: descriptor has RANDOM weights (tests only); results are meaningless")
    return descriptor, record


def describe(
    descriptor: VGGDescriptor, images: Tensor, layers: Sequence[str], use_bf16: bool = False
) -> dict[str, Tensor]:
    """Descriptor features without gradient (style and content targets), same precision."""
    device = descriptor.mean.device
    with torch.no_grad(), bf16_autocast(device, use_bf16):
        images = images.to(device).contiguous(memory_format=torch.channels_last)
        return {k: v.float() for k, v in descriptor(images, layers).items()}


class Objective(nn.Module):
    """The descriptor, the loss settings and the loss with its style targets set: what a method
    is optimised against, built once (``build``) so that training, Gatys, compare and the
    benchmarks cannot differ.

    A module, so that the training module holds it as a submodule (its targets move and are
    saved with it: keys ``objective.loss.*``; ``objective.descriptor.*`` is left out of
    checkpoints there). ``use_bf16`` is the precision the targets are computed in (style here,
    content in ``content_targets``); the optimisation may choose its own precision.
    """

    def __init__(
        self,
        descriptor: VGGDescriptor,
        settings: LossSettings,
        loss: TextureLoss,
        use_bf16: bool = False,
        source: str = "",
    ) -> None:
        super().__init__()
        self.descriptor = descriptor
        self.settings = settings
        self.loss = loss
        self.use_bf16 = use_bf16
        self.source = source

    @classmethod
    def build(
        cls,
        descriptor: VGGDescriptor,
        settings: LossSettings,
        styles: Sequence[Tensor] = (),
        *,
        blend: Sequence[float] | None = None,
        seed: int = 0,
        use_bf16: bool = False,
        source: str = "",
    ) -> Objective:
        """The loss of ``settings`` (seeded: swd's directions) on ``descriptor``'s device, its
        style targets from ``styles`` (blended by ``blend``, default equal weights); without
        ``styles`` they are set later (``set_styles``: the training module does it in its
        ``setup``, on the device it trains on)."""
        loss = settings.build_loss(seed=seed).to(descriptor.mean.device)
        objective = cls(descriptor, settings, loss, use_bf16, source)
        if styles:
            objective.set_styles(styles, blend)
        return objective

    def set_styles(self, styles: Sequence[Tensor], blend: Sequence[float] | None = None) -> None:
        """The style targets: the descriptor's features of ``styles`` in ``use_bf16``'s
        precision, blended by ``blend``."""
        layers = list(self.loss.style_layers)
        features = [describe(self.descriptor, s, layers, self.use_bf16) for s in styles]
        self.loss.set_style(features, blend)

    @classmethod
    def load(
        cls,
        descriptor_source: str,
        settings: LossSettings,
        styles: Sequence[Tensor],
        *,
        device: torch.device | str = "cpu",
        blend: Sequence[float] | None = None,
        seed: int = 0,
        use_bf16: bool = False,
    ) -> Objective:
        """``build`` on the descriptor ``load_descriptor`` gives for ``descriptor_source``
        (``seed`` also seeds random weights), moved to ``device``."""
        descriptor, source = load_descriptor(descriptor_source, settings, seed)
        return cls.build(
            descriptor.to(device),
            settings,
            styles,
            blend=blend,
            seed=seed,
            use_bf16=use_bf16,
            source=source,
        )

    def content_targets(self, photo: Tensor) -> dict[str, Tensor]:
        """The content layers' features of ``photo`` (style transfer), in the targets' precision."""
        return describe(self.descriptor, photo, list(self.loss.content_layers), self.use_bf16)

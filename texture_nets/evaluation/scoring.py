"""Scores of one method's outputs in a comparison: every metric of
``texture_nets.evaluation.metrics`` and the training objective itself, all in fp32, so that
a network and Gatys' optimisation are judged by the same numbers.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import cast

import torch
from torch import Tensor

from texture_nets.evaluation.metrics import (
    ContentDistance,
    ContentSSIM,
    Diversity,
    SlicedWassersteinDistance,
    StyleDistance,
)
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import LossSettings


def score(
    descriptor: VGGDescriptor,
    style: Tensor,
    outputs: Sequence[Tensor],
    settings: LossSettings,
    seed: int,
    contents: Sequence[Tensor] | None = None,
) -> dict[str, float]:
    """Every metric of one method's outputs (fp32, ``texture_nets.evaluation.metrics``).

    ``outputs[i]`` (S, 3, H, W) are the outputs for input i: the texture example (one input),
    or ``contents[i]`` (1, 3, H, W) when stylizing, which adds the content distance (per layer
    too) and SSIM. Diversity (mean pixel distance between the S outputs of one input) only when
    every S >= 2.
    """
    device = descriptor.mean.device
    style = style.to(device)
    style_distance = StyleDistance(descriptor, style, settings.style_layers)
    swd = SlicedWassersteinDistance(descriptor, style, list(settings.style_layers), seed=seed)
    diversity = Diversity().to(device) if all(o.shape[0] >= 2 for o in outputs) else None
    content_distances = {n: ContentDistance(descriptor, n) for n in settings.content_layers}
    ssim = ContentSSIM().to(device)
    for index, images in enumerate(outputs):
        images = images.to(device)
        style_distance.update(images)
        swd.update(images)
        if diversity is not None:
            diversity.update(images)
        if contents is not None:
            content = contents[index].to(device)
            for metric in content_distances.values():
                metric.update(images, content)
            ssim.update(images, content)
    report = {k: float(v) for k, v in (style_distance.compute() | swd.compute()).items()}
    if contents is not None:
        per_layer = {n: float(m.compute()) for n, m in content_distances.items()}
        report["content_distance"] = sum(
            settings.content_layers[n] * per_layer[n] for n in per_layer
        )
        report.update({f"content_distance/{n}": value for n, value in per_layer.items()})
        report["content_ssim"] = float(cast(Tensor, ssim.compute()))
    if diversity is not None:
        report["diversity"] = float(diversity.compute())
    return {"loss": _objective(descriptor, style, outputs, settings, contents), **report}


def _objective(
    descriptor: VGGDescriptor,
    style: Tensor,
    outputs: Sequence[Tensor],
    settings: LossSettings,
    contents: Sequence[Tensor] | None,
) -> float:
    """The training objective (fp32), averaged over every output, each against its content."""
    loss = settings.build_loss().to(descriptor.mean.device)
    batches: list[tuple[Tensor, Tensor | None]]
    if contents is None:  # textures: one image at a time
        batches = [(image[None], None) for images in outputs for image in images]
    else:
        batches = list(zip(outputs, contents, strict=True))
    values: list[float] = []
    with torch.no_grad():
        loss.set_style([descriptor(style, list(loss.style_layers))])
        for images, content in batches:
            images = images.to(style.device)
            targets = None
            if content is not None:
                targets = descriptor(content.to(style.device), list(loss.content_layers))
            total = loss(descriptor(images, loss.layers), targets, images).total
            values.extend([float(total)] * images.shape[0])
    return statistics.fmean(values)

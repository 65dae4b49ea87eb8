"""One call that scores texture samples against their example (used by the benchmarks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import Tensor
from torchmetrics import Metric

from texture_nets.evaluation.metrics.base import _check_images, _descriptor_device
from texture_nets.evaluation.metrics.distances import StyleDistance
from texture_nets.evaluation.metrics.diversity import Diversity
from texture_nets.evaluation.metrics.swd import SlicedWassersteinDistance
from texture_nets.objective.descriptor import VGGDescriptor


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

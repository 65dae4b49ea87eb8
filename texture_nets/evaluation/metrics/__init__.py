"""Evaluation metrics (torchmetrics): how close generated images are to the example, and how varied.

The package keeps the one import path ``texture_nets.evaluation.metrics`` for every metric;
``base`` holds the shared helpers and the descriptor-holding ``Metric`` (its docstring says why
the descriptor is not a submodule).
"""

from texture_nets.evaluation.metrics.base import (
    ContentDistance,
    ContentSSIM,
    Diversity,
    SlicedWassersteinDistance,
    StyleDistance,
    random_projections,
    resample_sorted,
    shift_invariant_distance,
    sliced_wasserstein,
    texture_report,
)

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

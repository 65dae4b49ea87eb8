"""Evaluation metrics (torchmetrics): how close generated images are to the example, and how varied.

* ``StyleDistance``: the training objective's style term (relative Gram distance).
* ``ContentDistance``: the training objective's content term (relative feature distance).
* ``ContentSSIM``: SSIM between output and content photo (torchmetrics, ``data_range=1``).
* ``SlicedWassersteinDistance``: distance between the distributions of feature vectors; *not*
  the training objective, so it cannot be gamed by optimising the Grams alone.
* ``Diversity``: mean pairwise distance between samples from different noise.
* ``texture_report``: style distance, SWD and diversity of texture samples in one dict.

By concern: ``base`` (input checks and ``_DescriptorMetric``; its docstring says why the
descriptor is held by reference, not as a submodule), ``distances`` (style, content, SSIM),
``swd``, ``diversity`` and ``summary`` (``texture_report``). Import from this package: the
submodules are a layout, not an interface.
"""

from texture_nets.evaluation.metrics.distances import ContentDistance, ContentSSIM, StyleDistance
from texture_nets.evaluation.metrics.diversity import Diversity, shift_invariant_distance
from texture_nets.evaluation.metrics.summary import texture_report
from texture_nets.evaluation.metrics.swd import SlicedWassersteinDistance, sliced_wasserstein
from texture_nets.objective.swd import random_projections, resample_sorted

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

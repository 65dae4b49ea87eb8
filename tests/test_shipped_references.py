"""Every shipped model still paints its stored reference picture (within 2/255).

The references (``tests/data/reference/NAME.png``, 64 px) are written by
``python -m tests.make_references``, whose docstring says how; a refactor that changes what a
shipped model outputs fails here, and a deliberate change regenerates them.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from make_references import REFERENCE_DIR, SIDE, reference_output
from PIL import Image

import texture_nets as tn
from texture_nets.api import PretrainedModel

MODELS = sorted(tn.list_models())
TOLERANCE = 2  # of 255: room for other CPUs' float rounding, not for a changed output


def rendered(model: PretrainedModel) -> np.ndarray:
    return np.asarray(reference_output(model).convert("RGB"), np.int16)


def stored(name: str) -> np.ndarray:
    with Image.open(REFERENCE_DIR / f"{name}.png") as image:
        return np.asarray(image.convert("RGB"), np.int16)


def test_there_is_one_reference_per_shipped_model() -> None:
    assert len(MODELS) >= 2
    assert sorted(p.stem for p in REFERENCE_DIR.glob("*.png")) == MODELS


@pytest.mark.parametrize("name", MODELS)
def test_shipped_model_matches_its_reference(name: str) -> None:
    expected = stored(name)
    assert expected.shape == (SIDE, SIDE, 3)
    assert expected.std() > 10  # a picture, not a flat field that anything close would match
    actual = rendered(tn.load(name, device="cpu", precision="fp32"))  # the references: fp32
    assert actual.shape == expected.shape
    assert np.abs(actual - expected).max() <= TOLERANCE


@pytest.mark.parametrize("mode", ["texture", "stylize"])
def test_a_slightly_changed_model_fails_the_comparison(mode: str) -> None:
    """1% noise on the weights moves pixels well past the tolerance: the comparison above
    can fail. (A scaled weight would not do: instance norm cancels it.)"""
    name = next(n for n in MODELS if tn.load(n).info.mode == mode)
    model = tn.load(name, device="cpu", precision="fp32")
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in model.network.parameters():
            if weight.numel() > 1:
                noise = torch.randn(weight.shape, generator=generator)
                weight.add_(0.01 * weight.std() * noise)
    assert np.abs(rendered(model) - stored(name)).max() > 4 * TOLERANCE


def test_references_tell_the_models_apart() -> None:
    """Each reference is far from every other (a model swapped for another would fail)."""
    pictures = {name: stored(name) for name in MODELS}
    for a in MODELS:
        for b in MODELS:
            if a < b:
                assert np.abs(pictures[a] - pictures[b]).mean() > 10, (a, b)

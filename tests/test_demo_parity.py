"""The demo paints what the API paints: its event functions, called directly (no server),
give the same pixels as ``tn.load(name)`` with the same options, for every shipped model.

``test_demo.py`` checks the HTTP side (sizes, bad uploads, queueing); these tests check that
the style and the options the user picked are the ones applied.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import texture_nets as tn
from texture_nets.image import open_image

pytest.importorskip("gradio", reason="the [demo] extra (CI installs it)")
from texture_nets.app import demo

MODELS = demo.find_models(None)  # the shipped models only (no runs folder)
STYLIZERS = sorted(MODELS["stylize"])
TEXTURES = sorted(MODELS["texture"])
SIDE = 96  # small: each call is one forward pass at 96 px
TOLERANCE = 2  # of 255


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image.convert("RGB"), np.int16)


def max_difference(a: Image.Image, b: Image.Image) -> int:
    assert a.size == b.size
    return int(np.abs(pixels(a) - pixels(b)).max())


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """scikit-image's astronaut at 96 x 72 px, as an uploaded file (not square: the
    demo and the API must agree on which side is the longer one)."""
    path = tmp_path_factory.mktemp("upload") / "astronaut.png"
    open_image("builtin:astronaut").resize((SIDE, SIDE * 3 // 4), Image.Resampling.LANCZOS).save(
        path
    )
    return path


@pytest.fixture(scope="module")
def api_default(photo: Path) -> dict[str, Image.Image]:
    """Each shipped stylizer's API output with the default options."""
    return {name: load_stylizer(name).stylize(photo, size=SIDE) for name in STYLIZERS}


def load_stylizer(name: str) -> tn.Stylizer:
    model = tn.load(name, device="cpu")
    assert isinstance(model, tn.Stylizer)
    return model


def test_every_shipped_model_is_offered() -> None:
    assert set(STYLIZERS) | set(TEXTURES) == set(tn.list_models())
    assert len(STYLIZERS) >= 2 and TEXTURES  # else the wrong-style checks below prove nothing


def test_warm_up_loads_the_default_style_first_and_runs_each_model_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``warm_up`` (run by ``texture-nets demo`` in the background) puts the models into the
    demo's cache, the default style first, up to ``limit``, runs each once, and says when it
    is done; a model that cannot be loaded is logged, not fatal."""
    passes: list[str] = []
    monkeypatch.setattr(tn.Stylizer, "stylize", lambda self, *a, **k: passes.append(self.name))
    monkeypatch.setattr(tn.TextureModel, "sample", lambda self, *a, **k: passes.append(self.name))
    demo._loaded.cache_clear()
    demo.warm_up(MODELS, limit=2)
    default = MODELS["stylize"][demo.DEFAULT_STYLE]
    others = [source for source in MODELS["stylize"].values() if source != default]
    assert demo._loaded.cache_info().currsize == 2 and len(passes) == 2
    assert demo._model(default) is demo._model(default)  # from the cache, not loaded again
    assert demo._loaded.cache_info().hits >= 2 and passes[0] == demo.DEFAULT_STYLE
    broken = {"stylize": {"broken": "/no/such/model"}, "texture": dict(MODELS["texture"])}
    with caplog.at_level("INFO", logger="texture_nets"):
        demo.warm_up(broken)
    assert "warm-up: /no/such/model" in caplog.text and demo.WARM in caplog.text
    assert sorted(passes[2:]) == sorted(Path(s).name for s in MODELS["texture"].values())
    assert others  # else the limit proved nothing


@pytest.mark.parametrize("style", STYLIZERS)
def test_demo_stylize_equals_the_api(
    style: str, photo: Path, api_default: dict[str, Image.Image]
) -> None:
    """The demo's output for ``style`` matches the API's for that style within 2/255, and is
    far from every other style's (so a demo that painted another style would fail)."""
    stylize = demo.make_stylize(MODELS["stylize"])
    result = stylize({"path": str(photo)}, style, SIDE, False, 1.0, 0)
    assert result.size == (SIDE, SIDE * 3 // 4)
    assert max_difference(result, api_default[style]) <= TOLERANCE
    for other in STYLIZERS:
        if other != style:
            assert np.abs(pixels(result) - pixels(api_default[other])).mean() > 5, other


@pytest.mark.parametrize(
    ("original_colors", "content_scale", "seed"),
    [(True, 1.0, 0), (False, 0.5, 0), (False, 1.0, 7)],
    ids=["original-colors", "content-scale", "seed"],
)
def test_demo_stylize_options_equal_the_api(
    original_colors: bool,
    content_scale: float,
    seed: int,
    photo: Path,
    api_default: dict[str, Image.Image],
) -> None:
    """Each option reaches the network: the demo matches the API given the same option, and
    the option changes the picture (a demo that dropped it would match the default)."""
    style = STYLIZERS[0]
    stylize = demo.make_stylize(MODELS["stylize"])
    result = stylize({"path": str(photo)}, style, SIDE, original_colors, content_scale, seed)
    expected = load_stylizer(style).stylize(
        photo, size=SIDE, seed=seed, original_colors=original_colors, content_scale=content_scale
    )
    assert max_difference(result, expected) <= TOLERANCE
    assert max_difference(result, api_default[style]) > 4 * TOLERANCE


@pytest.mark.parametrize("name", TEXTURES)
def test_demo_texture_equals_the_api(name: str) -> None:
    """The texture tab's sample is the API's sample for the same model, size and seed; its
    preview is that sample tiled 2 x 2."""
    sample, tiled = demo.make_texture(MODELS["texture"])(name, 64, 3)
    model = tn.load(name, device="cpu")
    assert isinstance(model, tn.TextureModel)
    expected = model.sample(size=64, seed=3)
    assert max_difference(sample, expected) <= TOLERANCE
    other_seed = model.sample(size=64, seed=4)
    assert max_difference(sample, other_seed) > 4 * TOLERANCE
    assert tiled.size == (128, 128)
    assert np.array_equal(pixels(tiled)[64:, 64:], pixels(sample))

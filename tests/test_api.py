"""The Python API (``texture_nets.load``, ``TextureModel.sample``, ``Stylizer.stylize``,
``list_models``, ``save_pretrained``) on tiny trained runs and on the shipped models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import texture_nets as tn
from texture_nets.errors import UserError
from texture_nets.image import ImageError
from texture_nets.inference.pretrained import CONFIG, MODELS_DIR, WEIGHTS, ModelFolderError
from texture_nets.nets.networks import render_steps


def photo(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def test_load_accepts_a_run_a_checkpoint_and_a_saved_folder(
    tiny_texture_run: Path, tmp_path: Path
) -> None:
    from_run = tn.load(tiny_texture_run, device="cpu")
    from_ckpt = tn.load(tiny_texture_run / "checkpoints" / "last.ckpt", device="cpu")
    assert isinstance(from_run, tn.TextureModel) and isinstance(from_ckpt, tn.TextureModel)
    assert from_run.name == "texture_example"
    folder = from_run.save_pretrained(tmp_path / "saved")
    assert {"README.md", CONFIG, WEIGHTS} <= {p.name for p in folder.iterdir()}
    from_folder = tn.load(folder, device="cpu")
    expected = np.asarray(from_run.sample(size=40, seed=5))
    for model in (from_ckpt, from_folder):
        assert np.array_equal(np.asarray(model.sample(size=40, seed=5)), expected)


def test_save_load_round_trip_is_bit_exact(tiny_stylize_run: Path, tmp_path: Path) -> None:
    model = tn.load(tiny_stylize_run, device="cpu")
    again = tn.load(model.save_pretrained(tmp_path / "fp32"), device="cpu")
    for (name, a), (_, b) in zip(
        model.network.state_dict().items(), again.network.state_dict().items(), strict=True
    ):
        assert torch.equal(a, b), name
    assert np.array_equal(
        np.asarray(model.stylize(photo(50, 40))), np.asarray(again.stylize(photo(50, 40)))
    )
    # fp16 folders (the zoo's format) round-trip exactly too: fp16 -> fp32 -> fp16
    half = tn.load(model.save_pretrained(tmp_path / "fp16", dtype=torch.float16), device="cpu")
    half_again = tn.load(half.save_pretrained(tmp_path / "fp16b", dtype=torch.float16), "cpu")
    assert (tmp_path / "fp16" / WEIGHTS).read_bytes() == (tmp_path / "fp16b" / WEIGHTS).read_bytes()
    assert (tmp_path / "fp16" / WEIGHTS).stat().st_size < (
        tmp_path / "fp32" / WEIGHTS
    ).stat().st_size
    assert half_again.info == half.info


def test_sample_sizes_seeds_and_counts(tiny_texture_run: Path) -> None:
    model = tn.load(tiny_texture_run, device="cpu", precision="fp32")  # bands: fp32 as well
    images = model.sample(width=40, height=24, seed=3, count=3)
    assert [image.size for image in images] == [(40, 24)] * 3
    second = model.sample(width=40, height=24, seed=4)  # sample i uses seed + i
    assert np.array_equal(np.asarray(images[1]), np.asarray(second))
    assert not np.array_equal(np.asarray(images[0]), np.asarray(images[1]))
    tiled = model.sample(size=64, seed=1, tile=16)
    whole = model.sample(size=64, seed=1, tile="off")
    difference = np.abs(np.asarray(tiled, np.int16) - np.asarray(whole, np.int16))
    assert difference.max() <= 1  # tiling is exact up to float rounding (and 8-bit rounding)


def test_stylize_sizes_options_and_inputs(tiny_stylize_run: Path, tmp_path: Path) -> None:
    model = tn.load(tiny_stylize_run, device="cpu")
    assert isinstance(model, tn.Stylizer)
    image = photo(60, 44)
    assert model.stylize(image).size == (60, 44)
    assert model.stylize(image, size=30).size == (30, 22)
    path = tmp_path / "photo.png"
    image.save(path)
    assert np.array_equal(np.asarray(model.stylize(path)), np.asarray(model.stylize(image)))
    kept = model.stylize(image, original_colors=True)
    assert not np.array_equal(np.asarray(kept), np.asarray(model.stylize(image)))
    assert model.stylize(image, content_scale=0.5).size == (60, 44)
    grey = image.convert("L")
    assert model.stylize(grey).mode == "RGB"


def test_stylize_paints_at_the_models_training_scale(tiny_stylize_run: Path) -> None:
    model = tn.load(tiny_stylize_run, device="cpu")
    assert isinstance(model, tn.Stylizer)
    image = photo(120, 88)
    by_hand = model.stylize(image, content_scale=64 / 120)
    model.info.training["photo_size"] = 64  # painted at 64x47, whatever the output size
    assert np.array_equal(np.asarray(model.stylize(image)), np.asarray(by_hand))
    assert model.stylize(image, size=60).size == (60, 44)


def test_stylize_johnson(tiny_johnson_run: Path) -> None:
    model = tn.load(tiny_johnson_run, device="cpu")
    assert model.info.architecture == "johnson"
    assert model.stylize(photo(45, 33)).size == (45, 33)


def test_user_mistakes_are_clear_errors(tiny_stylize_run: Path, tmp_path: Path) -> None:
    with pytest.raises(tn.ModelNotFoundError, match="no such checkpoint file or run directory"):
        tn.load("no_such_model_or_path")
    with pytest.raises(ModelFolderError, match="unreadable saved model"):
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / CONFIG).write_text(json.dumps({"format": "other"}))
        (empty / WEIGHTS).write_bytes(b"")
        tn.load(empty)
    model = tn.load(tiny_stylize_run, device="cpu")
    with pytest.raises(UserError, match="too small"):
        model.stylize(photo(60, 44), size=4)
    with pytest.raises(ImageError):
        model.stylize(tmp_path / "missing.jpg")
    not_image = tmp_path / "notes.jpg"
    not_image.write_text("hello")
    with pytest.raises(ImageError):
        model.stylize(not_image)


def test_list_models_names_every_shipped_model() -> None:
    models = tn.list_models()
    assert {"vangogh_starry_night", "hokusai_great_wave"} <= set(models)
    assert len(models) >= 8
    assert all(description.strip() for description in models.values())


@pytest.mark.parametrize("name", sorted(tn.list_models()))
def test_shipped_models_load_and_produce_the_asked_size(name: str) -> None:
    model = tn.load(name, device="cpu")
    assert model.name == name
    if isinstance(model, tn.Stylizer):
        assert model.stylize(photo(70, 50), size=96).size == (96, 69)
    else:
        assert [image.size for image in model.sample(width=72, height=40, count=2)] == [
            (72, 40)
        ] * 2


def test_list_models_gives_each_shipped_models_terms() -> None:
    for name, line in tn.list_models().items():
        assert "[terms: " in line, name
        card = (MODELS_DIR / name / "README.md").read_text()
        assert card.startswith("---\nlicense: other\n"), name  # the hub metadata header
        assert tn.load(name).info.terms in card.split("---")[1], name


def test_from_pretrained_is_typed_by_kind_and_refuses_the_other_kind() -> None:
    stylizer = tn.Stylizer.from_pretrained("vangogh_starry_night", device="cpu")
    assert type(stylizer) is tn.Stylizer
    texture = tn.TextureModel.from_pretrained("tn_pebbles", device="cpu")
    assert type(texture) is tn.TextureModel
    with pytest.raises(UserError, match="is a TextureModel, not a Stylizer"):
        tn.Stylizer.from_pretrained("tn_pebbles")
    with pytest.raises(UserError, match="is a Stylizer, not a TextureModel"):
        tn.TextureModel.from_pretrained("vangogh_starry_night")


def test_sample_returns_one_image_unless_a_count_is_asked(tiny_texture_run: Path) -> None:
    model = tn.TextureModel.from_pretrained(tiny_texture_run, device="cpu")
    one = model.sample(size=32, seed=2)
    assert isinstance(one, Image.Image) and one.size == (32, 32)
    listed = model.sample(size=32, seed=2, count=1)
    assert isinstance(listed, list) and np.array_equal(np.asarray(listed[0]), np.asarray(one))


def test_sample_sizes_cannot_be_transposed(tiny_texture_run: Path) -> None:
    model = tn.TextureModel.from_pretrained(tiny_texture_run, device="cpu")
    assert model.sample(width=48, height=32).size == (48, 32)  # PIL's (width, height)
    with pytest.raises(UserError, match="width=W, height=H"):
        model.sample(size=(32, 48))  # type: ignore[call-overload]
    with pytest.raises(UserError, match="not both"):
        model.sample(size=32, width=48)
    with pytest.raises(UserError, match="both width and height"):
        model.sample(width=48)


def test_stylize_takes_arrays_and_tensors_like_the_pil_image(tiny_stylize_run: Path) -> None:
    model = tn.Stylizer.from_pretrained(tiny_stylize_run, device="cpu")
    image = photo(40, 30)
    expected = np.asarray(model.stylize(image))
    array = np.asarray(image)
    as_float = array.astype(np.float32) / 255
    tensor = torch.from_numpy(as_float).permute(2, 0, 1)
    for given in (array, as_float, tensor, tensor[None]):
        assert np.array_equal(np.asarray(model.stylize(given)), expected)
    with pytest.raises(UserError, match=r"\(3, H, W\)"):
        model.stylize(torch.zeros(2, 3, 30, 40))
    with pytest.raises(UserError, match="uint8 or float"):
        model.stylize(array.astype(np.int64))
    with pytest.raises(UserError, match="got list"):
        model.stylize([1, 2, 3])  # type: ignore[arg-type]


def test_a_local_folder_named_like_a_shipped_model_is_announced(
    tiny_stylize_run: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    tn.load(tiny_stylize_run, device="cpu").save_pretrained(tmp_path / "vangogh_starry_night")
    with caplog.at_level("WARNING", logger="texture_nets"):
        model = tn.load("vangogh_starry_night", device="cpu")
    assert model.info.global_step != tn.load(MODELS_DIR / "vangogh_starry_night").info.global_step
    assert "not the shipped model of that name" in caplog.text


@pytest.mark.parametrize("run", ["tiny_stylize_run", "tiny_johnson_run"])
def test_stylize_reports_its_progress_band_by_band(
    run: str, request: pytest.FixtureRequest
) -> None:
    """``progress`` hears the fraction done after every band: rising, one call per band of
    the pass, ending at 1; the image is the one stylize makes without it."""
    stylizer = tn.load(request.getfixturevalue(run))
    assert isinstance(stylizer, tn.Stylizer)
    heard: list[float] = []
    image = stylizer.stylize(photo(70, 50), tile=8, progress=heard.append)
    bands = render_steps(stylizer.network, 1, 50, 70, 8)
    assert bands > 3 and len(heard) == bands
    assert heard == sorted(heard) and heard[-1] == 1.0
    assert np.array_equal(np.asarray(image), np.asarray(stylizer.stylize(photo(70, 50), tile=8)))

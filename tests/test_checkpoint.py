"""Tests for texture_nets.nets.checkpoint: reading generators back without Lightning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from texture_nets.errors import UserError
from texture_nets.nets.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    find_checkpoint,
    read_checkpoint,
)
from texture_nets.nets.ulyanov import Generator, GeneratorConfig, make_noise, seeded_rng

CONFIG = GeneratorConfig(num_scales=3, channels=4, noise_depth=2)


def trained_like_generator(config: GeneratorConfig = CONFIG, seed: int = 0) -> Generator:
    """A generator whose weights differ from a fresh init (so a failed load would show)."""
    torch.manual_seed(seed)
    generator = Generator(config)
    with torch.no_grad():
        for param in generator.parameters():
            param.add_(torch.randn_like(param) * 0.1)
    return generator


def checkpoint_dict(
    generator: Generator, mode: str = "texture", config: GeneratorConfig | None = None
) -> dict[str, Any]:
    state = {"generator." + k: v for k, v in generator.state_dict().items()}
    state["loss.target_gram_relu1_1"] = torch.eye(3)  # other modules' entries are ignored
    return {
        "hyper_parameters": {
            "generator": (config or generator.config).to_dict(),
            "config": {"mode": mode, "style_image": "builtin:brick"},
            "descriptor_source": "random:vgg16:seed=0",
            "style_sha256": "abc123",
        },
        "state_dict": state,
        "global_step": 3,
    }


def save(path: Path, obj: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)
    return path


def test_round_trip_same_outputs(tmp_path: Path) -> None:
    generator = trained_like_generator().eval()
    path = save(tmp_path / "model.ckpt", checkpoint_dict(generator))
    info = read_checkpoint(path)
    assert info.path == path
    assert info.global_step == 3
    assert info.mode == "texture"
    assert info.generator_config == CONFIG
    assert info.descriptor_source == "random:vgg16:seed=0"
    assert info.style_sha256 == "abc123"
    assert set(info.generator_state) == set(generator.state_dict())
    rebuilt = info.build_generator()
    assert not rebuilt.training
    noise = make_noise(2, 16, 16, CONFIG, seeded_rng(0))
    with torch.no_grad():
        expected = generator(noise)
        torch.testing.assert_close(rebuilt(noise), expected, rtol=0, atol=0)
        fresh = Generator(CONFIG).eval()(noise)
    assert float((fresh - expected).abs().max()) > 1e-4  # the weights mattered


def test_run_directory_finds_last_ckpt(tmp_path: Path) -> None:
    generator = trained_like_generator()
    path = save(tmp_path / "run" / "checkpoints" / "last.ckpt", checkpoint_dict(generator))
    assert find_checkpoint(tmp_path / "run") == path
    assert read_checkpoint(tmp_path / "run").path == path


def test_checkpoint_error_is_user_error() -> None:
    assert issubclass(CheckpointError, UserError)


def test_random_bytes(tmp_path: Path) -> None:
    path = tmp_path / "noise.ckpt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(CheckpointError, match=r"noise\.ckpt.*not a texture-nets checkpoint"):
        read_checkpoint(path)


@pytest.mark.parametrize(
    "content",
    [
        {"state_dict": {}},
        {"hyper_parameters": {"config": {}}, "state_dict": {}},
        {"hyper_parameters": {"generator": CONFIG.to_dict()}},
        [1, 2, 3],
        torch.zeros(3),
    ],
    ids=["no-hparams", "no-generator", "no-state-dict", "list", "tensor"],
)
def test_torch_file_without_generator_settings(tmp_path: Path, content: Any) -> None:
    path = save(tmp_path / "other.pt", content)
    with pytest.raises(CheckpointError, match=r"other\.pt.*no generator settings"):
        read_checkpoint(path)


def test_unreadable_generator_settings(tmp_path: Path) -> None:
    raw = checkpoint_dict(trained_like_generator())
    raw["hyper_parameters"]["generator"] = {**CONFIG.to_dict(), "norm": "layer"}
    path = save(tmp_path / "bad.ckpt", raw)
    with pytest.raises(CheckpointError, match=r"bad\.ckpt.*layer"):
        read_checkpoint(path)
    raw["hyper_parameters"]["generator"] = {**CONFIG.to_dict(), "depth": 9}
    save(path, raw)
    with pytest.raises(CheckpointError, match="depth"):
        read_checkpoint(path)


def test_directory_without_checkpoints(tmp_path: Path) -> None:
    (tmp_path / "run" / "checkpoints").mkdir(parents=True)
    with pytest.raises(CheckpointError, match=r"run.*without checkpoints"):
        read_checkpoint(tmp_path / "run")


def test_missing_path(tmp_path: Path) -> None:
    path = tmp_path / "gone.ckpt"
    with pytest.raises(CheckpointError, match=r"gone\.ckpt.*no such"):
        read_checkpoint(path)


def test_wrong_mode(tmp_path: Path) -> None:
    path = save(tmp_path / "texture.ckpt", checkpoint_dict(trained_like_generator()))
    assert read_checkpoint(path, expect_mode="texture").mode == "texture"
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path, expect_mode="stylize")
    message = str(info.value)
    assert "texture-mode" in message
    assert "stylize" in message


def test_mode_defaults_to_texture(tmp_path: Path) -> None:
    raw = checkpoint_dict(trained_like_generator())
    del raw["hyper_parameters"]["config"]
    del raw["global_step"]
    info = read_checkpoint(save(tmp_path / "old.ckpt", raw), expect_mode="texture")
    assert info.mode == "texture"
    assert info.global_step == 0


def test_weights_not_matching_config(tmp_path: Path) -> None:
    generator = trained_like_generator(GeneratorConfig(num_scales=3, channels=3, noise_depth=2))
    raw = checkpoint_dict(generator, config=CONFIG)  # claims channels=4
    info = read_checkpoint(save(tmp_path / "mismatch.ckpt", raw))
    with pytest.raises(CheckpointError, match=r"mismatch\.ckpt.*do not match"):
        info.build_generator()


def test_missing_generator_weights(tmp_path: Path) -> None:
    raw = checkpoint_dict(trained_like_generator())
    raw["state_dict"] = {k: v for k, v in raw["state_dict"].items() if "to_rgb" not in k}
    info = read_checkpoint(save(tmp_path / "partial.ckpt", raw))
    with pytest.raises(CheckpointError, match="to_rgb"):
        info.build_generator()


@pytest.mark.parametrize("saved", [None, CHECKPOINT_FORMAT])
def test_known_formats_are_read(tmp_path: Path, saved: int | None) -> None:
    data = checkpoint_dict(trained_like_generator())
    if saved is not None:
        data["hyper_parameters"]["format"] = saved
    assert read_checkpoint(save(tmp_path / "model.ckpt", data)).global_step == 3


@pytest.mark.parametrize("saved", [CHECKPOINT_FORMAT + 1, "1"])
def test_a_newer_or_unknown_format_is_refused(tmp_path: Path, saved: Any) -> None:
    data = checkpoint_dict(trained_like_generator())
    data["hyper_parameters"]["format"] = saved
    with pytest.raises(CheckpointError, match="format"):
        read_checkpoint(save(tmp_path / "model.ckpt", data))

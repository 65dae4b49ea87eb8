"""Tests for texture_nets.objective.objective: the one place the shared objective is built."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import patched_vgg, quiet_random_warning

from texture_nets.cli.gatys import _loss_settings, build_parser
from texture_nets.errors import UserError
from texture_nets.objective.losses import TextureLoss
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    FALLBACK_DESCRIPTOR_ARCH,
    build_objective_descriptor,
    load_descriptor,
    loss_settings,
)
from texture_nets.training.config import TrainConfig
from texture_nets.training.config_files import make_config
from texture_nets.training.module import TextureNetsModule


def loss_fields(loss: TextureLoss) -> dict[str, Any]:
    return {
        "style": loss.style_layers,
        "content": loss.content_layers,
        "weights": (loss.style_weight, loss.content_weight, loss.tv_weight),
    }


def test_missing_keys_take_the_code_defaults() -> None:
    texture = loss_settings({}, stylize=False)
    assert texture.style_layers == dict.fromkeys(DEFAULT_STYLE_LAYERS, 1.0)
    assert texture.content_layers == {}
    assert (texture.style_weight, texture.content_weight, texture.tv_weight) == (1.0, 1.0, 0.0)
    assert texture.arch == FALLBACK_DESCRIPTOR_ARCH and texture.descriptor_arch is None
    stylize = loss_settings({}, stylize=True)
    assert stylize.content_layers == dict.fromkeys(DEFAULT_CONTENT_LAYERS, 1.0)
    assert stylize.layers == [*DEFAULT_STYLE_LAYERS, *DEFAULT_CONTENT_LAYERS]


def test_config_values_are_used() -> None:
    config = {
        "style_layers": ["relu1_1", "relu2_1"],
        "style_layer_weights": [1, 3],
        "content_layers": ["relu3_1"],
        "style_weight": 2,
        "tv_weight": 0.5,
        "descriptor_arch": "vgg19",
    }
    settings = loss_settings(config, stylize=True)
    assert settings.style_layers == {"relu1_1": 1.0, "relu2_1": 3.0}
    assert settings.content_layers == {"relu3_1": 1.0}
    assert settings.arch == "vgg19"
    loss = settings.build_loss()
    assert (loss.style_weight, loss.tv_weight) == (2.0, 0.5)
    with pytest.raises(UserError, match="style_layer_weights"):
        loss_settings({**config, "style_layer_weights": [1.0]}, stylize=False)


@pytest.mark.parametrize("mode", ["texture", "stylize"])
def test_training_and_gatys_build_the_same_objective(mode: str) -> None:
    """The network is trained on, and Gatys optimises, one objective for the same settings."""
    flags = ["--style-layers", "relu1_1,relu2_1", "--style-weight", "3", "--tv-weight", "0.1"]
    config = make_config(
        {
            "mode": mode,
            "style_image": "builtin:brick",
            "style_layers": ["relu1_1", "relu2_1"],
            "style_weight": 3.0,
            "tv_weight": 0.1,
            "descriptor": "random",
            "image_size": 32,
            "num_scales": 3,
            "style_size": 32,
            "content_layers": ["relu2_1"],
        }
    )
    args = build_parser().parse_args([*flags, "--content-layers", "relu2_1"])
    gatys = _loss_settings(args, "style" if mode == "stylize" else "texture")
    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(config.to_dict())
    assert loss_fields(module.loss) == loss_fields(gatys.build_loss())
    assert loss_fields(module.loss) == loss_fields(
        loss_settings(config.to_dict(), stylize=mode == "stylize").build_loss()
    )


def test_descriptor_stops_at_the_deepest_layer() -> None:
    settings = loss_settings({"style_layers": ["relu1_1", "relu2_1"]}, stylize=False)
    with patched_vgg(), quiet_random_warning():
        descriptor, source = build_objective_descriptor("random", settings)
    assert source.startswith("random")
    assert descriptor.available_layers[-1] == "relu2_1"


def test_load_descriptor_turns_bad_layers_into_user_errors() -> None:
    settings = loss_settings({"style_layers": ["relu9_9"]}, stylize=False)
    with pytest.raises(UserError, match="relu9_9"):
        load_descriptor("random", settings)


def test_train_config_defaults_are_the_objective_defaults() -> None:
    assert loss_settings(TrainConfig().to_dict(), stylize=True) == loss_settings({}, True)


def test_vgg19_layers_need_the_arch_named() -> None:
    settings = loss_settings({"style_layers": ["relu5_4"]}, stylize=False)
    with pytest.raises(UserError, match="without --descriptor-arch"):
        settings.check_layers()
    loss_settings({"style_layers": ["relu5_4"], "descriptor_arch": "vgg19"}, False).check_layers()

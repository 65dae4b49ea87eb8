"""Tests for texture_nets.training.config and config_files: YAML files, validation, flags."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from texture_nets.cli import train as train_cli
from texture_nets.cli.config_flags import add_config_flags, flag_type
from texture_nets.errors import UserError
from texture_nets.nets.johnson import JohnsonConfig
from texture_nets.nets.ulyanov import GeneratorConfig
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    loss_settings,
)
from texture_nets.training.config import ConfigError, TrainConfig
from texture_nets.training.config_files import (
    CONFIG_DIR,
    FIELD_NAMES,
    code_defaults,
    default_config_file,
    load_yaml,
    make_config,
    mode_config,
)

CONFIG_FILES = sorted(CONFIG_DIR.glob("*.yaml"))


def test_config_dir_has_files() -> None:
    assert CONFIG_FILES, f"no configs/*.yaml in {CONFIG_DIR}"
    assert default_config_file("texture") in CONFIG_FILES


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path: Path) -> None:
    data = load_yaml(path)
    config = make_config(data)
    assert isinstance(config, TrainConfig)
    for key, value in data.items():
        assert getattr(config, key) == value, key
    assert isinstance(config.network_config, (GeneratorConfig, JohnsonConfig))
    assert path.stem == config.mode  # texture_nets/configs/<mode>.yaml


def test_code_defaults_agree_with_the_network_and_objective_defaults() -> None:
    """One home per default: the config's network and loss keys default to the values the
    network classes and the objective use when a key is missing (old checkpoints)."""
    config = TrainConfig()
    assert config.to_dict() == code_defaults()
    network = config.network_config
    assert isinstance(network, GeneratorConfig)
    assert network == GeneratorConfig()  # texture mode: the generator's own defaults
    assert JohnsonConfig(residual_blocks=config.residual_blocks) == config.johnson_config
    assert loss_settings(config.to_dict(), stylize=True) == loss_settings({}, stylize=True)
    assert tuple(config.style_layers) == DEFAULT_STYLE_LAYERS
    assert tuple(config.content_layers) == DEFAULT_CONTENT_LAYERS


def test_mode_config_reads_the_mode_yaml() -> None:
    stylize = mode_config("stylize", style_image="builtin:brick")
    assert stylize.mode == "stylize" and stylize.style_image == "builtin:brick"
    for key, value in load_yaml(default_config_file("stylize")).items():
        assert getattr(stylize, key) == value, key
    assert mode_config("texture", lr=0.5).lr == 0.5


@pytest.mark.parametrize("choose_mode", ["--style", "the file"])
def test_a_config_file_layers_on_its_modes_file(tmp_path: Path, choose_mode: str) -> None:
    from texture_nets.cli.train import resolve_config

    partial = {"lr": 0.005}
    if choose_mode == "the file":
        partial |= {"mode": "stylize", "style_image": "wave.jpg"}
    argv = ["--config", str(write_yaml(tmp_path, partial))]
    if choose_mode == "--style":
        argv += ["--style", "wave.jpg"]
    config = resolve_config(argv)[0]
    stylize = load_yaml(default_config_file("stylize"))
    assert config.mode == "stylize" and config.lr == 0.005  # the file wins over the mode's
    for key, value in stylize.items():
        if key != "lr":
            assert getattr(config, key) == value, key  # ... and keeps the rest of it
    assert config.padding != code_defaults()["padding"]  # not a texture run's wrap-around


def write_yaml(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_unknown_yaml_key_lists_valid_keys(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, {"image_sise": 64, "lr": 0.1})
    with pytest.raises(ConfigError, match="image_sise") as info:
        load_yaml(path)
    message = str(info.value)
    assert str(path) in message
    for key in FIELD_NAMES:
        assert key in message


def test_unknown_key_in_make_config() -> None:
    with pytest.raises(ConfigError, match="bogus"):
        make_config({"bogus": 1})


def test_yaml_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("mode: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_yaml(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_yaml(listing)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    assert load_yaml(empty) == {}


def test_later_layers_win() -> None:
    config = make_config({"image_size": 64, "lr": 0.5}, {"image_size": 96})
    assert config.image_size == 96
    assert config.lr == 0.5


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"image_size": -64}, "image_size"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_steps": 0}, "max_steps"),
        ({"max_time": 0.0}, "max_time"),
        ({"max_time": float("nan")}, "max_time"),
        ({"style_size": -1}, "style_size"),
        ({"channels": 0}, "channels"),
        ({"lr": 0.0}, "lr"),
        ({"tv_weight": -1.0}, "tv_weight"),
        ({"noise_depth": -1}, "noise_depth"),
        ({"pooling": "min"}, "pooling"),
        ({"mode": "paint"}, "mode"),
        ({"norm": "layer"}, "norm"),
        ({"padding": "replicate"}, "padding"),
        ({"logger": "stdout"}, "logger"),
        ({"precision": "fp16"}, "precision"),
        ({"num_scales": 6, "image_size": 32}, "too small"),
        ({"num_scales": 5, "image_size": 16}, "too small"),
        ({"style_layers": ["relu1_1", "relu9_1"]}, "relu9_1"),
        ({"style_layers": ["relu5_4"]}, "relu5_4"),  # vgg19 only
        ({"style_layers": []}, "at least one"),
        ({"style_layer_weights": [1.0, 2.0]}, "one weight per style layer"),
        ({"descriptor_arch": "vgg11"}, "vgg11"),
        ({"mode": "stylize", "content_layers": ["relu6_1"]}, "relu6_1"),
        ({"noise_depth": 0}, "noise_depth"),
        # relu5_1 lies behind 4 poolings: it needs 2**4 * 2 = 32 px a side
        ({"num_scales": 3, "image_size": 16}, "image_size 16 is too small for relu5_1"),
        ({"style_size": 31}, "style_size 31 is too small for relu5_1.*--style-size 32"),
        (
            {"mode": "stylize", "style_layers": ["relu1_1"], "num_scales": 3, "image_size": 8},
            "relu4_2",
        ),
        ({"descriptor": "bogus"}, "unknown descriptor source 'bogus'.*random"),
        ({"ema_decay": 1.0}, "ema_decay"),
        ({"texture_loss": "l2"}, "texture_loss"),
        ({"diversity_weight": -1.0}, "diversity_weight"),
        ({"diversity_weight": 0.1}, "--batch-size 2"),
        ({"diversity_weight": 0.1, "batch_size": 2, "diversity_layer": "relu4_2"}, "style layers"),
        ({"accumulate_grad_batches": 0}, "accumulate_grad_batches must be positive"),
        ({"random_size_min": 300}, "between 33 and image_size 256, got 300"),
        ({"random_size_min": 16}, "between 33 and image_size 256, got 16"),
        ({"random_size_min": 128, "mode": "stylize"}, "random_size_min is for texture mode"),
        (
            {"random_size_min": 24, "num_scales": 3, "image_size": 64},
            "random_size_min 24 is too small for relu5_1",
        ),
        ({"accumulate_grad_batches": 2, "strategy": "deepspeed"}, "not deepspeed"),
        ({"mode": "stylize", "generator": "johnson", "downsamples": 5}, "downsamples must be in"),
        ({"mode": "stylize", "generator": "johnson", "johnson_channels": 0}, "johnson_channels"),
        ({"mode": "stylize", "batch_size": 4, "crops_per_photo": 3}, "must divide batch_size 4"),
        ({"batch_size": 2, "crops_per_photo": 2}, "crops_per_photo is for stylize mode"),
        # three stride-2 stages: the deepest maps keep 2x2 pixels from 16 px crops
        (
            {"mode": "stylize", "generator": "johnson", "downsamples": 3, "image_size": 15},
            "image_size must be at least 16 for johnson",
        ),
    ],
)
def test_invalid_values(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        make_config(overrides)
    assert isinstance(info.value, UserError)


def test_vgg19_layers_with_vgg19_arch() -> None:
    config = make_config({"style_layers": ["relu1_1", "relu5_4"], "descriptor_arch": "vgg19"})
    assert config.style_layers == ["relu1_1", "relu5_4"]


def test_content_layers_checked_only_in_stylize_mode() -> None:
    # Texture mode ignores content layers, so an out-of-range one is no error there.
    assert make_config({"content_layers": ["relu5_4"]}).mode == "texture"


def test_minimum_image_size_accepted() -> None:
    assert make_config({"num_scales": 5, "image_size": 32}).image_size == 32
    shallow = {"num_scales": 3, "style_layers": ["relu1_1", "relu2_1"]}
    assert make_config({**shallow, "image_size": 5, "style_size": 4}).style_size == 4


def test_wrong_type_is_config_error() -> None:
    with pytest.raises(ConfigError):
        make_config({"image_size": "big"})


def test_generator_view() -> None:
    config = make_config({"mode": "stylize", "channels": 4, "num_scales": 3, "image_size": 32})
    assert config.ulyanov_config == GeneratorConfig(
        num_scales=3, channels=4, noise_depth=3, content_channels=3
    )
    assert make_config({}).ulyanov_config.content_channels == 0


# --- command-line flags -----------------------------------------------------------------------


def make_parser(defaults: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="train.py")
    add_config_flags(parser, defaults if defaults is not None else code_defaults())
    return parser


def test_flags_parse() -> None:
    args = make_parser().parse_args(
        ["--image-size", "64", "--style-layers", "relu1_1,relu2_1", "--style-layer-weights", "1,2"]
    )
    # unspecified flags are absent, so they do not override YAML values
    assert vars(args) == {
        "image_size": 64,
        "style_layers": ["relu1_1", "relu2_1"],
        "style_layer_weights": [1.0, 2.0],
    }
    config = make_config(code_defaults(), vars(args))
    settings = loss_settings(config.to_dict(), stylize=False)
    assert settings.style_layers == {"relu1_1": 1.0, "relu2_1": 2.0}
    assert config.image_size == 64


def test_flags_types_and_choices() -> None:
    parser = make_parser()
    args = parser.parse_args(["--lr", "0.5", "--descriptor-arch", "none", "--pooling", "max"])
    assert args.lr == 0.5 and isinstance(args.lr, float)
    assert args.descriptor_arch is None
    assert args.pooling == "max"
    assert parser.parse_args(["--style-image", "builtin:brick"]).style_image == "builtin:brick"


@pytest.mark.parametrize(
    "argv", [["--pooling", "min"], ["--image-size", "big"], ["--style-layer-weights", "1,x"]]
)
def test_bad_flags_exit(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        make_parser().parse_args(argv)
    assert info.value.code == 2
    assert argv[0] in capsys.readouterr().err


def test_every_key_has_a_flag() -> None:
    help_text = make_parser().format_help()
    for name in FIELD_NAMES:
        assert "--" + name.replace("_", "-") in help_text, name


def test_help_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    defaults = {**code_defaults(), "image_size": 96, "max_steps": 777}
    with pytest.raises(SystemExit) as info:
        make_parser(defaults).parse_args(["--help"])
    assert info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # undo argparse's line wrapping
    assert "(stylize: of the crops) (default: 96)" in text
    assert "training steps (default: 777)" in text
    assert "(default: relu1_1,relu2_1,relu3_1,relu4_1,relu5_1)" in text
    assert "(default: avg)" in text


def test_help_shows_what_each_mode_file_changes(capsys: pytest.CaptureFixture[str]) -> None:
    by_mode = {"texture": {"mode": "texture", "lr_schedule": "cosine", "lr": 0.01},
               "stylize": {"mode": "stylize", "lr": 0.002}}  # fmt: skip
    parser = argparse.ArgumentParser(prog="train.py")
    add_config_flags(parser, code_defaults(), by_mode)
    with pytest.raises(SystemExit):
        parser.parse_args(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: step; texture: cosine)" in text
    assert "(default: 0.01; stylize: 0.002)" in text  # texture's 0.01 is the code default
    assert "(default: texture)" in text  # the mode key itself is not a mode file's change


@pytest.mark.parametrize(
    ("hint", "text", "value"),
    [
        (int, "3", 3),
        (float, "0.5", 0.5),
        (str, "avg", "avg"),
        (bool, "true", True),
        (bool, "No", False),
        (bool, "1", True),
        (bool | None, "none", None),
        (bool | None, "off", False),
        (str | None, "null", None),
        (int | None, "7", 7),
        (list[str], "relu1_1, relu2_1", ["relu1_1", "relu2_1"]),
        (list[float] | None, "1,2.5", [1.0, 2.5]),
    ],
)
def test_flags_are_parsed_by_type(hint: Any, text: str, value: Any) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", type=flag_type(hint))
    parsed = parser.parse_args(["--key", text]).key
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(
    ("given", "value"),
    [
        (["--normalize-gradients"], True),
        (["--no-normalize-gradients"], False),
        (["--normalize-gradients", "true"], True),  # the older spelling
        (["--normalize-gradients", "off"], False),
        (["--normalize-gradients=No"], False),
        (["--normalize-gradients", "--no-normalize-gradients"], False),  # the last one wins
    ],
)
def test_switches_take_flag_no_flag_and_the_older_value_form(given: list[str], value: bool) -> None:
    args = train_cli.build_parser(code_defaults()).parse_args(["--texture", "t.png", *given])
    assert args.normalize_gradients is value


def test_a_switch_with_a_bad_value_is_a_user_error() -> None:
    with pytest.raises(UserError, match="expected true or false, got 'maybe'"):
        train_cli.build_parser(code_defaults()).parse_args(["--normalize-gradients=maybe"])


def test_list_flags_take_commas_spaces_or_both() -> None:
    parser = train_cli.build_parser(code_defaults())
    for given in (["relu1_1,relu2_1,relu3_1"], ["relu1_1", "relu2_1", "relu3_1"],
                  ["relu1_1,relu2_1", "relu3_1"]):  # fmt: skip
        args = parser.parse_args(["--style-layers", *given])
        assert args.style_layers == ["relu1_1", "relu2_1", "relu3_1"]
    weights = parser.parse_args(["--style-layer-weights", "1", "0.5,2"]).style_layer_weights
    assert weights == [1.0, 0.5, 2.0]


def test_precision_has_one_spelling_per_meaning() -> None:
    parser = train_cli.build_parser(code_defaults())
    assert parser.parse_args(["--precision", "32"]).precision == "fp32"
    assert parser.parse_args(["--precision", "BF16"]).precision == "bf16"
    with pytest.raises(UserError, match="choose from auto, bf16, fp32, bf16-mixed, 16-mixed"):
        parser.parse_args(["--precision", "fp16"])
    assert parser.parse_args(["--steps", "9"]).max_steps == 9  # --steps: every command's word


def test_a_bad_bool_flag_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--key", type=flag_type(bool))
    with pytest.raises(SystemExit):
        parser.parse_args(["--key", "maybe"])
    assert "expected true or false" in capsys.readouterr().err


def test_a_type_without_a_parser_is_named() -> None:
    with pytest.raises(TypeError, match="dict"):
        flag_type(dict[str, int])


def test_random_training_sizes_step_down_from_the_image_size() -> None:
    assert make_config({}).training_sizes() == [256]
    assert make_config({"random_size_min": 128}).training_sizes() == [256, 224, 192, 160, 128]
    assert make_config({"random_size_min": 200}).training_sizes() == [256, 224, 200]
    assert make_config({"random_size_min": 256}).training_sizes() == [256]
    smallest = {"random_size_min": 32, "num_scales": 3, "image_size": 64}  # relu5_1: 32 px
    assert make_config(smallest).training_sizes() == [64, 32]


@pytest.mark.parametrize(
    ("logger", "extra"), [("wandb", "[wandb]"), ("tensorboard", "[tensorboard]")]
)
def test_an_optional_logger_that_is_missing_names_its_extra(
    logger: str, extra: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from texture_nets.training import fit

    def missing(*args: Any, **kwargs: Any) -> None:
        raise ModuleNotFoundError(f"No module named {logger!r}")

    monkeypatch.setattr(fit, "WandbLogger" if logger == "wandb" else "TensorBoardLogger", missing)
    config = TrainConfig(style_image="builtin:brick", logger=logger)
    with pytest.raises(ConfigError, match=re.escape(f"texture-nets{extra}")):
        fit.make_loggers(config, tmp_path)


@pytest.mark.subprocess
def test_importing_the_library_and_training_code_loads_no_optional_logger() -> None:
    code = (
        "import sys, texture_nets, texture_nets.training.fit;"
        "print(sorted({'wandb', 'tensorboard'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_config_file_helpers_are_still_found_where_they_were() -> None:
    """Code written before the split imports them from ``training.config``: the same objects."""
    from texture_nets.training import config, config_files

    for name in ("make_config", "mode_config", "load_yaml", "code_defaults", "CONFIG_DIR"):
        assert getattr(config, name) is getattr(config_files, name), name
    with pytest.raises(AttributeError):
        config.no_such_name  # noqa: B018

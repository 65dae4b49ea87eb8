"""The shifted-Gram lever (``--shift-weight``, Berger & Memisevic 2016) through training and
Gatys: one flag and config key each, the term in the logs, clear errors for sizes it cannot
use. (The loss itself: tests/test_losses.py.)"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import pytest
from conftest import tiny_run

from texture_nets.cli import gatys as gatys_cli
from texture_nets.errors import UserError
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.training.config import ConfigError, TrainConfig

SHIFT = ["--shift-weight", "2", "--shift-layers", "relu2_1", "--shifts", "1,2"]


def test_training_with_the_shift_term_logs_it(tmp_path: Path) -> None:
    run = tiny_run(tmp_path, "texture", 2, *SHIFT, "--logger", "csv", "--log-every", "1")
    config = read_checkpoint(run).config
    assert (config["shift_weight"], config["shift_layers"], config["shifts"]) == (
        2.0, ["relu2_1"], [1, 2],
    )  # fmt: skip
    with (run / "logs" / "metrics.csv").open() as rows:
        logged = [row for row in csv.DictReader(rows) if row.get("train/shift")]
    assert logged and all(float(row["train/shift"]) > 0 for row in logged)


def test_gatys_takes_the_shift_term(tmp_path: Path) -> None:
    out = tmp_path / "g.png"
    argv = ["--texture", "builtin:brick", "--descriptor", "random", "--size", "32", "--steps", "2"]
    argv += ["--style-layers", "relu1_1,relu2_1", "--precision", "fp32", "--out", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert gatys_cli.main([*argv, *SHIFT]) == 0
    assert out.is_file()
    assert gatys_cli.main([*argv, "--shift-weight", "1", "--shift-layers", "relu3_1"]) == 2


def test_sizes_and_layers_the_shift_term_cannot_use_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="and the shifts"):  # relu4_1's map: 64/8 = 8 px
        TrainConfig(style_image="x.png", image_size=64, shift_weight=1.0, shifts=[8]).validate()
    with pytest.raises(UserError, match="shift_layers must be style layers"):
        TrainConfig(style_image="x.png", shift_weight=1.0, shift_layers=["relu4_2"]).validate()
    TrainConfig(style_image="x.png", image_size=72, shift_weight=1.0, shifts=[8]).validate()

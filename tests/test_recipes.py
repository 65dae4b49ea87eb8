"""The recipes in ``configs/`` (what people start from): each one is read by ``--config``, its
keys land in the run's config, and it trains (a tiny run: flags win over the file)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import tiny_run

from texture_nets.nets.checkpoint import read_checkpoint

RECIPES = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))
TINY_KEYS = {"image_size", "max_steps", "style_layers", "content_layers", "style_size"}


def test_the_recipes_named_by_the_issue_exist() -> None:
    names = {path.stem for path in RECIPES}
    assert {"quick_texture", "paper_texture", "paper_stylizer", "zoo_texture"} <= names
    assert "zoo_stylizer" in names


@pytest.mark.parametrize("recipe", RECIPES, ids=[path.stem for path in RECIPES])
def test_a_recipe_trains_and_its_keys_reach_the_run(recipe: Path, tmp_path: Path) -> None:
    keys = yaml.safe_load(recipe.read_text())
    mode = "stylize" if "stylizer" in recipe.stem else "texture"
    run = tiny_run(tmp_path, mode, 1, "--config", str(recipe), "--batch-size", "2")
    config = read_checkpoint(run).config
    assert config["mode"] == mode
    for key, value in keys.items():
        if key not in TINY_KEYS | {"batch_size"}:
            assert config[key] == value, key

"""Where a ``TrainConfig`` comes from: YAML files and their layering.

Precedence: code defaults < ``texture_nets/configs/<mode>.yaml`` < ``--config FILE``
(repeatable, each on top of the last) < command-line flags. A file with a key that is not a
config key is refused with the list of valid ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from texture_nets.training.config import MODES, ConfigError, TrainConfig

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"  # package data: wheels ship it
FIELD_NAMES = tuple(f.name for f in fields(TrainConfig))
# Keys train.py adds to a run's config.yaml for the record (the launch's world size and global
# batch); reading that file back with --config ignores them.
DERIVED_KEYS = ("world_size", "global_batch_size")


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; unknown keys are an error that lists the valid ones."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys")
    for key in DERIVED_KEYS:
        data.pop(key, None)
    check_keys(data, str(path))
    return data


def check_keys(data: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(data) - set(FIELD_NAMES))
    if unknown:
        raise ConfigError(
            f"{where}: unknown config key(s) {unknown}; valid keys: {', '.join(FIELD_NAMES)}"
        )


def make_config(*layers: Mapping[str, Any]) -> TrainConfig:
    """Merge mappings (later wins) into a validated ``TrainConfig``."""
    merged: dict[str, Any] = {}
    for layer in layers:
        check_keys(layer, "config")
        merged.update({k: v for k, v in layer.items()})
    try:
        return TrainConfig(**merged)
    except TypeError as error:
        raise ConfigError(str(error)) from error


def code_defaults() -> dict[str, Any]:
    return {
        f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
        for f in fields(TrainConfig)
    }


def default_config_file(mode: str) -> Path:
    return CONFIG_DIR / f"{mode}.yaml"


def mode_file(mode: str) -> dict[str, Any]:
    """The keys a mode's default file (``configs/<mode>.yaml``) changes; none if it has none."""
    path = default_config_file(mode)
    return load_yaml(path) if path.is_file() else {}


def mode_files() -> dict[str, dict[str, Any]]:
    """Every mode's ``mode_file``."""
    return {mode: mode_file(mode) for mode in MODES}


def mode_config(mode: str, **overrides: Any) -> TrainConfig:
    """A mode's default config (code defaults < ``configs/<mode>.yaml``) plus ``overrides``."""
    return make_config(mode_file(mode), {"mode": mode, **overrides})

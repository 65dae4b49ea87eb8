"""Flags generated from the config schema: one ``--key-name`` per ``TrainConfig`` field, typed by
its hint, with its help and choices (a new config key is a new flag with no code here). The
train command takes every key; ``gatys`` takes the objective's (``LOSS_KEYS``), so that the loss
flags are spelled, typed and defaulted once."""

from __future__ import annotations

import argparse
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, fields
from typing import Any, cast

from texture_nets.cli.args import list_of, parse_bool
from texture_nets.training.config import TrainConfig


def _optional(parse_value: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        return None if text.lower() in ("none", "null", "") else parse_value(text)

    return parse


def flag_type(hint: Any) -> Callable[[str], Any]:
    """The argparse ``type`` of a config key, from its type hint (``int``, ``float``, ``str``,
    ``bool``, ``list[X]``, and any of them ``| None``; a list flag takes ``a,b,c``)."""
    if type(None) in typing.get_args(hint):  # X | None
        (inner,) = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        parse = flag_type(inner)
        return parse if typing.get_origin(inner) is list else _optional(parse)
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        return list_of(item)
    if hint is bool:
        return parse_bool
    if hint in (int, float, str):
        return cast(Callable[[str], Any], hint)
    raise TypeError(f"config keys of type {hint!r} have no flag parser")


def add_config_flags(
    parser: argparse.ArgumentParser,
    defaults: Mapping[str, Any],
    by_mode: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Add one ``--key-name`` flag per config key; help shows the effective default, and the
    modes whose file changes it (``by_mode``: ``mode_files()``)."""
    group = parser.add_argument_group("config keys (also settable in the YAML file)")
    hints = typing.get_type_hints(TrainConfig)

    def shown(value: Any) -> str:
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)

    for f in fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = defaults.get(f.name)
        modes = "".join(
            f"; {mode}: {shown(keys[f.name])}"
            for mode, keys in (by_mode or {}).items()
            if f.name != "mode" and f.name in keys and keys[f.name] != default
        )
        group.add_argument(
            flag,
            dest=f.name,
            type=flag_type(hints[f.name]),
            choices=f.metadata.get("choices"),
            default=argparse.SUPPRESS,
            help=f"{f.metadata['help']} (default: {shown(default)}{modes})",
            metavar=f.name.upper() if not f.metadata.get("choices") else None,
        )


# The keys of the objective (descriptor and loss): what a command that optimises against the
# training objective without training (``gatys``) takes from the schema.
LOSS_KEYS = (
    "descriptor",
    "descriptor_arch",
    "pooling",
    "style_layers",
    "style_layer_weights",
    "content_layers",
    "texture_loss",
    "style_weight",
    "content_weight",
    "tv_weight",
)


def _field_default(f: Field[Any]) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return f.default


def add_key_flags(
    group: argparse._ArgumentGroup | argparse.ArgumentParser,
    keys: Sequence[str],
    choices: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """One ``--key-name`` flag per key of ``keys``, with the code default as its default (a
    command without config files); ``choices`` adds choices the schema leaves open."""
    hints = typing.get_type_hints(TrainConfig)
    by_name = {f.name: f for f in fields(TrainConfig)}
    for key in keys:
        f = by_name[key]
        allowed = (choices or {}).get(key) or f.metadata.get("choices")
        group.add_argument(
            "--" + key.replace("_", "-"),
            dest=key,
            type=str if allowed else flag_type(hints[key]),  # a choice is a name, never None
            choices=allowed,
            default=_field_default(f),
            help=f.metadata["help"],
            metavar=key.upper() if not allowed else None,
        )

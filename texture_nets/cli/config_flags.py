"""Flags generated from the config schema: one ``--key-name`` per ``TrainConfig`` field, typed by
its hint, with its help and choices (a new config key is a new flag with no code here). The
train command takes every key; ``gatys`` takes the objective's (``LOSS_KEYS``), so that the loss
flags are spelled, typed and defaulted once."""

from __future__ import annotations

import argparse
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, fields
from typing import Any, cast

from texture_nets.cli.args import JoinLists, list_of, parse_bool
from texture_nets.precision import SHOWN_TRAIN_PRECISIONS, normalize_precision
from texture_nets.training.config import SECTIONS, ConfigError, TrainConfig

# more spellings of a key's flag (issues and docs used them; one vocabulary across commands)
ALIASES = {"max_steps": ("--steps",)}


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
    hints = typing.get_type_hints(TrainConfig)
    group: argparse._ArgumentGroup | None = None

    def shown(value: Any) -> str:
        return ",".join(map(str, value)) if isinstance(value, list) else str(value)

    for f in fields(TrainConfig):
        if f.name in SECTIONS:
            group = parser.add_argument_group(f"{SECTIONS[f.name]} (config keys)")
        assert group is not None, "SECTIONS must name the first key"
        default = defaults.get(f.name)
        modes = "".join(
            f"; {mode}: {shown(keys[f.name])}"
            for mode, keys in (by_mode or {}).items()
            if f.name != "mode" and f.name in keys and keys[f.name] != default
        )
        help_text = f.metadata["help"]
        if "(default:" not in help_text:
            help_text += f" (default: {shown(default)}{modes})"
        flags = ["--" + f.name.replace("_", "-"), *ALIASES.get(f.name, ())]
        group.add_argument(
            *flags,
            dest=f.name,
            default=argparse.SUPPRESS,
            help=help_text,
            **_kind(f, hints[f.name]),
        )


def _kind(f: Field[Any], hint: Any) -> dict[str, Any]:
    """How a key's flag parses: a switch, a list (commas or spaces), a precision, a value."""
    choices = f.metadata.get("choices")
    if hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    if f.name == "precision":
        return {
            "type": normalize_precision,
            "metavar": "{" + ",".join(SHOWN_TRAIN_PRECISIONS) + "}",
        }
    if any(typing.get_origin(h) is list for h in (hint, *typing.get_args(hint))):
        return {
            "type": flag_type(hint),
            "nargs": "+",
            "action": JoinLists,
            "metavar": f.name.upper().removesuffix("S"),
        }
    return {
        "type": flag_type(hint),
        "choices": choices,
        "metavar": None if choices else f.name.upper(),
    }


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
    "shift_weight",
    "shift_layers",
    "shifts",
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
        kind = _kind(f, hints[key])
        if allowed:  # a choice is a name, never None
            kind = {"type": str, "choices": allowed}
        group.add_argument(
            "--" + key.replace("_", "-"),
            dest=key,
            default=_field_default(f),
            help=f.metadata["help"],
            **kind,
        )


def check_key_flags(args: argparse.Namespace, keys: Sequence[str]) -> None:
    """Refuse what the schema refuses (``TrainConfig.validate``), in the flags' spelling: a
    command taking config keys as flags checks them by the same rules as training."""
    try:
        TrainConfig(**{key: getattr(args, key) for key in keys})
    except ConfigError as error:
        # the schema's messages start with the key's name: spell it as the flag
        message = str(error)
        key = re.match(r"\w+", message)
        if key and key.group() in keys:
            message = "--" + key.group().replace("_", "-") + message[key.end() :]
        raise ConfigError(message) from None

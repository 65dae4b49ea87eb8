"""Argument types shared by the command lines (``type=`` callables of argparse, ``--device``)."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from texture_nets.errors import FALSE_WORDS, TRUE_WORDS


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from error
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from error
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def parse_size(text: str) -> tuple[int, int]:
    """``512`` -> (512, 512); ``640x480`` -> (height 480, width 640)."""
    match = re.fullmatch(r"(\d+)(?:x(\d+))?", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"size must be N or WIDTHxHEIGHT, got {text!r}")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return height, width


def parse_tile(text: str) -> str | int:
    """``--tile``: ``auto``, ``off`` or the most rows per band."""
    if text.strip().lower() in ("auto", "off"):
        return text.strip().lower()
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(
            f"expected auto, off or a number of rows, got {text!r}"
        ) from error


def parse_bool(text: str) -> bool:
    """``true|yes|on|1`` or ``false|no|off|0`` (any case)."""
    value = text.strip().lower()
    if value in TRUE_WORDS:
        return True
    if value in FALSE_WORDS:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def list_of(kind: type) -> Callable[[str], list[Any]]:
    """An argparse ``type``: ``"a, b,c"`` -> ``[kind("a"), kind("b"), kind("c")]``."""

    def parse(text: str) -> list[Any]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        try:
            return [kind(item) for item in items]
        except ValueError as error:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__}s"
            ) from error

    return parse


def path_list(text: str) -> list[str]:
    """An argparse ``type`` for file lists: ``"a.jpg,b.jpg"`` -> both (a file whose own name
    holds a comma stays whole)."""
    if Path(text).expanduser().exists():
        return [text]
    return [item.strip() for item in text.split(",") if item.strip()]


class JoinLists(argparse.Action):
    """``nargs="+"`` over a list-valued ``type``: ``--x a,b c`` -> ``[a, b, c]``, so every list
    flag takes commas, spaces or both."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, [item for value in values for item in value])


def add_model_flag(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    hidden: tuple[str, ...] = ("--checkpoint",),
) -> None:
    """``--model NAME_OR_PATH``, what every command that uses a trained model calls it;
    ``hidden``: older spellings still accepted (not shown in ``--help``). Check presence with
    ``require_model``."""
    parser.add_argument(
        "--model",
        metavar="NAME_OR_PATH",
        help="a shipped model's name (texture-nets models), a saved model folder, a training "
        "run directory or a .ckpt file",
    )
    for flag in hidden:
        parser.add_argument(flag, dest="model", help=argparse.SUPPRESS)


def require_model(parser: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    if not getattr(args, "model", None):
        parser.error("the following arguments are required: --model")
    return str(args.model)


def add_device_flag(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    parser.add_argument(
        "--device",
        default="auto",
        help="auto (a GPU if there is one), cpu, cuda, cuda:N or mps",
    )

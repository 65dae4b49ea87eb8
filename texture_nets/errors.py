"""User-facing errors and interrupts of the command-line tools.

A ``UserError`` is printed on one line (exit 2); SIGTERM (a scheduler's kill) is turned into
``KeyboardInterrupt`` so that it takes the same clean path as Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from typing import Any, NoReturn


class UserError(Exception):
    """A problem with the user's input that the message explains (no traceback shown)."""


def exit_on_user_error(main: Callable[..., int]) -> Callable[..., int]:
    """Run a CLI ``main``; user errors become ``error: <message>`` on stderr and exit code 2,
    and Ctrl-C or SIGTERM that the command did not handle itself a one-line ``interrupted``
    and exit code 130 (the shell's code for SIGINT), not a traceback: whatever the command
    writes is atomic, so nothing half-written is left."""

    @wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            with sigterm_as_interrupt():
                return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 130

    return wrapper


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show each flag's default in ``--help``, unless its help text already explains it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):  # an epilog of example commands keeps its lines
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.help and "(default:" in action.help:
            return action.help
        default = action.default
        if default is None or default is False or default == [] or default == argparse.SUPPRESS:
            return action.help  # "(default: None)" says nothing
        return super()._get_help_string(action)


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


class UserErrorParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are ``UserError``s: one line, exit 2, no usage.

    An unknown flag gets the closest valid ones as suggestions, or the list of valid flags.
    Switches are ``--flag`` / ``--no-flag`` (``argparse.BooleanOptionalAction``); the older
    spelling ``--flag true|false`` (and ``--flag=false``) still works.
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        given = sys.argv[1:] if args is None else list(args)
        return super().parse_known_args(self._switch_values(given), namespace)

    def _switch_values(self, args: list[str]) -> list[str]:
        """``--flag true|false`` -> ``--flag`` / ``--no-flag`` for every switch."""
        switches = {
            flag
            for action in self._actions
            if isinstance(action, argparse.BooleanOptionalAction)
            for flag in action.option_strings
            if not flag.startswith("--no-")
        }
        words = TRUE_WORDS + FALSE_WORDS
        rewritten: list[str] = []
        index = 0
        while index < len(args):
            token = args[index]
            flag, equals, value = token.partition("=")
            if flag in switches:
                if not equals and index + 1 < len(args) and args[index + 1].lower() in words:
                    value = args[index + 1]
                    index += 1
                if equals and value.lower() not in words:
                    self.error(f"argument {flag}: expected true or false, got {value!r}")
                if value:
                    token = flag if value.lower() in TRUE_WORDS else "--no-" + flag[2:]
            rewritten.append(token)
            index += 1
        return rewritten

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            message += self._suggestions(message.removeprefix("unrecognized arguments: "))
        raise UserError(f"{message} (see --help)")

    def _suggestions(self, unknown: str) -> str:
        flags = sorted(
            flag for action in self._actions for flag in action.option_strings if flag[:2] == "--"
        )
        guesses = [
            close[0]
            for word in unknown.split()
            if word.startswith("--")
            and (close := difflib.get_close_matches(word.split("=")[0], flags, n=1, cutoff=0.6))
        ]
        if guesses:
            return f"; did you mean {', '.join(guesses)}?"
        return f"; valid flags: {', '.join(flags)}"


def raise_keyboard_interrupt(signum: int, frame: Any) -> None:
    """A signal handler: the signal takes Ctrl-C's path."""
    raise KeyboardInterrupt(f"signal {signum}")


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises ``KeyboardInterrupt``; the previous handler is restored
    afterwards (a no-op outside the main thread or without SIGTERM)."""
    try:
        previous = signal.signal(signal.SIGTERM, raise_keyboard_interrupt)
    except (ValueError, OSError, AttributeError):  # not the main thread, or no SIGTERM
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

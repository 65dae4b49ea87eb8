"""User-facing errors: the command-line tools print their message on one line and exit 2."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any


class UserError(Exception):
    """A problem with the user's input that the message explains (no traceback shown)."""


def exit_on_user_error(main: Callable[..., int]) -> Callable[..., int]:
    """Run a CLI ``main``; user errors become ``error: <message>`` on stderr and exit code 2."""

    @wraps(main)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return main(*args, **kwargs)
        except UserError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2

    return wrapper

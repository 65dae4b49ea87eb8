"""``texture-nets COMMAND``: one entry point for every tool (also ``python -m texture_nets``).

Each command lives in its own module and is imported only when run, so ``texture-nets demo``
does not load Lightning and ``texture-nets train`` does not load Gradio.

The ``cli`` package holds one module per command plus ``args`` (the shared argument
helpers). Commands turn flags into calls of the library and its exceptions into exit codes;
they may import any subpackage, and nothing in the library imports them.
"""

from __future__ import annotations

import difflib
import importlib
import sys

# command -> (module with main(argv), one-line summary)
COMMANDS = {
    "train": (
        "texture_nets.cli.train",
        "train a texture network (--texture) or a stylizer (--style)",
    ),
    "generate": ("texture_nets.cli.generate", "sample textures or stylize photos with a model"),
    "gatys": ("texture_nets.cli.gatys", "Gatys et al.'s optimisation baseline on the same loss"),
    "compare": ("texture_nets.cli.compare", "a trained network vs Gatys side by side (report)"),
    "export": ("texture_nets.cli.export", "export a model to ONNX"),
    "models": ("texture_nets.cli.models", "list the shipped models and your runs"),
    "demo": ("texture_nets.cli.demo", "the web demo: stylize photos, generate textures"),
}

USAGE = """\
usage: texture-nets COMMAND [ARGS...]   (texture-nets COMMAND --help for its options)

Texture Networks (Ulyanov et al. 2016): feed-forward texture synthesis and stylization.

commands:
{commands}

examples:
  texture-nets models
  texture-nets generate --model vangogh_starry_night --content builtin:astronaut --out out/
  texture-nets train --texture builtin:brick --out runs/brick
  texture-nets demo
"""


def usage() -> str:
    lines = [f"  {name:<9} {summary}" for name, (_, summary) in COMMANDS.items()]
    return USAGE.format(commands="\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage(), file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "--version":
        from texture_nets import __version__  # late: cli.args is imported by the library

        print(f"texture-nets {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        close = difflib.get_close_matches(name, COMMANDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        print(
            f"error: unknown command {name!r}{hint} (one of {', '.join(COMMANDS)})", file=sys.stderr
        )
        return 2
    module = importlib.import_module(COMMANDS[name][0])
    return int(module.main(rest))


if __name__ == "__main__":
    sys.exit(main())

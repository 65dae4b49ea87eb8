"""``python train.py``: train a texture network (``--texture``) or a stylizer (``--style``).

Flags are generated from the config schema (``training.config``); the training itself is
``texture_nets.training.fit.train``. Here its exceptions become exit codes: 2 for bad input,
130 when stopped early, 1 when the loss stopped being finite.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

import yaml
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.utilities import rank_zero_only

from texture_nets.cli.config_flags import add_config_flags
from texture_nets.errors import DefaultsHelpFormatter, UserErrorParser, exit_on_user_error
from texture_nets.threads import use_physical_cores
from texture_nets.training.config import ConfigError, TrainConfig
from texture_nets.training.config_files import code_defaults, mode_files
from texture_nets.training.fit import TrainingInterrupted, resolve, train

log = logging.getLogger("texture_nets")

EXAMPLES = """\
examples:
  texture-nets train --texture builtin:brick --out runs/brick --max-steps 300
  texture-nets train --style wave.jpg --content-dir photos/ --out runs/wave
  texture-nets train --texture builtin:brick --max-time 10   # whatever 10 minutes buy
  python train.py --texture peppers.jpg --print-config     # the merged settings, then exit
"""


def build_parser(defaults: dict[str, Any]) -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets train",
        epilog=EXAMPLES,
        description="Train a texture network (--texture IMG) or a stylizer (--style IMG "
        "--content-dir PHOTOS) after Ulyanov et al. 2016, against a frozen VGG.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument("--texture", metavar="IMG", help="texture mode: the example texture image")
    parser.add_argument("--style", metavar="IMG", help="stylize mode: the style image (painting)")
    parser.add_argument(
        "--config",
        action="append",
        metavar="YAML",
        help="config file(s) on top of texture_nets/configs/<mode>.yaml, later ones win",
    )
    parser.add_argument(
        "--print-config", action="store_true", help="print the final config and exit"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    add_config_flags(parser, defaults, mode_files())
    return parser


def resolve_config(argv: list[str] | None) -> tuple[TrainConfig, argparse.Namespace]:
    """The flags as ``fit.resolve``'s overrides: ``--texture``/``--style`` set the example
    image and the mode, ``--config`` the files."""
    preliminary = build_parser(code_defaults()).parse_args(argv)
    flags = {k: v for k, v in vars(preliminary).items() if k in code_defaults()}
    if preliminary.texture and preliminary.style:
        raise ConfigError(
            "give either --texture (texture mode) or --style (stylize mode), not both"
        )
    if preliminary.texture:
        flags["style_image"] = preliminary.texture
        flags.setdefault("mode", "texture")
    elif preliminary.style:
        flags["style_image"] = preliminary.style
        flags.setdefault("mode", "stylize")
    return resolve(flags, preliminary.config or []), preliminary


@exit_on_user_error
def main(argv: list[str] | None = None, callbacks: Sequence[Callback] = ()) -> int:
    """``train.py``; ``callbacks`` are added to the trainer's."""
    config, args = resolve_config(argv)
    use_physical_cores()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if (getattr(rank_zero_only, "rank", 0) or 0) > 0:  # other processes: warnings and errors
        log.setLevel(logging.WARNING)
    if args.print_config:
        print(yaml.safe_dump(config.to_dict(), sort_keys=False))
        return 0
    try:
        train(config, callbacks)
    except TrainingInterrupted as stopped:
        log.warning("%s", stopped)
        return 130
    except FloatingPointError as error:
        log.error("training stopped: %s", error)
        return 1
    return 0

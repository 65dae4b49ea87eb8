"""``python -m texture_nets compare``: a trained network against Gatys et al., Portilla-Simoncelli
and a texture GAN (command line).

See ``texture_nets.evaluation.compare`` for what is compared and
``texture_nets.evaluation.report`` for the outputs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from argparse import SUPPRESS
from pathlib import Path

from texture_nets.baselines.gatys import OPTIMIZERS
from texture_nets.baselines.ps import DEFAULT_STEPS as PS_STEPS
from texture_nets.cli.args import (
    JoinLists,
    add_device_flag,
    add_model_flag,
    list_of,
    path_list,
    positive_float,
    positive_int,
    require_model,
)
from texture_nets.errors import DefaultsHelpFormatter, UserErrorParser, exit_on_user_error
from texture_nets.evaluation.compare import CompareOptions, compare
from texture_nets.evaluation.methods import DEFAULT_GAN_MINUTES, METHODS, parse_methods
from texture_nets.evaluation.report import format_seconds
from texture_nets.inference.pretrained import is_model_folder, resolve_model
from texture_nets.nets.checkpoint import find_checkpoint
from texture_nets.precision import PRECISIONS, parse_device

log = logging.getLogger("texture_nets.evaluation.compare")


EXAMPLES = """\
examples:
  texture-nets compare --model runs/peppers --steps 150 --out compare/peppers
  texture-nets compare --model vangogh_starry_night --content builtin:astronaut --steps 100
  python -m texture_nets compare --model runs/peppers --samples 8 --size 512
  texture-nets compare --model tn_pebbles --methods network,gatys,ps,gan --gan-minutes 10
"""


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets compare",
        epilog=EXAMPLES,
        description="Compare a trained network with Gatys et al.'s optimisation, "
        "Portilla-Simoncelli and a texture GAN on the same inputs, descriptor and loss: image "
        "grid, metrics (also over the floor of real crops), time and memory.",
        formatter_class=DefaultsHelpFormatter,
    )
    what = parser.add_argument_group("what to compare")
    add_model_flag(what)
    what.add_argument(
        "--texture",
        metavar="IMG",
        help="texture checkpoints: the example (default: the one it was trained on)",
    )
    what.add_argument(
        "--style",
        metavar="IMG",
        help="stylization checkpoints: the style image (default: the one it was trained on)",
    )
    what.add_argument(
        "--content",
        metavar="PHOTO",
        type=path_list,
        nargs="+",
        action=JoinLists,
        default=[],
        help="stylization: content photos (spaces or commas between them)",
    )
    what.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: RUN/compare for a run, compare/NAME for a model folder)",
    )
    what.add_argument(
        "--size",
        type=positive_int,
        default=256,
        help="texture side / longer side of the content photos, in px",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=4,
        help="network samples (noise seeds SEED, SEED+1, ...), per photo when stylizing",
    )
    what.add_argument(
        "--methods",
        type=list_of(str),
        nargs="+",
        action=JoinLists,
        default=None,
        metavar="METHOD",
        help=f"which of {', '.join(METHODS)} to run (commas or spaces; default: every installed "
        "one; ps needs the [ps] extra; stylize models: network and gatys)",
    )
    gatys = parser.add_argument_group("Gatys et al.'s optimisation")
    gatys.add_argument(
        "--steps",
        dest="gatys_steps",
        type=positive_int,
        default=300,
        metavar="N",
        help="iterations",
    )
    gatys.add_argument("--gatys-steps", dest="gatys_steps", type=positive_int, help=SUPPRESS)
    gatys.add_argument("--optimizer", dest="gatys_optimizer", choices=OPTIMIZERS,
                       default="lbfgs", help="L-BFGS (Gatys et al.) or Adam")  # fmt: skip
    gatys.add_argument("--gatys-optimizer", dest="gatys_optimizer", choices=OPTIMIZERS,
                       help=SUPPRESS)  # fmt: skip
    baselines = parser.add_argument_group("the other baselines (textures)")
    baselines.add_argument(
        "--baseline-samples",
        type=positive_int,
        default=1,
        metavar="N",
        help="Gatys and Portilla-Simoncelli images (seeds SEED, SEED+1, ...); 2+ give diversity",
    )
    baselines.add_argument(
        "--ps-steps",
        type=positive_int,
        default=PS_STEPS,
        metavar="N",
        help="Portilla-Simoncelli: plenoptic Metamer iterations (L-BFGS, <= 10 evaluations each)",
    )
    baselines.add_argument(
        "--gan-minutes",
        type=positive_float,
        default=None,
        metavar="MIN",
        help="GAN training budget (default: the network's recorded training time, else "
        f"{DEFAULT_GAN_MINUTES:g})",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed of every method")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep each method's finished run here; a rerun with the same settings reuses it "
        "(default: a temporary folder)",
    )
    parser.add_argument(
        "--descriptor",
        default="auto",
        help="VGG weights for Gatys and the metrics: auto|torchvision|onnx|onnx:FILE|FILE.pth|"
        "random",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="Gatys' descriptor precision (auto: bf16 where fast); metrics are always fp32",
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="least number of timed network passes"
    )
    add_device_flag(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def default_out(model: str) -> Path:
    """RUN/compare for a training run (it keeps its checkpoints in RUN/checkpoints/), else
    compare/NAME here (a model folder, maybe the installed package, stays untouched)."""
    path = resolve_model(model)
    if is_model_folder(path):
        return Path("compare") / path.name
    folder = find_checkpoint(path).parent
    return (folder.parent if folder.name == "checkpoints" else folder) / "compare"


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.checkpoint = require_model(parser, args)
    del args.model
    args.device = str(parse_device(args.device))  # "auto" -> the device the children use
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if args.out is None:
        args.out = default_out(args.checkpoint)
    args.methods = None if args.methods is None else parse_methods(args.methods)
    options = CompareOptions(**{k: v for k, v in vars(args).items() if k != "verbose"})
    report = compare(options)
    times = ", ".join(
        f"{name} {format_seconds(method['seconds_per_image'])}"
        for name, method in report["methods"].items()
    )
    log.info("per image: %s -> %s", times, options.out / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

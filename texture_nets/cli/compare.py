"""``python -m texture_nets compare``: a trained network against Gatys et al. (command line).

See ``texture_nets.evaluation.compare`` for what is compared and
``texture_nets.evaluation.report`` for the outputs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from texture_nets.baselines.gatys import OPTIMIZERS
from texture_nets.cli.args import positive_int
from texture_nets.errors import DefaultsHelpFormatter, UserErrorParser, exit_on_user_error
from texture_nets.evaluation.compare import CompareOptions, compare
from texture_nets.evaluation.report import format_seconds
from texture_nets.nets.checkpoint import find_checkpoint
from texture_nets.precision import PRECISIONS, default_device

log = logging.getLogger("texture_nets.evaluation.compare")


EXAMPLES = """\
examples:
  texture-nets compare --checkpoint runs/peppers --gatys-steps 150 --out compare/peppers
  texture-nets compare --checkpoint runs/wave --content photo.jpg --gatys-steps 100
  python -m texture_nets compare --checkpoint runs/peppers --samples 8 --size 512
"""


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets compare",
        epilog=EXAMPLES,
        description="Compare a trained network with Gatys et al.'s optimisation on the same "
        "inputs, descriptor and loss: image grid, metrics, time and memory.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="RUN", help="run directory or .ckpt file"
    )
    parser.add_argument(
        "--texture",
        metavar="IMG",
        help="texture checkpoints: the example (default: the one it was trained on)",
    )
    parser.add_argument(
        "--style",
        metavar="IMG",
        help="stylization checkpoints: the style image (default: the one it was trained on)",
    )
    parser.add_argument(
        "--content", metavar="PHOTO", nargs="+", default=[], help="stylization: content photos"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: RUN/compare)"
    )
    parser.add_argument(
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
    parser.add_argument("--gatys-steps", type=positive_int, default=300, help="iterations")
    parser.add_argument("--gatys-optimizer", choices=OPTIMIZERS, default="lbfgs")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of both methods")
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
    parser.add_argument("--device", default=default_device())
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if args.out is None:  # RUN/compare (a run keeps its checkpoints in RUN/checkpoints/)
        folder = find_checkpoint(args.checkpoint).parent
        args.out = (folder.parent if folder.name == "checkpoints" else folder) / "compare"
    options = CompareOptions(**{k: v for k, v in vars(args).items() if k != "verbose"})
    report = compare(options)
    log.info(
        "Gatys %s per image, network %s per image: %.4gx faster -> %s",
        format_seconds(report["methods"]["gatys"]["seconds_per_image"]),
        format_seconds(report["methods"]["network"]["seconds_per_image"]),
        report["speed_ratio"],
        options.out / "report.md",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

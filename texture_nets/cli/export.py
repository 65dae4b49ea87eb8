"""``texture-nets export``: a trained model as an ONNX file (dynamic height and width)."""

from __future__ import annotations

import logging
import textwrap
from argparse import SUPPRESS
from pathlib import Path

from texture_nets.cli.args import add_model_flag, require_model
from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
)

log = logging.getLogger("texture_nets")

EXAMPLES = """\
examples:
  texture-nets export --model vangogh_starry_night --out exported/   # a shipped model
  texture-nets export --model runs/peppers --out peppers.onnx        # a training run
  texture-nets generate --model runs/peppers --backend onnxruntime --size 512
"""


def build_parser() -> UserErrorParser:
    parser = UserErrorParser(
        prog="texture-nets export",
        description="Export a trained network to ONNX: one graph with dynamic sizes. Its inputs: "
        "'content', the photo (B, 3, H, W) in [0, 1], for a stylizer; 'noise', uniform "
        "(B, scales x depth, H, W), for Ulyanov's generator; the output 'image'. The file's "
        "metadata says which, and the model's kind, training scale and terms; see "
        "texture_nets/inference/export.py.",
        formatter_class=DefaultsHelpFormatter,
        epilog=textwrap.dedent(EXAMPLES),
    )
    add_model_flag(parser)
    parser.add_argument("positional_model", nargs="?", metavar="NAME_OR_PATH", help=SUPPRESS)
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="export format")
    parser.add_argument(
        "--out",
        default=".",
        help="output folder (writes NAME.onnx there), or a file name ending in .onnx",
    )
    return parser


def output_path(out: str, name: str) -> Path:
    """``--out``: a folder like every command's (NAME.onnx inside), or the file itself."""
    path = Path(out).expanduser()
    return path if path.suffix.lower() == ".onnx" else path / f"{name}.onnx"


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.model and args.positional_model:
        parser.error("give the model once: --model NAME_OR_PATH")
    args.model = args.model or args.positional_model  # the older spelling: a positional
    name_or_path = require_model(parser, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from texture_nets.api import load

    model = load(name_or_path, device="cpu")
    target = output_path(args.out, model.name)
    if target.parent.exists() and not target.parent.is_dir():
        raise UserError(f"--out {args.out}: {target.parent} is a file, not a folder")
    target.parent.mkdir(parents=True, exist_ok=True)
    path = model.export_onnx(target)
    log.info("%s (%s, %s)", model.name, model.info.mode, model.info.architecture)
    log.info("wrote %s", path)
    return 0

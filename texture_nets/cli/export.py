"""``texture-nets export``: a trained model as an ONNX file (dynamic height and width)."""

from __future__ import annotations

import logging
import textwrap

from texture_nets.errors import DefaultsHelpFormatter, UserErrorParser, exit_on_user_error

log = logging.getLogger("texture_nets")

EXAMPLES = """\
examples:
  texture-nets export vangogh_starry_night --format onnx        # a shipped model
  texture-nets export runs/peppers --out peppers.onnx           # a training run
  texture-nets generate --texture runs/peppers --backend onnxruntime --size 512
"""


def build_parser() -> UserErrorParser:
    parser = UserErrorParser(
        prog="texture-nets export",
        description="Export a trained network to ONNX. The graph takes the input pyramid "
        "(Ulyanov: noise drawn from the seed outside the graph, plus the photo at every scale) "
        "or the photo padded to a multiple of 4 (Johnson); see texture_nets/inference/export.py.",
        formatter_class=DefaultsHelpFormatter,
        epilog=textwrap.dedent(EXAMPLES),
    )
    parser.add_argument("model", metavar="RUN_OR_NAME", help="shipped model, folder, run or .ckpt")
    parser.add_argument("--format", choices=("onnx",), default="onnx", help="export format")
    parser.add_argument("--out", help="output file (default: NAME.onnx)")
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from texture_nets.api import load
    from texture_nets.inference.export import export_onnx

    model = load(args.model, device="cpu")
    path = export_onnx(model.network, args.out or f"{model.name}.onnx")
    log.info("%s (%s, %s) -> %s", model.name, model.info.mode, model.info.architecture, path)
    return 0

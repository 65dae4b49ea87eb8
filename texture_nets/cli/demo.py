"""``texture-nets demo``: serve the web demo (stylize photos, generate textures)."""

from __future__ import annotations

import logging
from pathlib import Path

from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
)
from texture_nets.threads import use_physical_cores

EXAMPLES = """\
examples:
  texture-nets demo                         # http://127.0.0.1:7860, the shipped models
  texture-nets demo --runs runs/ --port 8000  # also every trained run below runs/
  texture-nets demo --host 0.0.0.0          # reachable from other machines of your network
"""


def build_parser() -> UserErrorParser:
    parser = UserErrorParser(
        prog="texture-nets demo",
        description="Serve the web demo: pick a photo and a style, press Stylize; or generate "
        "a texture of any size. Needs the [demo] extra (gradio).",
        formatter_class=DefaultsHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind")
    parser.add_argument("--port", type=int, default=7860, help="port to serve on")
    parser.add_argument(
        "--runs",
        type=Path,
        default=Path("runs"),
        help="also offer every training run below this folder (if it exists)",
    )
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    use_physical_cores()
    try:
        from texture_nets.app import demo
    except ImportError as error:
        raise UserError(
            f"the demo needs gradio ({error.name} is missing): pip install 'texture-nets[demo]'"
        ) from error
    if not 0 < args.port < 65536:
        raise UserError(f"--port must be in 1..65535, got {args.port}")
    models = demo.find_models(args.runs)
    demo.launch(demo.build_app(args.runs, models), host=args.host, port=args.port, models=models)
    return 0

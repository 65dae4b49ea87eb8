"""``python -m texture_nets gatys``: Gatys et al.'s optimisation from the command line.

::

    python -m texture_nets gatys --texture IMG --size 256 --out result.png
    python -m texture_nets gatys --style A.jpg B.jpg --style-blend 0.7 0.3 --content photo.jpg

Writes the image, its loss curve (``texture_nets.evaluation.plots``) and a JSON record beside it.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import torch
from PIL import Image
from torch import Tensor

from texture_nets.baselines.gatys import (
    DEFAULT_LR,
    INIT_KINDS,
    OPTIMIZERS,
    Options,
    stylize,
    synthesize,
)
from texture_nets.cli.args import (
    JoinLists,
    add_device_flag,
    list_of,
    parse_size,
    path_list,
    positive_int,
)
from texture_nets.cli.config_flags import LOSS_KEYS, add_key_flags, check_key_flags
from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
    sigterm_as_interrupt,
)
from texture_nets.evaluation.plots import plot_losses
from texture_nets.image import (
    atomic_write,
    check_output_dir,
    load_image,
    open_image,
    pil_to_tensor,
    save_image,
)
from texture_nets.inference.stylize import Size, output_size
from texture_nets.objective.descriptor import ARCHITECTURES
from texture_nets.objective.objective import (
    LossSettings,
    Objective,
    loss_settings,
)
from texture_nets.precision import PRECISIONS, parse_device, resolve_bf16
from texture_nets.threads import use_physical_cores

log = logging.getLogger("texture_nets.baselines.gatys")


EXAMPLES = """\
examples:
  texture-nets gatys --texture peppers.jpg --size 256 --steps 300 --out gatys.png
  texture-nets gatys --style wave.jpg --content photo.jpg --init content --out wave_photo.png
  python -m texture_nets gatys --texture builtin:brick --optimizer adam --steps 200
"""


def _size(text: str) -> tuple[int, int | None]:
    """``--size``: ``N`` -> (N, None), longer side N; ``WxH`` -> (W, H), exactly that size."""
    height, width = parse_size(text)
    return (width, height) if "x" in text.lower() else (width, None)


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets gatys",
        epilog=EXAMPLES,
        description="Gatys et al.'s optimisation baseline: texture synthesis (--texture) or "
        "style transfer (--style ... --content), by optimising the pixels of one image.",
        formatter_class=DefaultsHelpFormatter,
    )
    what = parser.add_argument_group("what to make")
    what.add_argument("--texture", metavar="IMG", help="texture synthesis from this example")
    what.add_argument(
        "--style",
        metavar="IMG",
        type=path_list,
        nargs="+",
        action=JoinLists,
        help="style transfer: style image(s) (spaces or commas between them)",
    )
    what.add_argument(
        "--style-blend",
        metavar="W",
        type=list_of(float),
        nargs="+",
        action=JoinLists,
        help="weights of the style images' Grams (default: equal)",
    )
    what.add_argument("--content", metavar="PHOTO", help="style transfer: the content photo")
    what.add_argument(
        "--size",
        type=_size,
        default=None,
        metavar="N|WxH",
        help="output size: N x N for textures, longer side N for style transfer (default "
        "256); WxH: exactly that",
    )
    what.add_argument(
        "--style-size",
        type=positive_int,
        default=512,
        metavar="N",
        help="style/texture images are downscaled to this longer side if larger",
    )
    what.add_argument(
        "--out",
        default="result.png",
        help="output image (.png or .jpg), or a folder (writes NAME_gatys.png there)",
    )
    what.add_argument(
        "--save-every",
        type=positive_int,
        default=None,
        metavar="N",
        help="also write <out stem>_iterNNNN.png every N iterations",
    )
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--steps", type=positive_int, default=300, help="iterations")
    opt.add_argument(
        "--optimizer", choices=OPTIMIZERS, default="lbfgs", help="L-BFGS (Gatys et al.) or Adam"
    )
    opt.add_argument(
        "--lr",
        type=float,
        default=None,
        help="learning rate (default: 1.0 for lbfgs, 0.02 for adam)",
    )
    opt.add_argument(
        "--init",
        choices=INIT_KINDS,
        default=None,
        help="starting image (default: noise for textures, content for style transfer)",
    )
    opt.add_argument(
        "--noise-ratio", type=float, default=0.5, help="share of noise in --init content+noise"
    )
    opt.add_argument("--seed", type=int, default=0, help="seed of the initial noise")
    opt.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="descriptor precision: auto = bf16 where it is fast",
    )
    add_device_flag(opt)
    loss = parser.add_argument_group("descriptor and loss")
    # From the config schema: the same spellings, types and defaults as the train flags.
    add_key_flags(loss, LOSS_KEYS, choices={"descriptor_arch": ARCHITECTURES})
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


def output_file(args: argparse.Namespace) -> Path:
    """``--out``: an image file, or a folder like every command's (NAME_gatys.png inside)."""
    out = Path(args.out).expanduser()
    if out.suffix and not out.is_dir():
        return out
    images = [args.content, *(args.style or [])] if args.style else [args.texture]
    name = "_".join(Path(str(image).removeprefix("builtin:")).stem for image in images)
    return out / f"{name}_gatys.png"


def check_args(args: argparse.Namespace) -> str:
    """Validate the flags before any heavy work; returns the mode (texture|style)."""
    if args.texture and args.style:
        raise UserError(
            "give either --texture IMG (texture synthesis) or --style IMG "
            "--content PHOTO (style transfer), not both"
        )
    if args.content and not args.style:
        raise UserError("--content needs --style IMG (for texture synthesis use --texture IMG)")
    if args.style and not args.content:
        raise UserError("--style needs --content PHOTO (for texture synthesis use --texture IMG)")
    if not args.texture and not args.style:
        raise UserError("nothing to do: give --texture IMG, or --style IMG --content PHOTO")
    if args.texture_loss == "swd" and args.style and len(args.style) > 1:
        raise UserError("--texture-loss swd takes one style image (a blend needs gram)")
    mode = "texture" if args.texture else "style"
    blend = args.style_blend
    if blend is not None:
        if mode != "style":
            raise UserError("--style-blend applies to --style images only")
        if len(blend) != len(args.style):
            raise UserError(
                f"--style-blend: {len(blend)} weight(s) for {len(args.style)} style image(s)"
            )
        if any(w < 0 for w in blend) or sum(blend) <= 0:
            raise UserError("--style-blend weights must be >= 0 and not all 0")
    if mode == "texture" and args.init in ("content", "content+noise"):
        raise UserError(f"--init {args.init} needs a content image (style transfer)")
    if not 0.0 <= args.noise_ratio <= 1.0:
        raise UserError(f"--noise-ratio must be in [0, 1], got {args.noise_ratio}")
    if args.lr is not None and not args.lr > 0:
        raise UserError(f"--lr must be positive, got {args.lr}")
    check_key_flags(args, LOSS_KEYS)
    if mode == "style" and not args.content_layers:
        raise UserError("--content-layers must name at least one layer for style transfer")
    settings = _loss_settings(args, mode)
    settings.check_layers()
    if Image.registered_extensions().get(Path(args.out).suffix.lower()) is None:
        raise UserError(f"--out {args.out}: unknown image format; use .png or .jpg")
    return mode


def _loss_settings(args: argparse.Namespace, mode: str) -> LossSettings:
    """The flags' objective, built like the training config's (``objective.loss_settings``)."""
    return loss_settings(vars(args), stylize=mode == "style")


def _output_size(size: tuple[int, int | None] | None, content: tuple[int, int] | None) -> Size:
    """(width, height) of the result: ``--size`` WxH, else N x N for a texture, else the content
    photo's size with the longer side N (default 256)."""
    side, height = size or (256, None)
    if height is not None:
        return side, height
    return (side, side) if content is None else output_size(content, side)


def _write(path: Path, data: Tensor | str) -> None:
    """Write an image tensor or a text file atomically; failing to is a ``UserError``."""
    try:
        if isinstance(data, Tensor):
            save_image(data.cpu(), path)
        else:
            atomic_write(path, lambda tmp: tmp.write_text(data))
    except OSError as error:
        raise UserError(f"cannot write {path}: {error.strerror or error}") from error


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    use_physical_cores()
    args.out = str(output_file(args))
    mode = check_args(args)
    settings = _loss_settings(args, mode)
    device = parse_device(args.device)

    # Images first (fast failures), then the descriptor.
    check_output_dir(Path(args.out).parent)
    min_side = settings.min_side()
    style_paths: list[str] = [args.texture] if mode == "texture" else list(args.style)
    styles = [load_image(path, args.style_size, min_side=min_side) for path in style_paths]
    photo = open_image(args.content) if mode == "style" else None
    width, height = _output_size(args.size, photo.size if photo else None)
    if min(width, height) < min_side:
        raise UserError(
            f"--size: {width}x{height} is too small for the deepest layer in use; "
            f"use at least {min_side} px per side (or shallower --style-layers)"
        )
    content = None
    if photo is not None:
        content = pil_to_tensor(photo.resize((width, height), Image.Resampling.LANCZOS))
    init_kind = args.init or ("content" if mode == "style" else "noise")

    use_bf16 = resolve_bf16(args.precision, device)
    objective = Objective.load(
        args.descriptor,
        settings,
        styles,
        device=device,
        blend=args.style_blend,
        seed=args.seed,
        use_bf16=use_bf16,
    )
    source, loss = objective.source, objective.loss
    lr = args.lr if args.lr is not None else DEFAULT_LR[args.optimizer]
    log.info(
        "gatys %s: %s %dx%d, %d steps of %s (lr %g), init %s, descriptor %s (%s pooling, %s)",
        mode,
        ", ".join(style_paths),
        width,
        height,
        args.steps,
        args.optimizer,
        lr,
        init_kind,
        source,
        args.pooling,
        "bf16" if use_bf16 else "fp32",
    )

    out = Path(args.out)
    stem = out.with_suffix("")
    paths = {
        "image": out,
        "loss_curve": stem.with_name(stem.name + "_loss.png"),
        "json": stem.with_suffix(".json"),
    }

    def save_intermediate(iteration: int, image: Tensor, value: float) -> None:
        if iteration % args.save_every == 0:
            _write(out.with_name(f"{out.stem}_iter{iteration:04d}{out.suffix}"), image)

    with sigterm_as_interrupt():  # the best image is written, as for Ctrl-C
        options: Options = {
            "optimizer": args.optimizer,
            "lr": lr,
            "callback": save_intermediate if args.save_every else None,
        }
        if content is None:
            result = synthesize(objective, (height, width), args.steps, seed=args.seed, **options)
        else:
            result = stylize(
                objective,
                content,
                args.steps,
                init=init_kind,
                noise_ratio=args.noise_ratio,
                seed=args.seed,
                **options,
            )

    # The optimisation stops early only when interrupted or on a non-finite loss.
    finished = len(result.losses) >= args.steps
    stopped = (
        "interrupted" if result.interrupted else "completed" if finished else "non-finite loss"
    )
    _write(out, result.image)
    plot_losses(
        result.losses, paths["loss_curve"], f"gatys {args.optimizer}, {mode}, {width}x{height}"
    )
    record = {
        "mode": mode,
        "settings": {k: v for k, v in vars(args).items() if k != "verbose"},
        "resolved": {
            "width": width,
            "height": height,
            "init": init_kind,
            "lr": lr,
            "precision": "bf16" if use_bf16 else "fp32",
            "device": str(device),
            "style_layers": loss.style_layers,
            "content_layers": loss.content_layers,
        },
        "descriptor_source": source,
        "iterations": len(result.losses),
        "best_loss": result.best_loss if math.isfinite(result.best_loss) else None,
        "final_loss": result.losses[-1] if result.losses else None,
        "interrupted": result.interrupted,
        "stopped": stopped,
        "seconds_total": result.seconds[-1] if result.seconds else 0.0,
        "losses": result.losses,
        "seconds": result.seconds,
        "outputs": {k: str(v) for k, v in paths.items()},
        "torch": torch.__version__,
    }
    _write(paths["json"], json.dumps(record, indent=2, default=str))
    if result.interrupted:
        log.warning(
            "interrupted: best image so far (loss %.4g) written to %s", result.best_loss, out
        )
        return 130
    if stopped != "completed":
        log.error(
            "stopped after %d iteration(s): %s; best image (loss %.4g) written to %s",
            len(result.losses),
            stopped,
            result.best_loss,
            out,
        )
        return 1
    log.info(
        "best loss %.4g after %d iteration(s) in %.1f s -> %s",
        result.best_loss,
        len(result.losses),
        record["seconds_total"],
        out,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python generate.py``: texture samples or stylized photos from a checkpoint (no VGG needed).

``--model NAME_OR_PATH``: draw texture samples of any size; with ``--content FILE_OR_DIR``:
stylize one photo or a folder of photos (see ``texture_nets.inference.stylize``). The older
spellings ``--texture RUN`` and ``--checkpoint RUN`` still name the model.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image
from rich.console import Console
from rich.progress import Progress

from texture_nets.api import PretrainedModel, Stylizer, TextureModel, load
from texture_nets.cli.args import (
    add_device_flag,
    add_model_flag,
    parse_size,
    parse_tile,
    positive_float,
    positive_int,
    require_model,
)
from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
)
from texture_nets.image import ImageError, check_output_dir, is_builtin, list_images, save_image
from texture_nets.inference.bands import DEFAULT_MAX_MEMORY, band_options, is_large
from texture_nets.inference.bands.executor import LARGE_SIDE
from texture_nets.inference.fastpath import TOLERANCE
from texture_nets.inference.stylize import (
    StylizeOptions,
    is_out_of_memory,
    output_name,
    stylize_files,
)
from texture_nets.inference.temporal import DEFAULT_TEMPORAL
from texture_nets.inference.video import is_video, list_videos, output_suffix
from texture_nets.nets.networks import Network, render_steps, sample_textures
from texture_nets.nets.ulyanov import Generator
from texture_nets.precision import PRECISIONS, parse_device
from texture_nets.threads import use_physical_cores

log = logging.getLogger("texture_nets")

EXAMPLES = """\
examples:
  texture-nets generate --model tn_red_peppers --size 1024 --count 4 --out samples/
  texture-nets generate --model vangogh_starry_night --content builtin:astronaut --out out/
  python generate.py --model runs/wave --content photos/ --size 768 --original-colors
  texture-nets generate --model vangogh_starry_night --content clip.mp4 --out out/
"""


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets generate",
        epilog=EXAMPLES,
        description="Sample textures (--model NAME_OR_PATH) or stylize photos "
        "(--model NAME_OR_PATH --content FILE_OR_DIR) with a trained network.",
        formatter_class=DefaultsHelpFormatter,
    )
    what = parser.add_argument_group("model and input")
    add_model_flag(what, hidden=("--texture", "--checkpoint"))
    what.add_argument(
        "--content",
        metavar="FILE_OR_DIR",
        help="stylize this photo or clip, or every image and clip below this folder (stylizers)",
    )
    what.add_argument(
        "--size",
        metavar="N|WxH",
        help="textures: output size in pixels, any size (default 512); photos: longer side "
        "of the outputs (default: the photo's own size)",
    )
    what.add_argument("--count", type=positive_int, help="number of texture samples (default: 1)")
    what.add_argument(
        "--seed", type=int, default=0, help="texture sample i uses noise seed SEED+i; photos: SEED"
    )
    photos = parser.add_argument_group("photos")
    photos.add_argument(
        "--content-scale",
        type=positive_float,
        default=1.0,
        help="paint at this factor x the model's training scale (its photos' longer side; "
        "models without one: x the output size), then resize to the output size (< 1: larger "
        "strokes relative to the photo, > 1: finer)",
    )
    photos.add_argument(
        "--original-colors",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="keep the photo's colours, transfer luminance only (Gatys et al. 2016)",
    )
    clips = parser.add_argument_group("clips")
    clips.add_argument(
        "--temporal",
        type=float,
        default=DEFAULT_TEMPORAL,
        metavar="W",
        help="blend this much of the previous stylized frame, moved along the optical flow, "
        "into each frame where the flow is reliable (steadier strokes; 0: off, below 1)",
    )
    output = parser.add_argument_group("output")
    output.add_argument("--out", default="samples", help="output folder")
    output.add_argument("--format", choices=("png", "jpg"), default="png", help="image file format")
    speed = parser.add_argument_group("memory and speed")
    speed.add_argument("--batch-size", type=positive_int, default=4, help="images per forward pass")
    speed.add_argument(
        "--tile",
        type=parse_tile,
        default="auto",
        metavar="auto|off|N",
        help="images are made layer by layer in bands of rows (same result as one pass): auto "
        "keeps under --max-memory; N: bands of at most N rows; off: everything in memory",
    )
    speed.add_argument(
        "--max-memory",
        type=positive_float,
        default=DEFAULT_MAX_MEMORY / 2**30,
        metavar="GB",
        help="keep the process under about this much memory (a GPU: its memory); larger "
        "intermediate maps go to temporary files (same result, a little slower)",
    )
    add_device_flag(speed)
    speed.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help=f"auto: one bf16 pass where bf16 is fast here and a probe at load keeps this "
        f"model within {TOLERANCE.p999:g}/255 of fp32 (99.9 percent of pixels; "
        f"{TOLERANCE.worst:g}/255 all), else fp32; fp32: exact; bf16: always (slow where "
        "emulated); images beyond --max-memory and --tile N bands run in fp32",
    )
    speed.add_argument(
        "--backend",
        choices=("torch", "onnxruntime"),
        default="torch",
        help="run the network with PyTorch, or export it to ONNX and run it with onnxruntime "
        "(CPU, one plain pass; an image whose pass would exceed --max-memory is made by "
        "PyTorch's banded executor instead; needs the [export] extra)",
    )
    return parser


def read_for_mode(checkpoint: str, mode: str, precision: str = "auto") -> PretrainedModel:
    """Load the model (run, checkpoint, saved folder or shipped name); one that was trained for
    the other mode says what to do instead."""
    model = load(checkpoint, device="cpu", precision=precision)
    if model.info.mode == mode:
        return model
    if model.info.mode == "stylize":
        raise UserError(
            f"{checkpoint} is a stylize-mode checkpoint (it stylizes photos, it does not sample "
            f"textures): use --model {checkpoint} --content PHOTO_OR_DIR"
        )
    raise UserError(
        f"{checkpoint} is a {model.info.mode}-mode checkpoint (it samples textures from noise, "
        f"it does not stylize photos): drop --content and use --model {checkpoint} --size N"
    )


def onnx_network(network: Network, args: argparse.Namespace, folder: Path) -> torch.nn.Module:
    """``--backend onnxruntime``: the network exported to ``folder`` and run by onnxruntime."""
    from texture_nets.inference.export import OnnxNetwork

    if args.tile not in ("auto", "off"):
        raise UserError("--backend onnxruntime runs in one pass: drop --tile (or use --tile off)")
    if args.device.type != "cpu":
        raise UserError("--backend onnxruntime runs on the CPU: use --device cpu")
    if args.precision == "bf16":
        raise UserError("--backend onnxruntime runs the fp32 graph: drop --precision bf16")
    return OnnxNetwork.from_network(network, folder, args.max_memory * 2**30)


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="texture_nets_") as workdir:
        return run(parser, args, Path(workdir))


def run(parser: argparse.ArgumentParser, args: argparse.Namespace, workdir: Path) -> int:
    use_physical_cores()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args.checkpoint = require_model(parser, args)
    args.device = parse_device(args.device)
    if args.content is not None:
        if args.count is not None:
            parser.error("--count is for texture samples; a photo gives one image per --seed")
        return stylize_main(parser, args, workdir)
    args.count = args.count or 1
    try:
        height, width = parse_size(args.size or "512")
    except argparse.ArgumentTypeError as error:
        parser.error(f"argument --size: {error}")
    model = read_for_mode(args.checkpoint, "texture", args.precision)
    device = args.device
    out = check_output_dir(args.out)
    assert isinstance(model, TextureModel)  # read_for_mode checked the mode
    model.to(device)
    tile, max_memory = band_options(args.tile, args.max_memory * 2**30)
    if args.backend == "onnxruntime":
        generator = cast(Generator, onnx_network(model.generator, args, workdir))
    else:
        generator = cast(Generator, model.runner(tile, max_memory))
    min_side = generator.config.min_side
    if min(height, width) < min_side:
        raise UserError(f"--size: this generator needs at least {min_side} px per side")
    args.stem = model.name
    seeds = [args.seed + i for i in range(args.count)]
    large = is_large(height, width) and args.backend == "torch"
    batch_size = 1 if large else args.batch_size  # a large sample is made alone
    start = time.perf_counter()
    written: list[Path] = []
    # one live bar at a time: a large sample shows its bands instead
    with progress_bar(enabled=len(seeds) > batch_size and not large, label="samples") as bar:
        advance = bar(len(seeds)) if bar is not None else None
        for first in range(0, len(seeds), batch_size):
            batch = seeds[first : first + batch_size]
            written += make_batch(generator, batch, height, width, args, tile, max_memory, out)
            if advance is not None:
                advance(len(batch))
    elapsed = time.perf_counter() - start
    log.info("%d sample(s) of %dx%d in %.2f s", len(written), width, height, elapsed)
    report_written(written, out)
    return 0


def make_batch(
    generator: Generator,
    seeds: list[int],
    height: int,
    width: int,
    args: argparse.Namespace,
    tile: int | None,
    max_memory: float,
    out: Path,
) -> list[Path]:
    """The samples of ``seeds``, written to ``out``; a large one shows a bar of its bands."""
    large = is_large(height, width) and args.backend == "torch"
    try:
        with progress_bar(enabled=large, label="bands") as progress:
            on_step = None
            steps = render_steps(generator, len(seeds), height, width, tile)
            if progress is not None and steps:  # a one-pass runner has no bands to count
                on_step = progress(steps)
            images = sample_textures(
                generator, height, width, seeds, args.device, tile, max_memory, on_step
            )
    except (torch.OutOfMemoryError, MemoryError, RuntimeError) as error:
        if not is_out_of_memory(error):
            raise
        raise UserError(
            f"out of memory at {width}x{height}; lower --batch-size or --size"
        ) from error
    written = []
    for seed, image in zip(seeds, images, strict=True):
        name = f"{args.stem}_{width}x{height}_seed{seed}.{args.format}"
        try:
            written.append(save_image(image, out / name))
        except OSError as error:
            raise UserError(f"cannot write to {out}: {error.strerror}") from error
    return written


def report_written(written: list[Path], out: Path, shown: int = 5) -> None:
    """End by naming what was written: the files, or their folder and the first few."""
    if len(written) <= shown:
        for path in written:
            log.info("wrote %s", path)
        return
    log.info(
        "wrote %d files to %s (%s, ...)",
        len(written),
        out,
        ", ".join(path.name for path in written[:shown]),
    )


def stylize_main(parser: argparse.ArgumentParser, args: argparse.Namespace, workdir: Path) -> int:
    """``--content FILE_OR_DIR``: stylize one photo or every image below a folder."""
    longer_side = None
    if args.size is not None:
        if not re.fullmatch(r"\s*\d+\s*", args.size) or int(args.size) <= 0:
            parser.error(
                f"argument --size: with --content, one positive number (the longer "
                f"side), got {args.size!r}"
            )
        longer_side = int(args.size)
    model = read_for_mode(args.checkpoint, "stylize", args.precision)
    device = args.device
    out = check_output_dir(args.out)
    content = Path(args.content).expanduser()
    videos: list[Path] = []  # clips: stylize_videos, after the photos
    if content.is_dir():
        root: Path | None = content
        sources = list_images(content)
        videos = list_videos(content)
        if not sources and not videos:
            raise UserError(f"{content}: no images found, nor clips (searched recursively)")
    elif is_video(content):
        root, sources, videos = None, [], [content]
    elif content.exists() or is_builtin(args.content):
        root, sources = None, [Path(args.content)]
    else:
        raise ImageError(f"{content}: no such file or directory")
    options = StylizeOptions(
        size=longer_side,
        content_scale=args.content_scale,
        photo_size=model.info.photo_size,
        original_colors=args.original_colors,
        seed=args.seed,
        batch_size=args.batch_size,
        tile="off" if args.backend == "onnxruntime" else args.tile,
        max_memory=args.max_memory * 2**30,
        format=args.format,
        device=str(device),
    )
    model.to(device)
    if args.backend == "onnxruntime":
        network = cast(Network, onnx_network(model.network, args, workdir))
    else:
        network = model.runner(*band_options(options.tile, options.max_memory))
    start = time.perf_counter()
    written: list[Path] = []
    if sources:
        long_job = root is not None or (longer_side or photo_side(sources[0])) ** 2 > LARGE_SIDE**2
        with progress_bar(enabled=long_job) as progress:
            written = stylize_files(network, sources, root, out, model.name, options, progress)
    written += stylize_videos(model.to(device), videos, root, out, args)
    elapsed = time.perf_counter() - start
    if not written:
        raise UserError(
            f"no image in {content} could be stylized (every file was skipped: see the "
            "warning above); check that the folder holds readable photos"
        )
    log.info("%d image(s) stylized in %.2f s", len(written), elapsed)
    report_written(written, out)
    return 0


def photo_side(path: Path) -> int:
    """A photo's longer side from its header (0 if unreadable or refused: the stylizing says
    why, with the checks every reader has)."""
    try:
        with Image.open(path) as image:
            return max(image.size)
    except (OSError, ValueError, Image.DecompressionBombError):
        return 0


def stylize_videos(
    model: PretrainedModel, videos: list[Path], root: Path | None, out: Path, args: Any
) -> list[Path]:
    """Stylize clips (``Stylizer.stylize_video``) to ``out/<name>_<style>.<suffix>``; in a
    folder, a clip that cannot be used is skipped with a warning (as photos are)."""
    assert isinstance(model, Stylizer)  # read_for_mode checked the mode
    if videos and args.backend != "torch":
        log.warning("clips are stylized with PyTorch (--backend %s is for photos)", args.backend)
    written: list[Path] = []
    for video in videos:
        name = output_name(video, root, model.name, output_suffix(video)[1:])
        try:
            written.append(
                model.stylize_video(
                    video,
                    out / name,
                    size=int(args.size) if args.size else None,
                    seed=args.seed,
                    temporal=args.temporal,
                    original_colors=args.original_colors,
                    content_scale=args.content_scale,
                    progress=True,
                )
            )
        except UserError as error:
            if root is None:
                raise
            log.warning("skipped %s: %s", video, error)
    return written


@contextmanager
def progress_bar(
    enabled: bool, label: str = "stylizing"
) -> Iterator[Callable[[int], Callable[..., None]] | None]:
    """A rich progress bar on stderr: yields ``start(total) -> advance(n=1)`` (or None)."""
    if not enabled:
        yield None
        return
    with Progress(console=Console(file=sys.stderr), transient=False) as progress:

        def start(total: int) -> Callable[..., None]:
            task = progress.add_task(label, total=total)
            return lambda n=1: progress.advance(task, n)

        yield start

"""``python generate.py --texture RUN``: draw texture samples of any size (no VGG needed)."""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path

import torch

from texture_nets.checkpoint import read_checkpoint
from texture_nets.errors import UserError, exit_on_user_error
from texture_nets.generator import (
    Generator,
    make_inputs,
    make_noise,
    min_image_size,
    seeded_generator,
)
from texture_nets.image import save_image

log = logging.getLogger("texture_nets")


def parse_size(text: str) -> tuple[int, int]:
    """``512`` -> (512, 512); ``640x480`` -> (height 480, width 640)."""
    match = re.fullmatch(r"(\d+)(?:x(\d+))?", text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"size must be N or WIDTHxHEIGHT, got {text!r}")
    width = int(match.group(1))
    height = int(match.group(2) or width)
    if width <= 0 or height <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return height, width


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="generate.py",
        description="Sample textures from a trained texture network.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--texture",
        "--checkpoint",
        dest="checkpoint",
        required=True,
        metavar="RUN_OR_CKPT",
        help="a run directory (uses checkpoints/last.ckpt) or a .ckpt file",
    )
    parser.add_argument(
        "--size",
        type=parse_size,
        default=(512, 512),
        metavar="N|WxH",
        help="output size in pixels (any size, not only the training size)",
    )
    parser.add_argument("--count", type=positive_int, default=1, help="number of samples")
    parser.add_argument("--seed", type=int, default=0, help="sample i uses noise seed SEED+i")
    parser.add_argument(
        "--batch-size", type=positive_int, default=4, help="samples per forward pass"
    )
    parser.add_argument("--out", default="samples", help="output directory")
    parser.add_argument("--format", choices=("png", "jpg"), default="png")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    return parser


@torch.no_grad()
def sample_textures(
    generator: Generator,
    height: int,
    width: int,
    seeds: list[int],
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """One sample per seed, (N, 3, H, W) in [0, 1]; a seed always gives the same sample."""
    noise_per_seed = [
        make_noise(1, height, width, generator.config, seeded_generator(seed), device)
        for seed in seeds
    ]
    noise = [torch.cat(scale) for scale in zip(*noise_per_seed, strict=True)]
    return generator(make_inputs(generator.config, noise))


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    info = read_checkpoint(args.checkpoint, expect_mode="texture")
    height, width = args.size
    min_side = min_image_size(info.generator_config.num_scales)
    if min(height, width) < min_side:
        raise UserError(f"--size: this generator needs at least {min_side} px per side")
    device = torch.device(args.device)
    generator = info.build_generator().to(device)
    out = Path(args.out)
    stem = Path(str(info.config.get("style_image") or "texture")).stem.removeprefix("builtin:")
    stem = stem.split(":")[-1]
    seeds = [args.seed + i for i in range(args.count)]
    start = time.perf_counter()
    written = []
    for first in range(0, len(seeds), args.batch_size):
        batch = seeds[first : first + args.batch_size]
        try:
            images = sample_textures(generator, height, width, batch, device)
        except torch.OutOfMemoryError as error:
            raise UserError(
                f"out of memory at {width}x{height}; lower --batch-size or --size"
            ) from error
        for seed, image in zip(batch, images, strict=True):
            try:
                written.append(
                    save_image(image, out / f"{stem}_{width}x{height}_seed{seed}.{args.format}")
                )
            except OSError as error:
                raise UserError(f"cannot write to {out}: {error.strerror}") from error
    elapsed = time.perf_counter() - start
    log.info("%d sample(s) of %dx%d in %.2f s -> %s", len(written), width, height, elapsed, out)
    return 0

"""Training throughput, and how close the descriptor work runs to this machine's peak.

In one run: (1) the machine's peak, a large 3x3 convolution (channels_last) and a 2048^3 matmul
in fp32 and bf16; (2) real training steps (``train.py`` with the default texture and stylize
configs; the stylize one at this project's CPU size, 128 px batch 4) timed by a callback:
seconds per step, images per second; (3) the descriptor alone, forward + backward to the
input at the training shape and precision, with its FLOPs counted analytically from the conv
shapes: achieved GFLOP/s and the fraction of the measured peak; (4) the photo loader alone
(batches per second, with the configured workers) against the training step rate.

    python -m benchmarks.training_speed
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from benchmarks.common import StepTimer, data_root, median_time, table, train_run, write_results
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import build_objective_descriptor, loss_settings
from texture_nets.precision import bf16_autocast, bf16_fast
from texture_nets.training.config import TrainConfig
from texture_nets.training.data import PhotoDataModule, photo_split
from texture_nets.training.fit import resolve

STEPS = 25  # timed steps after WARMUP
WARMUP = 5


def conv_peak(dtype: torch.dtype, repeats: int = 5) -> float:
    """GFLOP/s of a large 3x3 convolution (256 -> 256 channels, 64x64, batch 8)."""
    x = torch.randn(8, 256, 64, 64).contiguous(memory_format=torch.channels_last)
    conv = nn.Conv2d(256, 256, 3, padding=1).to(memory_format=torch.channels_last)
    flops = 2 * 8 * 256 * 256 * 9 * 64 * 64
    with (
        torch.no_grad(),
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16),
    ):
        conv(x)
        seconds = median_time(lambda: conv(x), repeats)
    return flops / seconds / 1e9


def matmul_peak(dtype: torch.dtype, repeats: int = 5) -> float:
    a = torch.randn(2048, 2048, dtype=dtype)
    b = torch.randn(2048, 2048, dtype=dtype)
    a @ b
    return 2 * 2048**3 / median_time(lambda: a @ b, repeats) / 1e9


def training_steps(mode: str, settings: dict[str, Any], work: Path) -> dict[str, Any]:
    timer = StepTimer()
    config = resolve({**settings, "out": str(work / mode)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(
            {**settings, "out": str(work / mode), "max_steps": WARMUP + STEPS,
             "sample_every": 0, "checkpoint_every": 1000, "logger": "none"},
            callbacks=[timer],
        )  # fmt: skip
    step = statistics.median(timer.times[WARMUP:])
    return {
        "mode": mode,
        "config": config,
        "seconds_per_step": step,
        "images_per_second": config.batch_size / step,
    }


def descriptor_flops(descriptor: VGGDescriptor, batch: int, side: int) -> float:
    """FLOPs of one forward pass of the (truncated) descriptor, from its conv shapes."""
    flops = 0.0
    height = width = side
    for module in descriptor.modules():
        if isinstance(module, nn.Conv2d):
            flops += 2 * batch * module.in_channels * module.out_channels * 9 * height * width
        elif isinstance(module, nn.AvgPool2d | nn.MaxPool2d):
            height, width = height // 2, width // 2
    return flops


def descriptor_speed(config: TrainConfig, repeats: int) -> dict[str, Any]:
    """Forward + backward to the input, as a training step does, at the training shape."""
    settings = loss_settings(config.to_dict(), stylize=config.mode == "stylize")
    layers = settings.layers
    descriptor, _ = build_objective_descriptor(config.descriptor, settings)
    bf16 = bf16_fast(torch.device("cpu")) and config.precision != "fp32"
    images = torch.rand(config.batch_size, 3, config.image_size, config.image_size)

    def step() -> None:
        pixels = images.clone().requires_grad_(True)
        with bf16_autocast(torch.device("cpu"), bf16):
            features = descriptor(pixels.contiguous(memory_format=torch.channels_last), layers)
        sum(f.float().pow(2).mean() for f in features.values()).backward()

    step()
    seconds = median_time(step, repeats)
    # backward to the input costs about one more forward (no weight gradients)
    flops = 2 * descriptor_flops(descriptor, config.batch_size, config.image_size)
    return {
        "seconds": seconds,
        "gflops": flops / 1e9,
        "gflop_per_second": flops / seconds / 1e9,
        "bf16": bf16,
    }


def loader_speed(config: TrainConfig, batches: int = 40) -> float:
    """Batches per second the photo loader delivers on its own."""
    split = photo_split(config.content_dir, config.val_dir, config.val_fraction, config.seed)
    data = PhotoDataModule(split, config.image_size, config.batch_size, config.num_workers, 4)
    iterator = iter(data.train_dataloader())
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args(argv)
    data = data_root()
    peaks = {
        "conv3x3_fp32": conv_peak(torch.float32),
        "conv3x3_bf16": conv_peak(torch.bfloat16),
        "matmul_fp32": matmul_peak(torch.float32),
        "matmul_bf16": matmul_peak(torch.bfloat16),
    }
    setups: dict[str, dict[str, Any]] = {
        "texture": {
            "mode": "texture", "style_image": str(data / "textures" / "tn_red_peppers.jpg"),
        },
        "stylize": {
            "mode": "stylize", "style_image": str(data / "styles" / "hokusai_great_wave.jpg"),
            "content_dir": str(data / "content" / "train"), "image_size": 128, "batch_size": 4,
        },
    }  # fmt: skip
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode, settings in setups.items():
            result = training_steps(mode, {**settings, "descriptor": args.descriptor}, Path(tmp))
            config = result.pop("config")
            result["descriptor"] = descriptor_speed(config, args.repeats)
            peak = peaks["conv3x3_bf16" if result["descriptor"]["bf16"] else "conv3x3_fp32"]
            result["descriptor"]["fraction_of_peak"] = (
                result["descriptor"]["gflop_per_second"] / peak
            )
            result["shape"] = f"{config.batch_size} x {config.image_size} px"
            if mode == "stylize":
                result["loader_batches_per_second"] = loader_speed(config)
            rows.append(result)
    markdown = to_markdown(peaks, rows)
    write_results("training_speed", markdown, {"peaks_gflop_per_second": peaks, "modes": rows})
    return 0


def to_markdown(peaks: dict[str, float], rows: list[dict[str, Any]]) -> str:
    peak_table = table(
        ["peak (measured here)", "GFLOP/s"], [[k, f"{v:.0f}"] for k, v in peaks.items()]
    )
    train_table = table(
        ["mode (batch x size)", "s/step", "images/s", "descriptor fwd+bwd", "descriptor GFLOP/s",
         "of peak", "descriptor share of step", "photo loader"],
        [
            [
                f"{r['mode']} ({r['shape']})",
                f"{r['seconds_per_step']:.3f}",
                f"{r['images_per_second']:.1f}",
                f"{r['descriptor']['seconds']:.3f} s ({r['descriptor']['gflops']:.0f} GFLOP)",
                f"{r['descriptor']['gflop_per_second']:.0f} "
                f"({'bf16' if r['descriptor']['bf16'] else 'fp32'})",
                f"{r['descriptor']['fraction_of_peak']:.0%}",
                f"{r['descriptor']['seconds'] / r['seconds_per_step']:.0%}",
                f"{r['loader_batches_per_second']:.1f} batches/s"
                if "loader_batches_per_second" in r else "-",
            ]
            for r in rows
        ],
    )  # fmt: skip
    return f"{peak_table}\n\n{train_table}"


if __name__ == "__main__":
    raise SystemExit(main())

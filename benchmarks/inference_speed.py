"""How fast the shipped generators make images, measured side by side in one run.

1. Peaks of this CPU: a 3x3 convolution in fp32 and in bf16 (channels-last, 128 channels).
2. Per shipped model (a texture at 1024x1024, a stylizer on a 1024x768 photo): the plain
   forward (``run_network``), the same under bf16 autocast, and the banded executor that
   ``generate.py`` and the API use (``networks.render``): time (median of ``--repeats``),
   convolution GFLOP/s and share of the fp32 peak, and the largest pixel difference from the
   plain fp32 forward. One more row explains the bf16 difference: the fp32 network fed its
   inputs rounded to bf16.
3. Large textures, each ``generate.py`` in a fresh process (peak RSS of the whole process):
   2048x2048 with ``--tile off`` (all in memory) and 4096x4096 with the default
   ``--max-memory 2``; beside the plain forward at 2048x2048 (fresh process) for the
   per-pixel ratio.

    python -m benchmarks.inference_speed
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from benchmarks.common import RESULTS, median_time, table, write_results
from benchmarks.generation_speed import generate_cli_peak, photo
from texture_nets import load
from texture_nets.generator import Generator, pyramid_sizes
from texture_nets.measure import run_in_fresh_process
from texture_nets.networks import render, run_network, seeded_noise

TEXTURE = "tn_red_peppers"
STYLIZER = "vangogh_starry_night"
MIB = 2**20


def conv_peak(dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of a 128-channel 3x3 convolution at 256x256 (channels-last)."""
    x = torch.randn(1, 128, 256, 256, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(128, 128, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * 128 * 128 * 9 * 256 * 256
    with torch.no_grad():
        return flops / median_time(lambda: F.conv2d(x, w, padding=1), repeats) / 1e9


def conv_flops(generator: Generator, height: int, width: int, batch: int = 1) -> float:
    """Multiply-adds x 2 of every convolution of the generator at this output size."""
    sizes = pyramid_sizes(height, width, generator.config.num_scales)
    total = 0.0
    blocks = [(block, k) for k, block in enumerate(generator.input_blocks)]
    blocks += [(block, generator.config.num_scales - 2 - i) for i, block in
               enumerate(generator.join_blocks)]  # fmt: skip
    blocks += [(generator.to_rgb, 0)]
    for block, level in blocks:
        h, w = sizes[level]
        for conv in (m for m in block.modules() if isinstance(m, nn.Conv2d)):
            k = conv.kernel_size[0] * conv.kernel_size[1]
            total += 2 * k * conv.in_channels * conv.out_channels * h * w * batch
    return total


def differences(out: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    diff = (out.float() - ref).abs().flatten()
    sample = diff[torch.randperm(diff.numel(), generator=torch.Generator().manual_seed(0))]
    return {
        "max_diff": diff.max().item(),
        "p999_diff_255": torch.quantile(sample[:5_000_000], 0.999).item() * 255,
    }


def model_rows(name: str, height: int, width: int, args: argparse.Namespace) -> list[dict]:
    model = load(name, device="cpu")
    network = model.network
    assert isinstance(network, Generator)
    config = network.config
    content = photo(width, height) if config.content_channels else None
    noise = seeded_noise(config, 1, height, width, seed=0)
    assert noise is not None
    flops = conv_flops(network, height, width)

    def plain() -> torch.Tensor:
        with torch.no_grad():
            return run_network(network, content, noise)

    def bf16() -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return run_network(network, content, noise).float()

    def rounded_inputs() -> torch.Tensor:
        rounded = [scale.bfloat16().float() for scale in noise]
        photo_in = None if content is None else content.bfloat16().float()
        with torch.no_grad():
            return run_network(network, photo_in, rounded)

    def banded() -> torch.Tensor:
        return render(network, content, noise)

    reference = plain()
    runs: dict[str, Callable[[], torch.Tensor]] = {
        "plain forward, fp32": plain,
        "plain forward, bf16 autocast": bf16,
        "banded (generate.py, API), fp32": banded,
    }
    rows = []
    for label, run in runs.items():
        print(f"{name} {width}x{height}: {label} ...", flush=True)
        seconds = median_time(run, args.repeats)
        rows.append(
            {
                "model": name,
                "size": f"{width}x{height}",
                "how": label,
                "seconds": seconds,
                "gflops": flops / seconds / 1e9,
                **differences(run(), reference),
            }
        )
    rows.append(
        {
            "model": name,
            "size": f"{width}x{height}",
            "how": "plain forward, fp32, inputs rounded to bf16",
            "seconds": None,
            "gflops": None,
            **differences(rounded_inputs(), reference),
        }
    )
    return rows


def plain_in_child(side: int) -> dict[str, Any]:
    """Runs in a fresh process: the plain forward of the texture model at ``side`` px."""
    network = load(TEXTURE, device="cpu").network
    noise = seeded_noise(network.config, 1, side, side, seed=0)
    start = time.perf_counter()
    with torch.no_grad():
        run_network(network, None, noise)
    return {"seconds": time.perf_counter() - start}


def large_rows() -> list[dict[str, Any]]:
    rows = []
    print("large: plain forward 2048x2048 ...", flush=True)
    plain = run_in_fresh_process("plain 2048", plain_in_child, 2048)
    rows.append({"what": "plain forward 2048x2048 (no bands)", "seconds": plain["seconds"]})
    with tempfile.TemporaryDirectory() as tmp:
        runs = {
            "generate.py --size 2048 --tile off": ["--size", "2048", "--tile", "off"],
            "generate.py --size 4096 (--max-memory 2)": ["--size", "4096"],
        }
        for label, argv in runs.items():
            print(f"large: {label} ...", flush=True)
            record = generate_cli_peak(["--texture", TEXTURE, *argv, "--out", tmp])
            rows.append({"what": label, **record})
    return rows


def to_markdown(peaks: dict[str, float], models: list[dict], large: list[dict]) -> str:
    lines = [
        f"Peaks (3x3 conv, 128 ch, 256 px, channels-last): fp32 {peaks['fp32']:.0f} GFLOP/s, "
        f"bf16 {peaks['bf16']:.0f} GFLOP/s.",
        "",
        table(
            [
                "model",
                "size",
                "how",
                "time",
                "conv GFLOP/s",
                "% of fp32 peak",
                "largest difference",
                "99.9% of pixels within",
            ],
            [
                [
                    r["model"],
                    r["size"],
                    r["how"],
                    "-" if r["seconds"] is None else f"{r['seconds']:.2f} s",
                    "-" if r["gflops"] is None else f"{r['gflops']:.0f}",
                    "-" if r["gflops"] is None else f"{100 * r['gflops'] / peaks['fp32']:.0f}%",
                    f"{r['max_diff']:.2g}",
                    f"{r['p999_diff_255']:.2f}/255",
                ]
                for r in models
            ],
        ),
        "",
    ]
    if not large:
        return "\n".join(lines)
    plain = large[0]["seconds"]
    rows = []
    for r in large:
        pixels = 4096**2 if "4096" in r["what"] else 2048**2
        per_pixel = r["seconds"] / pixels / (plain / 2048**2)
        peak = r.get("peak_bytes")
        rows.append(
            [
                r["what"],
                f"{r['seconds']:.1f} s",
                f"{per_pixel:.2f}x",
                "-" if peak is None else f"{peak / MIB:.0f} MiB",
            ]
        )
    lines += [
        "Large textures (`" + TEXTURE + "`), each in a fresh process; generate.py times and "
        "peaks include starting Python and loading torch:",
        "",
        table(
            ["run", "wall time", "time per pixel vs the plain 2048 px forward", "peak RSS"], rows
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument(
        "--render", action="store_true", help="rewrite results.md from results.json only"
    )
    args = parser.parse_args(argv)
    if args.render:
        saved = json.loads((RESULTS / "inference_speed" / "results.json").read_text())
        markdown = to_markdown(saved["peaks_gflops"], saved["models"], saved["large"])
        (RESULTS / "inference_speed" / "results.md").write_text(
            f"{markdown}\n\n{saved['machine']['summary']}\n"
        )
        return 0
    peaks = {
        "fp32": conv_peak(torch.float32, 5),
        "bf16": conv_peak(torch.bfloat16, 5),
    }
    models = model_rows(TEXTURE, 1024, 1024, args) + model_rows(STYLIZER, 768, 1024, args)
    large = [] if args.skip_large else large_rows()
    markdown = to_markdown(peaks, models, large)
    payload = {
        "peaks_gflops": peaks,
        "models": models,
        "large": large,
        "repeats": args.repeats,
    }
    print(f"-> {write_results('inference_speed', markdown, payload)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""How fast the shipped generators make images, measured side by side in one run.

1. Peaks of this CPU: a 3x3 convolution in fp32 and in bf16 (channels-last, 128 channels).
2. Per model (a shipped texture at 1024x1024, a shipped stylizer and Johnson's network with
   untrained weights on a 1024x768 photo): the plain
   forward (``run_network``), the same under bf16 autocast, the bf16 path that precision
   ``auto`` takes where bf16 is fast (``fastpath.Bf16Network``), the banded executor that
   ``generate.py`` and the API use (``networks.render``), the exported graph in onnxruntime
   and ``torch.compile`` (inductor), interleaved: time (median of ``--repeats``),
   convolution GFLOP/s and share of the peak of the precision it runs in, and the largest
   pixel difference from the plain fp32 forward. One more row explains the bf16 difference:
   the fp32 network fed its inputs rounded to bf16.
3. Large outputs, each ``generate.py`` in a fresh process (peak RSS of the whole process):
   a 2048x2048 texture with ``--tile off`` (all in memory), a 4096x4096 texture and a
   4000x3000 photo with the default ``--max-memory 2``; beside the plain forward at
   2048x2048 (fresh process) for the per-pixel ratio.

    python -m benchmarks.inference_speed
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from benchmarks.common import RESULTS, median_time, table, write_results
from benchmarks.generation_speed import generate_cli_peak, photo
from texture_nets import load
from texture_nets.errors import UserError
from texture_nets.evaluation.measure import run_in_fresh_process
from texture_nets.image import save_image
from texture_nets.inference.export import OnnxNetwork
from texture_nets.inference.fastpath import Bf16Network
from texture_nets.nets.johnson import JohnsonConfig, JohnsonNet
from texture_nets.nets.networks import Network, render, run_network, seeded_noise
from texture_nets.nets.ulyanov import Generator, pyramid_sizes

TEXTURE = "tn_red_peppers"
STYLIZER = "vangogh_starry_night"
JOHNSON = "johnson (untrained, default config)"
MIB = 2**20


def conv_peak(dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of a 128-channel 3x3 convolution at 256x256 (channels-last)."""
    x = torch.randn(1, 128, 256, 256, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(128, 128, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * 128 * 128 * 9 * 256 * 256
    with torch.no_grad():
        return flops / median_time(lambda: F.conv2d(x, w, padding=1), repeats) / 1e9


def conv_flops(network: Generator | JohnsonNet, height: int, width: int) -> float:
    """Multiply-adds x 2 of every convolution of the network at this output size."""
    if isinstance(network, JohnsonNet):
        return johnson_flops(network, height, width)
    generator = network
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
            total += 2 * k * conv.in_channels * conv.out_channels * h * w
    return total


def johnson_flops(network: JohnsonNet, height: int, width: int) -> float:
    """Every convolution at its resolution: strides halve it, upsampling doubles it."""
    total, scale = 0.0, 1.0
    for module in network.modules():
        if isinstance(module, nn.Upsample):
            scale *= 2
        elif isinstance(module, nn.Conv2d):
            scale /= module.stride[0]
            k = module.kernel_size[0] * module.kernel_size[1]
            pixels = height * width * scale * scale
            total += 2 * k * module.in_channels * module.out_channels * pixels
    return total


def differences(out: torch.Tensor, ref: torch.Tensor) -> dict[str, float]:
    diff = (out.float() - ref).abs().flatten()
    sample = diff[torch.randperm(diff.numel(), generator=torch.Generator().manual_seed(0))]
    return {
        "max_diff": diff.max().item(),
        "p999_diff_255": torch.quantile(sample[:5_000_000], 0.999).item() * 255,
    }


def model_rows(name: str, height: int, width: int, args: argparse.Namespace) -> list[dict]:
    if name == JOHNSON:  # no shipped Johnson model: speed does not depend on the weights
        network: Generator | JohnsonNet = JohnsonConfig().build().eval()
    else:
        network = cast(Generator, load(name, device="cpu").network)
    config = network.config
    takes_photo = network.config.takes_photo
    content = photo(width, height) if takes_photo else None
    noise = seeded_noise(config, 1, height, width, seed=0)
    flops = conv_flops(network, height, width)

    def plain() -> torch.Tensor:
        with torch.no_grad():
            return run_network(network, content, noise)

    def bf16() -> torch.Tensor:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            return run_network(network, content, noise).float()

    fast = cast(Network, Bf16Network(network))

    def bf16_path() -> torch.Tensor:
        return run_network(fast, content, noise)

    def rounded_inputs() -> torch.Tensor:
        rounded = None if noise is None else [scale.bfloat16().float() for scale in noise]
        photo_in = None if content is None else content.bfloat16().float()
        with torch.no_grad():
            return run_network(network, photo_in, rounded)

    def banded() -> torch.Tensor:
        return render(network, content, noise)

    reference = plain()
    runs: dict[str, Callable[[], torch.Tensor]] = {
        "plain forward, fp32": plain,
        "plain forward, bf16 autocast": bf16,
        "bf16 path (precision auto where fast), one pass": bf16_path,
        "banded (generate.py, API), fp32": banded,
    }
    try:
        with tempfile.TemporaryDirectory() as folder:  # the session holds the graph in memory
            onnx = cast(Network, OnnxNetwork.from_network(network, folder))
        runs["onnxruntime, fp32"] = lambda: run_network(onnx, content, noise)
    except UserError as error:  # the [export] extra is missing
        print(f"  onnxruntime row left out: {error}", flush=True)
    if args.compile:
        compiled = cast(Network, torch.compile(network))

        def compiled_run() -> torch.Tensor:
            with torch.no_grad():
                return run_network(compiled, content, noise)

        start = time.perf_counter()
        try:
            compiled_run()  # compiles (not timed with the runs)
            runs["torch.compile (inductor), fp32"] = compiled_run
            print(f"  torch.compile + first run: {time.perf_counter() - start:.0f} s", flush=True)
        except Exception as error:  # no C++ compiler, an unsupported op...
            print(f"  torch.compile row left out: {type(error).__name__}: {error}", flush=True)
    print(f"{name} {width}x{height}: {', '.join(runs)} (interleaved) ...", flush=True)
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(args.repeats):  # round-robin, so a noisy minute hits every variant
        for label, run in runs.items():
            start = time.perf_counter()
            run()
            times[label].append(time.perf_counter() - start)
    rows: list[dict[str, Any]] = []
    for label, run in runs.items():
        seconds = statistics.median(times[label])
        rows.append(
            {
                "model": name,
                "size": f"{width}x{height}",
                "how": label,
                "precision": "bf16" if "bf16" in label else "fp32",
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
        photo_file = Path(tmp) / "photo.png"
        save_image(photo(4000, 3000), photo_file)
        runs = {
            "generate.py --size 2048 --tile off": ["--texture", TEXTURE, "--size", "2048",
                                                   "--tile", "off"],
            "generate.py --size 4096 (--max-memory 2)": ["--texture", TEXTURE, "--size", "4096"],
            f"generate.py 4000x3000 photo, {STYLIZER} (--max-memory 2)": [
                "--checkpoint", STYLIZER, "--content", str(photo_file)],
        }  # fmt: skip
        for label, argv in runs.items():
            print(f"large: {label} ...", flush=True)
            record = generate_cli_peak([*argv, "--out", str(Path(tmp) / "out")])
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
                "% of its precision's peak",
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
                    "-"
                    if r["gflops"] is None
                    else f"{100 * r['gflops'] / peaks[r.get('precision', 'fp32')]:.0f}%",
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
        photo_run = "photo" in r["what"]
        pixels = 4096**2 if "4096" in r["what"] else 2048**2
        per_pixel = r["seconds"] / pixels / (plain / 2048**2)
        peak = r.get("peak_bytes")
        rows.append(
            [
                r["what"],
                f"{r['seconds']:.1f} s",
                "-" if photo_run else f"{per_pixel:.2f}x",
                "-" if peak is None else f"{peak / MIB:.0f} MiB",
            ]
        )
    lines += [
        f"Large outputs (texture `{TEXTURE}`), each in a fresh process; generate.py times and "
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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time torch.compile too (minutes of compilation per model on a small CPU; needs "
        "a C++ compiler)",
    )
    parser.add_argument(
        "--skip-large", action="store_true", help="keep the large-output rows of the last run"
    )
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
    models = [
        *model_rows(TEXTURE, 1024, 1024, args),
        *model_rows(STYLIZER, 768, 1024, args),
        *model_rows(JOHNSON, 768, 1024, args),
    ]
    saved = RESULTS / "inference_speed" / "results.json"
    if args.skip_large and saved.is_file():  # keep the large outputs measured before
        large = json.loads(saved.read_text())["large"]
    else:
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

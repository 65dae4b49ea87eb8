"""bf16 inference accuracy: how far the bf16 path moves each shipped model's pixels, and
what ``precision="auto"`` decides from its probe.

For every shipped model: the probe's error (``fastpath.bf16_error``: 128 px, the built-in
photo, what auto decides from) and the error at the size of use (512 px, a held-out photo
or a 512 px sample, another noise seed), each as the 99.9th percentile and maximum of
|bf16 - fp32| in levels of 255, and auto's verdict on a CPU where bf16 is fast. Accuracy
does not depend on the CPU (bf16 rounding is the same where it is emulated); the speed of
the bf16 path is in ``benchmarks.inference_speed``.

    python -m benchmarks.bf16_accuracy
"""

from __future__ import annotations

import argparse
from typing import cast

import torch

import texture_nets as tn
from benchmarks.common import data_root, table, write_results
from texture_nets.image import list_images, load_image
from texture_nets.inference.fastpath import (
    BF16_SCALES,
    PROBE_MARGIN,
    PROBE_SIDE,
    TOLERANCE,
    Bf16Network,
    bf16_error,
    pixel_error,
)
from texture_nets.inference.pretrained import shipped_models
from texture_nets.nets.networks import Network, run_network, seeded_noise


def error_at_use(network: Network, side: int, seed: int) -> tuple[float, float]:
    """|bf16 - fp32| at the size of use: the first held-out photo (stylizers) or a sample."""
    config = network.config
    content = None
    if config.takes_photo:
        content = load_image(sorted(list_images(data_root() / "content" / "val"))[0], side)
    height, width = content.shape[-2:] if content is not None else (side, side)
    noise = seeded_noise(config, 1, height, width, seed)
    with torch.no_grad():
        exact = run_network(network, content, noise)
    return pixel_error(run_network(cast(Network, Bf16Network(network)), content, noise), exact)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--side", type=int, default=512, help="the size of use")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rows, payload, taken = [], {}, 0
    for name in sorted(shipped_models()):
        model = tn.load(name, "cpu", precision="fp32")
        probe = bf16_error(model.network)
        use = error_at_use(model.network, args.side, args.seed)
        auto = TOLERANCE.accepts(probe, PROBE_MARGIN)
        taken += auto
        payload[name] = {"probe": probe, "use": use, "auto_bf16": auto}
        rows.append([
            name, model.info.mode, f"{probe[0]:.2f} / {probe[1]:.2f}",
            f"{use[0]:.2f} / {use[1]:.2f}", "yes" if TOLERANCE.accepts(use) else "no",
            "bf16" if auto else "fp32",
        ])  # fmt: skip
        print(rows[-1], flush=True)
    header = [
        "model", "kind", f"probe ({PROBE_SIDE} px): p99.9 / max",
        f"at {args.side} px: p99.9 / max",
        f"within {TOLERANCE.p999:g}/255 (99.9%), {TOLERANCE.worst:g}/255 (all)",
        "auto where bf16 is fast",
    ]  # fmt: skip
    markdown = "\n\n".join([
        f"|bf16 - fp32| in levels of 255: bf16 convolutions on channels-last maps (their "
        f"output cast to fp32); normalisation and Ulyanov's scales {BF16_SCALES} and coarser "
        f"in fp32 (`fastpath.Bf16Network`). Auto takes bf16 where the probe is within "
        f"{PROBE_MARGIN} x the tolerance: {taken} of {len(payload)} shipped models.",
        table(header, rows),
    ])  # fmt: skip
    write_results("bf16_accuracy", markdown, {"side": args.side, "models": payload})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Texture quality benchmark: trained generator vs Gatys optimisation, same descriptor and loss.

For each texture: train a network with the texture defaults (``--max-steps`` overrides),
measure the texture loss of 256x256 samples under the descriptor (fp32), run Gatys L-BFGS on a
256x256 image from noise with the same descriptor and loss, and time generation at 256 and
1024 px. Prints a Markdown table, writes ``results/texture_quality.{json,md}`` and a picture
per texture (example | network samples | Gatys).

    python -m benchmarks.texture_quality --max-steps 600 --gatys-steps 200
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torchvision.utils import make_grid

from benchmarks.common import RESULTS, data_root, machine_info, median_time, train_run
from texture_nets.baselines.gatys import synthesize
from texture_nets.image import load_image, save_image
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import sample_textures
from texture_nets.objective.objective import Objective, build_objective_descriptor, loss_settings
from texture_nets.precision import bf16_fast

DEFAULT_TEXTURES = (
    "tn_red_peppers.jpg",
    "tn_pebbles.jpg",
    "dcor_flagstones.jpg",
    "dcor_foliage.jpg",
    "tn_bricks.jpg",
)
SAMPLE_SEEDS = (100, 101, 102, 103)


def evaluate(name: str, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    texture = data_root() / "textures" / name
    run = work / Path(name).stem
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(
            {"mode": "texture", "style_image": str(texture), "out": str(run),
             "max_steps": args.max_steps, "descriptor": args.descriptor, "sample_every": 0,
             "logger": "csv"}
        )  # fmt: skip
    train_seconds = time.perf_counter() - start
    info = read_checkpoint(run)
    config = info.config
    generator = info.build_generator()

    settings = loss_settings(config, stylize=False)
    layers = settings.layers
    descriptor, _ = build_objective_descriptor(args.descriptor, settings)
    objective = Objective.build(descriptor, settings, [load_image(texture, settings.style_size)])
    loss = objective.loss
    with torch.no_grad():
        samples = sample_textures(generator, 256, 256, list(SAMPLE_SEEDS))
        per_sample = [loss(descriptor(s[None], layers)).total.item() for s in samples]
    network_loss = statistics.mean(per_sample)

    gatys_start = time.perf_counter()
    result = synthesize(
        objective,
        (256, 256),
        args.gatys_steps,
        optimizer="lbfgs",
        use_bf16=bf16_fast(torch.device("cpu")),
        progress=False,
    )
    gatys_seconds = time.perf_counter() - gatys_start
    with torch.no_grad():  # re-measure in fp32 so both sides are scored identically
        gatys_loss = loss(descriptor(result.image, layers)).total.item()

    gen256 = median_time(lambda: sample_textures(generator, 256, 256, [0]), args.repeats)
    gen1024 = median_time(
        lambda: sample_textures(generator, 1024, 1024, [0]), max(1, args.repeats // 2)
    )

    example = torch.nn.functional.interpolate(load_image(texture), size=(256, 256), mode="area")
    picture = make_grid(
        torch.cat([example, samples[:3], result.image]), nrow=5, padding=4, pad_value=1.0
    )
    save_image(picture, RESULTS / "texture_quality" / f"{Path(name).stem}.png")
    return {
        "texture": name,
        "steps": info.global_step,
        "train_seconds": round(train_seconds, 1),
        "network_loss": network_loss,
        "network_loss_per_sample": per_sample,
        "gatys_steps": args.gatys_steps,
        "gatys_loss": gatys_loss,
        "gatys_seconds": round(gatys_seconds, 1),
        "loss_ratio": network_loss / gatys_loss,
        "generate_256_ms": round(gen256 * 1000, 1),
        "generate_1024_ms": round(gen1024 * 1000, 1),
        "descriptor": info.descriptor_source,
    }


def to_markdown(rows: list[dict[str, Any]]) -> str:
    header = (
        "| texture | train steps | train time | network loss | Gatys loss (L-BFGS steps, time) "
        "| network / Gatys | 256 px sample | 1024 px sample |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        gatys = f"{r['gatys_loss']:.4f} ({r['gatys_steps']}, {r['gatys_seconds']:.0f} s)"
        lines.append(
            f"| {r['texture']} | {r['steps']} | {r['train_seconds'] / 60:.1f} min "
            f"| {r['network_loss']:.4f} | {gatys} | {r['loss_ratio']:.2f}x "
            f"| {r['generate_256_ms']:.0f} ms | {r['generate_1024_ms']:.0f} ms |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--textures", nargs="+", default=list(DEFAULT_TEXTURES))
    parser.add_argument("--max-steps", type=int, default=600)
    parser.add_argument("--gatys-steps", type=int, default=200)
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--work", type=Path, default=RESULTS / "tmp")
    args = parser.parse_args(argv)
    rows = []
    for name in args.textures:
        rows.append(evaluate(name, args, args.work))
        print(to_markdown(rows[-1:]).splitlines()[-1], flush=True)
    table = to_markdown(rows)
    print(table)
    out = RESULTS / "texture_quality"
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(
        json.dumps({"machine": machine_info(), "rows": rows}, indent=2)
    )
    (out / "results.md").write_text(f"{machine_info()['summary']}\n\n{table}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

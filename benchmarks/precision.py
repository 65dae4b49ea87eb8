"""Training precisions side by side: the same texture network trained under each, final
samples scored with the fp32 descriptor.

``auto`` and ``bf16`` run the generator and the descriptor under bf16 autocast (weights, Adam,
Grams and losses in fp32); ``bf16-descriptor`` only the descriptor; ``fp32`` nothing. For every
texture and seed this trains the default texture config for ``--steps`` steps in each
precision (same seed, same noise) and scores four fixed-seed 256 px samples with the fp32
descriptor: a faster precision must not make the texture worse. Step times are medians over
the steps after the first five, measured in the same process, one precision after the other.

    python -m benchmarks.precision --steps 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import warnings
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import (
    StepTimer,
    TextureObjective,
    data_root,
    table,
    train_run,
    write_results,
)
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import sample_textures
from texture_nets.precision import bf16_supported

SEEDS = [100, 101, 102, 103]
PRECISIONS = ("fp32", "bf16-descriptor", "bf16")


def train_and_score(
    texture: Path, precision: str, seed: int, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    timer = StepTimer()
    run = work / f"{texture.stem}-{seed}-{precision}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(
            {"mode": "texture", "style_image": str(texture), "out": str(run),
             "precision": precision, "seed": seed, "descriptor": args.descriptor,
             "max_steps": args.steps, "sample_every": 0, "logger": "none"},
            callbacks=[timer],
        )  # fmt: skip
    objective = TextureObjective.load(texture, args.descriptor)
    generator = read_checkpoint(run).build_generator().eval()
    loss = objective.score(sample_textures(generator, 256, 256, SEEDS))
    return {
        "texture": texture.stem,
        "seed": seed,
        "precision": precision,
        "loss_fp32": loss,
        "seconds_per_step": statistics.median(timer.times[5:]),
    }


def to_markdown(rows: list[dict[str, Any]], precisions: list[str], steps: int) -> str:
    """One row per (texture, seed): each precision's loss and step time, and the ratios to
    the first precision."""
    base = precisions[0]
    header = ["texture", "seed"]
    for p in precisions:
        header += [f"{p} loss", f"{p} s/step"]
    lines: list[list[Any]] = []
    ratios: dict[str, tuple[list[float], list[float]]] = {p: ([], []) for p in precisions[1:]}
    for key in dict.fromkeys((r["texture"], r["seed"]) for r in rows):
        runs = {r["precision"]: r for r in rows if (r["texture"], r["seed"]) == key}
        line: list[Any] = list(key)
        for p in precisions:
            line += [f"{runs[p]['loss_fp32']:.4f}", f"{runs[p]['seconds_per_step']:.3f}"]
            if p != base:
                ratios[p][0].append(runs[p]["loss_fp32"] / runs[base]["loss_fp32"])
                ratios[p][1].append(runs[p]["seconds_per_step"] / runs[base]["seconds_per_step"])
        lines.append(line)
    text = f"Loss of 4 samples (256 px) after {steps} steps, scored in fp32.\n\n"
    text += table(header, lines)
    for p, (loss, time) in ratios.items():
        text += (
            f"\n\n{p} / {base}: loss median {statistics.median(loss):.3f}x "
            f"(range {min(loss):.3f}-{max(loss):.3f}), step time median "
            f"{statistics.median(time):.2f}x"
        )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--textures", nargs="+", default=["tn_red_peppers.jpg", "tn_pebbles.jpg"],
        help="files in textures/",
    )  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS))
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--descriptor", default="auto")
    args = parser.parse_args(argv)
    if not bf16_supported(torch.device("cpu")):
        raise SystemExit("this CPU has no bf16 support: nothing to compare")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.textures:
            for seed in args.seeds:
                for precision in args.precisions:
                    texture = data_root() / "textures" / name
                    rows.append(train_and_score(texture, precision, seed, args, Path(tmp)))
                    print(rows[-1], flush=True)
    markdown = to_markdown(rows, args.precisions, args.steps)
    write_results("precision", markdown, {"steps": args.steps, "runs": rows})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

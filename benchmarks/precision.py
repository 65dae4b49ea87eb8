"""bf16 vs fp32 descriptor: the same texture network trained twice, final loss scored in fp32.

Training runs the descriptor under bf16 autocast where the CPU supports it (Grams in fp32).
This trains the default texture config for ``--steps`` steps with ``--precision bf16`` and with
``--precision fp32`` (same seed, same noise) and scores four fixed-seed 256 px samples of each
with the fp32 descriptor: bf16 must not make the texture worse. Also reports the step times.

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

from benchmarks.common import StepTimer, TextureObjective, data_root, table, write_results
from texture_nets import train_cli
from texture_nets.checkpoint import read_checkpoint
from texture_nets.networks import sample_textures
from texture_nets.precision import bf16_supported

SEEDS = [100, 101, 102, 103]


def train_and_score(
    texture: Path, precision: str, args: argparse.Namespace, work: Path
) -> dict[str, Any]:
    timer = StepTimer()
    run = work / precision
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = train_cli.main(
            ["--texture", str(texture), "--out", str(run), "--precision", precision,
             "--descriptor", args.descriptor, "--max-steps", str(args.steps),
             "--sample-every", "0", "--logger", "none"],
            callbacks=[timer],
        )  # fmt: skip
    if code != 0:
        raise RuntimeError(f"{precision} training failed with exit code {code}")
    objective = TextureObjective.load(texture, args.descriptor)
    generator = read_checkpoint(run).build_generator().eval()
    loss = objective.score(sample_textures(generator, 256, 256, SEEDS))
    return {
        "precision": precision,
        "loss_fp32": loss,
        "seconds_per_step": statistics.median(timer.times[5:]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texture", default="tn_red_peppers.jpg", help="a file in textures/")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--descriptor", default="auto")
    args = parser.parse_args(argv)
    if not bf16_supported(torch.device("cpu")):
        raise SystemExit("this CPU has no bf16 support: nothing to compare")
    texture = data_root() / "textures" / args.texture
    with tempfile.TemporaryDirectory() as tmp:
        rows = [train_and_score(texture, p, args, Path(tmp)) for p in ("fp32", "bf16")]
    fp32, bf16 = rows
    markdown = table(
        ["descriptor precision", f"loss after {args.steps} steps (scored in fp32)", "s/step"],
        [[r["precision"], f"{r['loss_fp32']:.4f}", f"{r['seconds_per_step']:.3f}"] for r in rows],
    )
    markdown += (
        f"\n\nbf16 / fp32: loss {bf16['loss_fp32'] / fp32['loss_fp32']:.3f}x, "
        f"step time {bf16['seconds_per_step'] / fp32['seconds_per_step']:.2f}x "
        f"({Path(args.texture).stem})"
    )
    write_results(
        "precision", markdown, {"texture": args.texture, "steps": args.steps, "runs": rows}
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

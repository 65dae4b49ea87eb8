"""Time to quality: CPU training time until a texture network's samples reach k x Gatys's loss.

For each texture: Gatys L-BFGS from noise at 256 px (``--gatys-steps`` iterations) gives the
reference loss; then a network trains with the texture defaults while a callback scores
four fixed-seed 256 px samples every ``--eval-every`` steps (fp32 descriptor, same loss) and
records the training wall time (scoring time excluded). Training stops at 1.2x the reference
or after ``--minutes``. The trained runs stay in ``--work`` (the generation benchmark reuses
them).

    python -m benchmarks.time_to_quality --minutes 10
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path
from typing import Any, cast

import lightning.pytorch as pl
import torch

from benchmarks.common import TextureObjective, data_root, table, train_run, write_results
from texture_nets.nets.networks import sample_textures
from texture_nets.nets.ulyanov import Generator

TEXTURES = ("tn_red_peppers.jpg", "tn_pebbles.jpg", "dcor_flagstones.jpg")
SEEDS = [100, 101, 102, 103]
TARGETS = (1.5, 1.2)


class QualityTracker(pl.Callback):
    """Scores samples every ``every`` steps; stops at the last target or the time budget."""

    def __init__(self, objective: TextureObjective, reference: float, every: int, budget: float):
        self.objective = objective
        self.reference = reference
        self.every = every
        self.budget = budget
        self.trained = 0.0  # training seconds, scoring excluded
        self.started = 0.0
        self.curve: list[dict[str, float]] = []

    def on_train_batch_start(self, trainer: pl.Trainer, *args: Any) -> None:
        self.started = time.perf_counter()

    def on_train_batch_end(
        self, trainer: pl.Trainer, module: pl.LightningModule, *args: Any
    ) -> None:
        self.trained += time.perf_counter() - self.started
        step = trainer.global_step
        if step % self.every and step < trainer.max_steps:
            return
        generator = cast(Generator, module.generator)
        generator.eval()
        loss = self.objective.score(sample_textures(generator, 256, 256, SEEDS))
        generator.train()
        ratio = loss / self.reference
        self.curve.append(
            {"step": step, "seconds": round(self.trained, 1), "loss": loss, "ratio": ratio}
        )
        print(
            f"step {step}: {self.trained:.0f} s, loss {loss:.4f} = {ratio:.2f}x Gatys", flush=True
        )
        if ratio <= min(TARGETS) or self.trained > self.budget:
            trainer.should_stop = True

    def first_reaching(self, target: float) -> dict[str, float] | None:
        return next((point for point in self.curve if point["ratio"] <= target), None)


def evaluate(name: str, args: argparse.Namespace) -> dict[str, Any]:
    texture = data_root() / "textures" / name
    objective = TextureObjective.load(texture, args.descriptor)
    gatys = objective.gatys(256, args.gatys_steps)
    tracker = QualityTracker(objective, gatys.loss, args.eval_every, args.minutes * 60)
    run = args.work / Path(name).stem
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(
            {"mode": "texture", "style_image": str(texture), "out": str(run),
             "descriptor": args.descriptor, "max_steps": args.max_steps, "sample_every": 0,
             "logger": "csv"},
            callbacks=[tracker],
        )  # fmt: skip
    result: dict[str, Any] = {
        "texture": name,
        "gatys_loss": gatys.loss,
        "gatys_iterations": gatys.iterations,
        "gatys_seconds": round(gatys.seconds, 1),
        "curve": tracker.curve,
        "final_ratio": tracker.curve[-1]["ratio"],
        "run": str(run),
    }
    for target in TARGETS:
        point = tracker.first_reaching(target)
        result[f"seconds_to_{target}x"] = point["seconds"] if point else None
    return result


def to_markdown(results: list[dict[str, Any]], minutes: float) -> str:
    def reached(value: float | None) -> str:
        return f"{value / 60:.1f} min" if value is not None else f"not in {minutes:g} min"

    rows = [
        [
            Path(r["texture"]).stem,
            f"{r['gatys_loss']:.4f} ({r['gatys_iterations']} it, {r['gatys_seconds']:.0f} s)",
            reached(r["seconds_to_1.5x"]),
            reached(r["seconds_to_1.2x"]),
            f"{r['final_ratio']:.2f}x after {r['curve'][-1]['seconds'] / 60:.1f} min "
            f"({r['curve'][-1]['step']:.0f} steps)",
        ]
        for r in results
    ]
    header = ["texture", "Gatys loss (256 px)", "to 1.5x Gatys", "to 1.2x Gatys", "at the end"]
    return table(header, rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--textures", nargs="+", default=list(TEXTURES), help="files in textures/")
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per texture")
    parser.add_argument("--max-steps", type=int, default=1500, help="step limit (config default)")
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--gatys-steps", type=int, default=200)
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--work", type=Path, default=Path("runs/bench_textures"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    torch.manual_seed(0)
    results = [evaluate(name, args) for name in args.textures]
    write_results("time_to_quality", to_markdown(results, args.minutes), {"textures": results})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

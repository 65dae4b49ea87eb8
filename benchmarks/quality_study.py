"""Quality per CPU minute: which training levers buy texture quality, against the floor that
real samples of the example set.

Every configuration of a part trains a texture network for the same budget: wall-clock
minutes (``--max-time``, one run at a time on an otherwise idle machine, so wall time is CPU
time) where the levers change the cost of a step, or steps where they do not (equal steps
are then equal CPU time on any machine, and runs from different machines pool; the seconds
are recorded beside them). Its samples are scored against the whole example, in fp32, by
three measures:

* the Gram (style) distance over relu1_1..relu5_1, the training objective;
* the sliced Wasserstein distance (SWD) of the same layers' features, which no method trains
  on here;
* diversity: the shift-invariant pixel distance between samples of different noise (shifted
  copies score 0, so a generator that collapses to one texture cannot pass for diverse).

The floor: random crops of the example, of the sample size, scored the same way (what a
perfect generator of new samples could reach; Gatys' single image fits the example's exact
statistics and goes below it). Gatys' L-BFGS image is scored at 100/200/300/1000 iterations.
The sample size is set per texture so that crops are at most ~60% of the example's shorter
side (256 px at most).

Parts: ``screen`` (one seed, three textures, short budgets, every lever), ``compare`` (the
old default against the best candidates, three seeds, five textures, the issue's budget) and
``stylize`` (two styles: each stylizer's style and content distance on four validation photos
over Gatys' style transfer from the same photos after 300 iterations). Each
finished run writes one JSON file under ``benchmarks/results/quality_study/runs/``; rerunning
skips finished runs and resumes interrupted ones from ``--work`` (their checkpoints), so the
study can run in parts. ``--report-only rebuilds ``docs/quality.md`` and the
plots from the files.

    python -m benchmarks.quality_study --part screen
    python -m benchmarks.quality_study --part compare --seeds 0
    python -m benchmarks.quality_study --part stylize
    python -m benchmarks.quality_study --report-only
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.pytorch.callbacks import Timer
from PIL import Image
from torch import Tensor

from benchmarks.common import REPO, RESULTS, data_root, machine_info, table, train_run
from benchmarks.stylize_quality import Gatys, square_photo
from benchmarks.stylize_quality import scores as stylize_scores
from texture_nets.baselines.gatys import synthesize
from texture_nets.cli import train as train_cli
from texture_nets.evaluation.metrics import Diversity, texture_report
from texture_nets.evaluation.plots import Curve, image_grid, plot_curves
from texture_nets.image import list_images, load_image, tensor_to_pil
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import Network, sample_textures, texture_generator
from texture_nets.objective.objective import Objective, load_descriptor, loss_settings
from texture_nets.precision import bf16_fast
from texture_nets.training.config import TrainConfig
from texture_nets.training.config_files import mode_config

STUDY = RESULTS / "quality_study"
DOC = REPO / "docs" / "quality.md"
FINDINGS = STUDY / "findings.md"  # written by hand from the tables; the report includes it
FIGURES = REPO / "docs" / "images" / "quality"
SAMPLE_SEEDS = (100, 101, 102, 103)
CROPS = 8
GATYS_MARKS = (100, 200, 300, 1000)
SNAPSHOTS = 4  # scored points per run (at 1/4, 2/4, 3/4 of the budget, and the end)

# Every lever as train.py flags on top of the defaults of the code under test (since the
# compare part: cosine schedule and moving average, configs/texture.yaml). The schedule and
# average configs spell out both keys, so each keeps its meaning when the defaults change.
CONFIGS: dict[str, list[str]] = {
    "default": [],
    # the defaults before the compare part (step decay, last iterate); `default` in the
    # archived screen tables
    "old-default": ["--lr-schedule", "step", "--ema-decay", "0"],
    "fp32-generator": ["--precision", "bf16-descriptor"],  # the generator's bf16, per minute
    "cosine": ["--lr-schedule", "cosine", "--ema-decay", "0"],
    "ema": ["--lr-schedule", "step", "--ema-decay", "0.99"],
    "cosine+ema": ["--lr-schedule", "cosine", "--ema-decay", "0.99"],
    "b4-128px+cosine+ema": [
        "--image-size", "128", "--batch-size", "4", "--lr-schedule", "cosine",
        "--ema-decay", "0.99",
    ],
    "lr0.03+cosine+ema": ["--lr", "0.03", "--lr-schedule", "cosine", "--ema-decay", "0.99"],
    # levers of the objective (screened; see docs/quality.md)
    "swd": ["--texture-loss", "swd"],
    "unit-gradients": ["--normalize-gradients", "true"],
    "b2+diversity0.1": ["--batch-size", "2", "--diversity-weight", "0.1"],
    "coarse16": ["--coarse-channels", "16"],  # 8 -> 16 in the coarser half of the scales
    # the learning-rate warm-up (default 50 steps): none, and four times as long
    "warmup0": ["--warmup-steps", "0"],
    "warmup200": ["--warmup-steps", "200"],
    # the batch: 4 batches of one 256 px image summed per step (the paper sums 16 on a GPU)
    "accumulate4": ["--accumulate-grad-batches", "4"],
    # random training sizes: each step's side drawn from 256, 224, ..., 128
    "random128": ["--random-size-min", "128"],
}  # fmt: skip


# Stylize levers, on top of the stylize defaults at this project's CPU size (128 px crops,
# batch 4: benchmarks.stylize_quality)
STYLIZE_FLAGS = ["--image-size", "128", "--batch-size", "4"]
STYLIZE_CONFIGS: dict[str, list[str]] = {
    "default": [],
    "cosine+ema": ["--lr-schedule", "cosine", "--ema-decay", "0.99"],
    "ulyanov8ch": ["--channels", "8"],
    "johnson": ["--generator", "johnson"],
    "style-weight1": ["--style-weight", "1.0"],
    # the training size at the same pixels per step: 256 px crops hold more of a photo's
    # layout and the style's strokes at their scale; 4 photos per step average more
    "256px-batch1": ["--image-size", "256", "--batch-size", "1"],
}
STYLIZE_PHOTOS = 4  # the first validation photos, 256 px centre squares


@dataclass(frozen=True)
class Part:
    """A set of runs: items x seeds x configs, each for one budget: ``minutes`` of wall clock
    (levers that change the cost of a step) or ``steps`` (configs of equal cost per step:
    equal steps are equal CPU time on any machine, so runs from different machines pool)."""

    items: tuple[str, ...]  # texture files, or style files (stylize)
    seeds: tuple[int, ...]
    configs: tuple[str, ...]
    minutes: float | None = None
    steps: int | None = None
    fixed: tuple[str, ...] = ()  # flags of every run of the part, before the config's
    mode: str = "texture"

    def __post_init__(self) -> None:
        if (self.minutes is None) == (self.steps is None):
            raise ValueError("a part has a budget in minutes or in steps, not both")
        if (self.minutes or self.steps or 0) <= 0:
            raise ValueError("a part's budget must be positive")

    @property
    def budget(self) -> str:
        return f"{self.steps} steps" if self.steps is not None else f"{self.minutes:g} min"

    @property
    def flags(self) -> dict[str, list[str]]:
        return CONFIGS if self.mode == "texture" else STYLIZE_CONFIGS


# the five largest examples (crops need room); screening uses three of different kinds
LARGE_TEXTURES = (
    "dcor_roof_tiles.jpg",
    "dcor_foliage.jpg",
    "dcor_flagstones.jpg",
    "tn_bricks.jpg",
    "dcor_leather.jpg",
)
PARTS = {
    "screen": Part(LARGE_TEXTURES[:3], (0,), tuple(CONFIGS), minutes=4.0),
    # the last levers, with the default again: steps per minute moved between sittings on this
    # shared machine, and a time budget pairs fairly only runs of one sitting
    "screen3": Part(
        LARGE_TEXTURES[:3], (0,),
        ("default", "warmup0", "warmup200", "accumulate4", "random128"), minutes=4.0,
    ),
    # old-default and cosine+ema cost the same per step: a step budget (400 steps: 15 minutes
    # at fp32 on a 2-core AVX2 CPU, 4.5 at bf16 on a 2-core AVX-512 one); precision auto,
    # recorded per run: the two configs of a seed run on one machine
    "compare": Part(LARGE_TEXTURES, (0, 1, 2), ("old-default", "cosine+ema"), steps=400),
    # stylize: 6 configs x 2 styles x 5 minutes, an hour on one machine; 5 minutes was 270-420
    # steps (by config) at bf16 on a 2-core AVX-512 CPU (the zoo's stylizers had 300-400)
    "stylize": Part(
        ("hokusai_great_wave.jpg", "vangogh_starry_night.jpg"), (0,), tuple(STYLIZE_CONFIGS),
        minutes=5.0, mode="stylize",
    ),
    # the stylize target's budget: 30 minutes, the default and the config nearest Gatys' style
    # at 5 minutes; one style (the demo's), scored at 7.5, 15, 22.5 and 30 minutes
    "stylize30": Part(
        ("vangogh_starry_night.jpg",), (0,), ("default", "style-weight1"), minutes=30.0,
        mode="stylize",
    ),
}  # fmt: skip


# -- scoring ------------------------------------------------------------------------------------
class Scorer:
    """The example of one texture, its descriptor (fp32) and the measures of the study."""

    def __init__(self, texture: Path, descriptor_source: str) -> None:
        defaults = TrainConfig(style_image=str(texture))
        self.settings = loss_settings(defaults.to_dict(), stylize=False)
        self.descriptor, _ = load_descriptor(descriptor_source, self.settings)
        self.example = load_image(texture, defaults.style_size)
        self.layers = list(self.settings.style_layers)
        side = min(self.example.shape[-2:])
        self.size = max(64, min(256, int(0.6 * side) // 32 * 32))

    def outputs(self, network: Network) -> Tensor:
        """Four samples at the sample size, fixed noise."""
        return sample_textures(texture_generator(network), self.size, self.size, list(SAMPLE_SEEDS))

    def score(self, images: Tensor) -> dict[str, float]:
        report = texture_report(self.descriptor, self.example, images, self.layers)
        if images.shape[0] >= 2:
            shifts = Diversity(shift_invariant=True)
            shifts.update(images)
            report["diversity_shifts"] = float(shifts.compute())
        return report

    def crops(self, count: int = CROPS, seed: int = 0) -> Tensor:
        """Random crops of the example at the sample size (fixed positions per seed)."""
        rng = torch.Generator().manual_seed(seed)
        height, width = self.example.shape[-2:]
        tops = torch.randint(0, height - self.size + 1, (count,), generator=rng)
        lefts = torch.randint(0, width - self.size + 1, (count,), generator=rng)
        return torch.cat(
            [
                self.example[..., t : t + self.size, left : left + self.size]
                for t, left in zip(tops.tolist(), lefts.tolist(), strict=True)
            ]
        )


def gatys_reference(scorer: Scorer, steps: int) -> list[dict[str, Any]]:
    """Gatys from noise at the sample size, scored at ``GATYS_MARKS`` up to ``steps``."""
    objective = Objective.build(scorer.descriptor, scorer.settings, [scorer.example])
    marks = [m for m in GATYS_MARKS if m <= steps] or [steps]
    images: dict[int, tuple[Tensor, float]] = {}
    start = time.perf_counter()

    def keep(iteration: int, image: Tensor, value: float) -> None:
        if iteration in marks:
            images[iteration] = (image.detach().clone(), time.perf_counter() - start)

    synthesize(
        objective, (scorer.size, scorer.size), max(marks), use_bf16=bf16_fast(torch.device("cpu")),
        callback=keep, progress=False,
    )  # fmt: skip
    return [
        {"iterations": m, "seconds": seconds, **scorer.score(image)}
        for m, (image, seconds) in sorted(images.items())
    ]


def reference(texture: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The floor (crops) and Gatys for one texture: computed once, kept in a file (delete it
    to recompute with other ``--gatys-steps`` or ``--descriptor``)."""
    path = STUDY / "references" / f"{texture.stem}.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    scorer = Scorer(texture, args.descriptor)
    result = {
        "texture": texture.stem,
        "size": scorer.size,
        "example": list(scorer.example.shape[-2:]),
        "floor": scorer.score(scorer.crops()),
        "gatys": gatys_reference(scorer, args.gatys_steps),
        "machine": machine_info()["summary"],
    }
    _write_json(path, result)
    return result


class StylizeScorer:
    """A style, the first validation photos, and the style and content distances (fp32)."""

    def __init__(self, style: Path, descriptor_source: str) -> None:
        config = mode_config("stylize", style_image=str(style))
        self.settings = loss_settings(config.to_dict(), stylize=True)
        self.descriptor, _ = load_descriptor(descriptor_source, self.settings)
        self.style = load_image(style, config.style_size)
        val = sorted(list_images(data_root() / "content" / "val"))[:STYLIZE_PHOTOS]
        self.photos = torch.cat([square_photo(str(path)) for path in val])

    def outputs(self, network: Network) -> Tensor:
        with torch.no_grad():
            return stylize_tensor(network, self.photos, seed=0)

    def score(self, images: Tensor) -> dict[str, float]:
        return stylize_scores(self.descriptor, self.style, images, self.photos)


def stylize_reference(style: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Gatys style transfer from each photo (the networks' objective), scored at 100/200/300
    iterations: computed once, kept in a file."""
    path = STUDY / "references" / f"{style.stem}.json"
    if path.is_file():
        return dict(json.loads(path.read_text()))
    scorer = StylizeScorer(style, args.descriptor)
    gatys = Gatys(scorer.descriptor, scorer.style, scorer.settings)
    marks = [m for m in GATYS_MARKS if m <= min(args.gatys_steps, 300)] or [args.gatys_steps]
    images: dict[int, list[Tensor]] = {m: [] for m in marks}
    start = time.perf_counter()

    def keep(iteration: int, image: Tensor, value: float) -> None:
        if iteration in images:
            images[iteration].append(image.detach().clone())

    for photo in scorer.photos:
        gatys(photo[None], max(marks), callback=keep)
    seconds = (time.perf_counter() - start) / len(scorer.photos)
    result = {
        "style": style.stem,
        "photos": STYLIZE_PHOTOS,
        "gatys": [{"iterations": m, **scorer.score(torch.cat(images[m]))} for m in marks],
        "gatys_seconds_per_photo": seconds,
        "machine": machine_info()["summary"],
    }
    _write_json(path, result)
    return result


# -- training -----------------------------------------------------------------------------------
class Snapshots(pl.Callback):
    """Saves the generator the checkpoint would hold (its average, if kept) at fractions of
    the budget: steps, or seconds read from Lightning's Timer (which counts over resumes)."""

    def __init__(
        self, directory: Path, minutes: float | None = None, steps: int | None = None,
        count: int = SNAPSHOTS,
    ) -> None:  # fmt: skip
        if (minutes is None) == (steps is None):
            raise ValueError("snapshots need a budget in minutes or in steps")
        self.directory = directory
        self.by_steps = steps is not None
        total = float(steps) if steps is not None else 60 * (minutes or 0.0)
        self.marks = [total * (k + 1) / count for k in range(count - 1)]

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        timer = next((c for c in trainer.callbacks if isinstance(c, Timer)), None)  # type: ignore[attr-defined]
        if timer is None:
            return
        elapsed = timer.time_elapsed("train")
        progress = trainer.global_step if self.by_steps else elapsed
        for index, mark in enumerate(self.marks):
            path = self.directory / f"{index}.pt"
            if progress >= mark and not path.exists():
                self.directory.mkdir(parents=True, exist_ok=True)
                state = {k: v.detach().clone() for k, v in pl_module.network.state_dict().items()}
                torch.save({"seconds": elapsed, "step": trainer.global_step, "state": state}, path)


def item_flags(part: Part, item: Path) -> list[str]:
    """What a run learns: ``--texture`` or ``--style`` with the training photos."""
    if part.mode == "texture":
        return ["--texture", str(item)]
    content = data_root() / "content"
    return ["--style", str(item), "--content-dir", str(content / "train"),
            "--val-dir", str(content / "val"), *STYLIZE_FLAGS]  # fmt: skip


NO_TIME_LIMIT = 10**6  # minutes: a step budget still needs Lightning's Timer (the seconds)


def budget_flags(part: Part) -> list[str]:
    """A step budget, or a time budget (with steps unbounded); either way a Timer counts the
    training seconds over resumes, which ``Snapshots`` and the final point read."""
    if part.steps is not None:
        return ["--max-steps", str(part.steps), "--max-time", str(NO_TIME_LIMIT)]
    return ["--max-time", str(part.minutes), "--max-steps", "1000000"]


def train(
    what: list[str], flags: list[str], seed: int, part: Part, run: Path, descriptor: str
) -> None:
    resume = ["--resume", "auto"] if (run / "checkpoints" / "last.ckpt").is_file() else []
    if not resume:  # a fresh start: snapshots of an earlier attempt are not this run's
        for stale in (run / "snapshots").glob("*.pt"):
            stale.unlink()
    argv = [
        *what, "--out", str(run), "--seed", str(seed),
        *budget_flags(part),
        "--descriptor", descriptor,
        "--sample-every", "0", "--checkpoint-every", "100", "--keep-checkpoints", "1",
        "--logger", "csv", *flags, *resume,
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        snapshots = Snapshots(run / "snapshots", part.minutes, part.steps)
        # a recipe is written as the train command's flags: read them as the command does
        train_run(train_cli.resolve_config(argv)[0], callbacks=[snapshots])


def score_run(run: Path, scorer: Scorer | StylizeScorer, picture: Path) -> list[dict[str, Any]]:
    """Every snapshot and the final checkpoint: time, step and the measures of its outputs;
    the final network's first output is kept as ``picture``."""
    info = read_checkpoint(run)
    network = info.build_network().eval()
    points = []
    for path in sorted((run / "snapshots").glob("*.pt")):
        snapshot = torch.load(path, weights_only=True)
        network.load_state_dict(snapshot["state"])
        points.append({"seconds": snapshot["seconds"], "step": snapshot["step"]})
        points[-1].update(scorer.score(scorer.outputs(network)))
    network.load_state_dict(info.generator_state)
    final = {"seconds": _train_seconds(run), "step": info.global_step}
    final.update(scorer.score(final_picture(network, scorer, picture)))
    return [*points, final]


def final_picture(network: Network, scorer: Scorer | StylizeScorer, picture: Path) -> Tensor:
    """A run's final outputs; the first one saved as ``picture`` (JPEG)."""
    images = scorer.outputs(network)
    picture.parent.mkdir(parents=True, exist_ok=True)
    tensor_to_pil(images[0]).save(picture, quality=90)
    return images


def _train_seconds(run: Path) -> float:
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("Timer"):
            return float(state["time_elapsed"]["train"])
    return float("nan")


@functools.lru_cache(maxsize=1)  # runs go item by item: one descriptor in memory
def scorer_of(mode: str, item: Path, descriptor: str) -> Scorer | StylizeScorer:
    """The measures of one texture or style (loaded once, when a run needs them)."""
    return (Scorer if mode == "texture" else StylizeScorer)(item, descriptor)


def run_part(name: str, part: Part, args: argparse.Namespace) -> None:
    folder = "textures" if part.mode == "texture" else "styles"
    for item_name in part.items:
        item = data_root() / folder / item_name
        ref = reference(item, args) if part.mode == "texture" else stylize_reference(item, args)
        for seed in part.seeds:
            for config in part.configs:
                out = STUDY / "runs" / name / item.stem / f"{config}-seed{seed}.json"
                picture = out.with_suffix(".jpg")
                budget = part.budget.replace(" ", "")
                run = args.work / name / item.stem / f"{config}-seed{seed}-{budget}"
                if out.is_file():  # done; its picture is made again if missing and possible
                    if not picture.is_file() and (run / "checkpoints").is_dir():
                        network = read_checkpoint(run).build_network().eval()
                        final_picture(network, scorer_of(part.mode, item, args.descriptor), picture)
                    continue
                print(f"[{name}] {item.stem} {config} seed {seed}: {part.budget}", flush=True)
                flags = [*part.fixed, *part.flags[config]]
                train(item_flags(part, item), flags, seed, part, run, args.descriptor)
                points = score_run(run, scorer_of(part.mode, item, args.descriptor), picture)
                _write_json(out, {
                    "part": name, "texture": item.stem, "config": config, "flags": flags,
                    "seed": seed, "minutes": part.minutes, "steps_budget": part.steps,
                    "size": ref.get("size"), "precision": run_precision(flags),
                    "points": points, "machine": machine_info()["summary"],
                })  # fmt: skip


def run_precision(flags: Sequence[str]) -> str:
    """What a run's ``--precision`` (auto unless given) meant on this machine."""
    given = flags[flags.index("--precision") + 1] if "--precision" in flags else "auto"
    return ("bf16" if bf16_fast(torch.device("cpu")) else "fp32") if given == "auto" else given


def _write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


# -- report -------------------------------------------------------------------------------------
MEASURES = (("style_distance", "Gram"), ("swd", "SWD"))


def load_runs(part: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((STUDY / "runs" / part).glob("*/*.json"))]


def load_references() -> dict[str, dict[str, Any]]:
    return {
        p.stem: json.loads(p.read_text()) for p in sorted((STUDY / "references").glob("*.json"))
    }


def run_budget(run: dict[str, Any]) -> str:
    steps = run.get("steps_budget")
    return f"{steps} steps" if steps else f"{run['minutes']:g} min"


def budgets(runs: list[dict[str, Any]]) -> str:
    return "/".join(sorted({run_budget(r) for r in runs}))


def _spread(values: Sequence[float]) -> str:
    if not values:
        return "-"
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.2f}"
    return f"{median:.2f} ({min(values):.2f}-{max(values):.2f})"


def ratios(run: dict[str, Any], ref: dict[str, Any], point: dict[str, Any]) -> dict[str, float]:
    """A point's measures over the texture's floor, and its diversity as it is (overlapping
    crops of a small example are partly shifted copies: no reference for diversity)."""
    floor = ref["floor"]
    out = {label: point[key] / floor[key] for key, label in MEASURES}
    out["diversity"] = point["diversity_shifts"]
    gatys = {g["iterations"]: g for g in ref["gatys"]}
    if 300 in gatys:
        out["Gram/Gatys300"] = point["style_distance"] / gatys[300]["style_distance"]
        out["SWD/Gatys300"] = point["swd"] / gatys[300]["swd"]
    return out


def paired_lines(runs: list[dict[str, Any]], configs: list[str]) -> list[str]:
    """Each config's final Gram and SWD over the first config's, run by run (same texture,
    same seed, same machine): the seed-to-seed swing of single runs cancels."""
    final = {(r["config"], r["texture"], r["seed"]): r["points"][-1] for r in runs}
    base, rows = configs[0], []
    for config in configs[1:]:
        pairs = [
            (point, final[(base, texture, seed)])
            for (name, texture, seed), point in final.items()
            if name == config and (base, texture, seed) in final
        ]
        if not pairs:
            continue
        row = [f"`{config}`", str(len(pairs))]
        for key, _ in MEASURES:
            quotients = [new[key] / old[key] for new, old in pairs]
            wins = sum(q < 1 for q in quotients)
            row.append(f"{_spread(quotients)}, lower in {wins}/{len(pairs)}")
        rows.append(row)
    if not rows:
        return []
    header = ["config", "pairs", *[f"{label} / `{base}`'s" for _, label in MEASURES]]
    return ["", f"Paired with `{base}` (same texture and seed; final point; median (min-max)):",
            "", table(header, rows)]  # fmt: skip


def config_order(runs: list[dict[str, Any]]) -> list[str]:
    """The configs of some runs, in the registry's order (unknown ones last)."""
    order = list(CONFIGS)
    return sorted(
        {r["config"] for r in runs},
        key=lambda c: (c not in order, order.index(c) if c in order else 0, c),
    )


def texture_tables(runs: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> list[str]:
    """Each config over the floor and Gatys (median, spread), paired with the first config,
    and per texture: the report's part sections and the README's summary."""
    configs = config_order(runs)
    rows = []
    for config in configs:
        chosen = [r for r in runs if r["config"] == config]
        finals = [ratios(r, refs[r["texture"]], r["points"][-1]) for r in chosen]
        steps = [r["points"][-1]["step"] for r in chosen]
        rows.append(
            [f"`{config}`", f"{statistics.median(steps):.0f}"]
            + [_spread([f[k] for f in finals if k in f])
               for k in ("Gram", "SWD", "diversity", "Gram/Gatys300", "SWD/Gatys300")]
        )  # fmt: skip
    lines = [table(
        ["config", "steps", "Gram / floor", "SWD / floor", "diversity", "Gram / Gatys 300",
         "SWD / Gatys 300"],
        rows,
    )]  # fmt: skip
    lines += paired_lines(runs, configs)
    lines += ["", "Per texture (final point; Gram / floor, SWD / floor, diversity):", ""]
    per_texture = []
    for texture in dict.fromkeys(r["texture"] for r in runs):
        row = [texture]
        for config in configs:
            chosen = [r for r in runs if (r["texture"], r["config"]) == (texture, config)]
            finals = [ratios(r, refs[texture], r["points"][-1]) for r in chosen]
            row.append(
                " / ".join(_spread([f[k] for f in finals]) for k in ("Gram", "SWD", "diversity"))
            )
        per_texture.append(row)
    lines.append(table(["texture", *[f"`{c}`" for c in configs]], per_texture))
    return lines


def part_title(part: str, runs: list[dict[str, Any]], kind: str = "textures") -> str:
    """What a part's runs were: items x seeds, budget, fixed flags, precision."""
    items = len({r["texture"] for r in runs})
    seeds = len({r["seed"] for r in runs})
    kind = kind if items > 1 else kind.removesuffix("s")
    fixed = " ".join(PARTS[part].fixed) if part in PARTS else ""
    precisions = "/".join(sorted({r["precision"] for r in runs if "precision" in r}))
    return (
        f"{items} {kind} x {seeds} seed{'s' * (seeds > 1)}, {budgets(runs)} per run"
        + (f" (`{fixed}`)" if fixed else "")
        + (f", {precisions}" if precisions else "")
    )


def part_section(part: str, runs: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> str:
    configs = config_order(runs)
    textures = list(dict.fromkeys(r["texture"] for r in runs))
    lines = [
        f"## Part `{part}`: {part_title(part, runs)}",
        "",
        "Ratios to the floor (real crops of the example, same size, same measures) and the "
        "shift-invariant diversity of the samples (0: shifted copies, about 1: unrelated "
        "images). Median over textures and seeds, (min-max) beside it.",
        "",
        *texture_tables(runs, refs),
    ]
    lines += samples_lines(
        part, runs, configs, textures, refs, "a crop of the example at the sample size"
    )
    for key, label in MEASURES:
        figure = plot_part(part, label, key, configs, runs, refs)
        lines += ["", f"![{label} / floor against training time, {part}]({figure})"]
    return "\n".join(lines)


THUMBNAIL = 160  # px, the longer side of each picture in a samples figure


def samples_lines(
    part: str, runs: list[dict[str, Any]], configs: list[str], items: list[str],
    refs: dict[str, dict[str, Any]], left: str,
) -> list[str]:  # fmt: skip
    figure = samples_figure(part, runs, configs, items, refs)
    if figure is None:
        return []
    seed = min(r["seed"] for r in runs)
    return ["", f"Final outputs (seed {seed}, the first of each run's; rows: "
            f"{', '.join(items)}; left: {left}):", "", f"![outputs, {part}]({figure})"]  # fmt: skip


def samples_figure(
    part: str, runs: list[dict[str, Any]], configs: list[str], items: list[str],
    refs: dict[str, dict[str, Any]],
) -> str | None:  # fmt: skip
    """One picture per item and config (the lowest seed's), beside the example: a grid."""
    seed = min(r["seed"] for r in runs)
    rows = []
    for item in items:
        row = [example_picture(item, refs[item].get("size"))]
        for config in configs:
            path = STUDY / "runs" / part / item / f"{config}-seed{seed}.jpg"
            row.append(Image.open(path).convert("RGB") if path.is_file() else None)
        rows.append(row)
    if all(picture is None for row in rows for picture in row[1:]):
        return None
    blank = Image.new("RGB", (THUMBNAIL, THUMBNAIL), "white")
    thumbs = [[_thumbnail(picture) if picture else blank for picture in row] for row in rows]
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{part}_samples.jpg"
    image_grid(thumbs, ["example", *configs]).save(path, quality=85)
    return str(path.relative_to(DOC.parent)).replace("\\", "/")


def example_picture(stem: str, size: int | None) -> Image.Image | None:
    """A texture's centre crop at the sample size (the scale the samples are at), or a
    style image whole; None where the data folder does not hold it."""
    try:
        root = data_root()
    except SystemExit:  # a report rebuilt without the images
        return None
    found = sorted(root.glob(f"textures/{stem}.*")) + sorted(root.glob(f"styles/{stem}.*"))
    if not found:
        return None
    if size is None or found[0].parent.name != "textures":
        return Image.open(found[0]).convert("RGB")
    example = load_image(found[0], TrainConfig().style_size)
    top, left = (example.shape[-2] - size) // 2, (example.shape[-1] - size) // 2
    return tensor_to_pil(example[0, :, top : top + size, left : left + size])


def _thumbnail(picture: Image.Image) -> Image.Image:
    picture = picture.copy()
    picture.thumbnail((THUMBNAIL, THUMBNAIL))
    return picture


def plot_part(
    part: str, label: str, key: str, configs: list[str], runs: list[dict[str, Any]],
    refs: dict[str, dict[str, Any]],
) -> str:  # fmt: skip
    """Median over textures and seeds of a measure / floor at each snapshot, per config."""
    by_steps = all(r.get("steps_budget") for r in runs)  # equal steps: plot against them
    curves = []
    for config in configs:
        chosen = [r for r in runs if r["config"] == config]
        count = min(len(r["points"]) for r in chosen)
        xs = [statistics.median(
            r["points"][i]["step"] if by_steps else r["points"][i]["seconds"] / 60 for r in chosen
        ) for i in range(count)]  # fmt: skip
        ys = [statistics.median(
            ratios(r, refs[r["texture"]], r["points"][i])[label] for r in chosen
        ) for i in range(count)]  # fmt: skip
        curves.append(Curve(ys, config, xs))
    FIGURES.mkdir(parents=True, exist_ok=True)
    path = FIGURES / f"{part}_{key}.png"
    plot_curves(
        curves,
        path,
        f"{label} / floor ({part})",
        "training steps" if by_steps else "training minutes",
        f"{label} / floor (log)",
    )
    return str(path.relative_to(DOC.parent)).replace("\\", "/")


def reference_section(refs: dict[str, dict[str, Any]]) -> str:
    rows = []
    for name, ref in refs.items():
        floor = ref["floor"]
        gatys = "; ".join(
            f"{g['iterations']}: {g['style_distance'] / floor['style_distance']:.2f} / "
            f"{g['swd'] / floor['swd']:.2f} ({g['seconds']:.0f} s)"
            for g in ref["gatys"]
        )
        rows.append([name, f"{ref['example'][1]}x{ref['example'][0]}", ref["size"],
                     f"{floor['style_distance']:.4f}", f"{floor['swd']:.4f}",
                     f"{floor['diversity_shifts']:.3f}", gatys])  # fmt: skip
    return "\n".join([
        "## The floor and Gatys, per texture",
        "",
        f"Floor: {CROPS} random crops of the example at the sample size. Gatys: L-BFGS from "
        "noise at the sample size (bf16 descriptor where fast), scored in fp32 at each "
        "iteration count: Gram / floor and SWD / floor, and the wall time to get there.",
        "",
        table(["texture", "example", "sample px", "floor Gram", "floor SWD",
               "crops' diversity", "Gatys (iterations: Gram/floor / SWD/floor)"], rows),
    ])  # fmt: skip


def over_gatys(
    run: dict[str, Any], point: dict[str, Any], refs: dict[str, dict[str, Any]]
) -> dict[str, float]:
    """A stylizer's style and content distance over Gatys' at its most iterations."""
    gatys = max(refs[run["texture"]]["gatys"], key=lambda g: g["iterations"])
    return {k: point[k] / gatys[k] for k in ("style_distance", "content_distance")}


def stylize_curve(runs: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> list[str]:
    """Style, content over Gatys at each scoring point of the budget (median over styles):
    how fast each config closes the gap, and so what a longer budget would buy."""
    count = min(len(r["points"]) for r in runs)
    header = ["config"] + [
        f"{statistics.median(r['points'][k]['seconds'] for r in runs) / 60:.1f} min"
        for k in range(count)
    ]
    rows = []
    for config in dict.fromkeys(r["config"] for r in runs):
        chosen = [r for r in runs if r["config"] == config]
        row = [f"`{config}`"]
        for k in range(count):
            ratios = [over_gatys(r, r["points"][k], refs) for r in chosen]
            style, content = (
                statistics.median(x[key] for x in ratios)
                for key in ("style_distance", "content_distance")
            )
            steps = statistics.median(r["points"][k]["step"] for r in chosen)
            row.append(f"{style:.2f}, {content:.2f} ({steps:.0f} steps)")
        rows.append(row)
    return [
        "Style, content over Gatys along the budget (median over styles; training minutes):",
        "",
        table(header, rows),
    ]


def stylize_tables(runs: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> list[str]:
    """Style and content distance over Gatys' at its most iterations (same photos, same
    objective), per config over the styles; Gatys' own figures per style."""
    configs = list(dict.fromkeys(r["config"] for r in runs))
    styles = list(dict.fromkeys(r["texture"] for r in runs))
    rows = []
    for config in configs:
        chosen = [r for r in runs if r["config"] == config]
        finals = [over_gatys(r, r["points"][-1], refs) for r in chosen]
        rows.append([
            f"`{config}`", f"{statistics.median(r['points'][-1]['step'] for r in chosen):.0f}",
            _spread([f["style_distance"] for f in finals]),
            _spread([f["content_distance"] for f in finals]),
            " / ".join(
                f"{f['style_distance']:.2f}, {f['content_distance']:.2f}" for f in finals
            ),
        ])  # fmt: skip
    gatys_rows = [
        [name, *(f"{g['iterations']}: {g['style_distance']:.3f} / {g['content_distance']:.3f}"
                 for g in refs[name]["gatys"]), f"{refs[name]['gatys_seconds_per_photo']:.0f} s"]
        for name in styles
    ]  # fmt: skip
    width = max(len(r) for r in gatys_rows)
    return [
        table(["config", "steps", "style / Gatys", "content / Gatys",
               f"style, content per run ({', '.join(styles)})"], rows),
        "",
        "Gatys per style (iterations: style distance / content distance; time per photo):",
        "",
        table(["style", *[""] * (width - 1)], gatys_rows),
        "",
        *stylize_curve(runs, refs),
    ]  # fmt: skip


def stylize_section(part: str, runs: list[dict[str, Any]], refs: dict[str, dict[str, Any]]) -> str:
    configs = list(dict.fromkeys(r["config"] for r in runs))
    styles = list(dict.fromkeys(r["texture"] for r in runs))
    return "\n".join([
        f"## Part `{part}`: {part_title(part, runs, 'styles')} ({' '.join(STYLIZE_FLAGS)})",
        "",
        f"Style and content distance of {STYLIZE_PHOTOS} validation photos (256 px) over "
        "Gatys' style transfer from the same photos after its most iterations (the target: "
        "at most 1.5x on both). Configurations (flags on top of the stylize defaults):",
        "",
        *[f"- `{n}`: `{' '.join(f) or '(defaults)'}`" for n, f in STYLIZE_CONFIGS.items()
          if n in configs],
        "",
        *stylize_tables(runs, refs),
        *samples_lines(part, runs, configs, styles, refs, "the style"),
    ])  # fmt: skip


def write_report() -> Path:
    refs = load_references()
    textures = {k: v for k, v in refs.items() if "floor" in v}
    sections = [
        "# Quality per CPU minute",
        "",
        "Written by `python -m benchmarks.quality_study` (method in its docstring). Every "
        "run trains one network for a budget of wall-clock minutes or of steps (each part "
        "says which) on an idle 2-core CPU and is scored at four points of the budget; "
        "each row's machine is in `benchmarks/results/quality_study/`. Lower Gram and SWD "
        "are better. Diversity is the mean shift-invariant distance between samples of "
        "different noise "
        "(`metrics.shift_invariant_distance`: 0 for shifted copies, about 1 for unrelated "
        "images); the crops' own value is low where the example is small (they overlap).",
        "",
        *([FINDINGS.read_text().strip(), ""] if FINDINGS.is_file() else []),
        "Texture configurations (flags on top of the defaults):",
        "",
        *[f"- `{name}`: `{' '.join(flags) or '(defaults)'}`" for name, flags in CONFIGS.items()],
        "",
        reference_section(textures),
    ]
    measured = {name: [r for r in load_runs(name) if r["texture"] in refs] for name in PARTS}
    for name, part in PARTS.items():
        runs = measured[name]
        archived = STUDY / "archive" / f"{name}.md"  # tables whose run files are gone
        if runs and part.mode == "texture":
            sections += ["", part_section(name, runs, textures)]
        elif runs:
            sections += ["", stylize_section(name, runs, refs)]
        if archived.is_file():
            sections += ["", archived.read_text().strip()]
    DOC.write_text("\n".join(sections) + "\n")
    write_summary(refs, measured)
    return DOC


def write_summary(
    refs: dict[str, dict[str, Any]], measured: dict[str, list[dict[str, Any]]]
) -> Path:
    """The README's tables (``benchmarks.run``): the parts that measure the defaults (runs by
    part, those with a reference)."""
    lines = []
    textures = {k: v for k, v in refs.items() if "floor" in v}
    compare = measured.get("compare", [])
    if compare:
        lines += [
            f"Texture networks, {part_title('compare', compare)}: the present defaults "
            "(`cosine+ema`) and the earlier ones (`old-default`) over the floor that real "
            "crops of each example set, and over Gatys after 300 L-BFGS iterations; "
            "median (min-max) over textures and seeds. Method, plots and samples: "
            "[docs/quality.md](docs/quality.md).",
            "",
            *texture_tables(compare, textures),
            "",
        ]
    shown = list(compare)
    for name in (n for n, part in PARTS.items() if part.mode == "stylize"):
        stylize = measured.get(name, [])
        if stylize:
            lines += [
                f"Stylizers (`--part {name}`), {part_title(name, stylize, 'styles')} "
                f"({' '.join(STYLIZE_FLAGS)}), over Gatys' style transfer from the same "
                f"{STYLIZE_PHOTOS} photos:",
                "",
                *stylize_tables(stylize, refs),
                "",
            ]
            shown += stylize
    machines = sorted({r["machine"] for r in shown if "machine" in r})
    lines += [" ".join(machines) if machines else "(not measured yet)"]
    path = STUDY / "results.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=tuple(PARTS), default="screen")
    parser.add_argument(
        "--configs", nargs="+", choices=tuple(dict.fromkeys([*CONFIGS, *STYLIZE_CONFIGS])),
        help="override the part's (stylize parts take STYLIZE_CONFIGS)",
    )  # fmt: skip
    parser.add_argument(
        "--items", "--textures", nargs="+",
        help="files in textures/ (styles/ for the stylize part): override the part's",
    )  # fmt: skip
    parser.add_argument("--seeds", nargs="+", type=int, help="override the part's")
    budget = parser.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="budget per run (override the part's)")
    budget.add_argument("--steps", type=int, help="budget per run in steps (override)")
    parser.add_argument("--gatys-steps", type=int, default=max(GATYS_MARKS))
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument(
        "--work", type=Path, default=Path.home() / ".cache" / "texture-nets" / "quality_study",
        help="run directories (checkpoints; interrupted runs resume from here)",
    )  # fmt: skip
    parser.add_argument("--report-only", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.report_only:
        base = PARTS[args.part]
        override = args.minutes is not None or args.steps is not None
        part = Part(
            tuple(args.items or base.items),
            tuple(args.seeds if args.seeds is not None else base.seeds),
            tuple(args.configs or base.configs),
            minutes=args.minutes if override else base.minutes,
            steps=args.steps if override else base.steps,
            fixed=base.fixed,
            mode=base.mode,
        )
        unknown = set(part.configs) - set(part.flags)
        if unknown:
            raise SystemExit(f"--configs {' '.join(sorted(unknown))}: not a {part.mode} config")
        run_part(args.part, part, args)
    print(f"wrote {write_report()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

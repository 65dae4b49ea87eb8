"""Stylizers that paint: training recipes scored against Gatys at the size people use.

Every run trains one stylizer on ``content/train`` (BSDS500) and is scored on held-out photos
of ``content/val`` at their size of use (longer side ``SIDE`` = 512 px, the demo's size),
against Gatys et al.'s style transfer from the same photo with the run's own objective
(same descriptor, weights and size; ``ITERATIONS`` L-BFGS iterations, cached per objective).
Scores are the evaluator's: the style distance (relative Gram distance summed over
relu1_1..relu5_1, uniform weights, the painting at 512 px) per layer and in total, and the
content distance (relu4_2). Snapshots along the budget give the curve (steps, training
minutes); every run keeps its stylized held-out photos as JPEGs for the grids.

    python -m benchmarks.stylize_study --part screen          # train and score what is missing
    python -m benchmarks.stylize_study --report               # tables and figures only

Runs and Gatys images live in ``--work`` (outside the checkout: hours of training); the
scores (JSON) and the report in ``benchmarks/results/stylize_study/`` and
``docs/stylize.md``. A killed run resumes from its last checkpoint when started again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from PIL import Image

from benchmarks.common import REPO, RESULTS, data_root, machine_info, train_run
from texture_nets.baselines.gatys import stylize
from texture_nets.cli import train as train_cli
from texture_nets.evaluation.metrics import ContentDistance, StyleDistance
from texture_nets.evaluation.plots import Curve, image_grid, plot_curves
from texture_nets.image import list_images, load_image, open_image, pil_to_tensor, tensor_to_pil
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import Network
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_STYLE_LAYERS,
    LossSettings,
    Objective,
    load_descriptor,
    loss_settings,
)
from texture_nets.precision import bf16_fast

SIDE = 512  # the size of use: held-out photos' longer side (the demo's default)
PHOTOS = 2  # held-out photos scored per style (the first of content/val, sorted): Gatys at
# 512 px costs 5-15 min a photo on a 2-core CPU (15 on an AVX2-only one)
ITERATIONS = 300  # Gatys' L-BFGS iterations (the issue's reference)
STUDY = RESULTS / "stylize_study"
EVAL_LAYERS = DEFAULT_STYLE_LAYERS
EVAL_CONTENT = DEFAULT_CONTENT_LAYERS[0]


@dataclass(frozen=True)
class Part:
    """Configurations (flags on top of the stylize defaults) x styles, one budget."""

    why: str  # what the part tests (the report's first line)
    configs: dict[str, list[str]]
    steps: int
    styles: tuple[str, ...] = ("vangogh_starry_night.jpg",)  # the demo's style
    snapshots: int = 2  # scored points along the budget (the last is the final checkpoint)
    fixed: list[str] = field(default_factory=lambda: ["--lr", "0.001"])


JOHNSON_128 = ["--generator", "johnson", "--image-size", "128", "--photo-size", "512"]
PARTS = {
    "screen": Part(
        why="The style weight at a short budget, Starry Night (the demo's style).",
        configs={
            "j128-sw0.5": [*JOHNSON_128, "--style-weight", "0.5"],
            "j128-sw1": [*JOHNSON_128, "--style-weight", "1"],
        },
        steps=2000,
        snapshots=4,
    ),
    "long": Part(
        why="One recipe out to where its curve flattens (several sittings, resumed).",
        configs={"j128-sw1": [*JOHNSON_128, "--style-weight", "1"]},
        steps=12000,
        snapshots=12,
    ),
    "paint": Part(
        why="Painting on the photo (`--photo-skip`: the network's change is added to the "
        "photo's logit, as Gatys starts from the photo) and larger step sizes, against "
        "`long`'s first 1000 steps.",
        configs={
            "j128-sw1-skip": [*JOHNSON_128, "--style-weight", "1", "--photo-skip"],
            "j128-sw1-lr3e-3": [*JOHNSON_128, "--style-weight", "1", "--lr", "0.003"],
            "j128-sw1-lr1e-2": [*JOHNSON_128, "--style-weight", "1", "--lr", "0.01"],
        },
        steps=1000,
    ),
    "field": Part(
        why="The receptive field: a third stride-2 stage (`--downsamples 3`) doubles it, "
        "about 110 -> 205 px (swirls at 512 px are 50-100 px), against `long` at 1000 and "
        "2000 steps (same lr and schedule).",
        configs={"j128-sw1-d3": [*JOHNSON_128, "--style-weight", "1", "--downsamples", "3"]},
        steps=2000,
    ),
    "pool": Part(
        why="The whole picture's statistics (`--crops-per-photo 4`): the batch is 4 crops of "
        "one photo and the style loss pools their Grams. Alone, every 128 px crop must hold "
        "all of the painting's colours and strokes, so the network paints one even texture "
        "everywhere; pooled, the crops share them out as Gatys does over the whole picture. "
        "Against `long` at 1000 and 2000 steps (which sees 4 photos a step, this one 1).",
        configs={"j128-sw1-pool4": [*JOHNSON_128, "--style-weight", "1", "--crops-per-photo", "4"]},
        steps=2000,
    ),
    "content": Part(
        why="The content layer: relu2_2 (Johnson et al.'s) instead of relu4_2. At relu4_2 the "
        "photo's lightness and colours are free, so the network paints one painting-coloured "
        "texture everywhere, dark regions included; relu2_2 holds the photo's edges and "
        "lightness, so strokes can go where the photo is flat, as Gatys puts them (its "
        "reference is re-run with the same objective). Against `long` at 1000 steps.",
        configs={
            "j128-sw1-c22": [*JOHNSON_128, "--style-weight", "1", "--content-layers", "relu2_2"]
        },
        steps=2000,
    ),
    "pool2": Part(
        why="The pooling's follow-ups at the same budget: two photos a step (`pool` sees one, "
        "`long` four) and pooling with the larger field.",
        configs={
            "j128-sw1-pool2": [*JOHNSON_128, "--style-weight", "1", "--crops-per-photo", "2"],
            "j128-sw1-pool4-d3": [
                *JOHNSON_128,
                "--style-weight",
                "1",
                "--crops-per-photo",
                "4",
                "--downsamples",
                "3",
            ],
        },
        steps=2000,
    ),
}


# -- held-out photos and the evaluator ---------------------------------------------------------
def held_out(count: int = PHOTOS) -> list[Path]:
    return sorted(list_images(data_root() / "content" / "val"))[:count]


def at_side(path: Path | str, side: int = SIDE) -> torch.Tensor:
    """A photo (file or ``builtin:NAME``) with its longer side resized to ``side`` (bicubic),
    (1, 3, H, W)."""
    image = open_image(path)
    factor = side / max(image.size)
    size = (round(image.width * factor), round(image.height * factor))
    return pil_to_tensor(image.resize(size, Image.Resampling.BICUBIC))


class Evaluator:
    """The fixed scores of every run and reference: style distance per layer (the painting at
    ``SIDE``) and content distance, in fp32."""

    def __init__(self, style: Path, descriptor: VGGDescriptor) -> None:
        self.descriptor = descriptor
        self.style = load_image(style, SIDE)

    def score(self, outputs: Sequence[torch.Tensor], photos: Sequence[torch.Tensor]) -> dict:
        style = StyleDistance(self.descriptor, self.style, list(EVAL_LAYERS))
        content = ContentDistance(self.descriptor, EVAL_CONTENT)
        with torch.no_grad():
            for output, photo in zip(outputs, photos, strict=True):
                style.update(output)
                content.update(output, photo)
        values = {k: round(v.item(), 5) for k, v in style.compute().items()}
        return {**values, "content_distance": round(content.compute().item(), 5)}


# -- Gatys references --------------------------------------------------------------------------
def objective_key(style: str, settings: LossSettings) -> str:
    """Names a Gatys reference: the style and every setting of the objective."""
    text = json.dumps([style, repr(settings), SIDE, ITERATIONS, PHOTOS], sort_keys=True)
    return f"{Path(style).stem}-{hashlib.sha256(text.encode()).hexdigest()[:10]}"


def gatys_reference(
    style: Path, settings: LossSettings, descriptor: VGGDescriptor, work: Path
) -> dict[str, Any]:
    """Gatys from each held-out photo with ``settings``, scored; cached in ``STUDY/gatys``."""
    key = objective_key(style.name, settings)
    out = STUDY / "gatys" / f"{key}.json"
    if out.is_file():
        return dict(json.loads(out.read_text()))
    print(f"[gatys] {style.stem}: {ITERATIONS} iterations x {PHOTOS} photos at {SIDE} px")
    bf16 = bf16_fast(torch.device("cpu"))
    style_image = load_image(style, settings.style_size)
    objective = Objective.build(descriptor, settings, [style_image], use_bf16=bf16)
    photos = [at_side(p) for p in held_out()]
    images, seconds = [], []
    for path, photo in zip(held_out(), photos, strict=True):
        start = time.perf_counter()
        result = stylize(objective, photo, ITERATIONS, progress=False)
        if result.interrupted:  # a cut-short reference would flatter every run scored on it
            raise KeyboardInterrupt
        seconds.append(time.perf_counter() - start)
        images.append(result.image)
        picture = work / "gatys" / key / f"{path.stem}.jpg"
        picture.parent.mkdir(parents=True, exist_ok=True)
        tensor_to_pil(result.image[0]).save(picture, quality=92)
    payload = {
        "style": style.stem,
        "objective": repr(settings),
        "iterations": ITERATIONS,
        "seconds_per_photo": round(sum(seconds) / len(seconds), 1),
        "scores": Evaluator(style, descriptor).score(images, photos),
        "machine": machine_info()["summary"],
    }
    write_json(out, payload)
    return payload


# -- runs -------------------------------------------------------------------------------------
class Snapshots(pl.Callback):
    """Keeps the network the checkpoint would hold (its average, if kept) at the marks."""

    def __init__(self, directory: Path, marks: Sequence[int]) -> None:
        self.directory = directory
        self.marks = list(marks)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, *args: Any) -> None:
        step = trainer.global_step
        if step in self.marks and not (self.directory / f"{step}.pt").exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            state = {k: v.detach().clone() for k, v in pl_module.network.state_dict().items()}
            torch.save({"step": step, "state": state}, self.directory / f"{step}.pt")


class StopAfter(pl.Callback):
    """Ends this sitting after ``minutes`` at a step boundary; unlike ``--max-time`` it leaves
    the learning-rate schedule (which follows the step budget) untouched."""

    def __init__(self, minutes: float) -> None:
        self.deadline = time.monotonic() + 60 * minutes

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if time.monotonic() > self.deadline:
            trainer.should_stop = True


def train(
    style: Path, flags: list[str], part: Part, run: Path, descriptor: str, minutes: float
) -> None:
    content = data_root() / "content"
    resume = ["--resume", "auto"] if (run / "checkpoints" / "last.ckpt").is_file() else []
    marks = [part.steps * (k + 1) // part.snapshots for k in range(part.snapshots - 1)]
    argv = [
        "--style", str(style), "--content-dir", str(content / "train"),
        "--val-dir", str(content / "val"), "--out", str(run),
        "--max-steps", str(part.steps), "--max-time", "1000000",
        "--descriptor", descriptor, "--sample-every", "0",
        "--checkpoint-every", "100", "--keep-checkpoints", "1", "--logger", "csv",
        *part.fixed, *flags, *resume,
    ]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # a recipe is written as the train command's flags: read them as the command does
        config = train_cli.resolve_config(argv)[0]
        train_run(config, callbacks=[Snapshots(run / "snapshots", marks), StopAfter(minutes)])


def train_seconds(run: Path) -> float:
    """Training wall time over resumes (Lightning's Timer in the last checkpoint)."""
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=False)
    for key, state in checkpoint.get("callbacks", {}).items():
        if key.startswith("Timer"):
            return float(state["time_elapsed"]["train"])
    return float("nan")


def stylized(network: Network, photos: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    with torch.no_grad():
        return [stylize_tensor(network, photo, seed=0) for photo in photos]


def snapshots(run: Path) -> list[tuple[int, dict[str, torch.Tensor]]]:
    """(step, network weights) along the run: its snapshots, else its periodic checkpoints."""
    points = []
    for path in (run / "snapshots").glob("*.pt"):
        snapshot = torch.load(path, weights_only=True)
        points.append((int(snapshot["step"]), snapshot["state"]))
    if not points:
        for path in (run / "checkpoints").glob("step=*.ckpt"):
            info = read_checkpoint(path)
            points.append((info.global_step, info.generator_state))
    return sorted(points, key=lambda point: point[0])


def score_run(run: Path, evaluator: Evaluator, pictures: Path) -> list[dict[str, Any]]:
    """Every snapshot and the final network: step and scores; the final outputs as JPEGs."""
    info = read_checkpoint(run)
    network = info.build_network().eval()
    photos = [at_side(p) for p in held_out()]
    points = []
    for step, state in snapshots(run):
        if step < info.global_step:
            network.load_state_dict(state)
            points.append({"step": step, **evaluator.score(stylized(network, photos), photos)})
    network.load_state_dict(info.generator_state)
    outputs = stylized(network, photos)
    pictures.mkdir(parents=True, exist_ok=True)
    for path, output in zip(held_out(), outputs, strict=True):
        tensor_to_pil(output[0]).save(pictures / f"{path.stem}.jpg", quality=92)
    final = {"step": info.global_step, "seconds": round(train_seconds(run), 1)}
    return [*points, {**final, **evaluator.score(outputs, photos)}]


def run_part(name: str, part: Part, args: argparse.Namespace) -> None:
    for style_name in part.styles:
        style = data_root() / "styles" / style_name
        for config, flags in part.configs.items():
            if args.config and config != args.config:
                continue
            out = STUDY / "runs" / name / style.stem / f"{config}.json"
            done = out.is_file() and json.loads(out.read_text())["points"][-1]["step"] >= part.steps
            if done and not args.score_only:
                continue
            all_flags = [*part.fixed, *flags]
            settings = run_settings(style, all_flags)
            run = args.work / name / style.stem / config
            print(f"[{name}] {style.stem} {config}: {part.steps} steps", flush=True)
            if not args.score_only:
                train(style, flags, part, run, args.descriptor, args.max_minutes)
            if args.train_only:
                continue
            descriptor, _ = load_descriptor(args.descriptor, settings)
            reference = gatys_reference(style, settings, descriptor, args.work)
            points = score_run(
                run,
                Evaluator(style, descriptor),
                args.work / "pictures" / name / style.stem / config,
            )
            write_json(out, {
                "part": name, "style": style.stem, "config": config, "flags": all_flags,
                "steps_budget": part.steps, "gatys": objective_key(style.name, settings),
                "gatys_scores": reference["scores"], "points": points,
                "machine": machine_info()["summary"],
            })  # fmt: skip


def run_settings(style: Path, flags: list[str]) -> LossSettings:
    """The objective a run with ``flags`` trains (and its Gatys reference optimises)."""
    config, _ = train_cli.resolve_config(["--style", str(style), *flags])
    return loss_settings(config.to_dict(), stylize=True)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)


# -- report -----------------------------------------------------------------------------------
REPORT = REPO / "docs" / "stylize.md"
IMAGES = REPO / "docs" / "images" / "stylize"


def load_runs(part: str) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((STUDY / "runs" / part).glob("*/*.json"))]


def over(run: dict[str, Any], point: dict[str, Any], key: str) -> float:
    return float(point[key]) / float(run["gatys_scores"][key])


def part_tables(runs: list[dict[str, Any]]) -> list[str]:
    """Final scores over Gatys', per layer, and the curve along the budget."""
    layers = [f"style_distance/{name}" for name in EVAL_LAYERS]
    lines = [
        "| style | config | steps | minutes | style / Gatys | content / Gatys "
        "| style | content | " + " | ".join(n.split("/")[1] for n in layers) + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(layers),
    ]
    for run in runs:
        final, gatys = run["points"][-1], run["gatys_scores"]
        per_layer = " | ".join(f"{final[n]:.3f} ({gatys[n]:.3f})" for n in layers)
        lines.append(
            f"| {run['style']} | `{run['config']}` | {final['step']} "
            f"| {final.get('seconds', float('nan')) / 60:.0f} "
            f"| {over(run, final, 'style_distance'):.2f} "
            f"| {over(run, final, 'content_distance'):.2f} "
            f"| {final['style_distance']:.3f} ({gatys['style_distance']:.3f}) "
            f"| {final['content_distance']:.3f} ({gatys['content_distance']:.3f}) | {per_layer} |"
        )
    lines += ["", "Along the budget (style / Gatys, content / Gatys at each scored step):", ""]
    for run in runs:
        curve = ", ".join(
            f"{p['step']}: {over(run, p, 'style_distance'):.2f} / "
            f"{over(run, p, 'content_distance'):.2f}"
            for p in run["points"]
        )
        lines.append(f"- {run['style']} `{run['config']}`: {curve}")
    return lines


def part_grid(part: str, runs: list[dict[str, Any]], work: Path) -> str | None:
    """Rows: two held-out photos per style; columns: photo | Gatys | each config."""
    rows: list[list[Image.Image]] = []
    labels: list[str] = []
    for style in dict.fromkeys(run["style"] for run in runs):
        style_runs = [run for run in runs if run["style"] == style]
        labels = ["photo", "Gatys", *(run["config"] for run in style_runs)]
        for photo in held_out()[:2]:
            cells = [tensor_to_pil(at_side(photo)[0])]
            cells.append(Image.open(work / "gatys" / style_runs[0]["gatys"] / f"{photo.stem}.jpg"))
            for run in style_runs:
                cells.append(
                    Image.open(
                        work / "pictures" / part / style / run["config"] / f"{photo.stem}.jpg"
                    )
                )
            rows.append(
                [
                    cell.convert("RGB").resize((256, round(256 * cell.height / cell.width)))
                    for cell in cells
                ]
            )
    if not rows:
        return None
    path = work / "figures" / f"{part}.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid(rows, labels).save(path, quality=90)
    return str(path)


def part_curve(part: str, runs: list[dict[str, Any]]) -> Path:
    """Style and content distance over Gatys' against training steps, every run of a part."""
    curves = []
    for run in runs:
        steps = [p["step"] for p in run["points"]]
        for key, what in (("style_distance", "style"), ("content_distance", "content")):
            values = [over(run, p, key) for p in run["points"]]
            curves.append(Curve(values, f"{run['config']} {what} / Gatys", steps))
    path = IMAGES / f"{part}_curve.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    return plot_curves(curves, path, f"stylize study, part {part}", "training step", "over Gatys")


SEEN = {  # what the grids show (they cannot be committed), per part
    "long": "By eye at 512 px: the network turns the whole photo Starry-Night blue with even "
    "diagonal hatching and loses the photo's detail; Gatys keeps the photo's colours and objects "
    "and puts swirls into its flat areas (water, sky). Both distances are flat from 2000 steps.",
    "paint": "By eye: lr 3e-3 and 1e-2 paint as the `long` run does at the same step (a blue "
    "filter with hatching); with `--photo-skip` the output stays the photo with a blue tint "
    "after 449 steps (content at Gatys', style at 11x): starting from the photo, the network "
    "has not learned to leave it in this budget.",
    "field": "By eye at 1000 steps: the larger field paints larger, wavier structures than "
    "`long` (strokes of 20-40 px), still one even blue-and-yellow texture over the whole "
    "picture, and loses more of the photo (content 3.06x Gatys' against 2.72x). Scores of "
    "neighbouring snapshots differ by up to 0.6 (1000: 5.68x, 1021: 5.06x): one 1000-step "
    "point per config cannot separate configs closer than that.",
    "pool": "By eye at 1000 steps: like `long` at 1000 (the whole photo turned Starry-Night "
    "blue, dark statues included), with finer hatching; the pooled statistics did not make "
    "the network keep dark or flat regions of the photo as Gatys does. Style 6.07x (1030: "
    "5.70x) against `long`'s 5.41x, content 2.61x against 2.72x: no gain at this budget.",
    "content": "By eye at 664 steps: the photo's edges are sharper than in `long`, but the "
    "network still paints one blue texture with diagonal hatching over everything, dark "
    "statues turned light blue. Gatys with this objective keeps the dark statues and paints "
    "swirls and yellow stars into the flat areas. The ratios are not comparable with the "
    "other parts: this Gatys reference loses far more relu4_2 content (1.07 against 0.34) and "
    "matches style a little less (0.224 against 0.187). In absolute terms the network is "
    "worse on style than `long` at 1000 steps (1.52 against 1.01) at the same content (0.93). "
    "The network's error is its colour: each 128 px crop's Gram pulls the crop's own mean "
    "colour to the painting's, while Gatys matches one Gram over the whole 512 px picture.",
}


def write_report(work: Path) -> None:
    """docs/stylize.md: per part the final scores, the curve (table and plot) and where the
    grid of pictures is (not committed: the held-out photos are research-only)."""
    sections = [
        "# Stylizers against Gatys: the stylize study",
        "",
        f"`python -m benchmarks.stylize_study --part NAME` ({Path(__file__).name}): "
        f"stylizers trained on BSDS500 `content/train`, scored on the first {PHOTOS} photos of "
        f"`content/val` at {SIDE} px against Gatys ({ITERATIONS} L-BFGS iterations, the run's "
        "own objective, same descriptor, weights and size). Distances by the evaluator: the "
        "relative Gram distance summed over relu1_1..relu5_1 (style) and relu4_2 (content); "
        "the per-layer columns give the network's value and Gatys' in brackets.",
        "",
    ]
    for name in PARTS:
        runs = load_runs(name)
        if not runs:
            continue
        grid = part_grid(name, runs, work)
        curve = part_curve(name, runs)
        machines = sorted({run.get("machine", "?") for run in runs})
        sections += [
            f"## Part `{name}`",
            "",
            PARTS[name].why,
            "",
            "; ".join(machines),
            "",
            *([SEEN[name], ""] if name in SEEN else []),
            *part_tables(runs),
            "",
            f"![{name}: distances over Gatys' against steps](images/stylize/{curve.name})",
            "",
            f"Grid (not committed: the held-out photos are BSDS500, research-only): `{grid}`",
            "",
        ]
    text = "\n".join(sections)
    REPORT.write_text(text)
    print(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--part", choices=tuple(PARTS), default="screen")
    parser.add_argument("--report", action="store_true", help="only write the report")
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--config", help="only this config of the part (runs on two cores)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument(
        "--train-only", action="store_true", help="train, leave scoring to a later sitting"
    )
    only.add_argument("--score-only", action="store_true", help="score the runs as they are")
    parser.add_argument(
        "--max-minutes", type=float, default=1e6,
        help="stop training after this many minutes of this sitting and score what is there "
        "(the next sitting resumes)",
    )  # fmt: skip
    parser.add_argument(
        "--work", type=Path, default=Path.home() / "texture-nets-runs" / "stylize_study",
        help="runs, snapshots and pictures (outside the checkout)",
    )  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.config and args.config not in PARTS[args.part].configs:
        parser.error(
            f"--config {args.config}: part {args.part} has {', '.join(PARTS[args.part].configs)}"
        )
    if not args.report:
        run_part(args.part, PARTS[args.part], args)
    write_report(args.work)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

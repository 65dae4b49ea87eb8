"""The paper's comparison (Ulyanov et al. 2016, fig. 3 style): for several textures,
Portilla-Simoncelli, a texture GAN, Gatys et al. and the texture network side by side, with
their quality over the floor of real crops, diversity, time per new image, training or
optimisation time and peak memory.

Each texture goes through ``texture-nets compare`` (``texture_nets.evaluation.compare``, every
method in a fresh process) with its shipped model (``texture-nets models``) where there is one,
else a network trained here for ``--train-minutes``. The GAN trains for ``--gan-minutes`` (the
shipped models do not record their training time; a network trained here records it, and the
GAN then gets the same budget unless ``--gan-minutes`` is given).

Resumable: everything goes under ``--work`` (outside the checkout). A texture whose
``compare/<texture>/report.json`` exists is done and skipped; within a texture, each finished
method's run is kept under ``methods/<texture>/`` and reused (``compare --work``); a network
trained here resumes from its last checkpoint. Delete a texture's folders to redo it. At the
end (and with ``--report-only``) the figure (rows: textures; columns: example |
Portilla-Simoncelli | GAN | Gatys | texture network) and the table are rebuilt from the
reports and written to ``--results`` (default ``benchmarks/results/paper_figure``).

    python -m benchmarks.paper_figure --work ~/texture-nets-runs/paper_figure
    python -m benchmarks.paper_figure --report-only
"""

from __future__ import annotations

import argparse
import json
import logging
import warnings
from pathlib import Path
from typing import Any

import yaml
from PIL import Image

from benchmarks.common import RESULTS, data_root, machine_info, table, train_run
from texture_nets.errors import UserError
from texture_nets.evaluation.compare import CompareOptions, compare
from texture_nets.evaluation.methods import METHODS, parse_methods
from texture_nets.evaluation.plots import image_grid
from texture_nets.evaluation.report import (
    METHOD_NAMES,
    PAPER_ORDER,
    format_bytes,
    format_number,
    format_seconds,
)
from texture_nets.image import open_image, resize_max_side
from texture_nets.inference.pretrained import MODELS_DIR, shipped_infos

DEFAULT_TEXTURES = (  # the four shipped texture models' examples, and bricks (trained here)
    "tn_red_peppers.jpg",
    "tn_pebbles.jpg",
    "dcor_flagstones.jpg",
    "dcor_foliage.jpg",
    "tn_bricks.jpg",
)
DEFAULT_WORK = Path("~/texture-nets-runs/paper_figure")
FIGURE_CELL = 192  # px per image in the figure

log = logging.getLogger("benchmarks.paper_figure")


def shipped_model(texture: Path) -> Path | None:
    """The shipped texture model trained on this example (by file stem), if any."""
    for name, info in shipped_infos().items():
        trained_on = Path(str(info.training.get("style_image") or "")).stem
        if info.mode == "texture" and trained_on == texture.stem:
            return MODELS_DIR / name
    return None


def network_for(texture: Path, args: argparse.Namespace, work: Path) -> Path:
    """The shipped model, else a run trained here (resumed if it was interrupted)."""
    model = None if args.train_all else shipped_model(texture)
    if model is not None:
        return model
    run = work / "runs" / texture.stem
    finished = run / "finished.json"
    if finished.is_file():
        return run
    overrides = {"mode": "texture", "style_image": str(texture), "out": str(run),
                 "max_time": args.train_minutes, "max_steps": args.train_steps,
                 "descriptor": args.descriptor, "sample_every": 0, "logger": "csv",
                 "resume": "auto", **args.train}  # fmt: skip
    log.info("training a network on %s for %g min", texture.name, args.train_minutes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(overrides)
    finished.write_text(json.dumps({"overrides": overrides}, indent=2) + "\n")
    return run


def run_texture(texture: Path, args: argparse.Namespace, work: Path) -> Path:
    """One texture's comparison folder (skipped when its report exists)."""
    out = work / "compare" / texture.stem
    if (out / "report.json").is_file():
        log.info("%s: done (%s)", texture.name, out / "report.json")
        return out
    model = network_for(texture, args, work)
    options = CompareOptions(
        checkpoint=str(model), out=out, texture=str(texture), size=args.size,
        samples=args.samples, gatys_steps=args.gatys_steps, descriptor=args.descriptor,
        repeats=args.repeats, methods=args.methods, ps_steps=args.ps_steps,
        gan_minutes=args.gan_minutes, baseline_samples=args.baseline_samples, seed=args.seed,
        work=work / "methods" / texture.stem,
    )  # fmt: skip
    log.info("%s: comparing %s", texture.name, ", ".join(args.methods))
    compare(options, isolate=None if args.isolate else False)
    return out


def first_image(folder: Path, method: str, report: dict[str, Any]) -> Image.Image | None:
    """A method's first image of one comparison (as written by compare)."""
    prefix = f"images/{method}"
    names = [n for n in report["outputs"]["images"] if n.startswith(prefix)]
    return Image.open(folder / names[0]).convert("RGB") if names else None


def build_outputs(folders: list[Path], results: Path) -> tuple[str, dict[str, Any]]:
    """The figure (rows: textures, columns: example and the methods in the paper's order)
    and the table, from the finished comparisons."""
    reports = {f.name: json.loads((f / "report.json").read_text()) for f in folders}
    shown = [m for m in PAPER_ORDER if any(m in r["methods"] for r in reports.values())]
    rows, table_rows = [], []
    for folder in folders:
        report = reports[folder.name]
        cells = [example_crop(report)]
        for method in shown:
            image = first_image(folder, method, report) if method in report["methods"] else None
            cells.append(image or Image.new("RGB", (FIGURE_CELL, FIGURE_CELL), "white"))
            m = report["methods"].get(method)
            if m is None:
                continue
            over, training = m.get("over_floor", {}), m.get("training_seconds")
            table_rows.append([
                folder.name, METHOD_NAMES[method], format_number(over.get("style_distance")),
                format_number(over.get("swd")), format_number(m["metrics"].get("diversity")),
                format_seconds(m["seconds_per_image"]),
                "–" if training is None else format_seconds(training),
                format_bytes(m["memory"]["peak_increase_bytes"]),
            ])  # fmt: skip
        rows.append([_fit(cell, FIGURE_CELL) for cell in cells])
    labels = ["example", *({"network": "texture network"}.get(m, METHOD_NAMES[m]) for m in shown)]
    results.mkdir(parents=True, exist_ok=True)
    image_grid(rows, labels).save(results / "paper_figure.png")
    header = ["texture", "method", "Gram / floor", "SWD / floor", "diversity",
              "per new image", "training / optimisation", "peak memory"]  # fmt: skip
    markdown = "\n".join([
        "![paper figure](paper_figure.png)", "",
        table(header, table_rows), "",
        "Gram / floor, SWD / floor: the method's distance to the example over that of random "
        "crops of the example at the same size (1 = as good as real samples). Training: the "
        "network's and the GAN's (once); optimisation: Gatys' and Portilla-Simoncelli's (per "
        "image). Memory: peak increase while making images (texture_nets.evaluation.measure).",
    ])  # fmt: skip
    payload = {name: {k: r[k] for k in ("methods", "floor", "settings")}
               for name, r in reports.items()}  # fmt: skip
    return markdown, payload


def example_crop(report: dict[str, Any]) -> Image.Image:
    """The example as compare saw it (longer side at most ``style_size``), centre-cropped to
    the outputs' size: the same pixel scale as the methods' images beside it."""
    example = resize_max_side(open_image(report["inputs"]["texture"]),
                              report["settings"]["loss"]["style_size"])  # fmt: skip
    height, width = report["settings"]["size"]
    left, top = max(0, (example.width - width) // 2), max(0, (example.height - height) // 2)
    return example.crop((left, top, left + min(width, example.width),
                         top + min(height, example.height)))  # fmt: skip


def _fit(image: Image.Image, side: int) -> Image.Image:
    """A centred square crop of ``image``, scaled to ``side`` px."""
    short = min(image.size)
    left, top = (image.width - short) // 2, (image.height - short) // 2
    return image.crop((left, top, left + short, top + short)).resize((side, side))


def parse_train(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` training overrides (YAML values)."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--train {item!r}: expected KEY=VALUE")
        overrides[key.replace("-", "_")] = yaml.safe_load(value)
    return overrides


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="resumable outputs")
    parser.add_argument("--results", type=Path, default=RESULTS / "paper_figure")
    parser.add_argument("--data", type=Path, default=None, help="texture folder")
    parser.add_argument("--textures", nargs="+", default=list(DEFAULT_TEXTURES))
    parser.add_argument("--methods", default=",".join(METHODS), help="compare --methods")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=4, help="network and GAN samples")
    parser.add_argument("--baseline-samples", type=int, default=2, help="Gatys and PS images")
    parser.add_argument("--gatys-steps", type=int, default=300)
    parser.add_argument("--ps-steps", type=int, default=100)
    parser.add_argument("--gan-minutes", type=float, default=10.0)
    parser.add_argument("--train-minutes", type=float, default=10.0)
    parser.add_argument("--train-steps", type=int, default=100_000)
    parser.add_argument("--train-all", action="store_true", help="train even shipped textures")
    parser.add_argument("--train", nargs="*", default=[], metavar="KEY=VALUE")
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--isolate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each method in a fresh process (CPU peak memory is measured only then)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        args.methods = parse_methods(args.methods)
    except UserError as error:
        raise SystemExit(f"error: {error}") from error
    args.train = parse_train(args.train)
    work = args.work.expanduser()
    work.mkdir(parents=True, exist_ok=True)
    folder = args.data or data_root() / "textures"
    textures = [folder / name for name in args.textures]
    if args.report_only:
        folders = [work / "compare" / t.stem for t in textures]
        folders = [f for f in folders if (f / "report.json").is_file()]
    else:
        folders = [run_texture(texture, args, work) for texture in textures]
    if not folders:
        raise SystemExit(f"no finished comparisons under {work / 'compare'}")
    markdown, payload = build_outputs(folders, args.results)
    machine = machine_info()
    (args.results / "results.md").write_text(f"{markdown}\n\n{machine['summary']}\n")
    record = {"machine": machine, "work": str(work), "textures": payload}
    (args.results / "results.json").write_text(json.dumps(record, indent=2) + "\n")
    print(markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

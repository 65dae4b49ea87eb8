"""Gatys et al.'s observations, measured on this project's baseline (``baselines/gatys.py``).

Five studies, each on one texture (``--texture``, default ``tn_red_peppers.jpg``) or, for style
transfer, one photo (``--content``) and one painting (``--style``, default Hokusai's wave):

1. ``optimizers``: L-BFGS vs Adam, loss per iteration and per second.
2. ``pooling``: average vs max pooling in the descriptor; both results scored by one common
   scorer (the average-pooling descriptor, all five style layers) and shown side by side.
3. ``layers``: style layers relu1_1 only, up to relu2_1, ..., up to relu5_1: the scale of the
   structures that survive grows with depth (Gatys et al. 2015, Fig. 2).
4. ``init``: style transfer from noise vs from the content photo (loss curves).
5. ``ratio``: content/style weight ratio (five values) -> images, content and style distance.

Writes ``OUT/gatys.md`` (text and tables) and ``OUT/images/gatys/*.png`` (figures drawn with
PIL) plus the raw numbers in ``OUT/images/gatys/results.json``. Every run uses L-BFGS (unless
the study is about the optimiser), the shared ``TextureLoss`` and ``--steps`` iterations; every
score is computed afterwards in fp32 under the average-pooling descriptor.

The runs (inputs, one Gatys run, scores) are in ``gatys_study_runs.py``.

    python -m benchmarks.gatys_study                        # full: 192 px, 150 iterations
    python -m benchmarks.gatys_study --quick --descriptor random --out /tmp/study  # smoke test
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from torch import Tensor

from benchmarks.common import REPO, machine_info, table
from benchmarks.gatys_study_runs import (
    CONTENT_LAYER,
    IMAGES,
    STYLE_LAYERS,
    Context,
    build_context,
    fit_like,
    max_pool_distance,
    run_gatys,
    texture_scores,
    transfer_scores,
    warm_up,
)
from texture_nets.baselines.gatys import DEFAULT_LR
from texture_nets.evaluation.plots import Curve, image_grid, plot_curves
from texture_nets.evaluation.report import format_number
from texture_nets.image import tensor_to_pil

STUDIES = ("optimizers", "pooling", "layers", "init", "ratio")
RATIOS = (0.01, 0.1, 1.0, 10.0, 100.0)  # content weight / style weight
QUICK = {"size": 32, "steps": 4}


# -- formatting ------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return format_number(value, exp_digits=2)


def save_grid(ctx: Context, name: str, images: Sequence[Tensor], labels: Sequence[str]) -> str:
    """One row of images with column labels; returns the markdown image link."""
    path = ctx.figure(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_grid([[tensor_to_pil(image) for image in images]], labels).save(path)
    return f"![{name}]({ctx.link(name)})"


def save_plot(ctx: Context, name: str, curves: Sequence[Curve], title: str, xlabel: str) -> str:
    plot_curves(curves, ctx.figure(name), title, xlabel=xlabel)
    return f"![{name}]({ctx.link(name)})"


def first_reaching(losses: Sequence[float], target: float) -> int | None:
    """1-based iteration at which ``losses`` first reach ``target`` (None if never)."""
    return next((i + 1 for i, value in enumerate(losses) if value <= target), None)


# -- the studies -------------------------------------------------------------------------------


def study_optimizers(ctx: Context) -> None:
    runs = {
        name: run_gatys(ctx, f"texture, {name}", style=ctx.example, optimizer=name)
        for name in ("lbfgs", "adam")
    }
    names = {"lbfgs": "L-BFGS", "adam": "Adam"}
    scores = {name: texture_scores(ctx, run.image) for name, run in runs.items()}
    figure = save_grid(
        ctx,
        "optimizers.png",
        [ctx.example, runs["lbfgs"].image, runs["adam"].image],
        ["example", "L-BFGS", "Adam"],
    )
    per_iteration = save_plot(
        ctx,
        "optimizers_loss.png",
        [Curve(run.losses, names[name]) for name, run in runs.items()],
        f"{ctx.texture_name}: loss per iteration",
        "iteration",
    )
    per_second = save_plot(
        ctx,
        "optimizers_time.png",
        [Curve(run.losses, names[name], x=run.seconds) for name, run in runs.items()],
        f"{ctx.texture_name}: loss over time",
        "seconds",
    )
    rows = []
    for name, run in runs.items():
        other = runs["adam" if name == "lbfgs" else "lbfgs"]
        reach = first_reaching(run.losses, other.final)
        seconds_per_it = statistics.fmean(
            [b - a for a, b in zip([0.0, *run.seconds], run.seconds, strict=False)]
        )
        reached = "never" if reach is None else f"{reach} ({run.seconds[reach - 1]:.1f} s)"
        rows.append(
            [
                names[name],
                f"{DEFAULT_LR[name]:g}",
                fmt(run.losses[0]),
                fmt(run.final),
                fmt(scores[name]["swd"]),
                f"{run.seconds[-1]:.1f} s",
                f"{seconds_per_it * 1000:.0f} ms",
                reached,
            ]
        )
    lbfgs, adam = runs["lbfgs"], runs["adam"]
    ratio = adam.final / lbfgs.final if lbfgs.final > 0 else math.inf
    reach = first_reaching(lbfgs.losses, adam.final)
    finding = (
        f"After {ctx.steps} iterations L-BFGS ends at loss {fmt(lbfgs.final)}, Adam at "
        f"{fmt(adam.final)} ({ratio:.3g}x L-BFGS's)"
        + (
            f"; L-BFGS reached Adam's final loss after {reach} iterations "
            f"({lbfgs.seconds[reach - 1]:.1f} s vs Adam's {adam.seconds[-1]:.1f} s)."
            if reach is not None
            else "; L-BFGS never reached Adam's final loss."
        )
    )
    ctx.results["optimizers"] = {
        name: {"losses": run.losses, "seconds": run.seconds, "scores": scores[name]}
        for name, run in runs.items()
    }
    ctx.summary.append(
        f"| 1. L-BFGS vs Adam | texture from noise, {ctx.steps} iterations | {finding} | "
        f"[curves]({ctx.link('optimizers_loss.png')}) |"
    )
    ctx.sections.append(
        "\n".join(
            [
                "## 1. L-BFGS vs Adam",
                "",
                "Gatys et al. (2015) optimise the image with L-BFGS. Here both optimisers start "
                f"from the same noise image ({ctx.texture_name}, {ctx.size}x{ctx.size} px, all "
                "five style layers) and run for the same number of iterations; one iteration is "
                "one descriptor forward and backward pass for both (L-BFGS without line "
                "search, see `texture_nets/baselines/gatys.py`). The loss is the training "
                "objective.",
                "",
                figure,
                "",
                per_iteration,
                "",
                per_second,
                "",
                table(
                    [
                        "optimizer",
                        "lr",
                        "initial loss",
                        "final loss",
                        "SWD",
                        "time",
                        "per iteration",
                        "reaches the other's final loss at iteration",
                    ],
                    rows,
                ),
                "",
                f"**Measured:** {finding}",
            ]
        )
    )


def study_pooling(ctx: Context) -> None:
    runs = {
        pooling: run_gatys(ctx, f"texture, {pooling} pooling", style=ctx.example, pooling=pooling)
        for pooling in ("avg", "max")
    }
    scores = {pooling: texture_scores(ctx, run.image) for pooling, run in runs.items()}
    max_scorer = {pooling: max_pool_distance(ctx, run.image) for pooling, run in runs.items()}
    figure = save_grid(
        ctx,
        "pooling.png",
        [ctx.example, runs["avg"].image, runs["max"].image],
        ["example", "average pooling", "max pooling"],
    )
    rows = [
        [
            pooling,
            fmt(run.final),
            fmt(scores[pooling]["style_distance"]),
            fmt(scores[pooling]["swd"]),
            fmt(max_scorer[pooling]),
            f"{run.total_seconds:.1f} s",
        ]
        for pooling, run in runs.items()
    ]
    avg, mx = scores["avg"]["style_distance"], scores["max"]["style_distance"]
    better = "average" if avg < mx else "max"
    finding = (
        f"Under the common average-pooling scorer, average pooling ends at style distance "
        f"{fmt(avg)} and max pooling at {fmt(mx)} ({better} pooling lower); SWD "
        f"{fmt(scores['avg']['swd'])} vs {fmt(scores['max']['swd'])}."
    )
    ctx.results["pooling"] = {
        pooling: {
            "losses": run.losses,
            "scores_avg_scorer": scores[pooling],
            "style_distance_max_scorer": max_scorer[pooling],
        }
        for pooling, run in runs.items()
    }
    ctx.summary.append(
        f"| 2. average vs max pooling | texture, scored by the avg-pool descriptor | {finding} | "
        f"[images]({ctx.link('pooling.png')}) |"
    )
    ctx.sections.append(
        "\n".join(
            [
                "## 2. Average vs max pooling",
                "",
                "Gatys et al. (2015, 2016) replace VGG's max pooling by average pooling, "
                "reporting better gradient flow and slightly cleaner results. Each run optimises "
                "its own objective (the same weights, with max or average pooling inside the "
                "descriptor); the final images are then scored by one common scorer, the "
                "average-pooling descriptor (style distance over all five layers and sliced "
                "Wasserstein distance), and for completeness by the max-pooling descriptor.",
                "",
                figure,
                "",
                table(
                    [
                        "pooling in the optimisation",
                        "own final loss",
                        "style distance (avg scorer)",
                        "SWD (avg scorer)",
                        "style distance (max scorer)",
                        "time",
                    ],
                    rows,
                ),
                "",
                f"**Measured:** {finding}",
            ]
        )
    )


def study_layers(ctx: Context) -> None:
    sets = [list(STYLE_LAYERS[: k + 1]) for k in range(len(STYLE_LAYERS))]
    labels = ["relu1_1", *[f"relu1_1..{layers[-1]}" for layers in sets[1:]]]
    runs = [
        run_gatys(ctx, f"texture, {label}", style=ctx.example, layers=layers)
        for label, layers in zip(labels, sets, strict=True)
    ]
    scores = [texture_scores(ctx, run.image) for run in runs]
    figure = save_grid(
        ctx,
        "layers.png",
        [ctx.example, *[run.image for run in runs]],
        ["example", *[label.replace("relu1_1..", "..") for label in labels]],
    )
    rows = [
        [
            label,
            fmt(run.final),
            *[fmt(score[f"style_distance/{layer}"]) for layer in STYLE_LAYERS],
            fmt(score["style_distance"]),
            fmt(score["swd"]),
        ]
        for label, run, score in zip(labels, runs, scores, strict=True)
    ]
    deepest = STYLE_LAYERS[-1]
    finding = (
        f"The {deepest} style distance (structure at the largest scale) goes from "
        f"{fmt(scores[0][f'style_distance/{deepest}'])} with relu1_1 alone to "
        f"{fmt(scores[-1][f'style_distance/{deepest}'])} with all five layers; the total over all "
        f"five layers from {fmt(scores[0]['style_distance'])} to "
        f"{fmt(scores[-1]['style_distance'])}."
    )
    ctx.results["layers"] = [
        {"layers": layers, "losses": run.losses, "scores": score}
        for layers, run, score in zip(sets, runs, scores, strict=True)
    ]
    ctx.summary.append(
        f"| 3. shallow vs deep style layers | texture, 5 layer sets | {finding} | "
        f"[images]({ctx.link('layers.png')}) |"
    )
    ctx.sections.append(
        "\n".join(
            [
                "## 3. Shallow vs deep style layers: the scale of structure",
                "",
                "Gatys et al. (2015, Fig. 2) match Gram matrices up to increasingly deep layers "
                "and observe that the size of the structures the synthesis preserves grows with "
                "the depth: the first layer alone gives coloured noise, deeper layers give "
                "larger, more object-like structures. Each run below matches the layers named "
                "above its image (weights 1, the same noise start); the table scores every "
                "result under all five layers (average-pooling descriptor): a layer that was "
                "not optimised shows how much of that scale of structure is missing.",
                "",
                figure,
                "",
                table(
                    [
                        "style layers",
                        "own final loss",
                        *[f"dist. {layer}" for layer in STYLE_LAYERS],
                        "total (5 layers)",
                        "SWD",
                    ],
                    rows,
                ),
                "",
                f"**Measured:** {finding}",
            ]
        )
    )


def study_init(ctx: Context) -> None:
    runs = {
        init: run_gatys(
            ctx, f"style transfer from {init}", style=ctx.style, init=init, content=ctx.content
        )
        for init in ("noise", "content")
    }
    scores = {init: transfer_scores(ctx, run.image) for init, run in runs.items()}
    figure = save_grid(
        ctx,
        "init.png",
        [
            ctx.content,
            fit_like(ctx.style, ctx.content),
            runs["noise"].image,
            runs["content"].image,
        ],
        ["content", "style", "from noise", "from the content photo"],
    )
    plot = save_plot(
        ctx,
        "init_loss.png",
        [Curve(run.losses, f"init: {init}") for init, run in runs.items()],
        f"{ctx.content_name} in the style of {ctx.style_name}: loss per iteration",
        "iteration",
    )
    rows = [
        [
            init,
            fmt(run.losses[0]),
            fmt(run.final),
            fmt(scores[init]["content_distance"]),
            fmt(scores[init]["style_distance"]),
            fmt(scores[init]["content_ssim"]),
            f"{run.total_seconds:.1f} s",
        ]
        for init, run in runs.items()
    ]
    noise, content = runs["noise"], runs["content"]
    reach = first_reaching(content.losses, noise.final)
    finding = f"Final loss {fmt(noise.final)} from noise vs {fmt(content.final)} from the photo" + (
        f"; the photo start reached the noise start's final loss after {reach} iterations."
        if reach is not None
        else "; the photo start never reached the noise start's final loss."
    )
    ctx.results["init"] = {
        init: {"losses": run.losses, "scores": scores[init]} for init, run in runs.items()
    }
    ctx.summary.append(
        f"| 4. noise vs content initialisation | style transfer, content weight = style weight | "
        f"{finding} | [curves]({ctx.link('init_loss.png')}) |"
    )
    ctx.sections.append(
        "\n".join(
            [
                "## 4. Style transfer: noise vs content initialisation",
                "",
                "Gatys et al. (2016, Sec. 5, Fig. 6) start from white noise but also try the "
                "content (or style) image: the start biases the result towards its spatial "
                "structure, without a strong effect on the outcome, and only a noise start "
                "gives a new image per seed. Here: "
                f"{ctx.content_name} (longer side {ctx.size} px) in the style of "
                f"{ctx.style_name}, content layer {CONTENT_LAYER}, style and content weight 1, "
                "L-BFGS; the noise start is this project's (mid-grey plus uniform noise).",
                "",
                figure,
                "",
                plot,
                "",
                table(
                    [
                        "init",
                        "initial loss",
                        "final loss",
                        "content distance",
                        "style distance",
                        "SSIM to the photo",
                        "time",
                    ],
                    rows,
                ),
                "",
                f"**Measured:** {finding}",
            ]
        )
    )


def study_ratio(ctx: Context) -> None:
    init = ctx.args.ratio_init
    runs = [
        run_gatys(
            ctx,
            f"style transfer, content/style {ratio:g}",
            style=ctx.style,
            init=init,
            content=ctx.content,
            content_weight=ratio,
        )
        for ratio in RATIOS
    ]
    scores = [transfer_scores(ctx, run.image) for run in runs]
    figure = save_grid(
        ctx,
        "ratio.png",
        [ctx.content, fit_like(ctx.style, ctx.content), *[run.image for run in runs]],
        ["content", "style", *[f"{ratio:g}" for ratio in RATIOS]],
    )
    rows = [
        [
            f"{ratio:g}",
            fmt(run.final),
            fmt(score["content_distance"]),
            fmt(score["style_distance"]),
            fmt(score["content_ssim"]),
        ]
        for ratio, run, score in zip(RATIOS, runs, scores, strict=True)
    ]
    content = [score["content_distance"] for score in scores]
    style = [score["style_distance"] for score in scores]
    finding = (
        f"From content/style {RATIOS[0]:g} to {RATIOS[-1]:g} the content distance goes from "
        f"{fmt(content[0])} to {fmt(content[-1])} and the style distance from {fmt(style[0])} "
        f"to {fmt(style[-1])}"
        + ("" if _monotonic(content, -1) and _monotonic(style, 1) else " (not monotonically)")
        + "."
    )
    ctx.results["ratio"] = [
        {"content_weight": ratio, "style_weight": 1.0, "losses": run.losses, "scores": score}
        for ratio, run, score in zip(RATIOS, runs, scores, strict=True)
    ]
    ctx.summary.append(
        f"| 5. content/style weight ratio | style transfer from {init}, 5 ratios | {finding} | "
        f"[images]({ctx.link('ratio.png')}) |"
    )
    ctx.sections.append(
        "\n".join(
            [
                "## 5. Content/style weight ratio",
                "",
                "Gatys et al. (2016, Fig. 4) vary the ratio of the content and style weights: "
                "emphasising style gives a texturised version of the painting with little of "
                "the photo, emphasising content keeps the photo recognisable with less of the "
                "style. Here the style weight is 1 and the content weight is the ratio "
                f"(this project's losses are relative, so 1 balances the two terms); start: "
                f"{init}, as in the paper's figure. Distances are unweighted (average-pooling "
                "scorer).",
                "",
                figure,
                "",
                table(
                    [
                        "content / style weight",
                        "final loss",
                        "content distance",
                        "style distance",
                        "SSIM to the photo",
                    ],
                    rows,
                ),
                "",
                f"**Measured:** {finding}",
            ]
        )
    )


def _monotonic(values: Sequence[float], direction: int) -> bool:
    return all((b - a) * direction >= 0 for a, b in itertools.pairwise(values))


RUNNERS: dict[str, Callable[[Context], None]] = {
    "optimizers": study_optimizers,
    "pooling": study_pooling,
    "layers": study_layers,
    "init": study_init,
    "ratio": study_ratio,
}


# -- the document ------------------------------------------------------------------------------


def write_markdown(ctx: Context, argv: Sequence[str]) -> Path:
    args = ctx.args
    machine = machine_info()
    elapsed = time.perf_counter() - ctx.started
    command = " ".join(["python -m benchmarks.gatys_study", *argv])
    header = [
        "# Gatys et al.'s observations, measured",
        "",
        "The optimisation baseline of this project (`python -m texture_nets gatys`, "
        "`texture_nets/baselines/gatys.py`) against the observations of Gatys, Ecker & Bethge, "
        "*Texture Synthesis Using Convolutional Neural Networks* (NeurIPS 2015, "
        "[arXiv 1505.07376](https://arxiv.org/abs/1505.07376)) and *Image Style Transfer Using "
        "Convolutional Neural Networks* (CVPR 2016). Every number and figure below was "
        "produced by `benchmarks/gatys_study.py`; the sentences marked **Measured** are "
        "generated from the numbers.",
        "",
        f"Settings: texture `{ctx.texture_name}`, photo `{ctx.content_name}`, painting "
        f"`{ctx.style_name}`; {args.size} px (textures {args.size}x{args.size}, photos longer "
        f"side {args.size}), example and painting at longer side {args.style_size or args.size} "
        f"px; {args.steps} iterations per run, L-BFGS unless stated, seed {args.seed}; "
        f"descriptor `{ctx.source}` ({'bf16' if ctx.use_bf16 else 'fp32'} during optimisation); "
        f"style layers {', '.join(STYLE_LAYERS)} (weight 1 each) unless stated, content layer "
        f"{CONTENT_LAYER}. Scores (style distance, SWD, content distance, SSIM: "
        "`texture_nets/evaluation/metrics/`) are computed afterwards in fp32 with the "
        f"average-pooling descriptor. {machine['summary']} {ctx.runs} runs, "
        f"{elapsed / 60:.1f} min in total.",
        "",
        f"Reproduce: `{command}`",
        "",
        "| study | setting | measured | figure |",
        "|---|---|---|---|",
        *ctx.summary,
        "",
    ]
    text = "\n".join(header) + "\n" + "\n\n".join(ctx.sections) + "\n"
    path = ctx.out / "gatys.md"
    path.write_text(text)
    results = {
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "descriptor": ctx.source,
        "bf16": ctx.use_bf16,
        "machine": machine,
        "seconds": elapsed,
        "studies": ctx.results,
    }
    (ctx.out / IMAGES / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gatys_study",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--texture", default="tn_red_peppers.jpg", help="file in textures/")
    parser.add_argument("--style", default="hokusai_great_wave.jpg", help="file in styles/")
    parser.add_argument(
        "--content", default="bsds500_val_14037.jpg", help="file in content/val/ (or a path)"
    )
    parser.add_argument("--size", type=int, default=192, help="texture side / photo longer side")
    parser.add_argument(
        "--style-size",
        type=int,
        default=None,
        help="longer side of example and painting (default: --size)",
    )
    parser.add_argument("--steps", type=int, default=150, help="iterations per run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--descriptor", default="auto", help="auto|torchvision|onnx|onnx:FILE|FILE.pth|random"
    )
    parser.add_argument("--precision", choices=("auto", "bf16", "fp32"), default="auto")
    parser.add_argument(
        "--ratio-init", choices=("noise", "content"), default="noise", help="start of study 5"
    )
    parser.add_argument(
        "--studies",
        default=",".join(STUDIES),
        help=f"comma-separated subset of {','.join(STUDIES)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: {QUICK['size']} px, {QUICK['steps']} iterations",
    )
    parser.add_argument(
        "--out", type=Path, default=REPO / "docs", help="writes OUT/gatys.md, OUT/images/gatys/"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.quick:
        args.size, args.steps = QUICK["size"], QUICK["steps"]
    studies = [name.strip() for name in args.studies.split(",") if name.strip()]
    unknown = sorted(set(studies) - set(STUDIES))
    if unknown or not studies:
        raise SystemExit(f"--studies: unknown {unknown}; choose from {', '.join(STUDIES)}")
    if args.size < 16 or args.steps < 1:
        raise SystemExit("--size must be >= 16 and --steps >= 1")
    ctx = build_context(args)
    if ctx.source.startswith("random"):
        print("WARNING: RANDOM descriptor weights: a smoke test, not results", file=sys.stderr)
    (ctx.out / IMAGES).mkdir(parents=True, exist_ok=True)
    warm_up(ctx)
    ctx.started = time.perf_counter()
    for name in studies:
        RUNNERS[name](ctx)
    path = write_markdown(ctx, argv)
    print(f"wrote {path} and {ctx.out / IMAGES}/", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The comparison's outputs: image grid and loss curves, ``report.json`` and ``report.md``.

``texture_nets.evaluation.compare`` runs and scores both methods; this module only renders what they
produced (no measurement, no model).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps
from torch import Tensor

from texture_nets.baselines.gatys import DEFAULT_LR
from texture_nets.evaluation.measure import machine_summary
from texture_nets.evaluation.plots import image_grid, plot_losses
from texture_nets.image import atomic_write, open_image, save_image, tensor_to_pil

if TYPE_CHECKING:
    from texture_nets.evaluation.compare import CompareOptions, MethodRun, Setup

MEMORY_NOTE_CPU = (
    "CPU: each method ran in a fresh process (multiprocessing 'spawn'). After imports, model "
    "and input loading, the process reset its peak-RSS counter (Linux /proc/self/clear_refs "
    "'5': VmHWM := VmRSS) and noted its RSS; the number is its VmHWM at the end minus that RSS: "
    "the most resident memory the method (warm-up included) added at any moment. Whole-process "
    "memory (tensors, autograd graph, allocator and library overhead), page granularity. "
    "(getrusage ru_maxrss is not used for the difference: a spawned child inherits its "
    "parent's peak there; both values are in report.json.)"
)
MEMORY_NOTE_CUDA = (
    "CUDA: torch.cuda.max_memory_allocated() during the method minus memory_allocated() after "
    "its models and inputs were on the GPU (peak stats reset before each method): tensor "
    "memory allocated on top of the loaded weights, caching-allocator slack excluded."
)
TIME_NOTE = (
    "Wall time (time.perf_counter). Network: median of batch-1 forward passes (noise and input "
    "pyramid included) after one warm-up pass. Gatys: per image, target computation plus the "
    "whole optimisation loop, after an untimed 2-iteration warm-up. Model and image loading "
    "excluded for both; warm-ups are inside the memory measurement."
)
METRICS_NOTE = (
    "computed afterwards in fp32 with the descriptor above, on the saved outputs of both "
    "methods (texture_nets.evaluation.metrics); 'loss' is the training objective (TextureLoss) "
    "with the checkpoint's weights."
)


# -- report.md --------------------------------------------------------------------------------

METRIC_NAMES = {
    "loss": ("objective (training loss)", "lower"),
    "style_distance": ("style distance (Gram)", "lower"),
    "swd": ("sliced Wasserstein distance", "lower"),
    "content_distance": ("content distance", "lower"),
    "content_ssim": ("SSIM to the content photo", "higher"),
    "diversity": ("diversity (mean pixel L1 between samples)", "higher"),
}


def metric_label(key: str) -> str:
    base, _, layer = key.partition("/")
    name, better = METRIC_NAMES.get(base, (base, ""))
    arrow = {"lower": " ↓", "higher": " ↑"}.get(better, "")
    return f"&nbsp;&nbsp;{name}, {layer}" if layer else f"{name}{arrow}"


def metric_order(keys: Sequence[str]) -> list[str]:
    """Totals in ``METRIC_NAMES`` order, then the other totals, each followed by its per-layer
    entries; per-layer entries without a total come last."""
    totals = [key for key in METRIC_NAMES if key in keys] + [k for k in keys if "/" not in k]

    def rank(key: str) -> tuple[int, bool]:
        base = key.partition("/")[0]
        return totals.index(base) if base in totals else len(totals), "/" in key

    return sorted(keys, key=rank)


def format_number(value: float | None, exp_digits: int = 3) -> str:
    """4 significant digits, or scientific notation for very large/small values; "–" if none."""
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 1e-3:
        return f"{value:.{exp_digits}e}"
    return f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.2f} ms"


def format_bytes(value: float | None) -> str:
    return "not measured" if value is None else f"{value / 2**20:.1f} MiB"


def to_markdown(report: Mapping[str, Any]) -> str:
    """``report.md``: settings, the picture, one table of every metric, time and memory."""
    gatys, network = report["methods"]["gatys"], report["methods"]["network"]
    settings, inputs, checkpoint = report["settings"], report["inputs"], report["checkpoint"]
    if report["mode"] == "texture":
        title = f"Texture network vs Gatys et al.: {Path(inputs['texture']).name}"
        what = (
            f"{settings['samples']} network sample(s) and 1 Gatys image of "
            f"{settings['size'][1]}x{settings['size'][0]} px"
        )
    else:
        title = f"Stylization network vs Gatys et al.: {Path(inputs['style']).name}"
        what = (
            f"{len(inputs['contents'])} content photo(s), longer side {settings['size'][0]} px; "
            f"{network['outputs_per_input']} network output(s) and 1 Gatys image per photo"
        )
    loss = settings["loss"]
    objective = f"Style layers {', '.join(f'{k} ({v:g})' for k, v in loss['style_layers'].items())}"
    objective += f", style weight {loss['style_weight']:g}"
    if loss["content_layers"]:
        objective += (
            f", content layers {', '.join(loss['content_layers'])} "
            f"(weight {loss['content_weight']:g})"
        )
    if loss["tv_weight"]:
        objective += f", TV weight {loss['tv_weight']:g}"
    optimizer, steps = settings["gatys_optimizer"], settings["gatys_steps"]
    keys = metric_order(list(dict.fromkeys([*gatys["metrics"], *network["metrics"]])))

    def column(method: Mapping[str, Any]) -> list[str]:
        return [
            *(format_number(method["metrics"].get(key)) for key in keys),
            format_seconds(method["seconds_per_image"]),
            format_bytes(method["memory"]["peak_increase_bytes"]),
        ]

    labels = [*map(metric_label, keys), "wall time per image", "peak memory (increase)"]
    lines = [
        f"# {title}",
        "",
        f"Checkpoint `{checkpoint['path']}` (step {checkpoint['global_step']},"
        f" {checkpoint['architecture']}); {what}.",
        f"Descriptor `{report['descriptor']['source']}` ({loss['pooling']} pooling; the network "
        f"was trained with `{checkpoint['descriptor_source']}`). {objective}, "
        f"style size {loss['style_size']} px.",
        f"Gatys: {steps} iterations of {optimizer} ({settings['gatys_precision']} descriptor), "
        f"seed {settings['seed']}. {report['machine']['summary']}",
        "",
        f"![comparison]({report['outputs']['grid']})",
        "",
        f"| metric | Gatys ({optimizer}, {steps} it.) | network |",
        "|---|---|---|",
        *(
            f"| {label} | {g} | {n} |"
            for label, g, n in zip(labels, column(gatys), column(network), strict=True)
        ),
        "",
        f"**Speed ratio** (Gatys time / network time per image): **{report['speed_ratio']:.4g}x**.",
        "",
        "How it was measured:",
        "",
        f"* Metrics: {report['notes']['metrics']}",
        f"* Time: {report['notes']['time']}",
        f"* Memory: {report['notes']['memory']}",
        "",
    ]
    return "\n".join(lines)


def finite_or_none(value: Any) -> Any:
    """JSON-safe: NaN and infinities become ``None``, in nested dicts and lists too."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_none(v) for v in value]
    return value


# -- report.json and the images ----------------------------------------------------------------


def build_report(
    setup: Setup,
    runs: Mapping[str, MethodRun],
    metrics: Mapping[str, dict[str, float]],
    options: CompareOptions,
    written: Mapping[str, Any],
) -> dict[str, Any]:
    gatys, network = runs["gatys"], runs["network"]
    gatys_per_image = statistics.fmean(gatys.seconds)
    network_per_image = statistics.median(network.seconds)
    if setup.device.type == "cuda":
        memory_note = MEMORY_NOTE_CUDA
    elif setup.isolate:
        memory_note = MEMORY_NOTE_CPU
    else:
        memory_note = "not measured (the methods ran in this process: isolate=False)"
    if setup.mode == "texture":
        inputs: dict[str, Any] = {
            "texture": setup.style_path,
            "example_size": list(setup.example.shape[-2:]),
        }
    else:
        inputs = {
            "style": setup.style_path,
            "contents": list(options.content),
            "content_sizes": [list(c.shape[-2:]) for c in setup.contents],
        }
    info = setup.info
    report: dict[str, Any] = {
        "mode": setup.mode,
        "checkpoint": {
            "path": str(info.path),
            "global_step": info.global_step,
            "architecture": info.architecture,
            "descriptor_source": info.descriptor_source,
            "trained_on": info.config.get("style_image"),
        },
        "inputs": inputs,
        "descriptor": {
            "requested": options.descriptor,
            "source": setup.descriptor_source,
            "arch": setup.descriptor.arch,
            "pooling": setup.settings.pooling,
        },
        "settings": {
            "size": [options.size, options.size],
            "samples": options.samples,
            "seed": options.seed,
            "repeats": options.repeats,
            "gatys_steps": options.gatys_steps,
            "gatys_optimizer": options.gatys_optimizer,
            "gatys_lr": DEFAULT_LR[options.gatys_optimizer],
            "gatys_init": "noise" if setup.mode == "texture" else "content",
            "gatys_precision": "bf16" if setup.use_bf16 else "fp32",
            "network_precision": "fp32",
            "device": str(setup.device),
            "loss": asdict(setup.settings),
        },
        "methods": {
            "gatys": {
                "images": len(gatys.outputs),
                "metrics": metrics["gatys"],
                "seconds_per_image": gatys_per_image,
                "seconds": gatys.seconds,
                "iterations": [len(curve) for curve in gatys.curves],
                "final_losses": [curve[-1] if curve else None for curve in gatys.curves],
                "memory": gatys.memory,
            },
            "network": {
                "images": sum(o.shape[0] for o in network.outputs),
                "outputs_per_input": len(network.seeds) if setup.mode == "stylize" else 1,
                "metrics": metrics["network"],
                "seconds_per_image": network_per_image,
                "seconds": network.seconds,
                "timed_passes": len(network.seconds),
                "memory": network.memory,
            },
        },
        "speed_ratio": gatys_per_image / network_per_image,
        "notes": {
            "metrics": METRICS_NOTE,
            "time": TIME_NOTE,
            "memory": memory_note,
            "speed_ratio": "Gatys seconds per image / network seconds per image",
        },
        "machine": machine_summary(setup.device),
        "outputs": {**written, "report_json": "report.json", "report_md": "report.md"},
    }
    return dict(finite_or_none(report))


def _center_crop(image: Tensor, height: int, width: int) -> Tensor:
    """A centred crop of at most (height, width): the example at its true pixel scale."""
    h, w = image.shape[-2:]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return image[..., top : top + height, left : left + width]


def write_images(
    setup: Setup, runs: Mapping[str, MethodRun], options: CompareOptions
) -> dict[str, Any]:
    """``comparison.png``, ``images/*.png`` and Gatys' loss curves; returns the file names."""
    out = options.out
    gatys, network = runs["gatys"], runs["network"]
    seeds = network.seeds
    written: dict[str, Any] = {"grid": "comparison.png", "images": [], "gatys_loss_curves": []}
    texture = setup.mode == "texture"
    style = None if texture else open_image(setup.style_path)
    rows = []
    for index, (result, outputs) in enumerate(zip(gatys.outputs, network.outputs, strict=True)):
        if style is None:
            stem = ""
            row = [tensor_to_pil(_center_crop(setup.example, options.size, options.size))]
        else:
            stem = f"{index:02d}_{Path(options.content[index]).stem}_"
            content = setup.contents[index]
            box = (content.shape[-1], content.shape[-2])
            row = [tensor_to_pil(content), ImageOps.contain(style, box, Image.Resampling.LANCZOS)]
        rows.append([*row, tensor_to_pil(result), *map(tensor_to_pil, outputs)])
        names = [f"{stem}gatys.png", *(f"{stem}network_seed{seed}.png" for seed in seeds)]
        for image, name in zip([result, *outputs], names, strict=True):
            save_image(image, out / "images" / name)
            written["images"].append(f"images/{name}")
    inputs = ["example (crop)"] if texture else ["content", "style"]
    networks = [f"network seed {s}" for s in seeds] if texture or len(seeds) > 1 else ["network"]
    grid = image_grid(rows, [*inputs, "Gatys", *networks])
    atomic_write(out / "comparison.png", lambda tmp: grid.save(tmp, format="PNG"))
    for index, curve in enumerate(gatys.curves):
        name = "gatys_loss.png" if len(gatys.curves) == 1 else f"gatys_loss_{index:02d}.png"
        plot_losses(curve, out / name, f"Gatys {options.gatys_optimizer}, image {index + 1}")
        written["gatys_loss_curves"].append(name)
    return written

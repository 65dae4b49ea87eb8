"""The comparison's tables: ``report.json`` and ``report.md`` (the pictures:
``texture_nets.evaluation.figures``).

``texture_nets.evaluation.compare`` runs and scores the methods; this module only renders what
they produced (no measurement, no model).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from texture_nets.baselines.gatys import DEFAULT_LR
from texture_nets.evaluation.measure import machine_summary

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
    "Wall time (time.perf_counter). Network and GAN: median of batch-1 forward passes (noise "
    "and input pyramid included) after one warm-up pass; the GAN's training (on random crops "
    "of the example, for the budget given) is timed apart. Gatys: per image, target "
    "computation plus the whole optimisation loop, after an untimed 2-iteration warm-up. "
    "Portilla-Simoncelli: per image, the example's statistics plus the metamer optimisation, "
    "after an untimed 1-iteration warm-up. Model and image loading excluded for all; warm-ups "
    "are inside the memory measurement. The GAN trains in a process of its own (its peak "
    "memory while training is reported apart) and samples in another."
)
METRICS_NOTE = (
    "computed afterwards in fp32 with the descriptor above, on the saved outputs of every "
    "method (texture_nets.evaluation.metrics); 'loss' is the training objective (TextureLoss) "
    "with the checkpoint's weights. '/ floor': the method's value over that of random crops of "
    "the example at the same size, scored the same way (1 = as good as real samples)."
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


PAPER_ORDER = ("ps", "gan", "gatys", "network")  # the paper's figure, left to right
METHOD_NAMES = {"ps": "Portilla-Simoncelli", "gan": "GAN", "gatys": "Gatys", "network": "network"}


def method_heading(name: str, settings: Mapping[str, Any]) -> str:
    """A method's column heading in report.md, with its budget."""
    if name == "gatys":
        return f"Gatys ({settings['gatys_optimizer']}, {settings['gatys_steps']} it.)"
    if name == "ps":
        return f"Portilla-Simoncelli ({settings['ps_steps']} it.)"
    if name == "gan":
        return f"GAN ({format_seconds(60 * settings['gan_minutes'])} training)"
    return METHOD_NAMES.get(name, name)


def to_markdown(report: Mapping[str, Any]) -> str:
    """``report.md``: settings, the picture, one table of every metric, time and memory."""
    methods: Mapping[str, Any] = report["methods"]
    names = [name for name in PAPER_ORDER if name in methods]
    settings, inputs, checkpoint = report["settings"], report["inputs"], report["checkpoint"]
    others = ", ".join(METHOD_NAMES[n] for n in names if n != "network") or "nothing"
    network = methods.get("network")
    if report["mode"] == "texture":
        title = f"Texture network vs {others}: {Path(inputs['texture']).name}"
        what = (
            f"{settings['samples']} network and GAN sample(s), {settings['baseline_samples']} "
            "Gatys / Portilla-Simoncelli image(s) of "
            f"{settings['size'][1]}x{settings['size'][0]} px"
        )
    else:
        title = f"Stylization network vs Gatys et al.: {Path(inputs['style']).name}"
        per_photo = network["outputs_per_input"] if network else 0
        what = (
            f"{len(inputs['contents'])} content photo(s), longer side {settings['size'][0]} px; "
            f"{per_photo} network output(s) and 1 Gatys image per photo"
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
    keys = metric_order(list(dict.fromkeys(k for n in names for k in methods[n]["metrics"])))
    floor = report.get("floor")
    rows: list[tuple[str, list[str]]] = [
        (metric_label(key), [format_number(methods[n]["metrics"].get(key)) for n in names])
        for key in keys
    ]
    if floor:
        for key, label in (("style_distance", "Gram / floor ↓"), ("swd", "SWD / floor ↓")):
            rows.append((label, [format_number(methods[n]["over_floor"].get(key)) for n in names]))
    training = [methods[n].get("training_seconds") for n in names]
    rows += [
        ("wall time per image (a new image)",
         [format_seconds(methods[n]["seconds_per_image"]) for n in names]),
        ("training (once) or optimisation (per image)",
         ["–" if t is None else format_seconds(t) for t in training]),
        ("peak memory (increase)", [format_bytes(methods[n]["memory"]["peak_increase_bytes"])
                                    for n in names]),
    ]  # fmt: skip
    if "gan" in methods:
        rows.append(("peak memory while training", [
            format_bytes(methods[n]["training"]["memory"]["peak_increase_bytes"])
            if n == "gan" else "–" for n in names]))  # fmt: skip
    lines = [
        f"# {title}",
        "",
        f"Checkpoint `{checkpoint['path']}` (step {checkpoint['global_step']},"
        f" {checkpoint['architecture']}); {what}.",
        f"Descriptor `{report['descriptor']['source']}` ({loss['pooling']} pooling; the network "
        f"was trained with `{checkpoint['descriptor_source']}`). {objective}, "
        f"style size {loss['style_size']} px.",
        f"Gatys: {settings['gatys_steps']} iterations of {settings['gatys_optimizer']} "
        f"({settings['gatys_precision']} descriptor), seed {settings['seed']}. "
        f"{report['machine']['summary']}",
        "",
        f"![comparison]({report['outputs']['grid']})",
        "",
        f"| metric | {' | '.join(method_heading(n, settings) for n in names)} |",
        "|---|" + "---|" * len(names),
        *(f"| {label} | {' | '.join(cells)} |" for label, cells in rows),
        "",
    ]
    if floor:
        scores = floor["metrics"]
        lines += [
            f"Floor: {floor['crops']} random crops of the example at {floor['size']} px: Gram "
            f"{format_number(scores['style_distance'])}, SWD {format_number(scores['swd'])}.",
            "",
        ]
    if "speed_ratio" in report:
        lines += [
            "**Speed ratio** (Gatys time / network time per image): "
            f"**{report['speed_ratio']:.4g}x**.",
            "",
        ]
    lines += [
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


def _method_entry(
    name: str, run: MethodRun, metrics: dict[str, float], setup: Setup
) -> dict[str, Any]:
    """One method's part of report.json."""
    generator = name in ("network", "gan")
    per_image = statistics.median(run.seconds) if generator else statistics.fmean(run.seconds)
    entry: dict[str, Any] = {
        "images": sum(o.shape[0] for o in run.outputs),
        "metrics": metrics,
        "seconds_per_image": per_image,
        "seconds": run.seconds,
        "memory": run.memory,
    }
    if generator:
        entry["timed_passes"] = len(run.seconds)
    else:  # an optimisation per image: its time is the time per image
        entry["iterations"] = [len(curve) for curve in run.curves]
        entry["final_losses"] = [curve[-1] if curve else None for curve in run.curves]
        entry["training_seconds"] = per_image
    if name == "network":
        entry["outputs_per_input"] = len(run.seeds) if setup.mode == "stylize" else 1
        entry["training_seconds"] = setup.network_training_seconds
    if name == "gan":
        entry["training"] = run.training
        entry["training_seconds"] = run.training["seconds"]
    return entry


def build_report(
    setup: Setup,
    runs: Mapping[str, MethodRun],
    metrics: Mapping[str, dict[str, float]],
    options: CompareOptions,
    written: Mapping[str, Any],
    floor: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
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
    methods = {name: _method_entry(name, run, metrics[name], setup) for name, run in runs.items()}
    if floor:
        for entry in methods.values():
            entry["over_floor"] = {
                key: entry["metrics"][key] / floor["metrics"][key]
                for key in ("style_distance", "swd")
                if floor["metrics"].get(key)
            }
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
            "methods": list(runs),
            "size": [options.size, options.size],
            "samples": options.samples,
            "baseline_samples": options.baseline_samples if setup.mode == "texture" else 1,
            "seed": options.seed,
            "repeats": options.repeats,
            "gatys_steps": options.gatys_steps,
            "gatys_optimizer": options.gatys_optimizer,
            "gatys_lr": DEFAULT_LR[options.gatys_optimizer],
            "gatys_init": "noise" if setup.mode == "texture" else "content",
            "gatys_precision": "bf16" if setup.use_bf16 else "fp32",
            "network_precision": "fp32",
            "ps_steps": options.ps_steps,
            "gan_minutes": setup.gan_minutes,
            "device": str(setup.device),
            "loss": asdict(setup.settings),
        },
        "methods": methods,
        "floor": dict(floor) if floor else None,
        "notes": {
            "metrics": METRICS_NOTE,
            "time": TIME_NOTE,
            "memory": memory_note,
            "speed_ratio": "Gatys seconds per image / network seconds per image",
        },
        "machine": machine_summary(setup.device),
        "outputs": {**written, "report_json": "report.json", "report_md": "report.md"},
    }
    if "gatys" in methods and "network" in methods:
        ratio = methods["gatys"]["seconds_per_image"] / methods["network"]["seconds_per_image"]
        report["speed_ratio"] = ratio
    return dict(finite_or_none(report))

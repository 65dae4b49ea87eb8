"""A trained network against Gatys et al.'s optimisation: same inputs, descriptor and loss.

::

    python -m texture_nets.compare --checkpoint runs/peppers --texture peppers.jpg --out cmp/
    python -m texture_nets.compare --checkpoint runs/wave --style wave.jpg --content a.jpg b.jpg

The loss settings come from the checkpoint's config (style layers and their weights, pooling,
``style_size``, style/content/TV weights, content layers): the Gatys baseline optimises exactly
the objective the network was trained on, under the descriptor given by ``--descriptor``
(default ``auto``; the checkpoint's own source is recorded beside it). Texture checkpoints:
``--samples`` network samples (noise seeds ``SEED``, ``SEED+1``, ...) and one Gatys image of
``--size`` px from seeded noise. Stylization checkpoints: every ``--content`` photo (longer side
``--size``) through the network (``--samples`` seeds per photo if the network takes noise) and
through Gatys (initialised with the photo, as ``python -m texture_nets.gatys`` does).

The output folder holds ``comparison.png`` (textures: example | Gatys | network samples;
stylization, one row per photo: content | style | Gatys | network), ``report.json``,
``report.md`` (every metric of ``texture_nets.metrics``, per layer too, the objective, wall
time and peak memory per method, and the speed ratio), the single images under ``images/``
and Gatys' loss curve(s). How time, memory and metrics are measured is written into both
reports (``TIME_NOTE``, ``MEMORY_NOTE_*``, ``METRICS_NOTE``; see ``texture_nets.measure``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image, ImageOps
from torch import Tensor, nn

from texture_nets.checkpoint import CheckpointInfo, find_checkpoint, read_checkpoint
from texture_nets.config import PRECISIONS
from texture_nets.descriptor import VGGDescriptor, min_input_side
from texture_nets.errors import (
    DefaultsHelpFormatter,
    UserError,
    UserErrorParser,
    exit_on_user_error,
)
from texture_nets.gatys import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_LR,
    DEFAULT_STYLE_LAYERS,
    OPTIMIZERS,
    GatysResult,
    LossSettings,
    describe,
    load_descriptor,
    make_init,
    optimize_image,
)
from texture_nets.generate_cli import positive_int
from texture_nets.generator import Generator
from texture_nets.image import (
    atomic_write,
    check_output_dir,
    image_sha256,
    load_image,
    open_image,
    pil_to_tensor,
    save_image,
    tensor_to_pil,
)
from texture_nets.measure import MemoryProbe, run_in_fresh_process, timed
from texture_nets.metrics import (
    ContentDistance,
    ContentSSIM,
    Diversity,
    SlicedWassersteinDistance,
    StyleDistance,
)
from texture_nets.networks import min_side, sample_textures
from texture_nets.plots import image_grid, plot_losses
from texture_nets.precision import resolve_bf16
from texture_nets.stylize import output_size, stylize_tensor

log = logging.getLogger(__name__)

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
    "methods (texture_nets.metrics); 'loss' is the training objective (TextureLoss) with the "
    "checkpoint's weights."
)


# -- settings ---------------------------------------------------------------------------------


@dataclass
class CompareOptions:
    """The command line's settings (see ``build_parser``)."""

    checkpoint: str
    out: Path
    texture: str | None = None
    style: str | None = None
    content: list[str] = field(default_factory=list)
    size: int = 256
    samples: int = 4
    gatys_steps: int = 300
    gatys_optimizer: str = "lbfgs"
    seed: int = 0
    descriptor: str = "auto"
    precision: str = "auto"
    repeats: int = 5
    device: str = "cpu"


def takes_noise(network: nn.Module) -> bool:
    """Whether different seeds can give different outputs (a generator with noise channels)."""
    return isinstance(network, Generator) and network.config.noise_depth > 0


def loss_settings(config: Mapping[str, Any], stylize: bool) -> LossSettings:
    """The objective a checkpoint was trained on, from its config."""
    layers = list(config.get("style_layers") or DEFAULT_STYLE_LAYERS)
    weights = config.get("style_layer_weights") or [1.0] * len(layers)
    if len(weights) != len(layers):
        raise UserError("checkpoint config: style_layer_weights do not match style_layers")
    content = list(config.get("content_layers") or DEFAULT_CONTENT_LAYERS) if stylize else []
    return LossSettings(
        style_layers={name: float(w) for name, w in zip(layers, weights, strict=True)},
        content_layers={name: 1.0 for name in content},
        style_weight=float(config.get("style_weight", 1.0)),
        content_weight=float(config.get("content_weight", 1.0)),
        tv_weight=float(config.get("tv_weight", 0.0)),
        pooling=str(config.get("pooling", "avg")),
        style_size=int(config.get("style_size", 512)),
        descriptor_arch=config.get("descriptor_arch"),
    )


# -- one method, in this process or a spawned one ---------------------------------------------


@dataclass
class Job:
    """Everything one method run needs; plain data, so it crosses a spawn boundary."""

    method: str
    options: CompareOptions
    mode: str
    checkpoint: str  # the checkpoint file
    workdir: str  # holds inputs.pt ({"style": T, "contents": [T, ...]}) and descriptor.pt
    loss: LossSettings
    threads: int
    use_bf16: bool


@dataclass
class MethodRun:
    """What one method produced, how long it took and how much memory it needed."""

    outputs: list[Tensor]  # (S, 3, H, W) per input: the texture example, or each content photo
    seconds: list[float]  # network: every timed pass; gatys: every image
    memory: dict[str, Any]
    curves: list[list[float]] = field(default_factory=list)  # gatys: loss per iteration
    seeds: list[int] = field(default_factory=list)  # network: the noise seeds of each input


def run_method(job: Job, isolated: bool = False) -> MethodRun:
    """Run one method of the comparison (``job.method``) and measure it; ``isolated``: this
    process runs nothing else (CPU peak memory is measured only then)."""
    torch.set_num_threads(job.threads)
    device = torch.device(job.options.device)
    inputs = torch.load(Path(job.workdir, "inputs.pt"), map_location="cpu", weights_only=True)
    if job.method == "network":
        return _run_network(job, device, inputs["contents"], isolated)
    if job.method == "gatys":
        return _run_gatys(job, device, inputs["style"], inputs["contents"], isolated)
    raise ValueError(f"unknown method {job.method!r}")


def _run_network(
    job: Job, device: torch.device, contents: list[Tensor], isolated: bool
) -> MethodRun:
    """Every output timed once (topped up to ``--repeats`` passes), after a warm-up pass."""
    options, info = job.options, read_checkpoint(job.checkpoint)
    if job.mode == "texture":
        generator = info.build_generator().to(device)
        seeds = [options.seed + i for i in range(options.samples)]
        side = options.size
        plan = [partial(sample_textures, generator, side, side, [s], device) for s in seeds]
    else:
        network = info.build_network().to(device)
        contents = [c.to(device) for c in contents]
        samples = options.samples if takes_noise(network) else 1
        seeds = [options.seed + i for i in range(samples)]
        plan = [partial(stylize_tensor, network, c, s) for c in contents for s in seeds]
    probe = MemoryProbe(device, isolated)
    probe.start()
    timed(device, plan[0])  # warm-up (allocator, kernels, lazy init)
    outputs: list[Tensor] = []
    seconds: list[float] = []
    for index in range(max(options.repeats, len(plan))):
        output, elapsed = timed(device, plan[index % len(plan)])
        seconds.append(elapsed)
        if index < len(plan):
            outputs.append(output.cpu())
    memory = probe.stop()
    per_input = [torch.cat(outputs[i : i + len(seeds)]) for i in range(0, len(outputs), len(seeds))]
    return MethodRun(per_input, seconds, memory, seeds=seeds)


def _run_gatys(
    job: Job, device: torch.device, style: Tensor, contents: list[Tensor], isolated: bool
) -> MethodRun:
    """One image per input (targets + optimisation timed), after a 2-iteration warm-up."""
    # Written by the parent into its own temporary folder: unpickling the module is safe.
    descriptor = torch.load(Path(job.workdir, "descriptor.pt"), weights_only=False)
    descriptor = cast(VGGDescriptor, descriptor).to(device)
    loss = job.loss.build_loss().to(device)
    style_layers, content_layers = list(job.loss.style_layers), list(job.loss.content_layers)
    options = job.options

    def synthesize(content: Tensor | None, steps: int) -> GatysResult:
        loss.set_style([describe(descriptor, style, style_layers, job.use_bf16)])
        targets, kind, size = None, "noise", (options.size, options.size)  # a texture
        if content is not None:
            targets = describe(descriptor, content, content_layers, job.use_bf16)
            kind, size = "content", (content.shape[-2], content.shape[-1])
        init = make_init(kind, size, content, seed=options.seed)
        return optimize_image(
            descriptor,
            loss,
            init,
            steps,
            optimizer=options.gatys_optimizer,
            content_targets=targets,
            use_bf16=job.use_bf16,
            progress=False,
        )

    inputs: list[Tensor | None] = list(contents) or [None]  # a texture: one image from noise
    probe = MemoryProbe(device, isolated)
    probe.start()
    timed(device, partial(synthesize, inputs[0], min(2, options.gatys_steps)))  # warm-up
    outputs: list[Tensor] = []
    seconds: list[float] = []
    curves: list[list[float]] = []
    for content in inputs:
        result, elapsed = timed(device, partial(synthesize, content, options.gatys_steps))
        outputs.append(result.image.cpu())
        seconds.append(elapsed)
        curves.append(result.losses)
    return MethodRun(outputs, seconds, probe.stop(), curves)


def _run_in_child(job: Job) -> dict[str, Any]:
    return asdict(run_method(job, isolated=True))


# -- scoring ----------------------------------------------------------------------------------


def score(
    descriptor: VGGDescriptor,
    style: Tensor,
    outputs: Sequence[Tensor],
    settings: LossSettings,
    seed: int,
    contents: Sequence[Tensor] | None = None,
) -> dict[str, float]:
    """Every metric of one method's outputs (fp32, ``texture_nets.metrics``).

    ``outputs[i]`` (S, 3, H, W) are the outputs for input i: the texture example (one input),
    or ``contents[i]`` (1, 3, H, W) when stylizing, which adds the content distance (per layer
    too) and SSIM. Diversity (mean pixel distance between the S outputs of one input) only when
    every S >= 2.
    """
    device = descriptor.mean.device
    style = style.to(device)
    style_distance = StyleDistance(descriptor, style, settings.style_layers)
    swd = SlicedWassersteinDistance(descriptor, style, list(settings.style_layers), seed=seed)
    diversity = Diversity().to(device) if all(o.shape[0] >= 2 for o in outputs) else None
    content_distances = {n: ContentDistance(descriptor, n) for n in settings.content_layers}
    ssim = ContentSSIM().to(device)
    for index, images in enumerate(outputs):
        images = images.to(device)
        style_distance.update(images)
        swd.update(images)
        if diversity is not None:
            diversity.update(images)
        if contents is not None:
            content = contents[index].to(device)
            for metric in content_distances.values():
                metric.update(images, content)
            ssim.update(images, content)
    report = {k: float(v) for k, v in (style_distance.compute() | swd.compute()).items()}
    if contents is not None:
        per_layer = {n: float(m.compute()) for n, m in content_distances.items()}
        report["content_distance"] = sum(
            settings.content_layers[n] * per_layer[n] for n in per_layer
        )
        report.update({f"content_distance/{n}": value for n, value in per_layer.items()})
        report["content_ssim"] = float(cast(Tensor, ssim.compute()))
    if diversity is not None:
        report["diversity"] = float(diversity.compute())
    return {"loss": _objective(descriptor, style, outputs, settings, contents), **report}


def _objective(
    descriptor: VGGDescriptor,
    style: Tensor,
    outputs: Sequence[Tensor],
    settings: LossSettings,
    contents: Sequence[Tensor] | None,
) -> float:
    """The training objective (fp32), averaged over every output, each against its content."""
    loss = settings.build_loss().to(descriptor.mean.device)
    batches: list[tuple[Tensor, Tensor | None]]
    if contents is None:  # textures: one image at a time
        batches = [(image[None], None) for images in outputs for image in images]
    else:
        batches = list(zip(outputs, contents, strict=True))
    values: list[float] = []
    with torch.no_grad():
        loss.set_style([descriptor(style, list(loss.style_layers))])
        for images, content in batches:
            images = images.to(style.device)
            targets = None
            if content is not None:
                targets = descriptor(content.to(style.device), list(loss.content_layers))
            total = loss(descriptor(images, loss.layers), targets, images).total
            values.extend([float(total)] * images.shape[0])
    return statistics.fmean(values)


# -- reports ----------------------------------------------------------------------------------

METRIC_NAMES = {
    "loss": ("objective (training loss)", "lower"),
    "style_distance": ("style distance (Gram)", "lower"),
    "swd": ("sliced Wasserstein distance", "lower"),
    "content_distance": ("content distance", "lower"),
    "content_ssim": ("SSIM to the content photo", "higher"),
    "diversity": ("diversity (mean pixel L1 between samples)", "higher"),
}


def _metric_label(key: str) -> str:
    base, _, layer = key.partition("/")
    name, better = METRIC_NAMES.get(base, (base, ""))
    arrow = {"lower": " ↓", "higher": " ↑"}.get(better, "")
    return f"&nbsp;&nbsp;{name}, {layer}" if layer else f"{name}{arrow}"


def _metric_order(keys: Sequence[str]) -> list[str]:
    """Totals in ``METRIC_NAMES`` order, then the other totals, each followed by its per-layer
    entries; per-layer entries without a total come last."""
    totals = [key for key in METRIC_NAMES if key in keys] + [k for k in keys if "/" not in k]

    def rank(key: str) -> tuple[int, bool]:
        base = key.partition("/")[0]
        return totals.index(base) if base in totals else len(totals), "/" in key

    return sorted(keys, key=rank)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 1e-3:
        return f"{value:.3e}"
    return f"{value:.4g}"


def _fmt_seconds(seconds: float) -> str:
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.2f} ms"


def _fmt_bytes(value: float | None) -> str:
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
    keys = _metric_order(list(dict.fromkeys([*gatys["metrics"], *network["metrics"]])))

    def column(method: Mapping[str, Any]) -> list[str]:
        return [
            *(_fmt(method["metrics"].get(key)) for key in keys),
            _fmt_seconds(method["seconds_per_image"]),
            _fmt_bytes(method["memory"]["peak_increase_bytes"]),
        ]

    labels = [*map(_metric_label, keys), "wall time per image", "peak memory (increase)"]
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


def _finite_or_none(value: Any) -> Any:
    """JSON-safe: NaN and infinities become ``None``, in nested dicts and lists too."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite_or_none(v) for v in value]
    return value


def machine_summary(device: torch.device) -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if "model name" in line]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    summary = (
        f"Machine: {cpu}, {os.cpu_count()} logical cores, {torch.get_num_threads()} torch "
        f"threads{', ' + gpu if gpu else ''}, device {device}; PyTorch {torch.__version__}."
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "gpu": gpu,
        "device": str(device),
        "torch": torch.__version__,
        "summary": summary,
    }


# -- the comparison ---------------------------------------------------------------------------


@dataclass
class _Setup:
    """The checked inputs of one comparison."""

    info: CheckpointInfo
    mode: str
    settings: LossSettings
    device: torch.device
    isolate: bool
    style_path: str
    example: Tensor  # the texture example / style image, at the checkpoint's style_size
    contents: list[Tensor]  # stylization: the content photos, longer side --size
    descriptor: VGGDescriptor
    descriptor_source: str
    use_bf16: bool


def _check_mode(options: CompareOptions, info: CheckpointInfo) -> str:
    if info.mode == "texture":
        if options.style or options.content:
            raise UserError(
                f"{info.path} is a texture checkpoint: give --texture IMG, not --style/--content"
            )
    elif info.mode == "stylize":
        if options.texture:
            raise UserError(
                f"{info.path} is a stylization checkpoint: give --style IMG --content PHOTO..., "
                "not --texture"
            )
        if not options.content:
            raise UserError(f"{info.path} is a stylization checkpoint: give --content PHOTO [...]")
    else:
        raise UserError(f"{info.path}: unknown checkpoint mode {info.mode!r}")
    return info.mode


def _content_tensor(path: str, side: int, minimum: int) -> Tensor:
    """A content photo scaled (up or down) to longer side ``side``."""
    image = open_image(path)
    size = output_size(image.size, side)
    if min(size) < minimum:
        raise UserError(
            f"--size {side}: {path} would be {size[0]}x{size[1]} px; this network needs at "
            f"least {minimum} px per side"
        )
    return pil_to_tensor(image.resize(size, Image.Resampling.LANCZOS))


def _prepare(options: CompareOptions, isolate: bool | None) -> _Setup:
    """Check the options, read the checkpoint, load the images and the descriptor."""
    for name in ("size", "samples", "gatys_steps", "repeats"):
        if getattr(options, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive")
    if options.gatys_optimizer not in OPTIMIZERS:
        raise UserError(f"--gatys-optimizer must be one of {', '.join(OPTIMIZERS)}")
    if options.precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}")
    try:
        device = torch.device(options.device)
    except RuntimeError as error:
        raise UserError(f"--device {options.device}: {error}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"--device {options.device}: CUDA is not available")
    check_output_dir(options.out)
    info = read_checkpoint(options.checkpoint)
    info.build_network()  # a damaged checkpoint fails here, not in a worker process
    mode = _check_mode(options, info)
    settings = loss_settings(info.config, mode == "stylize")
    minimum = min_side(info.generator_config)

    style_path = (options.texture if mode == "texture" else options.style) or str(
        info.config.get("style_image") or ""
    )
    if not style_path:
        flag = "--texture" if mode == "texture" else "--style"
        raise UserError(f"give {flag} IMG (the checkpoint does not name its example)")
    arch = str(info.config.get("descriptor_arch") or "vgg19")
    example = load_image(
        style_path, settings.style_size, min_side=min_input_side(arch, settings.layers)
    )
    if info.style_sha256 and image_sha256(style_path) != info.style_sha256:
        log.warning("note: %s is not the image this network was trained on", style_path)
    if mode == "texture" and options.size < minimum:
        raise UserError(f"--size: this generator needs at least {minimum} px per side")
    contents = [_content_tensor(p, options.size, minimum) for p in options.content]

    descriptor, source = load_descriptor(
        options.descriptor, settings, int(info.config.get("seed", 0))
    )
    if source.split(":")[0] != info.descriptor_source.split(":")[0]:
        log.warning(
            "note: scoring with %s; the network was trained with %s", source, info.descriptor_source
        )
    return _Setup(
        info=info,
        mode=mode,
        settings=settings,
        device=device,
        isolate=device.type == "cpu" if isolate is None else isolate,
        style_path=style_path,
        example=example,
        contents=contents,
        descriptor=descriptor,
        descriptor_source=source,
        use_bf16=resolve_bf16(options.precision, device),
    )


def _run_methods(setup: _Setup, options: CompareOptions) -> dict[str, MethodRun]:
    """Both methods, each in a fresh process when ``setup.isolate``; the network first."""
    runs: dict[str, MethodRun] = {}
    with tempfile.TemporaryDirectory(prefix="texture-nets-compare-") as workdir:
        torch.save({"style": setup.example, "contents": setup.contents}, Path(workdir, "inputs.pt"))
        torch.save(setup.descriptor, Path(workdir, "descriptor.pt"))
        for method in ("network", "gatys"):  # the network first: on CUDA, its peak without VGG
            job = Job(
                method=method,
                options=options,
                mode=setup.mode,
                checkpoint=str(setup.info.path),
                workdir=workdir,
                loss=setup.settings,
                threads=torch.get_num_threads(),
                use_bf16=setup.use_bf16,
            )
            log.info("running %s%s", method, " (in a fresh process)" if setup.isolate else "")
            if setup.isolate:
                runs[method] = MethodRun(**run_in_fresh_process(method, _run_in_child, job))
            else:
                runs[method] = run_method(job)
    return runs


def _center_crop(image: Tensor, height: int, width: int) -> Tensor:
    """A centred crop of at most (height, width): the example at its true pixel scale."""
    h, w = image.shape[-2:]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return image[..., top : top + height, left : left + width]


def _write_images(
    setup: _Setup, runs: Mapping[str, MethodRun], options: CompareOptions
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


def _build_report(
    setup: _Setup,
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
    return dict(_finite_or_none(report))


def compare(options: CompareOptions, isolate: bool | None = None) -> dict[str, Any]:
    """Run both methods, score them, write the folder; returns the report (``report.json``).

    ``isolate``: run each method in a spawned process (default: on the CPU, for the peak-RSS
    measurement); ``False`` runs them here and leaves CPU memory unmeasured.
    """
    setup = _prepare(options, isolate)
    options.out.mkdir(parents=True, exist_ok=True)
    runs = _run_methods(setup, options)
    descriptor, contents = setup.descriptor.to(setup.device), setup.contents or None
    metrics = {
        name: score(descriptor, setup.example, run.outputs, setup.settings, options.seed, contents)
        for name, run in runs.items()
    }
    written = _write_images(setup, runs, options)
    report = _build_report(setup, runs, metrics, options, written)
    text, markdown = json.dumps(report, indent=2) + "\n", to_markdown(report)
    atomic_write(options.out / "report.json", lambda tmp: tmp.write_text(text))
    atomic_write(options.out / "report.md", lambda tmp: tmp.write_text(markdown))
    return report


# -- command line -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="python -m texture_nets.compare",
        description="Compare a trained network with Gatys et al.'s optimisation on the same "
        "inputs, descriptor and loss: image grid, metrics, time and memory.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint", required=True, metavar="RUN", help="run directory or .ckpt file"
    )
    parser.add_argument(
        "--texture",
        metavar="IMG",
        help="texture checkpoints: the example (default: the one it was trained on)",
    )
    parser.add_argument(
        "--style",
        metavar="IMG",
        help="stylization checkpoints: the style image (default: the one it was trained on)",
    )
    parser.add_argument(
        "--content", metavar="PHOTO", nargs="+", default=[], help="stylization: content photos"
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: RUN/compare)"
    )
    parser.add_argument(
        "--size",
        type=positive_int,
        default=256,
        help="texture side / longer side of the content photos, in px",
    )
    parser.add_argument(
        "--samples",
        type=positive_int,
        default=4,
        help="network samples (noise seeds SEED, SEED+1, ...), per photo when stylizing",
    )
    parser.add_argument("--gatys-steps", type=positive_int, default=300, help="iterations")
    parser.add_argument("--gatys-optimizer", choices=OPTIMIZERS, default="lbfgs")
    parser.add_argument("--seed", type=int, default=0, help="noise seed of both methods")
    parser.add_argument(
        "--descriptor",
        default="auto",
        help="VGG weights for Gatys and the metrics: auto|torchvision|onnx|onnx:FILE|FILE.pth|"
        "random",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="Gatys' descriptor precision (auto: bf16 where fast); metrics are always fp32",
    )
    parser.add_argument(
        "--repeats", type=positive_int, default=5, help="least number of timed network passes"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    if args.out is None:  # RUN/compare (a run keeps its checkpoints in RUN/checkpoints/)
        folder = find_checkpoint(args.checkpoint).parent
        args.out = (folder.parent if folder.name == "checkpoints" else folder) / "compare"
    options = CompareOptions(**{k: v for k, v in vars(args).items() if k != "verbose"})
    report = compare(options)
    log.info(
        "Gatys %s per image, network %s per image: %.4gx faster -> %s",
        _fmt_seconds(report["methods"]["gatys"]["seconds_per_image"]),
        _fmt_seconds(report["methods"]["network"]["seconds_per_image"]),
        report["speed_ratio"],
        options.out / "report.md",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

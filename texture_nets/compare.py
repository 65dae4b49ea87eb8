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
and Gatys' loss curve(s).

Measurement (also written into both reports):

* Metrics are computed afterwards, in this process, in fp32 with the chosen descriptor, on the
  saved outputs: identical scoring for both methods (Gatys may *optimise* under bf16 autocast,
  ``--precision``).
* Wall time (``time.perf_counter``): network, the median of batch-1 forward passes (noise
  drawing and input pyramid included) after one untimed warm-up pass; every output is one timed
  pass, topped up to ``--repeats`` passes. Gatys: per image, the computation of its targets
  (style Grams, content features) plus the whole optimisation loop, after an untimed
  2-iteration warm-up. Loading models and images is excluded for both (the warm-ups are inside
  the memory measurement). Speed ratio = Gatys seconds per image / network seconds per image.
* Peak memory on CUDA: ``torch.cuda.max_memory_allocated()`` minus ``memory_allocated()``
  after ``reset_peak_memory_stats()``, taken after the method's models and inputs are on the
  GPU: the tensor memory the method allocates on top of its loaded weights (caching-allocator
  slack excluded). The network runs before the descriptor is moved to the GPU.
* Peak memory on the CPU: each method runs in a fresh process (``multiprocessing``, "spawn"
  context; the result comes back through a file). After its imports, model load (checkpoint /
  descriptor weights) and inputs, the process resets its peak-RSS counter (Linux:
  ``/proc/self/clear_refs`` "5" sets ``VmHWM`` to the current ``VmRSS``) and notes its RSS;
  it runs the method (warm-up included) and reads ``VmHWM``. The reported number is the
  difference: the most resident memory the method added on top of the loaded process, at any
  moment. Whole-process memory (tensors, autograd graph, allocator and library overhead), at
  page granularity; memory the allocator kept from loading and reused is not counted.
  ``getrusage(RUSAGE_SELF).ru_maxrss`` alone does not work for this: multiprocessing starts
  the child with (v)fork + exec, and Linux carries the pre-exec high-water mark (the
  *parent's* peak RSS) into the child's ``ru_maxrss`` (measured here: a parent at 833 MB
  gave a fresh child ``ru_maxrss`` 833 MB, ``VmHWM`` 15 MB), so a child smaller than its
  parent reads 0. Both ``ru_maxrss`` values are still recorded in ``report.json``. Without
  ``/proc`` (macOS) the ``ru_maxrss`` increase is used; if the reset is refused, the
  ``VmHWM`` increase (then a lower bound: a higher transient peak while loading hides the
  method's memory up to that level).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, NoReturn, cast

import torch
from PIL import Image, ImageDraw, ImageFont
from torch import Tensor, nn

from texture_nets.checkpoint import CheckpointInfo, read_checkpoint
from texture_nets.descriptor import InputNormalization, VGGDescriptor, check_layers, layer_names
from texture_nets.errors import UserError, exit_on_user_error
from texture_nets.gatys import (
    DEFAULT_LR,
    OPTIMIZERS,
    GatysResult,
    describe,
    make_init,
    optimize_image,
)
from texture_nets.gatys import plot_losses as plot_loss_curve
from texture_nets.generate_cli import sample_textures
from texture_nets.generator import Generator, make_inputs, make_noise, seeded_generator
from texture_nets.image import (
    atomic_write,
    image_sha256,
    load_image,
    open_image,
    pil_to_tensor,
    save_image,
    tensor_to_pil,
)
from texture_nets.losses import TextureLoss
from texture_nets.metrics import (
    ContentDistance,
    ContentSSIM,
    Diversity,
    SlicedWassersteinDistance,
    StyleDistance,
    texture_report,
)
from texture_nets.networks import min_side

log = logging.getLogger(__name__)

METHODS = ("gatys", "network")
PRECISIONS = ("auto", "bf16", "fp32")
DEFAULT_STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
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


# -- the stylization adapter ----------------------------------------------------------------


@torch.no_grad()
def stylize(generator: nn.Module, content: Tensor, seed: int) -> Tensor:
    """Run a stylization network on ``content`` (B, 3, H, W) in [0, 1] with noise ``seed``.

    A local adapter while stylization inference lands in ``generate_cli`` (for a batch of one
    it matches ``texture_nets.stylize.stylize_tensor``): the multiscale generator gets the
    content image at every scale joined with a noise pyramid drawn from ``seed``
    (``generator.make_inputs``); any other network is called on the content alone.
    """
    if isinstance(generator, Generator):
        config = generator.config
        if not config.content_channels:
            raise UserError("this generator is not content-conditioned (a texture network)")
        height, width = content.shape[-2:]
        noise = make_noise(
            content.shape[0], height, width, config, seeded_generator(seed), content.device
        )
        return generator(make_inputs(config, noise, content))
    return generator(content)


def takes_noise(network: nn.Module) -> bool:
    """Whether different seeds can give different outputs (a generator with noise channels)."""
    return isinstance(network, Generator) and network.config.noise_depth > 0


# -- settings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LossSettings:
    """The objective of a checkpoint (``TextureLoss``'s arguments), from its config."""

    style_layers: dict[str, float]
    content_layers: dict[str, float]
    style_weight: float
    content_weight: float
    tv_weight: float
    pooling: str
    style_size: int
    descriptor_arch: str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], stylize: bool) -> LossSettings:
        layers = list(config.get("style_layers") or DEFAULT_STYLE_LAYERS)
        weights = config.get("style_layer_weights") or [1.0] * len(layers)
        if len(weights) != len(layers):
            raise UserError("checkpoint config: style_layer_weights do not match style_layers")
        content = list(config.get("content_layers") or ["relu4_2"]) if stylize else []
        return cls(
            style_layers={name: float(w) for name, w in zip(layers, weights, strict=True)},
            content_layers={name: 1.0 for name in content},
            style_weight=float(config.get("style_weight", 1.0)),
            content_weight=float(config.get("content_weight", 1.0)),
            tv_weight=float(config.get("tv_weight", 0.0)),
            pooling=str(config.get("pooling", "avg")),
            style_size=int(config.get("style_size", 512)),
            descriptor_arch=config.get("descriptor_arch"),
        )

    @property
    def layers(self) -> list[str]:
        return list(dict.fromkeys([*self.style_layers, *self.content_layers]))

    def build_loss(self) -> TextureLoss:
        return TextureLoss(
            self.style_layers,
            self.content_layers or None,
            style_weight=self.style_weight,
            content_weight=self.content_weight,
            tv_weight=self.tv_weight,
        )


@dataclass
class Job:
    """Everything one method run needs; plain data, so it crosses a spawn boundary."""

    method: str
    mode: str
    checkpoint: str
    inputs: str  # torch file: {"example": T} or {"style": T, "contents": [T, ...]}
    descriptor: str  # torch file: the descriptor's weights and construction arguments
    loss: LossSettings
    device: str
    threads: int
    seed: int
    samples: int
    repeats: int
    gatys_steps: int
    gatys_optimizer: str
    use_bf16: bool
    size: tuple[int, int]  # (height, width) of texture outputs


@dataclass
class MethodRun:
    """What one method produced, how long it took and how much memory it needed."""

    outputs: list[Tensor]  # textures: one (1, 3, H, W) per image; stylize: (S, 3, H, W) per photo
    seconds: list[float]  # network: every timed pass; gatys: every image
    memory: dict[str, Any]
    curves: list[list[float]] = field(default_factory=list)  # gatys: loss per iteration
    extra: dict[str, Any] = field(default_factory=dict)


# -- one method, in this process or a spawned one ---------------------------------------------


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _MemoryProbe:
    """Peak memory of what runs between ``start()`` and ``stop()`` (see the module docstring)."""

    def __init__(self, device: torch.device, isolated: bool) -> None:
        self.device = device
        self.isolated = isolated
        self.baseline = 0
        self.how = "not measured"
        self.ru_maxrss_start = 0

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
            self.how = "cuda max_memory_allocated - memory_allocated at start"
            return
        if not self.isolated:  # a shared process: other work's peaks would be counted
            return
        gc.collect()
        self.ru_maxrss_start = _ru_maxrss_bytes()
        if _proc_status_bytes("VmHWM") is None:  # no /proc (macOS): ru_maxrss is per process
            self.baseline = self.ru_maxrss_start
            self.how = "ru_maxrss increase"
        elif _reset_peak_rss():
            self.baseline = _proc_status_bytes("VmRSS") or 0
            self.how = "VmHWM after a clear_refs reset - VmRSS at start"
        else:
            self.baseline = _proc_status_bytes("VmHWM") or 0
            self.how = "VmHWM increase (peak could not be reset: a lower bound)"

    def stop(self) -> dict[str, Any]:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif not self.isolated:
            return {"peak_increase_bytes": None, "how": self.how}
        elif self.how == "ru_maxrss increase":
            peak = _ru_maxrss_bytes()
        else:
            peak = _proc_status_bytes("VmHWM") or 0
        record: dict[str, Any] = {
            "peak_increase_bytes": float(max(0, peak - self.baseline)),
            "baseline_bytes": float(self.baseline),
            "peak_bytes": float(peak),
            "how": self.how,
        }
        if self.device.type != "cuda":
            record["ru_maxrss_start_bytes"] = float(self.ru_maxrss_start)
            record["ru_maxrss_end_bytes"] = float(_ru_maxrss_bytes())
        return record


def _ru_maxrss_bytes() -> int:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (KiB on Linux, bytes on macOS)."""
    import resource

    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value) if sys.platform == "darwin" else int(value) * 1024


def _proc_status_bytes(key: str) -> int | None:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, Linux only."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # "VmHWM:    12345 kB"
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def _load_descriptor_file(path: str, device: torch.device) -> VGGDescriptor:
    data = torch.load(path, map_location="cpu", weights_only=True)
    descriptor = VGGDescriptor(
        data["arch"],
        data["features_state"],
        InputNormalization(**data["normalization"]),
        data["pooling"],
        data["last_layer"],
    )
    return descriptor.to(device)


def run_method(job: Job, isolated: bool = False) -> MethodRun:
    """Run one method of the comparison (``job.method``) and measure it."""
    torch.set_num_threads(job.threads)
    device = torch.device(job.device)
    inputs = torch.load(job.inputs, map_location="cpu", weights_only=True)
    if job.method == "network":
        return _run_network(job, device, inputs, isolated)
    if job.method == "gatys":
        return _run_gatys(job, device, inputs, isolated)
    raise ValueError(f"unknown method {job.method!r}")


def _run_network(
    job: Job, device: torch.device, inputs: Mapping[str, Any], isolated: bool
) -> MethodRun:
    info = read_checkpoint(job.checkpoint)
    if job.mode == "texture":
        generator = info.build_generator().to(device)
        height, width = job.size
        seeds = [job.seed + i for i in range(job.samples)]
        plan: list[Callable[[], Tensor]] = [
            partial(sample_textures, generator, height, width, [s], device) for s in seeds
        ]
    else:
        network: nn.Module = info.build_network().to(device)
        contents = [c.to(device) for c in inputs["contents"]]
        seeds = [job.seed + i for i in range(job.samples if takes_noise(network) else 1)]
        plan = [partial(stylize, network, c, s) for c in contents for s in seeds]
    probe = _MemoryProbe(device, isolated)
    probe.start()
    with torch.no_grad():
        plan[0]()  # warm-up (allocator, kernels, lazy init)
        _sync(device)
        outputs: list[Tensor] = []
        seconds: list[float] = []
        for index in range(max(job.repeats, len(plan))):
            start = time.perf_counter()
            output = plan[index % len(plan)]()
            _sync(device)
            seconds.append(time.perf_counter() - start)
            if index < len(plan):
                outputs.append(output.cpu())
    memory = probe.stop()
    if job.mode == "stylize":  # group the outputs per content photo: (S, 3, H, W) each
        per = len(seeds)
        outputs = [torch.cat(outputs[i : i + per]) for i in range(0, len(outputs), per)]
    return MethodRun(outputs, seconds, memory, extra={"seeds": seeds, "passes": len(seconds)})


def _run_gatys(
    job: Job, device: torch.device, inputs: Mapping[str, Any], isolated: bool
) -> MethodRun:
    descriptor = _load_descriptor_file(job.descriptor, device)
    loss = job.loss.build_loss().to(device)
    style_layers = list(job.loss.style_layers)
    content_layers = list(job.loss.content_layers)
    if job.mode == "texture":
        style = inputs["example"]
        cases: list[tuple[Tensor | None, tuple[int, int]]] = [(None, job.size)]
    else:
        style = inputs["style"]
        cases = [(c, (int(c.shape[-2]), int(c.shape[-1]))) for c in inputs["contents"]]

    def synthesize(content: Tensor | None, size: tuple[int, int], steps: int) -> GatysResult:
        loss.set_style([describe(descriptor, style, style_layers, job.use_bf16)])
        targets = None
        if content is not None:
            targets = describe(descriptor, content, content_layers, job.use_bf16)
        init = make_init("noise" if content is None else "content", size, content, seed=job.seed)
        result = optimize_image(
            descriptor,
            loss,
            init,
            steps,
            optimizer=job.gatys_optimizer,
            content_targets=targets,
            use_bf16=job.use_bf16,
            progress=False,
        )
        _sync(device)
        return result

    probe = _MemoryProbe(device, isolated)
    probe.start()
    synthesize(*cases[0], steps=min(2, job.gatys_steps))  # warm-up, untimed
    outputs: list[Tensor] = []
    seconds: list[float] = []
    curves: list[list[float]] = []
    iterations: list[int] = []
    for content, size in cases:
        start = time.perf_counter()
        result = synthesize(content, size, job.gatys_steps)
        seconds.append(time.perf_counter() - start)
        outputs.append(result.image.cpu())
        curves.append(result.losses)
        iterations.append(len(result.losses))
    memory = probe.stop()
    return MethodRun(outputs, seconds, memory, curves, {"iterations": iterations})


def _child(job: Job, result_path: str) -> None:
    """Entry point of the spawned process: run the job, write the result (or the error)."""
    try:
        run = run_method(job, isolated=True)
        record: dict[str, Any] = {"ok": True, **asdict(run)}
    except BaseException as error:  # reported to the parent, which re-raises
        record = {
            "ok": False,
            "user_error": isinstance(error, UserError),
            "message": str(error),
            "traceback": traceback.format_exc(),
        }
    torch.save(record, result_path)


def run_isolated(job: Job, workdir: Path) -> MethodRun:
    """``run_method`` in a fresh spawned process (for the CPU peak-memory measurement)."""
    result_path = workdir / f"{job.method}_result.pt"
    context = multiprocessing.get_context("spawn")
    process = context.Process(target=_child, args=(job, str(result_path)), daemon=False)
    process.start()
    process.join()
    if not result_path.is_file():
        raise RuntimeError(
            f"the {job.method} process died without a result (exit code {process.exitcode}); "
            "out of memory?"
        )
    record = torch.load(result_path, map_location="cpu", weights_only=True)
    result_path.unlink()
    if not record["ok"]:
        if record["user_error"]:
            raise UserError(record["message"])
        raise RuntimeError(f"the {job.method} run failed:\n{record['traceback']}")
    record.pop("ok")
    return MethodRun(**record)


# -- scoring ----------------------------------------------------------------------------------


def _floats(values: Mapping[str, Any]) -> dict[str, float]:
    return {key: float(value) for key, value in values.items()}


def _objective(
    descriptor: VGGDescriptor,
    loss: TextureLoss,
    images: Sequence[Tensor],
    contents: Sequence[Tensor | None],
) -> float:
    """Mean of the training objective over images (fp32), each with its content target."""
    values: list[float] = []
    with torch.no_grad():
        for batch, content in zip(images, contents, strict=True):
            batch = batch.to(descriptor.mean.device)
            targets = None
            if content is not None and loss.content_layers:
                targets = descriptor(content.to(batch.device), list(loss.content_layers))
            features = descriptor(batch, loss.layers)
            per_sample = loss(features, targets, batch)
            values.extend([float(per_sample.total)] * batch.shape[0])
    return statistics.fmean(values)


def texture_metrics(
    descriptor: VGGDescriptor,
    example: Tensor,
    images: Tensor,
    settings: LossSettings,
    seed: int,
) -> dict[str, float]:
    """``texture_report`` (style distance, SWD, diversity) plus the training objective."""
    report = texture_report(
        descriptor,
        example,
        images,
        list(settings.style_layers),
        layer_weights=settings.style_layers,
        seed=seed,
    )
    loss = settings.build_loss().to(descriptor.mean.device)
    with torch.no_grad():
        loss.set_style([descriptor(example.to(descriptor.mean.device), list(loss.style_layers))])
    per_image = [images[i : i + 1] for i in range(images.shape[0])]
    return {"loss": _objective(descriptor, loss, per_image, [None] * len(per_image)), **report}


def stylize_metrics(
    descriptor: VGGDescriptor,
    style: Tensor,
    contents: Sequence[Tensor],
    outputs: Sequence[Tensor],
    settings: LossSettings,
    seed: int,
) -> dict[str, float]:
    """Style distance, SWD, content distance (per layer), SSIM, diversity, the objective.

    ``outputs[i]`` (S, 3, H, W) are the outputs for ``contents[i]`` (1, 3, H, W); diversity
    (mean pixel distance between the S outputs of one photo) only when S >= 2.
    """
    device = descriptor.mean.device
    layers = list(settings.style_layers)
    style_distance = StyleDistance(descriptor, style.to(device), settings.style_layers)
    swd = SlicedWassersteinDistance(descriptor, style.to(device), layers, seed=seed)
    content_distances = {
        name: ContentDistance(descriptor, name) for name in settings.content_layers
    }
    ssim = ContentSSIM().to(device)
    diversity = Diversity().to(device)
    several = all(o.shape[0] >= 2 for o in outputs)
    for content, images in zip(contents, outputs, strict=True):
        images, content = images.to(device), content.to(device)
        style_distance.update(images)
        swd.update(images)
        for metric in content_distances.values():
            metric.update(images, content)
        ssim.update(images, content)
        if several:
            diversity.update(images)
    report = _floats(style_distance.compute()) | _floats(swd.compute())
    per_layer = {f"content_distance/{n}": float(m.compute()) for n, m in content_distances.items()}
    report["content_distance"] = sum(
        settings.content_layers[n] * per_layer[f"content_distance/{n}"]
        for n in settings.content_layers
    )
    report.update(per_layer)
    report["content_ssim"] = float(cast(Tensor, ssim.compute()))
    if several:
        report["diversity"] = float(diversity.compute())
    loss = settings.build_loss().to(device)
    with torch.no_grad():
        loss.set_style([descriptor(style.to(device), layers)])
    report = {"loss": _objective(descriptor, loss, outputs, list(contents)), **report}
    return report


# -- pictures ---------------------------------------------------------------------------------


def _fit(image: Image.Image, box: tuple[int, int]) -> Image.Image:
    """Scale to fit into ``box`` (width, height), keeping the aspect ratio."""
    scale = min(box[0] / image.width, box[1] / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image if size == image.size else image.resize(size, Image.Resampling.LANCZOS)


def _center_crop(image: Tensor, height: int, width: int) -> Tensor:
    """A centred crop of at most (height, width): the example at its true pixel scale."""
    h, w = image.shape[-2:]
    top, left = max(0, (h - height) // 2), max(0, (w - width) // 2)
    return image[..., top : top + height, left : left + width]


def image_grid(
    rows: Sequence[Sequence[Image.Image]], labels: Sequence[str], gap: int = 4
) -> Image.Image:
    """Rows of images under one header row of column labels (PIL only), on white."""
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_widths = [int(probe.textbbox((0, 0), t, font=font)[2]) + 4 for t in labels]
    columns = max(len(labels), *(len(r) for r in rows))
    widths = [
        max([label_widths[c] if c < len(labels) else 0] + [r[c].width for r in rows if c < len(r)])
        for c in range(columns)
    ]
    heights = [max(image.height for image in row) for row in rows]
    header = 16
    canvas = Image.new(
        "RGB",
        (sum(widths) + gap * (columns + 1), header + sum(heights) + gap * (len(rows) + 1)),
        "white",
    )
    draw = ImageDraw.Draw(canvas)
    x = gap
    for column, text in enumerate(labels):
        draw.text((x + 2, 2), text, fill="black", font=font)
        x += widths[column] + gap
    y = header + gap
    for row, height in zip(rows, heights, strict=True):
        x = gap
        for column, image in enumerate(row):
            canvas.paste(image, (x + (widths[column] - image.width) // 2, y))
            x += widths[column] + gap
        y += height + gap
    return canvas


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
    """Totals in ``METRIC_NAMES`` order, each followed by its per-layer entries (as computed)."""
    totals = [k for k in METRIC_NAMES if k in keys]
    totals += [k for k in keys if "/" not in k and k not in totals]
    ordered: list[str] = []
    for total in totals:
        ordered.append(total)
        ordered.extend(k for k in keys if k.partition("/")[0] == total and "/" in k)
    ordered.extend(k for k in keys if k not in ordered)
    return ordered


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
    if value is None:
        return "not measured"
    return f"{value / 2**20:.1f} MiB"


def to_markdown(report: Mapping[str, Any]) -> str:
    """``report.md``: settings, the picture, one table of every metric, time and memory."""
    methods = report["methods"]
    gatys, network = methods["gatys"], methods["network"]
    settings = report["settings"]
    inputs = report["inputs"]
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
    layers = ", ".join(f"{k} ({v:g})" for k, v in loss["style_layers"].items())
    lines = [
        f"# {title}",
        "",
        f"Checkpoint `{report['checkpoint']['path']}` (step {report['checkpoint']['global_step']},"
        f" {report['checkpoint']['architecture']}); {what}.",
        f"Descriptor `{report['descriptor']['source']}` ({loss['pooling']} pooling; the network "
        f"was trained with `{report['checkpoint']['descriptor_source']}`). Style layers {layers}, "
        f"style weight {loss['style_weight']:g}"
        + (
            f", content layers {', '.join(loss['content_layers'])} (weight "
            f"{loss['content_weight']:g})"
            if loss["content_layers"]
            else ""
        )
        + (f", TV weight {loss['tv_weight']:g}" if loss["tv_weight"] else "")
        + f", style size {loss['style_size']} px.",
        f"Gatys: {settings['gatys_steps']} iterations of {settings['gatys_optimizer']} "
        f"({settings['gatys_precision']} descriptor), seed {settings['seed']}. "
        f"{report['machine']['summary']}",
        "",
        f"![comparison]({report['outputs']['grid']})",
        "",
        f"| metric | Gatys ({settings['gatys_optimizer']}, {settings['gatys_steps']} it.) "
        f"| network |",
        "|---|---|---|",
    ]
    keys = list(dict.fromkeys([*gatys["metrics"], *network["metrics"]]))
    for key in _metric_order(keys):
        lines.append(
            f"| {_metric_label(key)} | {_fmt(gatys['metrics'].get(key))} "
            f"| {_fmt(network['metrics'].get(key))} |"
        )
    lines += [
        f"| wall time per image | {_fmt_seconds(gatys['seconds_per_image'])} "
        f"| {_fmt_seconds(network['seconds_per_image'])} |",
        f"| peak memory (increase) | {_fmt_bytes(gatys['memory']['peak_increase_bytes'])} "
        f"| {_fmt_bytes(network['memory']['peak_increase_bytes'])} |",
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


def _resolve_descriptor(
    source: str, settings: LossSettings, seed: int
) -> tuple[VGGDescriptor, dict[str, Any]]:
    """The descriptor for both methods and the metrics, and its weights for a child process."""
    from texture_nets.weights import resolve_weights

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", ".*RANDOM VGG weights.*")
            weights = resolve_weights(source, settings.descriptor_arch, seed)
    except ValueError as error:
        raise UserError(f"--descriptor {source}: {error}") from error
    try:
        check_layers(weights.arch, settings.layers)
    except ValueError as error:
        raise UserError(f"the checkpoint's layers do not fit this descriptor: {error}") from error
    order = layer_names(weights.arch)
    last = max(settings.layers, key=order.index)
    descriptor = VGGDescriptor(
        weights.arch, weights.features_state, weights.normalization, settings.pooling, last
    )
    record = {
        "arch": weights.arch,
        "features_state": dict(weights.features_state),
        "normalization": asdict(weights.normalization),
        "pooling": settings.pooling,
        "last_layer": last,
        "source": weights.source,
    }
    return descriptor, record


def _check_mode(options: CompareOptions, info: CheckpointInfo) -> str:
    mode = info.mode
    if mode == "texture":
        if options.style or options.content:
            raise UserError(
                f"{info.path} is a texture checkpoint: give --texture IMG, not --style/--content"
            )
        return mode
    if mode != "stylize":
        raise UserError(f"{info.path}: unknown checkpoint mode {mode!r}")
    if options.texture:
        raise UserError(
            f"{info.path} is a stylization checkpoint: give --style IMG --content PHOTO..., "
            "not --texture"
        )
    if not options.content:
        raise UserError(f"{info.path} is a stylization checkpoint: give --content PHOTO [...]")
    return mode


def _min_side(info: CheckpointInfo) -> int:
    """The smallest image side the checkpoint's network can process."""
    return min_side(info.generator_config)


def _content_tensor(path: str, side: int, minimum: int) -> Tensor:
    image = open_image(path)
    scale = side / max(image.size)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    if min(size) < minimum:
        raise UserError(
            f"--size {side}: {path} would be {size[0]}x{size[1]} px; this network needs at "
            f"least {minimum} px per side"
        )
    return pil_to_tensor(image.resize(size, Image.Resampling.LANCZOS))


def _run_dir(checkpoint: Path) -> Path:
    return (
        checkpoint.parent.parent if checkpoint.parent.name == "checkpoints" else checkpoint.parent
    )


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
    size: tuple[int, int]  # textures: (height, width) of every output
    descriptor: VGGDescriptor
    descriptor_record: dict[str, Any]
    use_bf16: bool


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
    if options.out.exists() and not options.out.is_dir():
        raise UserError(f"--out {options.out} is a file, expected a folder")
    info = read_checkpoint(options.checkpoint)
    mode = _check_mode(options, info)
    settings = LossSettings.from_config(info.config, mode == "stylize")
    minimum = _min_side(info)

    style_path = (options.texture if mode == "texture" else options.style) or str(
        info.config.get("style_image") or ""
    )
    if not style_path:
        flag = "--texture" if mode == "texture" else "--style"
        raise UserError(f"give {flag} IMG (the checkpoint does not name its example)")
    example = load_image(style_path, settings.style_size)
    if info.style_sha256 and image_sha256(style_path) != info.style_sha256:
        log.warning("note: %s is not the image this network was trained on", style_path)
    contents: list[Tensor] = []
    if mode == "texture" and options.size < minimum:
        raise UserError(f"--size: this generator needs at least {minimum} px per side")
    if mode == "stylize":
        contents = [_content_tensor(p, options.size, minimum) for p in options.content]

    descriptor, record = _resolve_descriptor(
        options.descriptor, settings, int(info.config.get("seed", 0))
    )
    source = record["source"]
    if source.startswith("random"):
        log.warning("WARNING: descriptor has RANDOM weights (tests only); results are meaningless")
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
        size=(options.size, options.size),
        descriptor=descriptor,
        descriptor_record=record,
        use_bf16=_use_bf16(options.precision, device),
    )


def _run_methods(setup: _Setup, options: CompareOptions) -> dict[str, MethodRun]:
    """Both methods, each in a fresh process when ``setup.isolate``; the network first."""
    runs: dict[str, MethodRun] = {}
    with tempfile.TemporaryDirectory(prefix="texture-nets-compare-") as tmp:
        workdir = Path(tmp)
        inputs_path, descriptor_path = workdir / "inputs.pt", workdir / "descriptor.pt"
        if setup.mode == "texture":
            torch.save({"example": setup.example}, inputs_path)
        else:
            torch.save({"style": setup.example, "contents": setup.contents}, inputs_path)
        weights = {k: v for k, v in setup.descriptor_record.items() if k != "source"}
        torch.save(weights, descriptor_path)
        del weights
        for method in ("network", "gatys"):  # the network first: on CUDA, its peak without VGG
            job = Job(
                method=method,
                mode=setup.mode,
                checkpoint=str(setup.info.path),
                inputs=str(inputs_path),
                descriptor=str(descriptor_path),
                loss=setup.settings,
                device=str(setup.device),
                threads=torch.get_num_threads(),
                seed=options.seed,
                samples=options.samples,
                repeats=options.repeats,
                gatys_steps=options.gatys_steps,
                gatys_optimizer=options.gatys_optimizer,
                use_bf16=setup.use_bf16,
                size=setup.size,
            )
            log.info("running %s%s", method, " (in a fresh process)" if setup.isolate else "")
            runs[method] = run_isolated(job, workdir) if setup.isolate else run_method(job)
    return runs


def _score(setup: _Setup, runs: Mapping[str, MethodRun], seed: int) -> dict[str, dict[str, float]]:
    """Every metric of both methods: fp32, this process, the same descriptor."""
    descriptor = setup.descriptor.to(setup.device)
    if setup.mode == "texture":
        return {
            name: texture_metrics(
                descriptor, setup.example, torch.cat(run.outputs), setup.settings, seed
            )
            for name, run in runs.items()
        }
    return {
        name: stylize_metrics(
            descriptor, setup.example, setup.contents, run.outputs, setup.settings, seed
        )
        for name, run in runs.items()
    }


def _write_images(
    setup: _Setup, runs: Mapping[str, MethodRun], options: CompareOptions
) -> dict[str, Any]:
    """``comparison.png``, ``images/*.png`` and Gatys' loss curves; returns the file names."""
    out = options.out
    gatys, network = runs["gatys"], runs["network"]
    seeds: list[int] = network.extra["seeds"]
    written: dict[str, Any] = {"grid": "comparison.png", "images": [], "gatys_loss_curves": []}

    def save(image: Tensor, name: str) -> None:
        save_image(image, out / "images" / name)
        written["images"].append(f"images/{name}")

    if setup.mode == "texture":
        crop = _center_crop(setup.example, *setup.size)
        row = [tensor_to_pil(crop), tensor_to_pil(gatys.outputs[0])]
        row += [tensor_to_pil(image) for image in network.outputs]
        grid = image_grid([row], ["example (crop)", "Gatys", *[f"network seed {s}" for s in seeds]])
        save(gatys.outputs[0], "gatys.png")
        for seed, image in zip(seeds, network.outputs, strict=True):
            save(image, f"network_seed{seed}.png")
    else:
        rows = []
        style = open_image(setup.style_path)
        for index, (content, result, outputs) in enumerate(
            zip(setup.contents, gatys.outputs, network.outputs, strict=True)
        ):
            box = (content.shape[-1], content.shape[-2])
            rows.append(
                [
                    tensor_to_pil(content),
                    _fit(style, box),
                    tensor_to_pil(result),
                    *[tensor_to_pil(o) for o in outputs],
                ]
            )
            stem = f"{index:02d}_{Path(options.content[index]).stem}"
            save(result, f"{stem}_gatys.png")
            for seed, output in zip(seeds, outputs, strict=True):
                save(output[None], f"{stem}_network_seed{seed}.png")
        network_labels = [f"network seed {s}" for s in seeds] if len(seeds) > 1 else ["network"]
        grid = image_grid(rows, ["content", "style", "Gatys", *network_labels])
    atomic_write(out / "comparison.png", lambda tmp: grid.save(tmp, format="PNG"))
    for index, curve in enumerate(gatys.curves):
        name = "gatys_loss.png" if len(gatys.curves) == 1 else f"gatys_loss_{index:02d}.png"
        plot_loss_curve(curve, out / name, f"Gatys {options.gatys_optimizer}, image {index + 1}")
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
    info = setup.info
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
            "source": setup.descriptor_record["source"],
            "arch": setup.descriptor.arch,
            "pooling": setup.settings.pooling,
        },
        "settings": {
            "size": list(setup.size),
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
                "iterations": gatys.extra["iterations"],
                "final_losses": [c[-1] if c else None for c in gatys.curves],
                "memory": gatys.memory,
            },
            "network": {
                "images": sum(o.shape[0] for o in network.outputs),
                "outputs_per_input": len(network.extra["seeds"]) if setup.mode == "stylize" else 1,
                "metrics": metrics["network"],
                "seconds_per_image": network_per_image,
                "seconds": network.seconds,
                "timed_passes": len(network.seconds),
                "memory": network.memory,
            },
        },
        "speed_ratio": gatys_per_image / network_per_image,
        "notes": {
            "metrics": "computed afterwards in fp32 with the descriptor above, on the saved "
            "outputs of both methods (texture_nets.metrics); 'loss' is the training objective "
            "(TextureLoss) with the checkpoint's weights.",
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
    metrics = _score(setup, runs, options.seed)
    written = _write_images(setup, runs, options)
    report = _build_report(setup, runs, metrics, options, written)
    text = json.dumps(report, indent=2) + "\n"
    atomic_write(options.out / "report.json", lambda tmp: tmp.write_text(text))
    markdown = to_markdown(report)
    atomic_write(options.out / "report.md", lambda tmp: tmp.write_text(markdown))
    return report


def _use_bf16(precision: str, device: torch.device) -> bool:
    if precision == "auto":
        from texture_nets.module import bf16_supported

        return bf16_supported(device)
    return precision == "bf16"


# -- command line -----------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Argument errors become ``UserError`` (one line, exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from error
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m texture_nets.compare",
        description="Compare a trained network with Gatys et al.'s optimisation on the same "
        "inputs, descriptor and loss: image grid, metrics, time and memory.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
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
        type=_positive_int,
        default=256,
        help="texture side / longer side of the content photos, in px",
    )
    parser.add_argument(
        "--samples",
        type=_positive_int,
        default=4,
        help="network samples (noise seeds SEED, SEED+1, ...), per photo when stylizing",
    )
    parser.add_argument("--gatys-steps", type=_positive_int, default=300, help="iterations")
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
        "--repeats", type=_positive_int, default=5, help="least number of timed network passes"
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")
    out = args.out
    if out is None:
        from texture_nets.checkpoint import find_checkpoint

        out = _run_dir(find_checkpoint(args.checkpoint)) / "compare"
    options = CompareOptions(
        checkpoint=args.checkpoint,
        out=out,
        texture=args.texture,
        style=args.style,
        content=list(args.content),
        size=args.size,
        samples=args.samples,
        gatys_steps=args.gatys_steps,
        gatys_optimizer=args.gatys_optimizer,
        seed=args.seed,
        descriptor=args.descriptor,
        precision=args.precision,
        repeats=args.repeats,
        device=args.device,
    )
    report = compare(options)
    log.info(
        "Gatys %s per image, network %s per image: %.4gx faster -> %s",
        _fmt_seconds(report["methods"]["gatys"]["seconds_per_image"]),
        _fmt_seconds(report["methods"]["network"]["seconds_per_image"]),
        report["speed_ratio"],
        out / "report.md",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

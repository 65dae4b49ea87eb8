"""A trained network against Gatys et al.'s optimisation: same inputs, descriptor and loss.

::

    python -m texture_nets compare --model runs/peppers --texture peppers.jpg --out cmp/
    python -m texture_nets compare --model runs/wave --style wave.jpg --content a.jpg b.jpg

The loss settings come from the checkpoint's config (style layers and their weights, pooling,
``style_size``, style/content/TV weights, content layers): the Gatys baseline optimises exactly
the objective the network was trained on, under the descriptor given by ``--descriptor``
(default ``auto``; the checkpoint's own source is recorded beside it). Texture checkpoints:
``--samples`` network samples (noise seeds ``SEED``, ``SEED+1``, ...) and one Gatys image of
``--size`` px from seeded noise. Stylization checkpoints: every ``--content`` photo (longer side
``--size``) through the network (``--samples`` seeds per photo if the network takes noise) and
through Gatys (initialised with the photo, as ``python -m texture_nets gatys`` does).

The output folder (written by ``texture_nets.evaluation.report``) holds ``comparison.png``
(textures: example | Gatys | network samples; stylization, one row per photo: content | style |
Gatys | network), ``report.json``, ``report.md`` (every metric of
``texture_nets.evaluation.metrics``, per layer too, the objective, wall time and peak memory
per method, and the speed ratio), the single images under ``images/`` and Gatys' loss
curve(s). How time, memory and metrics are measured is written into both reports
(``report.TIME_NOTE``, ``MEMORY_NOTE_*``, ``METRICS_NOTE``; see
``texture_nets.evaluation.measure``). The command line is ``texture_nets.cli.compare``.
"""

from __future__ import annotations

import json
import logging
import tempfile
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import torch
from PIL import Image
from torch import Tensor

from texture_nets.baselines import gatys
from texture_nets.baselines.gatys import OPTIMIZERS, GatysResult
from texture_nets.errors import UserError
from texture_nets.evaluation.measure import MemoryProbe, run_in_fresh_process, timed
from texture_nets.evaluation.report import build_report, to_markdown, write_images
from texture_nets.evaluation.scoring import score
from texture_nets.image import (
    atomic_write,
    check_output_dir,
    image_sha256,
    load_image,
    open_image,
    pil_to_tensor,
)
from texture_nets.inference.pretrained import read_trained
from texture_nets.inference.stylize import output_size, stylize_tensor
from texture_nets.nets.checkpoint import CheckpointInfo
from texture_nets.nets.networks import min_side, sample_textures
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import (
    LossSettings,
    Objective,
    load_descriptor,
    loss_settings,
)
from texture_nets.precision import PRECISIONS, parse_device, resolve_bf16

__all__ = ["CompareOptions", "MethodRun", "compare", "loss_settings", "run_method", "score"]

log = logging.getLogger(__name__)


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


# -- one method, in this process or a spawned one ---------------------------------------------


@dataclass
class MethodJob:
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


def run_method(job: MethodJob, isolated: bool = False) -> MethodRun:
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
    job: MethodJob, device: torch.device, contents: list[Tensor], isolated: bool
) -> MethodRun:
    """Every output timed once (topped up to ``--repeats`` passes), after a warm-up pass."""
    options, info = job.options, read_trained(job.checkpoint)
    if job.mode == "texture":
        generator = info.build_generator().to(device)
        seeds = [options.seed + i for i in range(options.samples)]
        side = options.size
        plan = [partial(sample_textures, generator, side, side, [s], device) for s in seeds]
    else:
        network = info.build_network().to(device)
        contents = [c.to(device) for c in contents]
        samples = options.samples if network.stochastic else 1
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


WARM_UP_STEPS = 2  # Gatys' untimed warm-up run


def _run_gatys(
    job: MethodJob, device: torch.device, style: Tensor, contents: list[Tensor], isolated: bool
) -> MethodRun:
    """One image per input (targets + optimisation timed), after a 2-iteration warm-up."""
    # Written by the parent into its own temporary folder: unpickling the module is safe.
    descriptor = torch.load(Path(job.workdir, "descriptor.pt"), weights_only=False)
    descriptor = cast(VGGDescriptor, descriptor).to(device)
    options = job.options

    def synthesize(content: Tensor | None, steps: int) -> GatysResult:
        # The style targets are built inside: they are part of the timed work.
        objective = Objective.build(descriptor, job.loss, [style], use_bf16=job.use_bf16)
        optimizer, seed = options.gatys_optimizer, options.seed
        progress = steps > WARM_UP_STEPS  # a bar per timed image (minutes each), not the warm-up
        if content is None:  # a texture
            size = (options.size, options.size)
            return gatys.synthesize(
                objective, size, steps, seed=seed, optimizer=optimizer, progress=progress
            )
        return gatys.stylize(
            objective, content, steps, seed=seed, optimizer=optimizer, progress=progress
        )

    inputs: list[Tensor | None] = list(contents) or [None]  # a texture: one image from noise
    probe = MemoryProbe(device, isolated)
    probe.start()
    timed(device, partial(synthesize, inputs[0], min(WARM_UP_STEPS, options.gatys_steps)))
    outputs: list[Tensor] = []
    seconds: list[float] = []
    curves: list[list[float]] = []
    for content in inputs:
        result, elapsed = timed(device, partial(synthesize, content, options.gatys_steps))
        outputs.append(result.image.cpu())
        seconds.append(elapsed)
        curves.append(result.losses)
    return MethodRun(outputs, seconds, probe.stop(), curves)


def _run_in_child(job: MethodJob) -> dict[str, Any]:
    return asdict(run_method(job, isolated=True))


# -- reports ----------------------------------------------------------------------------------


# -- the comparison ---------------------------------------------------------------------------


@dataclass
class Setup:
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
    """The checkpoint's mode, which the flags must fit (--texture vs --style/--content)."""
    if info.mode not in ("texture", "stylize"):
        raise UserError(f"{info.path}: unknown checkpoint mode {info.mode!r}")
    if options.style or options.content:
        info.require_mode("stylize", "give --texture IMG, not --style/--content")
    if options.texture:
        info.require_mode("texture", "give --style IMG --content PHOTO..., not --texture")
    if info.mode == "stylize" and not options.content:
        raise UserError(f"{info.path} is a stylize-mode checkpoint: give --content PHOTO [...]")
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


def _prepare(options: CompareOptions, isolate: bool | None) -> Setup:
    """Check the options, read the checkpoint, load the images and the descriptor."""
    for name in ("size", "samples", "gatys_steps", "repeats"):
        if getattr(options, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive")
    if options.gatys_optimizer not in OPTIMIZERS:
        raise UserError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
    if options.precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}")
    device = parse_device(options.device)
    check_output_dir(options.out)
    info = read_trained(options.checkpoint)
    info.build_network()  # a damaged checkpoint fails here, not in a worker process
    mode = _check_mode(options, info)
    settings = loss_settings(info.config, mode == "stylize")
    minimum = min_side(info.generator_config)

    style_path = (options.texture if mode == "texture" else options.style) or str(
        info.config.get("style_image") or ""
    )
    if not style_path:
        flag = "--texture" if mode == "texture" else "--style"
        raise UserError(
            f"give {flag} IMG: the model does not name its example, or it is not on this machine"
        )
    example = load_image(style_path, settings.style_size, min_side=settings.min_side())
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
    return Setup(
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


def _run_methods(setup: Setup, options: CompareOptions) -> dict[str, MethodRun]:
    """Both methods, each in a fresh process when ``setup.isolate``; the network first."""
    runs: dict[str, MethodRun] = {}
    with tempfile.TemporaryDirectory(prefix="texture-nets-compare-") as workdir:
        torch.save({"style": setup.example, "contents": setup.contents}, Path(workdir, "inputs.pt"))
        torch.save(setup.descriptor, Path(workdir, "descriptor.pt"))
        for method in ("network", "gatys"):  # the network first: on CUDA, its peak without VGG
            job = MethodJob(
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
    written = write_images(setup, runs, options)
    report = build_report(setup, runs, metrics, options, written)
    text, markdown = json.dumps(report, indent=2) + "\n", to_markdown(report)
    atomic_write(options.out / "report.json", lambda tmp: tmp.write_text(text))
    atomic_write(options.out / "report.md", lambda tmp: tmp.write_text(markdown))
    return report

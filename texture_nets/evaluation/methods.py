"""The methods of a comparison, each run and measured alike: the trained network, Gatys et
al.'s optimisation, Portilla-Simoncelli (plenoptic) and a Spatial GAN trained here.

Why one module: every method takes the same plain-data ``MethodJob`` (it crosses a spawn
boundary, so each method runs in a fresh process and its peak memory is its own) and returns
a ``MethodRun`` with its images, seconds and memory, measured by the same rules
(``texture_nets.evaluation.measure``): generators (network, GAN) are timed per batch-1 pass
after a warm-up pass; optimisations (Gatys, PS) per image, after a short untimed warm-up. The
GAN is two runs (``STAGES``): training, then sampling from the saved generator in a process
that did not train it (a process's freed training memory would hide the sampling peak).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import torch
from torch import Tensor

from texture_nets.baselines import gan, gatys, ps
from texture_nets.baselines.gatys import GatysResult
from texture_nets.errors import UserError
from texture_nets.evaluation.measure import MemoryProbe, timed
from texture_nets.inference.pretrained import read_trained
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.networks import sample_textures
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import LossSettings, Objective

METHODS = ("network", "gatys", "ps", "gan")
TEXTURE_ONLY = ("ps", "gan")  # they make textures from noise; no content photo
STAGES = {"gan": ("gan-training", "gan")}  # runs of a method, each in its own process
EXTRAS = {"ps": ("plenoptic", "ps")}  # method -> (module, extra)
WARM_UP_STEPS = 2  # Gatys' untimed warm-up run
PS_WARM_UP_STEPS = 1
DEFAULT_GAN_MINUTES = 10.0  # when the checkpoint does not record its training time


def installed(method: str) -> bool:
    """Whether ``method``'s extra is installed (the others need nothing more)."""
    module = EXTRAS.get(method, ("", ""))[0]
    return not module or importlib.util.find_spec(module) is not None


def parse_methods(text: str | list[str] | None, mode: str = "texture") -> list[str]:
    """``--methods``: names from ``METHODS`` (commas or a list); default, every installed
    method (network and Gatys only when stylizing). Unknown names and missing extras are
    ``UserError``s that name the choices or the extra."""
    if text is None:
        wanted = [
            m for m in METHODS if installed(m) and (mode == "texture" or m not in TEXTURE_ONLY)
        ]
        return wanted
    names = text.split(",") if isinstance(text, str) else [n for t in text for n in t.split(",")]
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise UserError(f"--methods: give at least one of {', '.join(METHODS)}")
    for name in names:
        if name not in METHODS:
            raise UserError(f"--methods: unknown method {name!r}; choose from {', '.join(METHODS)}")
        if not installed(name):
            module, extra = EXTRAS[name]
            raise UserError(f"--methods {name} needs {module}: pip install 'texture-nets[{extra}]'")
        if mode != "texture" and name in TEXTURE_ONLY:
            raise UserError(f"--methods {name} makes textures only; not for a stylize model")
    return list(dict.fromkeys(names))


@dataclass
class CompareOptions:
    """The command line's settings (see ``texture_nets.cli.compare``)."""

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
    methods: list[str] | None = None  # None: every installed method (see parse_methods)
    ps_steps: int = ps.DEFAULT_STEPS
    gan_minutes: float | None = None  # None: the network's training time, if recorded
    baseline_samples: int = 1  # Gatys and PS images (seeds SEED, SEED+1, ...)
    work: Path | None = None  # keeps each finished run; a rerun reuses it (None: temporary)


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
    gan_minutes: float = DEFAULT_GAN_MINUTES


@dataclass
class MethodRun:
    """What one method produced, how long it took and how much memory it needed."""

    outputs: list[Tensor]  # (S, 3, H, W) per input: the texture example, or each content photo
    seconds: list[float]  # generators: every timed pass; optimisations: every image
    memory: dict[str, Any]
    curves: list[list[float]] = field(default_factory=list)  # optimisations: loss per iteration
    seeds: list[int] = field(default_factory=list)  # the noise seeds of each input's outputs
    training: dict[str, Any] = field(default_factory=dict)  # GAN: seconds, steps, memory


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
    if job.method == "ps":
        return _run_ps(job, device, inputs["style"], isolated)
    if job.method == "gan-training":  # the first of the GAN's two runs (see STAGES)
        return _run_gan_training(job, device, inputs["style"], isolated)
    if job.method == "gan":
        return _run_gan(job, device, isolated)
    raise ValueError(f"unknown method {job.method!r}")


def run_in_child(job: MethodJob) -> dict[str, Any]:
    """``run_method`` in a spawned process (``measure.run_in_fresh_process``)."""
    return asdict(run_method(job, isolated=True))


def _time_passes(
    device: torch.device, plan: Sequence[Callable[[], Tensor]], repeats: int, seeds: list[int]
) -> tuple[list[Tensor], list[float]]:
    """Every output timed once (topped up to ``repeats`` passes), after a warm-up pass; the
    outputs grouped per input (``len(seeds)`` each)."""
    timed(device, plan[0])  # warm-up (allocator, kernels, lazy init)
    outputs: list[Tensor] = []
    seconds: list[float] = []
    for index in range(max(repeats, len(plan))):
        output, elapsed = timed(device, plan[index % len(plan)])
        seconds.append(elapsed)
        if index < len(plan):
            outputs.append(output.cpu())
    grouped = [torch.cat(outputs[i : i + len(seeds)]) for i in range(0, len(outputs), len(seeds))]
    return grouped, seconds


def _run_network(
    job: MethodJob, device: torch.device, contents: list[Tensor], isolated: bool
) -> MethodRun:
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
    outputs, seconds = _time_passes(device, plan, options.repeats, seeds)
    return MethodRun(outputs, seconds, probe.stop(), seeds=seeds)


def _run_gan_training(
    job: MethodJob, device: torch.device, style: Tensor, isolated: bool
) -> MethodRun:
    """The GAN's training (timed, its own memory peak); the generator goes to ``gan.pt`` in
    the work folder, for ``_run_gan`` in a fresh process."""
    probe = MemoryProbe(device, isolated)
    probe.start()
    result = gan.train(style, job.gan_minutes, seed=job.options.seed, device=device)
    memory = probe.stop()
    config = asdict(result.generator.config)
    state = {k: v.cpu() for k, v in result.generator.state_dict().items()}
    torch.save({"config": config, "state": state}, Path(job.workdir, "gan.pt"))
    training = {"seconds": result.seconds, "steps": result.steps, "minutes": job.gan_minutes,
                "memory": memory, "config": config}  # fmt: skip
    return MethodRun([], [], memory, training=training)


def _run_gan(job: MethodJob, device: torch.device, isolated: bool) -> MethodRun:
    """The trained generator's samples, timed and measured like the network's (loaded in a
    process that did not train it: freed training memory would hide its peak)."""
    saved = torch.load(Path(job.workdir, "gan.pt"), map_location="cpu", weights_only=True)
    generator = gan.SpatialGenerator(gan.GANConfig(**saved["config"]))
    generator.load_state_dict(saved["state"])
    generator = generator.to(device).eval()
    options = job.options
    seeds = [options.seed + i for i in range(options.samples)]
    size = (options.size, options.size)
    plan = [partial(gan.sample, generator, size, s) for s in seeds]
    probe = MemoryProbe(device, isolated)
    probe.start()
    outputs, seconds = _time_passes(device, plan, options.repeats, seeds)
    return MethodRun(outputs, seconds, probe.stop(), seeds=seeds)


def _optimisation_seeds(job: MethodJob) -> list[int]:
    count = job.options.baseline_samples if job.mode == "texture" else 1
    return [job.options.seed + i for i in range(count)]


def _run_ps(job: MethodJob, device: torch.device, style: Tensor, isolated: bool) -> MethodRun:
    """One image per seed (statistics + synthesis timed), after a 1-iteration warm-up."""
    options, seeds = job.options, _optimisation_seeds(job)
    size = (options.size, options.size)
    probe = MemoryProbe(device, isolated)
    probe.start()
    run = partial(ps.synthesize, style, size, device=device)
    timed(device, partial(run, PS_WARM_UP_STEPS, seed=options.seed))
    images: list[Tensor] = []
    seconds: list[float] = []
    curves: list[list[float]] = []
    for seed in seeds:
        result, elapsed = timed(device, partial(run, options.ps_steps, seed=seed))
        images.append(result.image)
        seconds.append(elapsed)
        curves.append(result.losses)
    return MethodRun([torch.cat(images)], seconds, probe.stop(), curves, seeds=seeds)


def _run_gatys(
    job: MethodJob, device: torch.device, style: Tensor, contents: list[Tensor], isolated: bool
) -> MethodRun:
    """One image per input (per seed for a texture; targets + optimisation timed), after a
    2-iteration warm-up."""
    # Written by the parent into its own temporary folder: unpickling the module is safe.
    descriptor = torch.load(Path(job.workdir, "descriptor.pt"), weights_only=False)
    descriptor = cast(VGGDescriptor, descriptor).to(device)
    options = job.options

    def synthesize(content: Tensor | None, steps: int, seed: int) -> GatysResult:
        # The style targets are built inside: they are part of the timed work.
        objective = Objective.build(descriptor, job.loss, [style], use_bf16=job.use_bf16)
        optimizer = options.gatys_optimizer
        progress = steps > WARM_UP_STEPS  # a bar per timed image (minutes each), not the warm-up
        if content is None:  # a texture
            size = (options.size, options.size)
            return gatys.synthesize(
                objective, size, steps, seed=seed, optimizer=optimizer, progress=progress
            )
        return gatys.stylize(
            objective, content, steps, seed=seed, optimizer=optimizer, progress=progress
        )

    seeds = _optimisation_seeds(job)
    inputs: list[Tensor | None] = list(contents) or [None]  # a texture: images from noise
    probe = MemoryProbe(device, isolated)
    probe.start()
    warm_up = min(WARM_UP_STEPS, options.gatys_steps)
    timed(device, partial(synthesize, inputs[0], warm_up, options.seed))
    outputs: list[Tensor] = []
    seconds: list[float] = []
    curves: list[list[float]] = []
    for content in inputs:
        images = []
        for seed in seeds:
            result, elapsed = timed(device, partial(synthesize, content, options.gatys_steps, seed))
            images.append(result.image.cpu())
            seconds.append(elapsed)
            curves.append(result.losses)
        outputs.append(torch.cat(images))
    return MethodRun(outputs, seconds, probe.stop(), curves, seeds=seeds)

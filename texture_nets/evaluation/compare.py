"""A trained network against Gatys et al.'s optimisation, Portilla-Simoncelli and a texture
GAN: same example, same sizes, same descriptor and metrics.

::

    python -m texture_nets compare --model runs/peppers --texture peppers.jpg --out cmp/
    python -m texture_nets compare --model tn_pebbles --methods network,gatys,ps,gan
    python -m texture_nets compare --model runs/wave --style wave.jpg --content a.jpg b.jpg

The loss settings come from the checkpoint's config (style layers and their weights, pooling,
``style_size``, style/content/TV weights, content layers): the Gatys baseline optimises exactly
the objective the network was trained on, under the descriptor given by ``--descriptor``
(default ``auto``; the checkpoint's own source is recorded beside it). Texture checkpoints:
``--samples`` network samples (noise seeds ``SEED``, ``SEED+1``, ...) and as many GAN samples
(``texture_nets.baselines.gan``, trained here for ``--gan-minutes``, by default the network's
recorded training time), ``--baseline-samples`` Gatys and Portilla-Simoncelli images
(``texture_nets.baselines.ps``, the ``[ps]`` extra) of ``--size`` px from seeded noise; which
of them run is ``--methods`` (default: every installed one; ``texture_nets.evaluation.methods``
runs and measures each). Quality is also given over the floor of real crops: random crops of
the example at ``--size``, scored the same way. Stylization checkpoints: every ``--content``
photo (longer side ``--size``) through the network (``--samples`` seeds per photo if the
network takes noise) and through Gatys (initialised with the photo, as ``python -m
texture_nets gatys`` does).

The output folder (``texture_nets.evaluation.report`` and ``.figures``) holds ``comparison.png``
(textures: example | Portilla-Simoncelli | GAN | Gatys | network samples; stylization, one
row per photo: content | style | Gatys | network), ``report.json``, ``report.md`` (every metric
of ``texture_nets.evaluation.metrics``, per layer too, the objective, the ratios over the
floor, wall time, training time and peak memory per method, and the speed ratio), the single
images under ``images/`` and the optimisations' loss curve(s). How time, memory and metrics
are measured is written into both reports (``report.TIME_NOTE``, ``MEMORY_NOTE_*``,
``METRICS_NOTE``; see ``texture_nets.evaluation.measure``). The command line is
``texture_nets.cli.compare``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from texture_nets.baselines.gatys import OPTIMIZERS
from texture_nets.errors import UserError
from texture_nets.evaluation.figures import write_images
from texture_nets.evaluation.measure import run_in_fresh_process
from texture_nets.evaluation.methods import (
    DEFAULT_GAN_MINUTES,
    STAGES,
    CompareOptions,
    MethodJob,
    MethodRun,
    parse_methods,
    run_in_child,
    run_method,
)
from texture_nets.evaluation.report import build_report, to_markdown
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
from texture_nets.inference.stylize import output_size
from texture_nets.nets.checkpoint import CheckpointError, CheckpointInfo, find_checkpoint
from texture_nets.nets.networks import min_side
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.objective import (
    LossSettings,
    load_descriptor,
    loss_settings,
)
from texture_nets.precision import PRECISIONS, parse_device, resolve_bf16

__all__ = [
    "CompareOptions",
    "MethodJob",
    "MethodRun",
    "compare",
    "loss_settings",
    "run_method",
    "score",
]

log = logging.getLogger(__name__)


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
    methods: list[str]
    gan_minutes: float
    network_training_seconds: float | None


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
    for name in ("size", "samples", "gatys_steps", "repeats", "ps_steps", "baseline_samples"):
        if getattr(options, name) <= 0:
            raise UserError(f"--{name.replace('_', '-')} must be positive")
    if options.gan_minutes is not None and not 0 < options.gan_minutes < float("inf"):
        raise UserError("--gan-minutes must be a positive number")
    if options.gatys_optimizer not in OPTIMIZERS:
        raise UserError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}")
    if options.precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}")
    device = parse_device(options.device)
    check_output_dir(options.out)
    info = read_trained(options.checkpoint)
    info.build_network()  # a damaged checkpoint fails here, not in a worker process
    mode = _check_mode(options, info)
    methods = parse_methods(options.methods, mode)
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

    trained = training_seconds(info)
    gan_minutes = options.gan_minutes or (trained / 60 if trained else DEFAULT_GAN_MINUTES)
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
        methods=methods,
        gan_minutes=gan_minutes,
        network_training_seconds=trained,
    )


def training_seconds(info: CheckpointInfo) -> float | None:
    """The network's training time from its checkpoint (Lightning's Timer), if recorded (a
    shipped model folder does not keep it)."""
    try:
        checkpoint = torch.load(find_checkpoint(info.path), map_location="cpu", weights_only=False)
        state = checkpoint["callbacks"]["Timer"]["time_elapsed"]["train"]
    except (OSError, KeyError, TypeError, RuntimeError, CheckpointError):
        return None
    return float(state) if float(state) > 0 else None


FLOOR_CROPS = 8


def floor_scores(setup: Setup, options: CompareOptions) -> dict[str, Any] | None:
    """The floor: ``FLOOR_CROPS`` random crops of the example at ``--size`` (what a perfect
    generator of new samples could reach), scored like the methods; None if it is smaller."""
    height, width = setup.example.shape[-2:]
    side = options.size
    if setup.mode != "texture" or min(height, width) < side:
        return None
    rng = torch.Generator().manual_seed(options.seed)
    tops = torch.randint(0, height - side + 1, (FLOOR_CROPS,), generator=rng).tolist()
    lefts = torch.randint(0, width - side + 1, (FLOOR_CROPS,), generator=rng).tolist()
    crops = torch.cat([setup.example[..., t : t + side, x : x + side]
                       for t, x in zip(tops, lefts, strict=True)])  # fmt: skip
    descriptor = setup.descriptor.to(setup.device)
    scores = score(descriptor, setup.example, [crops], setup.settings, options.seed)
    return {"crops": FLOOR_CROPS, "size": side, "metrics": scores}


def _run_methods(setup: Setup, options: CompareOptions) -> dict[str, MethodRun]:
    """The asked methods, each in a fresh process when ``setup.isolate``; the network first.
    With ``options.work``, each finished run is kept there and reused by a rerun with the
    same settings (a later stage of a method reruns whenever an earlier one did)."""
    runs: dict[str, MethodRun] = {}
    with contextlib.ExitStack() as stack:
        if options.work is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="texture-nets-")))
        else:
            workdir = options.work.expanduser()
            workdir.mkdir(parents=True, exist_ok=True)
        torch.save({"style": setup.example, "contents": setup.contents}, workdir / "inputs.pt")
        torch.save(setup.descriptor, workdir / "descriptor.pt")
        key = _settings_key(setup, options)
        for method in setup.methods:  # the network first: on CUDA, its peak without VGG
            stages: list[MethodRun] = []
            rerun = False
            for stage in STAGES.get(method, (method,)):  # the GAN: training, then sampling
                job = MethodJob(
                    method=stage,
                    options=options,
                    mode=setup.mode,
                    checkpoint=str(setup.info.path),
                    workdir=str(workdir),
                    loss=setup.settings,
                    threads=torch.get_num_threads(),
                    use_bf16=setup.use_bf16,
                    gan_minutes=setup.gan_minutes,
                )
                kept = workdir / f"{stage}.pt" if options.work is not None else None
                run, reused = _run_stage(job, setup.isolate, kept, key, rerun)
                stages.append(run)
                rerun = rerun or not reused
            runs[method] = stages[-1]
            if len(stages) > 1:
                runs[method].training = stages[0].training
    return runs


def _run_stage(
    job: MethodJob, isolate: bool, kept: Path | None, key: str, rerun: bool
) -> tuple[MethodRun, bool]:
    """One run (``job.method``), or its kept result when the settings match; and whether it
    was reused."""
    if kept is not None and kept.is_file() and not rerun:
        saved = torch.load(kept, map_location="cpu", weights_only=True)
        if saved.get("key") == key:
            log.info("reusing %s (%s)", job.method, kept)
            return MethodRun(**saved["run"]), True
    log.info("running %s%s", job.method, " (in a fresh process)" if isolate else "")
    if isolate:
        run = MethodRun(**run_in_fresh_process(job.method, run_in_child, job))
    else:
        run = run_method(job)
    if kept is not None:
        record = {"key": key, "run": asdict(run)}
        atomic_write(kept, lambda tmp: torch.save(record, tmp))
    return run, False


def _settings_key(setup: Setup, options: CompareOptions) -> str:
    """Everything a method's result depends on, as one string (kept runs are reused only
    under the same key)."""
    settings = {k: v for k, v in asdict(options).items() if k not in ("out", "methods", "work")}
    settings.update(
        model=str(setup.info.path),
        step=setup.info.global_step,
        example=hashlib.sha256(setup.example.numpy().tobytes()).hexdigest(),
        descriptor_source=setup.descriptor_source,
        gan_minutes=setup.gan_minutes,
        use_bf16=setup.use_bf16,
        threads=torch.get_num_threads(),
    )
    return json.dumps(settings, sort_keys=True, default=str)


def compare(options: CompareOptions, isolate: bool | None = None) -> dict[str, Any]:
    """Run the methods, score them, write the folder; returns the report (``report.json``).

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
    floor = floor_scores(setup, options)
    written = write_images(setup, runs, options)
    report = build_report(setup, runs, metrics, options, written, floor)
    text, markdown = json.dumps(report, indent=2) + "\n", to_markdown(report)
    atomic_write(options.out / "report.json", lambda tmp: tmp.write_text(text))
    atomic_write(options.out / "report.md", lambda tmp: tmp.write_text(markdown))
    return report

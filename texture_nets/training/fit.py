"""``texture_nets.train``: the one way to train a texture network or a stylizer.

``train(config_or_overrides)`` layers the settings (code defaults < ``configs/<mode>.yaml`` <
config files < the resumed checkpoint's config < overrides), checks the inputs before anything
is written, builds the data, the Lightning module and the Trainer, fits, and returns the run
directory. The command line (``texture_nets.cli.train``), the benchmarks and the model zoo all
call it; problems are exceptions here (``UserError`` and its kinds, ``TrainingInterrupted``,
``FloatingPointError``) and become exit codes only in the command line.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import warnings
from collections.abc import Mapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
import yaml
from lightning.pytorch.callbacks import (
    Callback,
    LearningRateMonitor,
    RichProgressBar,
    TQDMProgressBar,
)
from lightning.pytorch.loggers import Logger, TensorBoardLogger, WandbLogger
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from texture_nets.errors import UserError, sigterm_as_interrupt
from texture_nets.image import atomic_write, check_output_dir, open_image
from texture_nets.nets.checkpoint import CheckpointError, CheckpointInfo, read_checkpoint
from texture_nets.precision import trainer_precision
from texture_nets.training.callbacks import (
    AtomicCheckpointIO,
    FinalCheckpoint,
    InterruptCheckpoint,
    SampleGrid,
    StepCheckpoint,
    StepTimer,
    StylizationGrid,
    UnreadableImagesReport,
    WholeStepsOnInterrupt,
)
from texture_nets.training.config import ConfigError, TrainConfig
from texture_nets.training.config_files import code_defaults, load_yaml, make_config, mode_file
from texture_nets.training.data import NoiseDataModule, PhotoDataModule, photo_split
from texture_nets.training.logs import RunCSVLogger
from texture_nets.training.module import TextureNetsModule

log = logging.getLogger("texture_nets")


class TrainingInterrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run after its checkpoint was saved: it can be resumed."""

    def __init__(self, out: Path) -> None:
        super().__init__(f"stopped early; resume with: python train.py --out {out} --resume auto")
        self.out = out


def resolve(overrides: Mapping[str, Any], config_files: Sequence[str | Path] = ()) -> TrainConfig:
    """Defaults < ``configs/<mode>.yaml`` < ``config_files`` < checkpoint config (when
    resuming) < ``overrides`` (``TrainConfig`` keys; ``resume`` may be ``auto`` or a run)."""
    flags = dict(overrides)
    files = [load_yaml(p) for p in config_files]
    mode = flags.get("mode", _merge(files).get("mode", "texture"))
    # config files layer on the mode's file: a partial file keeps the mode's defaults
    # (a stylizer's padding and weights, a texture run's schedule); a run's full
    # config.yaml sets every key anyway
    layers = [mode_file(mode), *files]
    resume = resume_path(flags.get("resume"), {**code_defaults(), **_merge(layers), **flags})
    if resume is None:  # a new run (also ``--resume auto`` without a checkpoint yet)
        flags.pop("resume", None)
        return make_config(*layers, flags)
    flags["resume"] = str(resume)
    info = read_checkpoint(resume)
    if "mode" in flags:
        flag = "--texture" if info.mode == "texture" else "--style"
        info.require_mode(
            flags["mode"],
            f"resume it with {flag} IMG, or start a new run with another --out",
            where="--resume: ",
        )
    config = make_config(*layers, info.config, flags)
    check_resumable(info, config)
    return config


def check_resumable(info: CheckpointInfo, config: TrainConfig) -> None:
    """The run's network must be the checkpoint's: same architecture and settings, and
    weights that fit them (flags such as ``--channels`` cannot change a run midway)."""
    saved = info.generator_config.to_dict()
    wanted = config.network_config.to_dict()
    changed = [
        f"{key}={saved.get(key)!r} (now {wanted.get(key)!r})"
        for key in sorted(set(saved) | set(wanted))
        if saved.get(key) != wanted.get(key)
    ]
    if info.architecture != config.generator:
        changed.insert(0, f"generator={info.architecture!r} (now {config.generator!r})")
    if changed:
        raise CheckpointError(
            f"--resume: {info.path} was trained with {', '.join(changed)}; a run cannot change "
            "its network: drop those flags, or start a new run with another --out"
        )
    # the resumed epoch's position counts batches of samples: another count per step or per
    # photo would put the run elsewhere in its photo stream
    for key in ("accumulate_grad_batches", "crops_per_photo"):
        before, now = info.config.get(key, 1), getattr(config, key)
        if before != now:
            raise CheckpointError(
                f"--resume: {info.path} was trained with {key}={before} (now {now}); a run "
                "cannot change it midway: drop the flag, or start a new run with another --out"
            )
    # CheckpointError if the weights do not fit their own settings: the average (what images
    # come from) and the last step's (what the run continues from)
    info.build_network()
    if info.live_state is not None:
        info.build_network(live=True)


def _merge(layers: list[dict[str, Any]]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return merged


def resume_path(resume: str | None, config: dict[str, Any]) -> Path | None:
    """``--resume auto`` -> the run's ``last.ckpt`` if there is one; a path must exist."""
    if resume is None:
        return None
    if resume == "auto":
        last = Path(config["out"]) / "checkpoints" / "last.ckpt"
        if last.is_file():
            return last
        log.info("--resume auto: no checkpoint in %s, starting a new run", last.parent)
        return None
    path = Path(resume)
    if path.is_dir():
        path = (
            path / "checkpoints" / "last.ckpt"
            if (path / "checkpoints").is_dir()
            else path / "last.ckpt"
        )
    if not path.is_file():
        raise CheckpointError(f"--resume {resume}: no checkpoint at {path}")
    return path


def make_loggers(config: TrainConfig, out: Path) -> list[Logger]:
    if config.logger == "none":
        return []
    if config.logger == "wandb":
        # Offline unless the user has configured wandb for online use: never needs an account.
        online = os.environ.get("WANDB_MODE") == "online" or bool(os.environ.get("WANDB_API_KEY"))
        os.environ.setdefault("WANDB_SILENT", "true")
        try:
            return [
                WandbLogger(
                    project="texture-nets", name=out.name, save_dir=str(out), offline=not online
                )
            ]
        except ModuleNotFoundError as error:
            raise ConfigError(
                "--logger wandb needs wandb: pip install 'texture-nets[wandb]' (or wandb)"
            ) from error
    if config.logger == "tensorboard":
        try:
            return [TensorBoardLogger(str(out), name="tensorboard", version="")]
        except ModuleNotFoundError as error:
            raise ConfigError(
                "--logger tensorboard needs tensorboard: pip install 'texture-nets[tensorboard]'"
            ) from error
    return [RunCSVLogger(str(out))]


def make_callbacks(config: TrainConfig, out: Path) -> list[Callback]:
    checkpoints = out / "checkpoints"
    callbacks: list[Callback] = [
        StepCheckpoint(
            dirpath=checkpoints,
            filename="step={step:06d}",
            auto_insert_metric_name=False,
            every_n_train_steps=config.checkpoint_every,
            save_top_k=config.keep_checkpoints,
            monitor="step",
            mode="max",
            save_last=True,
        ),
        InterruptCheckpoint(checkpoints / "last.ckpt"),
        WholeStepsOnInterrupt(),
        # max_time (Lightning's Timer, checked between optimizer steps only)
        *([StepTimer(timedelta(minutes=config.max_time), "step")] if config.max_time else []),
        FinalCheckpoint(checkpoints / "last.ckpt"),
        *(
            [StylizationGrid(out / "samples", config.sample_every), UnreadableImagesReport()]
            if config.mode == "stylize"
            else [SampleGrid(out / "samples", config.sample_every)]
        ),
        RichProgressBar()
        if sys.stderr.isatty()
        else TQDMProgressBar(refresh_rate=config.log_every),
    ]
    if config.logger != "none":
        callbacks.append(LearningRateMonitor(logging_interval="step"))
    return callbacks


def check_inputs(config: TrainConfig) -> None:
    """Fail before any heavy work, and before anything is written, when the inputs cannot be
    used: the example image must decode and the run directory must be creatable."""
    if config.style_image is None:
        raise ConfigError("no example image: pass --texture IMG (or --style IMG for stylization)")
    if config.mode == "texture" and (config.content_dir or config.val_dir):
        raise ConfigError("--content-dir and --val-dir belong to stylize mode (--style IMG)")
    open_image(config.style_image, config.style_size)
    check_output_dir(config.out)


def make_data(config: TrainConfig) -> pl.LightningDataModule:
    """Texture mode: the step loader; stylize mode: the photos (checked before training)."""
    if config.mode == "texture":
        return NoiseDataModule(config.max_steps * config.accumulate_grad_batches)
    split = photo_split(config.content_dir, config.val_dir, config.val_fraction, config.seed)
    data = PhotoDataModule(
        split,
        config.image_size,
        config.batch_size,
        config.num_workers,
        config.val_samples,
        seed=config.seed,
        accumulate=config.accumulate_grad_batches,
        photo_size=config.photo_size,
        crops_per_photo=config.crops_per_photo,
    )
    data.check_readable()
    log.info(
        "photos: %d for training, %d for validation, from %s",
        len(split.train),
        len(split.val),
        split.source,
    )
    return data


def validation_options(config: TrainConfig) -> dict[str, Any]:
    """Trainer options: stylize mode validates every ``sample_every`` steps (texture: never)."""
    if config.mode == "texture":
        return {}
    if config.sample_every == 0:
        return {"limit_val_batches": 0}
    return {  # Lightning counts the interval in batches, accumulated or not
        "val_check_interval": config.sample_every * config.accumulate_grad_batches,
        "check_val_every_n_epoch": None,
        "limit_val_batches": config.val_batches or None,
    }


def scaling_options(config: TrainConfig) -> dict[str, Any]:
    """Trainer options for where the run goes: devices, machines, strategy, precision.

    Lightning's sampler replacement is off: the photo module shards its own photos (it keeps
    the minimum epoch; ``ShardedEpochSampler``), texture mode has no sampler at all.
    """
    return {
        "accelerator": config.accelerator,
        "devices": config.trainer_devices(),
        "strategy": config.strategy,
        "num_nodes": config.num_nodes,
        "precision": trainer_precision(config.precision),
        "use_distributed_sampler": False,
        "sync_batchnorm": config.norm == "batch",  # one set of batch statistics over all ranks
    }


def make_trainer(config: TrainConfig, **options: Any) -> pl.Trainer:
    """The Trainer; settings Lightning refuses (no GPU, bad strategy, ...) are a ``ConfigError``."""
    try:
        return pl.Trainer(**scaling_options(config), **options)
    except (MisconfigurationException, ValueError, RuntimeError) as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        if config.accelerator in ("gpu", "cuda") and not torch.cuda.is_available():
            message += " (PyTorch sees no CUDA GPU here: use --accelerator cpu, or auto)"
        raise ConfigError(
            f"cannot train with --accelerator {config.accelerator} --devices {config.devices} "
            f"--strategy {config.strategy} --num-nodes {config.num_nodes} --precision "
            f"{config.precision}: {message}"
        ) from error


def write_run_config(config: TrainConfig, trainer: pl.Trainer, out: Path) -> None:
    """Log the global batch and write ``config.yaml`` (process 0 only): the config, plus the
    launch's world size and global batch (ignored when the file is read back)."""
    world = trainer.world_size
    global_batch = world * config.batch_size * config.accumulate_grad_batches
    log.info(
        "global batch: %d image(s) per step = %d process(es) (%d device(s) x %d node(s)) x "
        "batch_size %d x accumulate_grad_batches %d",
        global_batch,
        world,
        trainer.num_devices,
        trainer.num_nodes,
        config.batch_size,
        config.accumulate_grad_batches,
    )
    if not trainer.is_global_zero:
        return
    derived = {"world_size": world, "global_batch_size": global_batch}
    text = yaml.safe_dump(config.to_dict(), sort_keys=False)
    text += "# derived at launch (ignored by --config):\n" + yaml.safe_dump(derived)
    atomic_write(out / "config.yaml", lambda p: p.write_text(text))


def prepare_out_dir(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write_test.{os.getpid()}"  # per process: torchrun starts them at once
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"cannot write to the output directory {out}: {error.strerror or error}; "
            "choose another --out"
        ) from error


def train(
    config_or_overrides: TrainConfig | Mapping[str, Any],
    callbacks: Sequence[Callback] = (),
    config_files: Sequence[str | Path] = (),
) -> Path:
    """Train as ``config_or_overrides`` says and return the run directory (``config.out``).

    A ``TrainConfig`` is used as it is; a mapping is a set of overrides resolved by
    ``resolve`` (mode defaults, ``config_files``, ``resume``). ``callbacks`` are added to the
    Trainer's (the benchmarks track quality so). Raises ``UserError`` for bad settings or
    inputs (before anything is written), ``TrainingInterrupted`` after Ctrl-C / SIGTERM, and
    ``FloatingPointError`` when the loss stops being finite.
    """
    if isinstance(config_or_overrides, TrainConfig):
        config = config_or_overrides
    else:
        config = resolve(config_or_overrides, config_files)
    check_inputs(config)
    data = make_data(config)
    pl.seed_everything(config.seed, workers=True, verbose=False)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ".*RANDOM VGG weights.*")
        model = TextureNetsModule(config.to_dict())  # the descriptor: may fail, nothing written
    if model.descriptor_source.startswith("random"):
        log.warning(
            "WARNING: descriptor has RANDOM weights (tests only); samples will be meaningless"
        )
    log.info("descriptor: %s", model.descriptor_source)
    out = Path(config.out)
    prepare_out_dir(out)
    trainer = make_trainer(
        config,
        max_steps=config.max_steps,
        accumulate_grad_batches=config.accumulate_grad_batches,
        default_root_dir=str(out),
        logger=make_loggers(config, out),
        callbacks=[*make_callbacks(config, out), *callbacks],
        log_every_n_steps=config.log_every,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
        num_sanity_val_steps=0,
        **validation_options(config),
    )
    write_run_config(config, trainer, out)
    interrupt_handler = signal.getsignal(signal.SIGINT)  # Lightning may replace it
    try:
        with sigterm_as_interrupt():  # SIGTERM takes Ctrl-C's path: a checkpoint, then stop
            trainer.fit(model, datamodule=data, ckpt_path=config.resume, weights_only=False)
    except SystemExit:
        # Lightning turns Ctrl-C into sys.exit(1) after its on_exception hooks ran.
        if not trainer.interrupted:
            raise
    finally:
        signal.signal(signal.SIGINT, interrupt_handler)
    if trainer.interrupted:
        raise TrainingInterrupted(out)
    if trainer.global_step < config.max_steps:
        timers = [c for c in trainer.callbacks if isinstance(c, StepTimer)]  # type: ignore[attr-defined]
        why = "a callback stopped it"
        if timers and (timers[0].time_remaining() or 0) <= 0:
            why = f"the time budget of {config.max_time:g} min was reached"
        log.info("stopped at step %d of %d: %s", trainer.global_step, config.max_steps, why)
    usage = "--model {out}" + ("" if config.mode == "texture" else " --content PHOTO")
    log.info(
        "done: %s (use with: python generate.py %s)",
        out / "checkpoints" / "last.ckpt",
        usage.format(out=out),
    )
    return out

"""Training side effects: sample grids, interrupt checkpoints, atomic checkpoint files."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from lightning.fabric.plugins.io.torch_io import TorchCheckpointIO
from lightning.pytorch.callbacks import ModelCheckpoint, Timer
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger
from torchvision.utils import make_grid

from texture_nets.image import atomic_path, save_image
from texture_nets.training.data import PhotoDataModule

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    """Write checkpoints to a temporary file and rename: a kill leaves the old file or the new."""

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None
    ) -> None:
        with atomic_path(path) as tmp:
            super().save_checkpoint(checkpoint, tmp, storage_options)


def parameters_finite(module: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in module.parameters())


def inside_accumulated_step(trainer: pl.Trainer) -> bool:
    """Whether some batches of the current optimizer step have summed their gradients and the
    step has not been taken: a checkpoint now would lose them (``accumulate_grad_batches``).
    Lightning counts a batch processed after its backward (and the step it ends)."""
    progress = trainer.fit_loop.epoch_loop.batch_progress
    processed: int = progress.current.processed  # type: ignore[attr-defined]  # (a subclass)
    ended = progress.is_last_batch and processed == progress.current.ready  # the epoch's step
    return (
        trainer.accumulate_grad_batches > 1
        and processed % trainer.accumulate_grad_batches != 0
        and not ended
    )


class StepCheckpoint(ModelCheckpoint):
    """Lightning's periodic checkpoints, written between optimizer steps only: after a resume,
    the first batches of a step would otherwise save a mid-step state under the next step's
    name (the callback's last saved step is not kept in checkpoints). Its checkpoint entry
    keeps Lightning's name, so runs saved before it existed resume with their history."""

    @property
    def state_key(self) -> str:
        return super().state_key.replace(type(self).__qualname__, "ModelCheckpoint", 1)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if not inside_accumulated_step(trainer):
            super().on_train_batch_end(trainer, *args, **kwargs)


class StepTimer(Timer):
    """Lightning's ``max_time`` Timer, checked between optimizer steps only: a budget that
    runs out inside an accumulated step ends after it, so the final checkpoint resumes
    exactly. Its checkpoint entry keeps Lightning's name ("Timer")."""

    @property
    def state_key(self) -> str:
        return "Timer"

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any, **kwargs: Any) -> None:
        if not inside_accumulated_step(trainer):
            super().on_train_batch_end(trainer, *args, **kwargs)


class WholeStepsOnInterrupt(pl.Callback):
    """With gradient accumulation, a Ctrl-C or SIGTERM that arrives between the batches of
    one optimizer step takes effect after the step's last batch, so the interrupt checkpoint
    resumes exactly (the summed gradients are in no checkpoint). A second signal acts at once.
    Otherwise a signal does what it did before training (train.py: KeyboardInterrupt)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.saved: dict[int, Any] = {}
        self.pending: int | None = None
        self.told = False
        self.trainer: pl.Trainer | None = None

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.accumulate_grad_batches == 1:
            return
        if threading.current_thread() is not threading.main_thread():
            return  # only the main thread may set handlers
        self.trainer = trainer
        for sig in self.SIGNALS:
            previous = signal.getsignal(sig)
            if previous is not signal.SIG_IGN:  # an ignored signal stays ignored
                self.saved[sig] = previous
                signal.signal(sig, self.handle)

    def handle(self, signum: int, frame: Any) -> None:
        # no logging here: a handler that writes while the main thread writes can crash it
        if self.pending is None and self.trainer and inside_accumulated_step(self.trainer):
            self.pending = signum
            return
        self.act(signum, frame)

    def act(self, signum: int, frame: Any) -> None:
        previous = self.saved.get(signum, signal.SIG_DFL)
        self.restore()
        if callable(previous):
            previous(signum, frame)
        else:  # SIG_DFL: the default action (SIGTERM: the process ends)
            signal.raise_signal(signum)

    def on_train_batch_end(self, trainer: pl.Trainer, *args: Any) -> None:
        if self.pending is None:
            return
        if not inside_accumulated_step(trainer):
            signum, self.pending = self.pending, None
            self.act(signum, None)
        elif not self.told:
            self.told = True
            log.warning("interrupted: finishing this step's batches first (again: stop now)")

    def restore(self) -> None:
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        self.saved = {}

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        self.restore()

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.restore()


class InterruptCheckpoint(pl.Callback):
    """On Ctrl-C or SIGTERM, write ``last.ckpt`` (resumable) before exiting.

    On any other exception (e.g. a non-finite loss) nothing is written, so the last good
    checkpoint stays intact; weights that are no longer finite are never saved.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        interrupted = (
            isinstance(exception, KeyboardInterrupt)
            or type(exception).__name__ == "SIGTERMException"
        )
        if not interrupted or trainer.global_step == 0:
            return
        if not parameters_finite(pl_module):
            log.error("weights are not finite: no checkpoint written on interrupt")
            return
        if inside_accumulated_step(trainer):
            log.warning(
                "interrupted inside an accumulated step: resuming redoes it from its remaining "
                "batches only (the gradients summed so far are lost)"
            )
        if trainer.world_size > 1:
            # Several processes: no barrier (another process may be stuck in a gradient
            # all-reduce and never reach it); process 0 alone writes what it has, which is
            # what every process has (the weights are identical after each step).
            if not trainer.is_global_zero:
                return
            checkpoint = trainer._checkpoint_connector.dump_checkpoint(weights_only=False)
            trainer.strategy.checkpoint_io.save_checkpoint(checkpoint, self.path)
        else:
            trainer.save_checkpoint(self.path, weights_only=False)
        log.warning(
            "interrupted at step %d: resumable checkpoint written to %s",
            trainer.global_step,
            self.path,
        )


class FinalCheckpoint(pl.Callback):
    """At the end of training, write the final state to ``path`` (``last.ckpt``), from inside
    the training processes: with ``--strategy ddp_spawn`` the launching process never holds
    the training state (its step counter stays 0), so it must not write it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.save_checkpoint(self.path, weights_only=False)


class SampleGrid(pl.Callback):
    """Every ``every`` steps, draw samples from fixed noise: PNG in the run dir + the logger."""

    def __init__(
        self, directory: Path, every: int, count: int = 4, size: int = 256, seed: int = 1234
    ) -> None:
        self.directory = directory
        self.every = every
        self.count = count
        self.size = size
        self.seed = seed
        self.last_step = -1

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        step = trainer.global_step
        if self.every and step % self.every == 0 and not inside_accumulated_step(trainer):
            self.write(trainer, pl_module, step)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The final samples, whatever ended training (max_steps, max_time)."""
        if self.every:
            self.write(trainer, pl_module, trainer.global_step)

    def write(self, trainer: pl.Trainer, pl_module: pl.LightningModule, step: int) -> None:
        if not trainer.is_global_zero or step == self.last_step:
            return
        self.last_step = step
        images = pl_module.sample(self.count, self.size, self.seed)  # type: ignore[operator]
        grid = make_grid(images.float().cpu(), nrow=self.count, padding=2, pad_value=1.0)
        publish_grid(trainer, grid, self.directory, step)


def publish_grid(trainer: pl.Trainer, grid: torch.Tensor, directory: Path, step: int) -> Path:
    """Save a sample grid as ``directory/step_<step>.png`` and send it to image loggers."""
    path = save_image(grid, directory / f"step_{step:06d}.png")
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image("samples", [grid], step=step)
        elif isinstance(logger, TensorBoardLogger):
            logger.experiment.add_image("samples", grid, step)
    log.debug("sample grid written to %s", path)
    return path


class StylizationGrid(pl.Callback):
    """After every validation (and at the end): the fixed validation photos and their
    stylizations (fixed noise), as a two-row grid: PNG in the run dir + the image loggers."""

    def __init__(self, directory: Path, every: int, seed: int = 1234) -> None:
        self.directory = directory
        self.every = every  # validations run every ``every`` steps; 0: no grids at all
        self.seed = seed
        self.last_step = -1

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking:
            self.write(trainer, pl_module)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.every:
            self.write(trainer, pl_module)

    def write(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        step = trainer.global_step
        datamodule = getattr(trainer, "datamodule", None)
        if not isinstance(datamodule, PhotoDataModule) or not trainer.is_global_zero:
            return
        if step == self.last_step:
            return
        photos = datamodule.sample_photos()
        if photos.numel() == 0:
            return
        self.last_step = step
        stylized = pl_module.stylize(photos.to(pl_module.device), self.seed)  # type: ignore[operator]
        rows = torch.cat([photos, stylized.float().cpu()])
        grid = make_grid(rows, nrow=photos.shape[0], padding=2, pad_value=1.0)
        publish_grid(trainer, grid, self.directory, step)


class UnreadableImagesReport(pl.Callback):
    """One warning counting the photos that could not be decoded: after the first full epoch
    (every file has been tried by then), or at the end of training if that comes first."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        # Lightning also ends the epoch when max_steps stops it midway: that one is partial.
        self.report(trainer, complete=trainer.global_step < trainer.max_steps)

    def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.report(trainer, complete=False)

    @staticmethod
    def report(trainer: pl.Trainer, complete: bool) -> None:
        datamodule = getattr(trainer, "datamodule", None)
        if isinstance(datamodule, PhotoDataModule):
            datamodule.report_unreadable(complete)

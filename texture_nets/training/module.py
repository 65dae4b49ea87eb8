"""The LightningModule: trains the generator against the frozen descriptor.

Texture mode: noise pyramid -> generator -> descriptor -> Gram loss against the example's
Grams, which are computed once in ``setup``. Only the generator's parameters are optimised.
Noise for step ``s`` is drawn from a generator seeded with (seed, s, rank, accumulated batch)
(``rank_seed``), so a resumed run sees exactly the noise an uninterrupted one would have, and
under data parallelism or gradient accumulation every batch is different: the global batch is
devices x nodes x batch_size x accumulate_grad_batches. Rank 0 draws what a single-process
run draws.

Stylize mode: a batch of content photos (+ the step's noise, for the Ulyanov generator) ->
generator -> descriptor -> style Grams against the style image's, content features against
the photos' own (computed without gradients), optional TV. Validation logs the same terms on
held-out photos with fixed noise.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Mapping
from typing import Any, cast

import lightning.pytorch as pl
import numpy as np
import torch
from lightning.pytorch.callbacks import Timer
from torch import Tensor

from texture_nets.evaluation.metrics import ContentDistance, StyleDistance
from texture_nets.image import image_sha256, load_image
from texture_nets.nets.checkpoint import CHECKPOINT_FORMAT, DESCRIPTOR_PREFIX, renamed_keys
from texture_nets.nets.networks import (
    Network,
    build_network,
    run_network,
    seeded_noise,
    texture_generator,
)
from texture_nets.nets.ulyanov import seeded_rng
from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.objective.losses import (
    LossTerms,
    TextureLoss,
    nearest_neighbour_entropy,
    unit_gradient,
)
from texture_nets.objective.objective import Objective, build_objective_descriptor, loss_settings
from texture_nets.precision import (
    at_least_fp32,
    bf16_autocast,
    fp32_region,
    generator_bf16,
    resolve_bf16,
)
from texture_nets.training.averaging import average_of
from texture_nets.training.config import TrainConfig

log = logging.getLogger(__name__)


def rank_seed(seed: int, step: int, rank: int = 0, batch: int = 0) -> int:
    """The noise seed of training step ``step`` on process ``rank``, for the step's
    ``batch``-th accumulated batch (``accumulate_grad_batches``).

    Rank 0's first batch keeps the single-process seed (a one-device run without
    accumulation is unchanged); every other (rank, batch) gets a seed mixed from (seed, step,
    rank[, batch]) by NumPy's ``SeedSequence``, so no two of them share a noise stream.
    """
    if rank == 0 and batch == 0:
        return seed * 1_000_003 + step
    entropy = [seed % 2**63, step % 2**63, rank, *([batch] if batch else [])]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0] >> 1)


class TextureNetsModule(pl.LightningModule):
    """Generator + ``Objective`` (frozen descriptor + ``TextureLoss``, the one every method
    builds); see ``TrainConfig`` for the keys."""

    def __init__(
        self,
        config: dict[str, Any],
        descriptor: VGGDescriptor | None = None,
        descriptor_source: str | None = None,
    ) -> None:
        super().__init__()
        self.config = TrainConfig(**config)
        # ``generator``: the trained network of any architecture (the attribute's name is the
        # prefix of its weights in every checkpoint, so it stays)
        self.generator = build_network(self.config.network_config)
        # its exponential moving average (``ema_decay``): what checkpoints generate with
        # (``checkpoint.AVERAGE_PREFIX``); a submodule, so resumes restore it exactly. Lightning's
        # EMAWeightAveraging copies the whole LightningModule (descriptor, style targets), so the
        # generator is averaged here with torch's AveragedModel instead.
        self.generator_average = (
            average_of(self.generator, self.config.ema_decay) if self.config.ema_decay else None
        )
        # the objective every method shares (texture_nets.objective.objective); its style
        # targets are set in ``setup``
        settings = loss_settings(self.config.to_dict(), stylize=self.config.mode == "stylize")
        if descriptor is None:
            descriptor, descriptor_source = build_objective_descriptor(
                self.config.descriptor, settings, seed=self.config.seed
            )
        self.descriptor_source = descriptor_source or "unknown"
        self.objective = Objective.build(
            descriptor, settings, seed=self.config.seed, source=self.descriptor_source
        )
        self.style_sha256 = image_sha256(self.config.style_image) if self.config.style_image else ""
        self.save_hyperparameters(
            {
                "config": self.config.to_dict(),
                "architecture": self.config.generator,
                "generator": self.config.network_config.to_dict(),
                "descriptor_source": self.descriptor_source,
                "style_sha256": self.style_sha256,
                "format": CHECKPOINT_FORMAT,
            }
        )
        # The descriptor's weights are not trained and not needed to sample: keep them out of
        # checkpoints (loading tolerates their absence).
        self.strict_loading = False
        self._bf16_on: dict[tuple[str, torch.device], bool] = {}

    # -- setup -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        # Lightning calls this before it moves the module to its device (``self.device``
        # already names the target then): the targets are computed where the descriptor
        # actually is, as buffers and metric states that follow the module when it moves.
        if self.config.style_image is None:
            raise ValueError("no style/texture image configured")
        style = load_image(
            self.config.style_image,
            self.config.style_size,
            min_side=self.objective.settings.min_side(),
        ).to(self.descriptor.mean)
        self.objective.use_bf16 = self.use_bf16(style.device)  # as training computes features
        self.objective.set_styles([style])
        if self.config.mode == "stylize":  # validation scores, fp32 (evaluation.metrics)
            self.val_style_distance = StyleDistance(self.descriptor, style, self.loss.style_layers)
            self.val_content_distance = ContentDistance(
                self.descriptor, self.config.content_layers[0]
            )
        log.info(
            "descriptor %s (%s pooling, %s), generator %s, style image %s (%dx%d)",
            self.descriptor_source,
            self.config.pooling,
            "bf16" if self.use_bf16(self.device) else self.config.precision,
            "bf16" if self.use_bf16(self.device, "generator") else self.config.precision,
            self.config.style_image,
            style.shape[-1],
            style.shape[-2],
        )

    @property
    def descriptor(self) -> VGGDescriptor:  # the objective's parts, by their old names
        return self.objective.descriptor

    @property
    def loss(self) -> TextureLoss:
        return self.objective.loss

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False
    ) -> Any:
        """Also from a checkpoint of the old layout (``loss.*``, ``renamed_keys``), and into a
        module whose ``setup`` has not run (empty target Grams): the main process of
        ``--strategy ddp_spawn`` gets the trained weights back so."""
        state_dict = renamed_keys(state_dict)
        for name, buffer in self.loss.named_buffers():
            incoming = state_dict.get(f"objective.loss.{name}")
            if buffer.numel() == 0 and incoming is not None:
                setattr(self.loss, name, torch.empty_like(incoming, device=buffer.device))
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        state = super().state_dict(*args, **kwargs)
        return {k: v for k, v in state.items() if not k.startswith(DESCRIPTOR_PREFIX)}

    def use_bf16(self, device: torch.device, part: str = "descriptor") -> bool:
        """Whether ``part`` (descriptor | generator) autocasts to bf16 on ``device`` in training
        (``precision``: auto, bf16, bf16-descriptor; decided once per device)."""
        key = (part, device)
        if key not in self._bf16_on:
            precision = self.config.precision
            self._bf16_on[key] = (
                resolve_bf16(precision, device)
                if part == "descriptor"  # the generator follows it (one warning, one decision)
                else generator_bf16(precision, self.use_bf16(device, "descriptor"))
            )
        return self._bf16_on[key]

    def generate(self, noise: list[Tensor] | None, content: Tensor | None = None) -> Tensor:
        """The training images, under bf16 autocast where enabled (the thin generator layers
        were half the step in fp32, docs/scaling.md)."""
        with bf16_autocast(self.device, self.use_bf16(self.device, "generator")):
            return self(noise, content)

    def features(self, images: Tensor, layers: Any) -> dict[str, Tensor]:
        """Descriptor features (bf16 autocast where enabled; Grams are then taken in fp32)."""
        with bf16_autocast(images.device, self.use_bf16(images.device)):
            images = images.contiguous(memory_format=torch.channels_last)
            return self.descriptor(images, layers)

    # -- training ----------------------------------------------------------------------------
    def step_noise(
        self,
        step: int,
        batch: int,
        height: int,
        width: int | None = None,
        rank: int | None = None,
        accumulated: int = 0,
    ) -> list[Tensor] | None:
        """The noise of training step ``step`` on process ``rank`` (default: this process's)
        for its ``accumulated``-th batch, in the module's dtype and device (None for a network
        without noise input)."""
        rank = self.global_rank if rank is None else rank
        noise = seeded_noise(
            self.config.network_config,
            batch,
            height,
            width or height,
            rank_seed(self.config.seed, step, rank, accumulated),
            self.device,
        )
        return None if noise is None else [n.to(self.dtype) for n in noise]

    def step_size(self, step: int) -> int:
        """The side of step ``step``'s texture images: ``image_size``, or with random sizes
        one of ``TrainConfig.training_sizes`` drawn by the step's seed (the same on every
        process, which then wait for no slower one)."""
        sizes = self.config.training_sizes()
        if len(sizes) == 1:
            return sizes[0]
        return random.Random(f"{self.config.seed}:{step}").choice(sizes)

    @property
    def network(self) -> Network:
        """The generator that checkpoints produce images with: the average, if one is kept."""
        if self.generator_average is None:
            return self.generator
        return cast(Network, self.generator_average.module)

    def forward(self, noise: list[Tensor] | None, content: Tensor | None = None) -> Tensor:
        return run_network(self.generator, content, noise)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """The step, then the average's update: before any callback's ``on_train_batch_end``
        (periodic checkpoints, sample grids), so they all see this step's average."""
        super().optimizer_step(*args, **kwargs)
        if self.generator_average is not None:
            self.generator_average.update_parameters(self.generator)

    def compute_loss(
        self, images: Tensor, content: Tensor | None = None, crops_per_photo: int = 1
    ) -> LossTerms:
        content_targets = None
        if content is not None and self.config.content_layers:
            with torch.no_grad():
                content_targets = self.features(content, self.config.content_layers)
        features = self.features(images, self.loss.layers)
        # normalized_gradients: the style terms' gradient per layer (a layer that is also a
        # content layer shares it; the diversity term reads the plain features)
        styled = features
        if self.config.normalize_gradients:
            styled = {
                name: unit_gradient(f) if name in self.loss.style_layers else f
                for name, f in features.items()
            }
        with fp32_region(images.device):
            result = self.loss(styled, content_targets, at_least_fp32(images), crops_per_photo)
            if self.config.diversity_weight and images.shape[0] >= 2:
                entropy = nearest_neighbour_entropy(features[self.config.diversity_layer])
                terms = {**result.terms, "diversity": entropy.detach()}
                result = LossTerms(result.total - self.config.diversity_weight * entropy, terms)
            return result

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        content = batch.to(self.dtype) if self.config.mode == "stylize" else None
        # which of the step's accumulated batches this is (Lightning steps the optimizer
        # after every accumulate_grad_batches batches of an epoch, and at its end)
        accumulated = batch_idx % self.config.accumulate_grad_batches
        step = self.global_step
        if content is None:
            size = self.step_size(step)
            noise = self.step_noise(step, self.config.batch_size, size, accumulated=accumulated)
        else:
            height, width = content.shape[-2:]
            noise = self.step_noise(step, content.shape[0], height, width, None, accumulated)
        images = self.generate(noise, content)
        self.loss.draw(step)  # the step's sliced Wasserstein directions (swd)
        # stylize: a batch is crops_per_photo crops of each of its photos, in a row
        crops = self.config.crops_per_photo if content is not None else 1
        result = self.compute_loss(images, content, crops)
        if not torch.isfinite(result.total):
            terms = ", ".join(f"{k}={v.item():.4g}" for k, v in result.terms.items())
            raise FloatingPointError(
                f"non-finite loss at step {self.global_step} ({terms}); lower --lr or raise "
                "--warmup-steps, then resume from the last good checkpoint"
            )
        # sync_dist: the logged values are means over all processes (no-op on one)
        self.log("train/loss", result.total, prog_bar=True, sync_dist=True)
        self.log("step", float(self.global_step + 1))  # monitored to keep the latest checkpoints
        self.log_dict({f"train/{k}": v for k, v in result.terms.items()}, sync_dist=True)
        return result.total

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.config.lr)
        cfg = self.config

        def factor(step: int) -> float:
            warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
            if cfg.lr_schedule == "cosine":
                return warm * 0.5 * (1 + math.cos(math.pi * self.training_progress(step)))
            return warm * cfg.lr_decay ** (step // cfg.lr_decay_every)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def training_progress(self, step: int) -> float:
        """How much of the training budget is spent, 0..1: steps of ``max_steps``, or wall
        time of ``max_time`` (Lightning's Timer, kept over resumes) if that is further."""
        progress = step / self.config.max_steps
        timer = self._budget_timer()
        if timer is not None and self.config.max_time is not None:
            progress = max(progress, timer.time_elapsed("train") / (60 * self.config.max_time))
        return min(1.0, progress)

    def _budget_timer(self) -> Timer | None:
        if self._trainer is None:
            return None
        callbacks = self.trainer.callbacks  # type: ignore[attr-defined]  # (set at runtime)
        return next((c for c in callbacks if isinstance(c, Timer)), None)

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        """Stylize mode: the loss terms on validation photos, with fixed noise per batch."""
        batch = batch.to(self.dtype)
        height, width = batch.shape[-2:]
        noise = seeded_noise(
            self.config.network_config,
            batch.shape[0],
            height,
            width,
            self.config.seed * 1_000_003 - 1 - batch_idx,
            self.device,
        )
        noise = None if noise is None else [n.to(self.dtype) for n in noise]
        # what the checkpoint would make: its network, in fp32 as ``networks.render`` runs it
        images = run_network(self.network, batch, noise)
        self.loss.draw(0)  # fixed sliced Wasserstein directions: comparable validations
        result = self.compute_loss(images, batch)
        size = batch.shape[0]
        self.log("val/loss", result.total, batch_size=size, sync_dist=True)
        terms = {f"val/{k}": v for k, v in result.terms.items()}
        self.log_dict(terms, batch_size=size, sync_dist=True)
        with fp32_region(images.device):  # scores in fp32 (the module's dtype if wider)
            scored = at_least_fp32(images)
            self.val_style_distance.update(scored)
            self.val_content_distance.update(scored, batch.to(scored.dtype))

    def on_validation_epoch_end(self) -> None:
        """Style and content distance over all validation photos (summed across processes)."""
        if self.config.mode != "stylize":
            return
        # compute() already sums the metric states over all processes: same value everywhere
        style = self.val_style_distance.compute()["style_distance"]
        self.log("val/style_distance", style, sync_dist=True)
        self.log("val/content_distance", self.val_content_distance.compute(), sync_dist=True)
        self.val_style_distance.reset()
        self.val_content_distance.reset()

    @torch.no_grad()
    def sample(self, count: int, size: int, seed: int) -> Tensor:
        """Texture samples from fixed noise (for the periodic sample grid)."""
        generator = texture_generator(self.network)
        was_training = generator.training
        generator.eval()
        noise = generator.config.noise(count, size, size, seeded_rng(seed), self.device)
        images = run_network(generator, None, [n.to(self.dtype) for n in noise])
        generator.train(was_training)
        return images

    @torch.no_grad()
    def stylize(self, content: Tensor, seed: int) -> Tensor:
        """Stylize a batch of photos with fixed noise (for the validation sample grid)."""
        network = self.network
        was_training = network.training
        network.eval()
        height, width = content.shape[-2:]
        noise = seeded_noise(
            self.config.network_config, content.shape[0], height, width, seed, self.device
        )
        noise = None if noise is None else [n.to(self.dtype) for n in noise]
        images = run_network(network, content.to(self.dtype), noise)
        network.train(was_training)
        return images

"""The LightningModule: trains the generator against the frozen descriptor.

Texture mode: noise pyramid -> generator -> descriptor -> Gram loss against the example's
Grams, which are computed once in ``setup``. Only the generator's parameters are optimised.
Noise for step ``s`` is drawn from a generator seeded with (seed, s), so a resumed run sees
exactly the noise an uninterrupted one would have.

Stylize mode: a batch of content photos (+ the step's noise, for the Ulyanov generator) ->
generator -> descriptor -> style Grams against the style image's, content features against
the photos' own (computed without gradients), optional TV. Validation logs the same terms on
held-out photos with fixed noise.
"""

from __future__ import annotations

import logging
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from texture_nets.config import TrainConfig
from texture_nets.descriptor import VGGDescriptor, deepest_layer, min_input_side
from texture_nets.generator import Generator, make_noise, seeded_generator
from texture_nets.image import image_sha256, load_image
from texture_nets.losses import LossTerms, TextureLoss
from texture_nets.metrics import ContentDistance, StyleDistance
from texture_nets.networks import build_network, run_network, seeded_noise
from texture_nets.precision import bf16_supported, descriptor_autocast
from texture_nets.weights import build_descriptor

log = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1


class TextureNetsModule(pl.LightningModule):
    """Generator + frozen descriptor + ``TextureLoss``; see ``TrainConfig`` for the keys."""

    def __init__(
        self,
        config: dict[str, Any],
        descriptor: VGGDescriptor | None = None,
        descriptor_source: str | None = None,
    ) -> None:
        super().__init__()
        self.config = TrainConfig(**config)
        self.generator = build_network(self.config.network_config)
        if descriptor is None:
            descriptor, descriptor_source = build_descriptor(
                self.config.descriptor,
                self.config.descriptor_arch,
                self.config.pooling,
                deepest_layer(
                    self.config.descriptor_arch or "vgg16", self.config.deepest_layer_candidates
                ),
                seed=self.config.seed,
            )
        self.descriptor = descriptor
        self.loss = TextureLoss(
            self.config.style_layer_dict,
            {name: 1.0 for name in self.config.content_layers}
            if self.config.mode == "stylize"
            else None,
            style_weight=self.config.style_weight,
            content_weight=self.config.content_weight,
            tv_weight=self.config.tv_weight,
        )
        self.descriptor_source = descriptor_source or "unknown"
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
        self._use_bf16 = False

    # -- setup -------------------------------------------------------------------------------
    def setup(self, stage: str) -> None:
        self._use_bf16 = self.config.precision == "bf16" or (
            self.config.precision == "auto" and bf16_supported(self.device)
        )
        if self.config.style_image is None:
            raise ValueError("no style/texture image configured")
        arch = self.descriptor.arch
        style = load_image(
            self.config.style_image,
            self.config.style_size,
            min_side=min_input_side(arch, self.loss.style_layers),
        ).to(self.device)
        with torch.no_grad():
            features = self.describe(style, self.loss.style_layers)
        self.loss.set_style([features])
        if self.config.mode == "stylize":  # validation scores, fp32 (texture_nets.metrics)
            self.val_style_distance = StyleDistance(self.descriptor, style, self.loss.style_layers)
            self.val_content_distance = ContentDistance(
                self.descriptor, self.config.content_layers[0]
            )
        log.info(
            "descriptor %s (%s pooling, %s), style image %s (%dx%d)",
            self.descriptor_source,
            self.config.pooling,
            "bf16" if self._use_bf16 else "fp32",
            self.config.style_image,
            style.shape[-1],
            style.shape[-2],
        )

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        state = super().state_dict(*args, **kwargs)
        return {k: v for k, v in state.items() if not k.startswith("descriptor.")}

    def describe(self, images: Tensor, layers: Any) -> dict[str, Tensor]:
        """Descriptor features (bf16 autocast where enabled; Grams are then taken in fp32)."""
        with descriptor_autocast(self.device, self._use_bf16):
            images = images.contiguous(memory_format=torch.channels_last)
            return self.descriptor(images, layers)

    # -- training ----------------------------------------------------------------------------
    def step_noise(
        self, step: int, batch: int, height: int, width: int | None = None
    ) -> list[Tensor] | None:
        """The noise of training step ``step`` (None for a network without noise input)."""
        return seeded_noise(
            self.config.network_config,
            batch,
            height,
            width or height,
            self.config.seed * 1_000_003 + step,
            self.device,
        )

    def forward(self, noise: list[Tensor] | None, content: Tensor | None = None) -> Tensor:
        return run_network(self.generator, content, noise)

    def compute_loss(self, images: Tensor, content: Tensor | None = None) -> LossTerms:
        content_targets = None
        if content is not None and self.config.content_layers:
            with torch.no_grad():
                content_targets = self.describe(content, self.config.content_layers)
        features = self.describe(images, self.loss.layers)
        return self.loss(features, content_targets, images)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        content = batch if self.config.mode == "stylize" else None
        if content is None:
            size = self.config.image_size
            noise = self.step_noise(self.global_step, self.config.batch_size, size)
        else:
            height, width = content.shape[-2:]
            noise = self.step_noise(self.global_step, content.shape[0], height, width)
        images = self(noise, content)
        result = self.compute_loss(images, content)
        if not torch.isfinite(result.total):
            terms = ", ".join(f"{k}={v.item():.4g}" for k, v in result.terms.items())
            raise FloatingPointError(
                f"non-finite loss at step {self.global_step} ({terms}); lower --lr or raise "
                "--warmup-steps, then resume from the last good checkpoint"
            )
        self.log("train/loss", result.total, prog_bar=True)
        self.log("step", float(self.global_step + 1))  # monitored to keep the latest checkpoints
        self.log_dict({f"train/{k}": v for k, v in result.terms.items()})
        return result.total

    def configure_optimizers(self) -> Any:
        optimizer = torch.optim.Adam(self.generator.parameters(), lr=self.config.lr)
        cfg = self.config

        def factor(step: int) -> float:
            warm = min(1.0, (step + 1) / cfg.warmup_steps) if cfg.warmup_steps else 1.0
            return warm * cfg.lr_decay ** (step // cfg.lr_decay_every)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def validation_step(self, batch: Tensor, batch_idx: int) -> None:
        """Stylize mode: the loss terms on validation photos, with fixed noise per batch."""
        height, width = batch.shape[-2:]
        noise = seeded_noise(
            self.config.network_config,
            batch.shape[0],
            height,
            width,
            self.config.seed * 1_000_003 - 1 - batch_idx,
            self.device,
        )
        images = self(noise, batch)
        result = self.compute_loss(images, batch)
        size = batch.shape[0]
        self.log("val/loss", result.total, batch_size=size)
        self.log_dict({f"val/{k}": v for k, v in result.terms.items()}, batch_size=size)
        self.val_style_distance.update(images.float())
        self.val_content_distance.update(images.float(), batch)

    def on_validation_epoch_end(self) -> None:
        """Style and content distance over all validation photos (summed across processes)."""
        if self.config.mode != "stylize":
            return
        self.log("val/style_distance", self.val_style_distance.compute()["style_distance"])
        self.log("val/content_distance", self.val_content_distance.compute())
        self.val_style_distance.reset()
        self.val_content_distance.reset()

    @torch.no_grad()
    def sample(self, count: int, size: int, seed: int) -> Tensor:
        """Texture samples from fixed noise (for the periodic sample grid)."""
        if not isinstance(self.generator, Generator):
            raise TypeError("texture samples need the multiscale generator")
        was_training = self.generator.training
        self.generator.eval()
        rng = seeded_generator(seed)
        noise = make_noise(count, size, size, self.generator.config, rng, self.device)
        images = self(noise)
        self.generator.train(was_training)
        return images

    @torch.no_grad()
    def stylize(self, content: Tensor, seed: int) -> Tensor:
        """Stylize a batch of photos with fixed noise (for the validation sample grid)."""
        was_training = self.generator.training
        self.generator.eval()
        height, width = content.shape[-2:]
        noise = seeded_noise(
            self.config.network_config, content.shape[0], height, width, seed, self.device
        )
        images = self(noise, content)
        self.generator.train(was_training)
        return images

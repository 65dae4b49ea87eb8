"""Training configuration: one flat list of typed keys (``TrainConfig``) and their checks.

Every key is a flag (``image_size`` -> ``--image-size``, generated in ``cli.config_flags``);
``--help`` lists them with their effective defaults. Where the values come from (code
defaults < ``texture_nets/configs/<mode>.yaml`` < ``--config FILE`` < flags) and how files
are read and layered: ``config_files.py``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from texture_nets.errors import UserError
from texture_nets.nets.johnson import JohnsonConfig
from texture_nets.nets.networks import ARCHITECTURES, NetworkConfig
from texture_nets.nets.ulyanov import NORMS, PADDINGS, GeneratorConfig, min_image_size
from texture_nets.objective.descriptor import POOLING_MODES, deepest_layer
from texture_nets.objective.losses import TEXTURE_LOSSES
from texture_nets.objective.objective import (
    DEFAULT_CONTENT_LAYERS,
    DEFAULT_SHIFT_LAYERS,
    DEFAULT_SHIFTS,
    DEFAULT_STYLE_LAYERS,
    loss_settings,
)
from texture_nets.precision import TRAIN_PRECISIONS

MODES = ("texture", "stylize")
LR_SCHEDULES = ("step", "cosine")
LOGGERS = ("csv", "wandb", "tensorboard", "none")
RANDOM_SIZE_STEP = 32  # random training sides are image_size minus multiples of this


# the first key of each section of TrainConfig -> its title (the groups of ``train --help``)
SECTIONS = {
    "mode": "what to learn",
    "descriptor": "descriptor and loss",
    "generator": "generator",
    "image_size": "optimisation",
    "accelerator": "where it runs",
    "log_every": "bookkeeping",
}


class ConfigError(UserError, ValueError):
    """A configuration value or key that cannot be used."""


def _key(default: Any, help: str, choices: Sequence[str] | None = None) -> Any:
    metadata = {"help": help, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    """All hyperparameters of a training run (stored in every checkpoint)."""

    # what to learn
    mode: str = _key("texture", "texture: noise -> texture; stylize: photo -> painting", MODES)
    style_image: str | None = _key(None, "example texture / style image (file or builtin:NAME)")
    content_dir: str | None = _key(None, "folder of training photos (stylize mode)")
    val_dir: str | None = _key(None, "folder of validation photos (stylize mode)")
    out: str = _key("runs/texture", "run directory: checkpoints, samples, logs")
    # descriptor and loss
    descriptor: str = _key("auto", "VGG weights: auto|torchvision|onnx|onnx:FILE|FILE.pth|random")
    descriptor_arch: str | None = _key(None, "vgg16|vgg19 (default: what the source provides)")
    pooling: str = _key("avg", "descriptor pooling (Gatys et al.: avg)", POOLING_MODES)
    style_layers: list[str] = _key(list(DEFAULT_STYLE_LAYERS), "layers of the Gram loss")
    style_layer_weights: list[float] | None = _key(None, "per-layer weights (default: all 1)")
    style_size: int = _key(512, "longer side the style image is resized to (if larger)")
    texture_loss: str = _key(
        "gram",
        "how style layers are compared with the example: gram (Gram matrices, Gatys et al.) | "
        "swd (sliced Wasserstein distance of the features, Heitz et al. 2021)",
        TEXTURE_LOSSES,
    )
    shift_weight: float = _key(
        0.0,
        "weight of the shifted-Gram term (Berger & Memisevic 2016): how each feature goes with "
        "the ones SHIFTS pixels to the right and below, the order of a regular texture that "
        "Gram matrices discard; 0: off",
    )
    shift_layers: list[str] = _key(
        list(DEFAULT_SHIFT_LAYERS), "style layers of the shifted-Gram term"
    )
    shifts: list[int] = _key(
        list(DEFAULT_SHIFTS), "shifts of the shifted-Gram term, in pixels of each layer's map"
    )
    normalize_gradients: bool = _key(
        False,
        "divide each style layer's gradient by its L1 norm (the original texture_nets): "
        "every layer pulls equally hard, whatever its loss scale; the loss values are unchanged",
    )
    style_weight: float = _key(1.0, "weight of the Gram (style) loss")
    diversity_weight: float = _key(
        0.0,
        "weight of the diversity (entropy) term of Improved Texture Networks: rewards samples "
        "of one batch for being far apart in the descriptor at diversity_layer (batch >= 2)",
    )
    diversity_layer: str = _key("relu4_1", "descriptor layer of the diversity term (a style layer)")
    content_layers: list[str] = _key(
        list(DEFAULT_CONTENT_LAYERS), "layers of the content loss (stylize mode)"
    )
    content_weight: float = _key(1.0, "weight of the content loss (stylize mode)")
    tv_weight: float = _key(0.0, "weight of the total-variation loss")
    # generator
    generator: str = _key(
        "ulyanov", "architecture: ulyanov (multiscale) | johnson (stylize mode)", ARCHITECTURES
    )
    num_scales: int = _key(6, "number of noise scales K (ulyanov)")
    channels: int = _key(8, "channels of each conv block (ulyanov)")
    coarse_channels: int = _key(
        0, "channels of the coarser half of the scales' input blocks (ulyanov; 0: channels)"
    )
    noise_depth: int = _key(3, "noise channels per scale (ulyanov; 0: none, stylize mode)")
    residual_blocks: int = _key(5, "residual blocks (johnson)")
    johnson_channels: int = _key(
        32, "johnson: channels of the first layer, doubled by each stride-2 stage (Johnson's 32)"
    )
    downsamples: int = _key(
        2,
        "johnson: stride-2 stages before the residual blocks (each one more doubles the "
        "receptive field and the residual blocks' width; their cost per pixel stays, the whole "
        "network's grows by about a sixth, its weights about 4x)",
    )
    photo_skip: bool = _key(
        False,
        "johnson: the network paints on the photo (adds its change to the photo's logit, "
        "starting from the photo itself, as Gatys' optimisation does)",
    )
    norm: str = _key("instance", "normalisation layers", NORMS)
    padding: str = _key(
        "circular", "conv padding of ulyanov (circular: seamlessly tileable)", PADDINGS
    )
    # optimisation
    image_size: int = _key(256, "side of the generated training images (stylize: of the crops)")
    crops_per_photo: int = _key(
        1,
        "stylize mode: crops a batch takes from each training photo; the style loss pools "
        "their Gram statistics, so the crops together match the painting as the whole picture "
        "does when used (alone, every crop must hold all of the painting's strokes); divides "
        "batch_size (validation scores each crop alone)",
    )
    photo_size: int = _key(
        0,
        "stylize mode: longer side the training photos are resized to before their random "
        "image_size crops: the scale the stylizer is used at (0: each photo whole, its shorter "
        "side resized to image_size)",
    )
    batch_size: int = _key(1, "images per step")
    accumulate_grad_batches: int = _key(
        1,
        "batches whose gradients are summed into one optimizer step (Lightning's): a larger "
        "batch (the paper's 16) at the memory of batch_size; steps, schedule, average and "
        "checkpoints count optimizer steps",
    )
    random_size_min: int = _key(
        0,
        "texture mode: 0 trains at image_size; N draws each step's side from image_size, "
        "image_size - 32, ... and N (seeded by the step: resumes stay exact)",
    )
    max_steps: int = _key(1500, "training steps")
    max_time: float | None = _key(
        None, "wall-clock budget in minutes, over resumes: training ends at it or at max_steps"
    )
    lr: float = _key(0.01, "Adam learning rate")
    warmup_steps: int = _key(50, "linear learning-rate warm-up")
    lr_decay: float = _key(0.5, "learning-rate factor applied every lr_decay_every steps")
    lr_decay_every: int = _key(500, "steps between learning-rate decays")
    lr_schedule: str = _key(
        "step",
        "step: lr_decay every lr_decay_every steps; cosine: from lr down to 0 over the budget "
        "(max_steps, or max_time if it runs out first), after the warm-up",
        LR_SCHEDULES,
    )
    ema_decay: float = _key(
        0.0,
        "exponential moving average of the generator's weights (e.g. 0.99, about the last "
        "100 steps): checkpoints and the final samples use the average; 0: off",
    )
    precision: str = _key(
        "auto",
        "auto|fp32|bf16: fp32 weights, generator and descriptor under bf16 autocast where "
        "fast (auto) or as named; bf16-mixed|16-mixed: Lightning's precision for the whole "
        "step (16-mixed: GPUs); also accepted: 32 (= fp32), bf16-descriptor (only the "
        "descriptor in bf16) (docs/scaling.md)",
        TRAIN_PRECISIONS,
    )
    seed: int = _key(0, "seed of weights init and noise")
    # where it runs (docs/scaling.md); the global batch is devices x num_nodes x batch_size
    accelerator: str = _key("auto", "cpu|gpu|cuda|mps|auto (auto: a GPU if there is one)")
    devices: str = _key("1", "devices per machine: N, -1 (all), auto (Lightning: all GPUs), 0,1")
    strategy: str = _key("auto", "Lightning strategy: auto (ddp when devices > 1), ddp, ...")
    num_nodes: int = _key(1, "machines (torchrun / SLURM launch one process per device)")
    # bookkeeping
    log_every: int = _key(10, "steps between logged losses")
    sample_every: int = _key(
        250, "steps between sample grids (0: never); stylize mode: between validations"
    )
    checkpoint_every: int = _key(250, "steps between periodic checkpoints")
    keep_checkpoints: int = _key(3, "periodic checkpoints kept (plus last.ckpt)")
    logger: str = _key("csv", "where metrics go", LOGGERS)
    num_workers: int = _key(2, "data-loading worker processes (stylize mode)")
    val_fraction: float = _key(0.05, "share of --content-dir held out (when no --val-dir)")
    val_batches: int = _key(5, "batches per validation (0: the whole validation set)")
    val_samples: int = _key(4, "validation photos shown in the sample grid (the first N)")
    resume: str | None = _key(None, "checkpoint to resume from, or 'auto' (the run's last.ckpt)")

    def __post_init__(self) -> None:
        self.validate()

    # -- derived views ----------------------------------------------------------------------
    @property
    def ulyanov_config(self) -> GeneratorConfig:
        return GeneratorConfig(
            num_scales=self.num_scales,
            channels=self.channels,
            coarse_channels=self.coarse_channels,
            noise_depth=self.noise_depth,
            content_channels=3 if self.mode == "stylize" else 0,
            norm=self.norm,
            padding=self.padding,
        )

    @property
    def johnson_config(self) -> JohnsonConfig:
        return JohnsonConfig(
            channels=self.johnson_channels,
            residual_blocks=self.residual_blocks,
            downsamples=self.downsamples,
            norm=self.norm,
            photo_skip=self.photo_skip,
        )

    @property
    def network_config(self) -> NetworkConfig:
        """The config of the selected generator architecture (``generator`` key)."""
        return self.johnson_config if self.generator == "johnson" else self.ulyanov_config

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    # -- checks -----------------------------------------------------------------------------
    def validate(self) -> None:
        for f in fields(self):
            choices = f.metadata.get("choices")
            value = getattr(self, f.name)
            if choices and value not in choices:
                raise ConfigError(f"{f.name}: {value!r} is not one of {', '.join(choices)}")
        positive = (
            "image_size",
            "batch_size",
            "accumulate_grad_batches",
            "max_steps",
            "style_size",
            "num_scales",
            "channels",
            "log_every",
            "checkpoint_every",
            "lr_decay_every",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.max_time is not None and not 0 < self.max_time < float("inf"):
            raise ConfigError(f"max_time must be a positive number of minutes, got {self.max_time}")
        if not 0 <= self.ema_decay < 1:
            raise ConfigError(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        for name in ("lr", "lr_decay"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        for name in (
            "style_weight",
            "content_weight",
            "tv_weight",
            "diversity_weight",
            "warmup_steps",
            "sample_every",
            "keep_checkpoints",
            "num_workers",
            "noise_depth",
            "coarse_channels",
            "photo_size",
            "residual_blocks",
            "val_batches",
            "val_samples",
        ):
            if not getattr(self, name) >= 0:  # NaN included
                raise ConfigError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.style_layer_weights is not None and len(self.style_layer_weights) != len(
            self.style_layers
        ):
            raise ConfigError("style_layer_weights must have one weight per style layer")
        if any(weight < 0 for weight in self.style_layer_weights or ()):
            raise ConfigError("style_layer_weights must be >= 0")
        if not self.style_layers:
            raise ConfigError("style_layers must name at least one layer")
        if self.normalize_gradients and self.precision == "16-mixed":
            raise ConfigError(
                "normalize_gradients would undo 16-mixed's loss scaling (its style gradients "
                "would underflow in fp16): use precision bf16-mixed or auto"
            )
        if self.diversity_weight:
            if self.diversity_layer not in self.style_layers:
                raise ConfigError(
                    f"diversity_layer {self.diversity_layer} must be one of the style layers "
                    f"({', '.join(self.style_layers)})"
                )
            if self.batch_size < 2:
                raise ConfigError(
                    "the diversity term compares the samples of one batch: use --batch-size 2 "
                    "or more"
                )
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"val_fraction must be in [0, 1), got {self.val_fraction}")
        if self.generator == "johnson":
            if self.mode != "stylize":
                raise ConfigError("the johnson generator transforms photos: use it with --style")
            if self.johnson_channels < 1:
                raise ConfigError(f"johnson_channels must be >= 1, got {self.johnson_channels}")
            if not 2 <= self.downsamples <= 4:
                raise ConfigError(f"downsamples must be in 2..4, got {self.downsamples}")
            if self.image_size < (min_side := self.johnson_config.min_side):
                raise ConfigError(f"image_size must be at least {min_side} for johnson")
        else:
            min_size = min_image_size(self.num_scales)
            if self.image_size < min_size:
                raise ConfigError(
                    f"image_size {self.image_size} is too small for {self.num_scales} scales "
                    f"(the coarsest would be under 2 px); use at least {min_size} or fewer scales"
                )
        if self.crops_per_photo < 1 or self.batch_size % self.crops_per_photo:
            raise ConfigError(
                f"crops_per_photo must divide batch_size {self.batch_size}, "
                f"got {self.crops_per_photo}"
            )
        if self.crops_per_photo > 1 and self.mode != "stylize":
            raise ConfigError("crops_per_photo is for stylize mode (crops of training photos)")
        if self.random_size_min:
            self.validate_random_sizes()
        if self.mode == "texture" and self.noise_depth == 0:
            raise ConfigError("texture mode needs noise_depth > 0")
        settings = loss_settings(self.to_dict(), stylize=self.mode == "stylize")
        try:
            settings.check_layers()
        except UserError as error:
            raise ConfigError(str(error)) from error
        deepest = deepest_layer(settings.arch, settings.layers)
        min_side = settings.min_side()
        sides = ["image_size", "style_size"] + ["random_size_min"] * bool(self.random_size_min)
        for name in sides:
            if getattr(self, name) < min_side:
                raise ConfigError(
                    f"{name} {getattr(self, name)} is too small for {deepest} and the shifts "
                    f"(the descriptor pools down to it: it needs at least {min_side} px a "
                    f"side); use "
                    f"--{name.replace('_', '-')} {min_side} or more, or shallower layers"
                )
        self.validate_scaling()
        from texture_nets.objective.weights import check_source  # lazy: keeps config import light

        try:
            check_source(self.descriptor)
        except ValueError as error:
            raise ConfigError(str(error)) from error

    def validate_random_sizes(self) -> None:
        if self.mode != "texture":
            raise ConfigError("random_size_min is for texture mode (photos have one crop size)")
        smallest = min_image_size(self.num_scales)
        if not smallest <= self.random_size_min <= self.image_size:
            raise ConfigError(
                f"random_size_min must be 0 (off) or between {smallest} and image_size "
                f"{self.image_size}, got {self.random_size_min}"
            )

    def training_sizes(self) -> list[int]:
        """The sides a texture step draws from: image_size down to random_size_min."""
        if not self.random_size_min:
            return [self.image_size]
        sizes = list(range(self.image_size, self.random_size_min, -RANDOM_SIZE_STEP))
        return [*sizes, self.random_size_min]

    def validate_scaling(self) -> None:
        """``devices``: auto, N > 0, -1 or a list of device indices (YAML may give an int)."""
        self.devices = str(self.devices).strip().replace(" ", "")
        if not re.fullmatch(r"auto|-1|[1-9]\d*|\d+(,\d+)+,?|\d+,", self.devices):
            raise ConfigError(
                f"devices: {self.devices!r} is not auto, a positive count, -1 (all) or a "
                "comma-separated list of device indices"
            )
        if self.num_nodes <= 0:
            raise ConfigError(f"num_nodes must be positive, got {self.num_nodes}")
        if not self.accelerator.strip() or not self.strategy.strip():
            raise ConfigError("accelerator and strategy must not be empty (use auto)")
        if self.accumulate_grad_batches > 1 and "deepspeed" in self.strategy:
            # DeepSpeed steps the optimizer itself: the moving average would update per batch
            raise ConfigError(
                "accumulate_grad_batches > 1 needs a strategy such as ddp, not deepspeed"
            )

    def trainer_devices(self) -> int | str | list[int]:
        """``devices`` as Lightning takes it: 2 -> 2, "0,1" -> [0, 1], auto/-1 as given."""
        if self.devices in ("auto", "-1"):
            return self.devices if self.devices == "auto" else -1
        if "," in self.devices:
            return [int(index) for index in self.devices.split(",") if index]
        return int(self.devices)


# Reading and layering config files moved to config_files.py (which imports this module, so
# it cannot be re-exported by an import here); code written before the split still finds them.
_MOVED_TO_CONFIG_FILES = (
    "CONFIG_DIR", "DERIVED_KEYS", "FIELD_NAMES", "check_keys", "code_defaults",
    "default_config_file", "load_yaml", "make_config", "mode_config", "mode_file", "mode_files",
)  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _MOVED_TO_CONFIG_FILES:
        from texture_nets.training import config_files

        return getattr(config_files, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

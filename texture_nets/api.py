"""The Python API: ``load`` a trained model by name or path, then ``sample`` or ``stylize``.

    import texture_nets as tn
    tn.load("vangogh_starry_night").stylize("photo.jpg").save("out.png")
    tn.load("tn_red_peppers").sample(size=1024, seed=3).save("peppers.png")
    tn.Stylizer.from_pretrained("vangogh_starry_night")  # typed: a Stylizer or a clear error

A model is a trained network plus what it was trained on; it needs neither Lightning nor VGG.
Sizes are one side (a square, or a photo's longer side) or named ``width``/``height``: never a
tuple, whose order (PIL's (width, height) vs a tensor's (height, width)) is easy to get wrong.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Self, TypeAlias, cast, overload

import numpy as np
import torch
from PIL import Image, ImageOps

from texture_nets.errors import UserError
from texture_nets.image import MAX_PIXELS, ImageError, open_image, tensor_to_pil, to_rgb
from texture_nets.inference.bands import DEFAULT_MAX_MEMORY, band_options, is_large
from texture_nets.inference.fastpath import Bf16Network, choose_bf16
from texture_nets.inference.pretrained import (
    ModelInfo,
    is_model_folder,
    load_model,
    resolve_model,
    save_model,
    shipped_models,
)
from texture_nets.inference.stylize import (
    StylizeOptions,
    output_size,
    stylize_images,
    work_size_for,
)
from texture_nets.inference.temporal import DEFAULT_TEMPORAL, Frame
from texture_nets.nets.checkpoint import CheckpointInfo, find_checkpoint, read_checkpoint
from texture_nets.nets.networks import Network, min_side, sample_textures
from texture_nets.nets.ulyanov import Generator
from texture_nets.precision import check_precision, default_device

# a file, builtin:NAME, a PIL image, an (H, W[, 3]) array (uint8, or float in [0, 1]) or a
# (3, H, W) / (1, 3, H, W) tensor in [0, 1]
ImageInput: TypeAlias = Image.Image | str | Path | np.ndarray[Any, Any] | torch.Tensor


DEFAULT_SAMPLE_SIDE = 512


class ModelNotFoundError(UserError, LookupError):
    """Neither a shipped model's name nor a run, checkpoint or model folder."""


class PretrainedModel:
    """A trained network and its ``ModelInfo``; ``TextureModel`` or ``Stylizer``."""

    def __init__(
        self,
        network: Network,
        info: ModelInfo,
        device: str | torch.device = "cpu",
        precision: str = "auto",
    ):
        self.network = network.eval()
        self.info = info
        self.device = torch.device(device)
        self.network.to(self.device)
        self.precision = check_precision(precision)
        self._bf16: bool | None = None  # decided on first use (a probe for auto)
        self._runners: dict[float, Network] = {}  # bf16 runners by memory budget
        self._lock = threading.Lock()  # the demo renders from several threads

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def bf16(self) -> bool:
        """Whether this model renders in bf16 here (``fastpath.choose_bf16``: for ``auto``,
        where bf16 is fast and a probe keeps this network within ``fastpath.TOLERANCE``)."""
        with self._lock:
            if self._bf16 is None:
                self._bf16 = choose_bf16(self.precision, self.network, self.device)
            return self._bf16

    def runner(self, tile: int | None, max_memory: float) -> Network:
        """The network that renders: the bf16 one-pass runner (built once per budget), or
        the exact fp32 network, which also makes bands of a given height (``tile=N``)."""
        if tile is not None or not self.bf16:
            return self.network
        with self._lock:
            if max_memory not in self._runners:
                self._runners[max_memory] = cast(Network, Bf16Network(self.network, max_memory))
            return self._runners[max_memory]

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        device: str | torch.device | None = None,
        precision: str = "auto",
    ) -> Self:
        """``load`` typed as this class: a shipped name, model folder, run or ``.ckpt``; a
        model of the other kind is a ``UserError`` saying which class to use."""
        model = load(name_or_path, device, precision)
        if not isinstance(model, cls):
            raise UserError(
                f"{name_or_path} is a {type(model).__name__}, not a {cls.__name__}: use "
                f"tn.{type(model).__name__}.from_pretrained (or tn.load)"
            )
        return model

    def to(self, device: str | torch.device) -> Self:
        device = torch.device(device)
        if device != self.device:
            with self._lock:
                self.device = device
                self.network.to(device)
                self._bf16, self._runners = None, {}  # another device: decide again
        return self

    def export_onnx(self, path: str | Path) -> Path:
        """Write the network as one ONNX graph (inputs ``content`` and/or ``noise``, dynamic
        sizes; see ``texture_nets.inference.export``) with the model's kind, training scale
        and terms in its metadata."""
        from texture_nets.inference.export import export_onnx

        return export_onnx(self.network, path, self.info.export_metadata())

    def save_pretrained(self, folder: str | Path, dtype: torch.dtype | None = None) -> Path:
        """Write a model folder (safetensors weights, ``config.json``, model card) that
        ``load`` reads back bit-exactly; ``dtype=torch.float16`` halves its size."""
        return save_model(folder, self.network, self.info, dtype)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.name!r}, {self.info.architecture}, "
            f"{self.info.global_step} steps, device={self.device}, precision={self.precision})"
        )


class TextureModel(PretrainedModel):
    """Noise -> texture samples of any size (Ulyanov et al.'s multiscale generator)."""

    @property
    def generator(self) -> Generator:
        """The network (texture mode trains Ulyanov's generator only)."""
        return cast(Generator, self.network)

    @overload
    def sample(
        self,
        size: int | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        seed: int = 0,
        count: None = None,
        tile: str | int = "auto",
    ) -> Image.Image: ...

    @overload
    def sample(
        self,
        size: int | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        seed: int = 0,
        count: int,
        tile: str | int = "auto",
    ) -> list[Image.Image]: ...

    @torch.no_grad()
    def sample(
        self,
        size: int | None = None,
        *,
        width: int | None = None,
        height: int | None = None,
        seed: int = 0,
        count: int | None = None,
        tile: str | int = "auto",
    ) -> Image.Image | list[Image.Image]:
        """One texture sample of ``size`` x ``size`` (default 512) or ``width`` x ``height``;
        with ``count``, a list of that many (sample i uses noise seed ``seed + i``). Memory
        stays under about 2 GB at any size (in fp32 the same pixels: beyond it, intermediate
        maps go to temporary files); ``tile="off"`` keeps everything in memory, an int caps
        the bands at that many rows (bands.band_options; bands run in fp32)."""
        height, width = _sample_size(size, width, height)
        smallest = min_side(self.network.config)
        if min(height, width) < smallest:
            raise UserError(f"size {width}x{height}: this model needs at least {smallest} px")
        if count is not None and count < 1:
            raise UserError(f"count must be at least 1, got {count}")
        rows, budget = band_options(tile, DEFAULT_MAX_MEMORY)
        batch = 1 if is_large(height, width) else 4
        images: list[Image.Image] = []
        seeds = [seed + i for i in range(1 if count is None else count)]
        for first in range(0, len(seeds), batch):
            samples = sample_textures(
                cast(Generator, self.runner(rows, budget)),
                height,
                width,
                seeds[first : first + batch],
                self.device,
                rows,
                budget,
            )
            images += [tensor_to_pil(sample) for sample in samples]
        return images[0] if count is None else images


def _sample_size(size: int | None, width: int | None, height: int | None) -> tuple[int, int]:
    """(height, width) from one side or named sides; a tuple is refused (which order?)."""
    if isinstance(size, tuple | list):
        raise UserError(
            f"size={size!r}: give one side (a square) or width=W, height=H for a rectangle"
        )
    if size is not None and (width is not None or height is not None):
        raise UserError("give size (a square) or width and height, not both")
    if size is None and (width is None) != (height is None):
        raise UserError("give both width and height (or size for a square)")
    if size is not None:
        width = height = size
    elif width is None or height is None:
        width = height = DEFAULT_SAMPLE_SIDE
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise UserError(f"{name} must be a positive integer, got {value!r}")
    return height, width


class Stylizer(PretrainedModel):
    """Photo -> the photo painted in the model's style, in one forward pass."""

    @torch.no_grad()
    def stylize(
        self,
        image: ImageInput,
        size: int | None = None,
        seed: int = 0,
        original_colors: bool = False,
        content_scale: float = 1.0,
        tile: str | int = "auto",
        progress: Callable[[float], None] | None = None,
    ) -> Image.Image:
        """Stylize a photo (file, PIL image, array or tensor: ``ImageInput``). ``size``: longer
        side of the result (default: the photo's). The photo is painted at the model's training
        scale (``info.photo_size``) times ``content_scale`` (< 1: larger strokes), then resized
        to ``size``; ``original_colors`` keeps the photo's colours (luminance transfer);
        ``seed`` picks the noise; ``progress`` is called with the fraction done as the
        network's bands complete, last with 1 (for a progress bar)."""
        photo = _as_rgb(image)
        if size is not None and size < 1:
            raise UserError(f"size must be positive, got {size}")
        if not content_scale > 0:
            raise UserError(f"content_scale must be positive, got {content_scale}")
        out = output_size(photo.size, size)
        work = work_size_for(out, content_scale, self.info.photo_size)
        smallest = min_side(self.network.config)
        if min(work) < smallest:
            raise UserError(
                f"{work[0]}x{work[1]} is too small to stylize: the network needs {smallest} px "
                "a side (raise size or content_scale)"
            )
        if work[0] * work[1] > MAX_PIXELS:
            raise UserError(f"{work[0]}x{work[1]} is too large (at most {MAX_PIXELS} pixels)")
        options = StylizeOptions(
            seed=seed, original_colors=original_colors, tile=tile, device=str(self.device)
        )
        runner = self.runner(*band_options(tile, options.max_memory))
        (result,) = stylize_images(runner, [photo], [out], work, options, progress)
        return tensor_to_pil(result)

    def stylize_frames(
        self,
        frames: Iterable[Frame],
        size: int | None = None,
        seed: int = 0,
        temporal: float = DEFAULT_TEMPORAL,
        original_colors: bool = False,
        content_scale: float = 1.0,
    ) -> Iterator[Image.Image]:
        """Stylize a sequence of frames (PIL images or (H, W, 3) uint8 arrays), lazily, one at
        a time, all with the noise of ``seed`` (steady strokes). ``temporal`` (0 to < 1)
        blends the previous result, moved along the frames' optical flow, into each new one
        where the flow is reliable (``inference.temporal``; needs OpenCV); 0: every frame
        exactly as ``stylize`` paints it. Other arguments as ``stylize``."""
        from texture_nets.inference.video import stylize_frames

        def one(image: Image.Image) -> Image.Image:
            return self.stylize(
                image,
                size=size,
                seed=seed,
                original_colors=original_colors,
                content_scale=content_scale,
            )

        return stylize_frames(one, frames, temporal)

    def stylize_video(
        self,
        src: str | Path,
        dst: str | Path,
        size: int | None = None,
        seed: int = 0,
        temporal: float = DEFAULT_TEMPORAL,
        original_colors: bool = False,
        content_scale: float = 1.0,
        max_frames: int | None = None,
        progress: bool = False,
    ) -> Path:
        """Stylize a clip (any container and codec PyAV reads) into ``dst``: same frame rate,
        duration and frame size (or longer side ``size``, rounded to even), audio copied
        unchanged, streamed in bounded memory, written atomically. ``max_frames`` keeps only
        the first frames; ``progress`` shows a bar on stderr. Needs the ``[video]`` extra."""
        from texture_nets.inference.video import encoder_size, probe, transcode

        if not 0 <= temporal < 1:
            raise UserError(f"temporal must be in [0, 1), got {temporal}")
        clip = probe(src)
        out = encoder_size(output_size((clip.width, clip.height), size))
        work = work_size_for(out, content_scale, self.info.photo_size)
        smallest = min_side(self.network.config)
        if min(work) < smallest:
            raise UserError(
                f"{src}: {work[0]}x{work[1]} is too small to stylize: the network needs "
                f"{smallest} px a side (raise size or content_scale)"
            )
        return transcode(
            src,
            dst,
            lambda frames: self.stylize_frames(
                frames, size, seed, temporal, original_colors, content_scale
            ),
            out,
            max_frames,
            progress,
        )


def _as_rgb(image: ImageInput) -> Image.Image:
    if isinstance(image, torch.Tensor):
        image = _tensor_to_array(image)
    if isinstance(image, np.ndarray):
        image = _array_to_pil(image)
    if isinstance(image, Image.Image):
        if image.width * image.height > MAX_PIXELS:
            raise ImageError(f"{image.width}x{image.height} is too large an image")
        return to_rgb(ImageOps.exif_transpose(image))
    if isinstance(image, str | Path):
        return open_image(image)
    raise UserError(
        f"expected a file path, a PIL image, a numpy array or a tensor, got {type(image).__name__}"
    )


def _tensor_to_array(image: torch.Tensor) -> np.ndarray[Any, Any]:
    """(3, H, W) or (1, 3, H, W) in [0, 1] (torchvision's layout) -> (H, W, 3) float array."""
    if image.dim() == 4 and image.shape[0] == 1:
        image = image[0]
    if image.dim() != 3 or image.shape[0] not in (1, 3):
        raise UserError(
            f"a tensor image must be (3, H, W) or (1, 3, H, W) in [0, 1], got {tuple(image.shape)}"
        )
    return image.detach().float().cpu().permute(1, 2, 0).numpy()


def _array_to_pil(array: np.ndarray[Any, Any]) -> Image.Image:
    """(H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array: uint8, or float in [0, 1]."""
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise UserError(f"an image array must be (H, W) or (H, W, 3), got shape {array.shape}")
    if array.dtype != np.uint8:
        if not np.issubdtype(array.dtype, np.floating):
            raise UserError(f"an image array must be uint8 or float in [0, 1], got {array.dtype}")
        array = (np.clip(array, 0.0, 1.0) * 255.0).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(array))


def list_models() -> dict[str, str]:
    """The shipped models, name -> one line: what it is and its terms of use (``load(name)``
    loads one; ``texture-nets models`` shows them with local runs as a table)."""
    return shipped_models()


def load(
    name_or_path: str | Path,
    device: str | torch.device | None = None,
    precision: str = "auto",
) -> TextureModel | Stylizer:
    """A shipped model's name, a saved model folder, a training run directory or a ``.ckpt``
    -> a ``TextureModel`` (texture mode) or a ``Stylizer`` (stylize mode). For a type
    checker, ``Stylizer.from_pretrained`` / ``TextureModel.from_pretrained`` name the kind.
    ``precision``: ``auto`` renders in one bf16 pass where bf16 is fast and a probe keeps this
    network within ``fastpath.TOLERANCE`` of fp32, else in fp32; ``fp32`` always; ``bf16``
    wherever the image fits in memory in one pass (images beyond it, and bands of a given
    height, ``tile=N``, are made in fp32)."""
    device = torch.device(default_device() if device is None else device)
    path = resolve_model(name_or_path)
    if is_model_folder(path):
        network, info = load_model(path)
    elif path.exists():
        network, info = _from_checkpoint(read_checkpoint(find_checkpoint(path)))
    else:
        names = ", ".join(shipped_models()) or "none installed"
        raise ModelNotFoundError(
            f"{name_or_path}: no such checkpoint file or run directory, saved model folder "
            f"or shipped model (shipped: {names})"
        )
    kind = Stylizer if info.mode == "stylize" else TextureModel
    return kind(network, info, device, precision)


def _from_checkpoint(checkpoint: CheckpointInfo) -> tuple[Network, ModelInfo]:
    style = str(checkpoint.config.get("style_image") or "model")
    name = Path(style.removeprefix("builtin:")).stem
    kind = "stylizer" if checkpoint.mode == "stylize" else "texture generator"
    info = ModelInfo(
        name=name,
        mode=checkpoint.mode,
        architecture=checkpoint.architecture,
        network=checkpoint.generator_config.to_dict(),
        description=f"{kind} for {name} ({checkpoint.architecture}, "
        f"{checkpoint.global_step} steps)",
        global_step=checkpoint.global_step,
        training=dict(checkpoint.config),
        descriptor_source=checkpoint.descriptor_source,
        style_sha256=checkpoint.style_sha256,
    )
    return checkpoint.build_network(), info

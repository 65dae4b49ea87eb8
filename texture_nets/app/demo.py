"""The web demo (Gradio): pick a photo, pick a style, press "Stylize"; or generate a texture.

Event API names are stable, so ``gradio_client`` can call them:
``/stylize`` (photo, style, size, original_colors, content_scale, seed) -> image and
``/texture`` (model, size, seed) -> (sample, 2x2 tiled preview); ``/stylize_video`` (clip,
style, temporal, seed) -> the stylized clip (its first ``MAX_VIDEO_SECONDS`` s, sound kept).
Uploads are decoded here, not by Gradio, so a file that is not an image (or is empty, or an
image bomb) gets the same one-line message as the command line, shown in the page.
"""

from __future__ import annotations

import logging
import math
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline: nothing phones home

import gradio as gr
from PIL import Image

from texture_nets.api import PretrainedModel, Stylizer, TextureModel, load
from texture_nets.errors import UserError
from texture_nets.image import open_image
from texture_nets.inference.pretrained import MODELS_DIR, find_runs, is_model_folder, shipped_models
from texture_nets.inference.temporal import DEFAULT_TEMPORAL
from texture_nets.nets.checkpoint import CheckpointError, read_checkpoint

DEFAULT_STYLE = "vangogh_starry_night"
MAX_STYLIZE_SIDE = 1536  # the slider's top: about 5 s on a 2-core CPU for a shipped stylizer
MAX_TEXTURE_SIDE = 2048  # a few seconds on a CPU
MAX_VIDEO_SECONDS = 5  # the Video tab stylizes at most the first 5 s of a clip ...
MAX_VIDEO_SIDE = 320  # ... at most 320 px on the longer side: ~1 s a frame on a 2-core CPU
EXAMPLE_PHOTOS = ("chelsea", "astronaut", "coffee")  # scikit-image's public-domain photos

log = logging.getLogger("texture_nets")


def find_models(runs: Path | None) -> dict[str, dict[str, str]]:
    """``{"stylize": {name: source}, "texture": {name: source}}``: the shipped models, then
    every training run below ``runs`` (named by its folder; ``runs/`` prefix on a clash)."""
    found: dict[str, dict[str, str]] = {"stylize": {}, "texture": {}}
    for name in shipped_models():
        mode = _mode_of(MODELS_DIR / name)
        found[mode][name] = str(MODELS_DIR / name)
    for run in find_runs(runs) if runs is not None else []:
        try:
            mode = _mode_of(run) if is_model_folder(run) else read_checkpoint(run).mode
        except (CheckpointError, OSError, ValueError, KeyError):
            continue
        name = run.name if run.name not in found[mode] else f"runs/{run.name}"
        found[mode][name] = str(run)
    return found


def _mode_of(folder: Path) -> str:
    import json

    return str(json.loads((folder / "config.json").read_text())["mode"])


WARM_UP_LIMIT = 16  # models kept loaded (the cache's size)
WARM = "warm-up done"  # logged when the models are loaded (benchmarks.demo_load waits for it)
_loading = threading.Lock()  # a model asked for while the warm-up loads it is loaded once


@lru_cache(maxsize=WARM_UP_LIMIT)
def _loaded(source: str) -> PretrainedModel:
    return load(source)


def _model(source: str) -> PretrainedModel:
    with _loading:
        return _loaded(source)


def warm_up(models: Mapping[str, Mapping[str, str]], limit: int = WARM_UP_LIMIT) -> None:
    """Load up to ``limit`` models (the default style first) and run each once at 64 px, so
    that a user's first request pays neither the loading nor the first pass; a model that
    cannot be loaded is logged and left to its request's error message."""
    sources = [models["stylize"][DEFAULT_STYLE]] if DEFAULT_STYLE in models["stylize"] else []
    sources += [s for kind in ("stylize", "texture") for s in models[kind].values()]
    for source in list(dict.fromkeys(sources))[:limit]:
        try:
            model = _model(source)
            if isinstance(model, Stylizer):  # painted at 64 px whatever its training scale
                scale = 64 / model.info.photo_size if model.info.photo_size else 1.0
                model.stylize(Image.new("RGB", (64, 48), (128, 96, 64)), content_scale=scale)
            elif isinstance(model, TextureModel):
                model.sample(64)
        except (UserError, OSError, RuntimeError, ValueError) as error:
            log.warning("warm-up: %s: %s", source, error)
    log.info("%s (%d models)", WARM, min(limit, len(dict.fromkeys(sources))))


def _photo_path(upload: Any) -> str:
    """The uploaded file's path from an unprocessed ``gr.Image`` payload."""
    if upload is None:
        raise gr.Error("Upload a photo first (or click one of the examples).")
    path = upload.get("path") if isinstance(upload, Mapping) else upload
    if not path:
        raise gr.Error("The upload did not arrive; please try again.")
    return str(path)


def without_server_paths(message: str, path: str) -> str:
    """A message about an upload, naming it as the user did (its file name), never by the
    server's temporary path."""
    upload = Path(path)
    for shown in (str(upload), str(upload.expanduser().resolve())):
        message = message.replace(shown, upload.name)
    return message.replace(str(upload.parent) + "/", "")


def make_stylize(models: Mapping[str, str]) -> Any:
    def stylize(
        photo: Any,
        style: str = DEFAULT_STYLE,
        size: float = 512,
        original_colors: bool = False,
        content_scale: float = 1.0,
        seed: float = 0,
        progress: gr.Progress = gr.Progress(),  # noqa: B008 (Gradio's way to declare a bar)
    ) -> Image.Image:
        """Paint the photo in the chosen style (longer side ``size``), with a progress bar
        over the network's bands."""
        if style not in models:
            raise gr.Error(f"Unknown style {style!r}; choose one of: {', '.join(models)}.")
        side = int(min(max(size, 64), MAX_STYLIZE_SIDE))
        path = _photo_path(photo)
        try:
            image = open_image(path, max_side=side)
            model = _model(models[style])
            assert isinstance(model, Stylizer)
            start = time.perf_counter()
            result = model.stylize(
                image,
                size=side,
                seed=int(seed),
                original_colors=bool(original_colors),
                content_scale=float(content_scale),
                progress=lambda done: progress(done, desc=f"painting in {style}"),
            )
        except UserError as error:
            raise gr.Error(without_server_paths(str(error), path)) from error
        elapsed = time.perf_counter() - start
        gr.Info(f"{style}: {result.width}x{result.height} in {elapsed:.2f} s")
        return result

    return stylize


def make_stylize_video(models: Mapping[str, str]) -> Any:
    def stylize_video(
        clip: Any, style: str = DEFAULT_STYLE, temporal: float = DEFAULT_TEMPORAL, seed: float = 0
    ) -> str:
        """The clip's first ``MAX_VIDEO_SECONDS`` s painted in the style, at most
        ``MAX_VIDEO_SIDE`` px a side, steadied by the temporal blend; returns the file."""
        if style not in models:
            raise gr.Error(f"Unknown style {style!r}; choose one of: {', '.join(models)}.")
        if isinstance(clip, Mapping) and isinstance(clip.get("video"), Mapping):
            clip = clip["video"]  # gr.Video's payload: {"video": FileData, "subtitles": ...}
        if clip is None:
            raise gr.Error("Upload a clip first.")
        source = Path(_photo_path(clip))
        try:
            from texture_nets.inference.video import probe

            info = probe(source)
            model = _model(models[style])
            assert isinstance(model, Stylizer)
            out = (
                Path(tempfile.mkdtemp(prefix="texture_nets_video_")) / f"{source.stem}_{style}.mp4"
            )
            start = time.perf_counter()
            model.stylize_video(
                source,
                out,
                size=min(MAX_VIDEO_SIDE, max(info.width, info.height)),
                seed=int(seed),
                temporal=float(temporal),
                max_frames=max(1, math.ceil(MAX_VIDEO_SECONDS * info.fps)),
            )
        except UserError as error:
            raise gr.Error(without_server_paths(str(error), str(source))) from error
        gr.Info(f"{style}: {source.name} in {time.perf_counter() - start:.1f} s")
        return str(out)

    return stylize_video


def make_texture(models: Mapping[str, str]) -> Any:
    def texture(
        model_name: str, size: float = 512, seed: float = 0
    ) -> tuple[Image.Image, Image.Image]:
        """A texture sample of ``size`` x ``size`` and a 2x2 tiling of it (seamless)."""
        if model_name not in models:
            raise gr.Error(f"Unknown texture {model_name!r}; choose one of: {', '.join(models)}.")
        side = int(min(max(size, 64), MAX_TEXTURE_SIDE))
        model = _model(models[model_name])
        assert isinstance(model, TextureModel)
        start = time.perf_counter()
        try:
            sample = model.sample(size=side, seed=int(seed))
        except UserError as error:
            raise gr.Error(str(error)) from error
        elapsed = time.perf_counter() - start
        gr.Info(f"{model_name}: {side}x{side}, seed {int(seed)}, in {elapsed:.2f} s")
        return sample, tile_preview(sample)

    return texture


def tile_preview(sample: Image.Image, max_side: int = 1024) -> Image.Image:
    """The sample repeated 2x2 (downscaled to ``max_side``): seams would show as lines."""
    tiled = Image.new("RGB", (2 * sample.width, 2 * sample.height))
    for x in (0, sample.width):
        for y in (0, sample.height):
            tiled.paste(sample, (x, y))
    if max(tiled.size) > max_side:
        tiled = tiled.resize((max_side, max_side), Image.Resampling.LANCZOS)
    return tiled


def example_photos(folder: Path) -> list[str]:
    """A few public-domain photos (scikit-image's) written as JPEG files for ``gr.Examples``."""
    paths = []
    for name in EXAMPLE_PHOTOS:
        path = folder / f"{name}.jpg"
        if not path.exists():
            open_image(f"builtin:{name}").save(path, quality=92)
        paths.append(str(path))
    return paths


def build_app(
    runs: Path | None = None, models: Mapping[str, Mapping[str, str]] | None = None
) -> gr.Blocks:
    """The demo's page for ``models`` (default: ``find_models(runs)``)."""
    models = find_models(runs) if models is None else models
    styles, textures = models["stylize"], models["texture"]
    examples = example_photos(Path(tempfile.mkdtemp(prefix="texture_nets_demo_")))
    default_style = DEFAULT_STYLE if DEFAULT_STYLE in styles else next(iter(styles), None)
    with gr.Blocks(title="Texture Networks") as app:
        gr.Markdown(
            "# Texture Networks\nFeed-forward stylization and texture synthesis "
            "(Ulyanov et al. 2016): one forward pass per image, on this CPU."
        )
        with gr.Tab("Stylize"):
            with gr.Row():
                photo = gr.Image(label="Photo", type="filepath", elem_id="photo", height=420)
                result = gr.Image(
                    label="Stylized", elem_id="result", format="png", interactive=False, height=420
                )
            with gr.Row():
                style = gr.Dropdown(
                    choices=list(styles), value=default_style, label="Style", elem_id="style"
                )
                size = gr.Slider(
                    128, MAX_STYLIZE_SIDE, 512, step=32, label="Output size (longer side, px)"
                )
            with gr.Accordion("Options", open=False):
                original_colors = gr.Checkbox(False, label="Keep the photo's colours")
                content_scale = gr.Slider(
                    0.25,
                    2.0,
                    1.0,
                    step=0.05,
                    label="Stroke scale (x the model's training scale; below 1: larger strokes)",
                )
                seed = gr.Number(0, label="Noise seed", precision=0)
            button = gr.Button("Stylize", variant="primary", elem_id="stylize-button")
            gr.Examples(
                examples=[[path] for path in examples], inputs=[photo], label="Example photos"
            )
            button.click(
                make_stylize(styles),
                inputs=[photo, style, size, original_colors, content_scale, seed],
                outputs=[result],
                api_name="stylize",
                preprocess=False,  # decode the upload ourselves: clear messages for bad files
            )
        with gr.Tab("Video"):
            gr.Markdown(
                f"Stylize a short clip (the first {MAX_VIDEO_SECONDS} s, at most "
                f"{MAX_VIDEO_SIDE} px on the longer side; the sound is kept). The temporal "
                "blend steadies the strokes from frame to frame (0: off)."
            )
            with gr.Row():
                clip = gr.Video(label="Clip", elem_id="clip", sources=["upload"], height=360)
                clip_result = gr.Video(label="Stylized clip", elem_id="clip-result", height=360)
            with gr.Row():
                clip_style = gr.Dropdown(
                    choices=list(styles), value=default_style, label="Style", elem_id="clip-style"
                )
                temporal = gr.Slider(0, 0.9, DEFAULT_TEMPORAL, step=0.05, label="Temporal blend")
                clip_seed = gr.Number(0, label="Noise seed", precision=0)
            clip_button = gr.Button("Stylize clip", variant="primary", elem_id="video-button")
            clip_button.click(
                make_stylize_video(styles),
                inputs=[clip, clip_style, temporal, clip_seed],
                outputs=[clip_result],
                api_name="stylize_video",
                preprocess=False,  # read the upload ourselves: clear messages for bad files
            )
        with gr.Tab("Texture"):
            with gr.Row():
                texture_model = gr.Dropdown(
                    choices=list(textures),
                    value=next(iter(textures), None),
                    label="Texture",
                    elem_id="texture-model",
                )
                texture_size = gr.Slider(64, MAX_TEXTURE_SIDE, 512, step=32, label="Size (px)")
                texture_seed = gr.Number(0, label="Seed", precision=0)
            generate = gr.Button("Generate", variant="primary", elem_id="texture-button")
            with gr.Row():
                sample = gr.Image(label="Sample", elem_id="texture-result", format="png")
                preview = gr.Image(
                    label="Tiled 2x2 (seamless)", elem_id="texture-tiled", format="png"
                )
            generate.click(
                make_texture(textures),
                inputs=[texture_model, texture_size, texture_seed],
                outputs=[sample, preview],
                api_name="texture",
            )
    return app


def launch(
    app: gr.Blocks,
    host: str = "127.0.0.1",
    port: int = 7860,
    models: Mapping[str, Mapping[str, str]] | None = None,
    **kwargs: Any,
) -> None:
    """Serve ``app``; requests are queued one at a time (the CPU is the bottleneck). The
    ``models`` are warmed up in the background meanwhile (``warm_up``)."""
    if models is not None:
        threading.Thread(target=warm_up, args=(models,), daemon=True).start()
    app.queue(default_concurrency_limit=1, max_size=64)
    app.launch(
        server_name=host,
        server_port=port,
        show_error=True,
        max_file_size="50mb",
        footer_links=["api"],
        **kwargs,
    )

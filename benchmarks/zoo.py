"""The shipped models: train them, save them in fp16 with model cards, measure them.

    python -m benchmarks.zoo                       # trains what is missing (~1 h here), measures
    python -m benchmarks.zoo --only tn_pebbles     # one model
    python -m benchmarks.zoo --skip-gatys          # cards without the Gatys comparison

Trained runs live in ``--work`` (default ``runs/zoo``) and are reused when they have the
steps asked for. Each model goes to ``texture_nets/models/NAME/`` (fp16 safetensors,
``config.json``, ``README.md`` card, ``sample.png``, and for the public-domain paintings a
``style.jpg`` thumbnail; the textures and the training photos carry research-only terms,
so no copy of them is shipped). Figures: time per 512 px image (the saved fp16 model, loaded
as a user would, median of 3 after a warm-up), and the shared objective against Gatys et
al.'s optimisation: style and content distance on ``--photos`` validation photos (256 px,
Gatys L-BFGS from the photo) for stylizers, the Gram loss of four 256 px samples against a
256 px Gatys image from noise for textures. Writes ``benchmarks/results/zoo/``.
"""

from __future__ import annotations

import argparse
import io
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import yaml
from PIL import Image

from benchmarks.common import (
    REPO,
    TextureObjective,
    data_root,
    median_time,
    table,
    train_run,
    write_results,
)
from benchmarks.run import update_readme
from texture_nets import api
from texture_nets.evaluation.plots import image_grid
from texture_nets.image import list_images, open_image, pil_to_tensor
from texture_nets.inference.pretrained import (
    CARD,
    MODELS_DIR,
    WEIGHTS,
    ModelInfo,
    model_card,
    save_model,
)
from texture_nets.nets.checkpoint import CheckpointError, read_checkpoint

# The last four were trained for 300 steps to fit one session's CPU budget (2 cores).
SHORTER = {"dcor_flagstones": 300, "dcor_foliage": 300, "picabia_udnie": 300,
           "roman_mosaic_duck": 300}  # fmt: skip
# Ulyanov's generator for every stylizer: at 400 CPU steps it kept more of the photo than
# Johnson's network at a similar style distance (benchmarks/results/stylize_quality), and it
# stylizes a 512 px photo in ~1.4 s on an AVX-512 machine (stylize_quality) and 2.4-2.8 s on
# an AVX2-only one (this table): a wait a demo can afford.
STYLIZERS = {
    "vangogh_starry_night": "Van Gogh, The Starry Night (1889)",
    "hokusai_great_wave": "Hokusai, The Great Wave off Kanagawa (c. 1831)",
    "picabia_udnie": "Picabia, Udnie (1913)",
    "roman_mosaic_duck": "a Roman floor mosaic of a duck",
}
TEXTURES = {
    "tn_red_peppers": "red peppers (Portilla-Simoncelli set)",
    "tn_pebbles": "pebbles (Portilla-Simoncelli set)",
    "dcor_flagstones": "flagstones (Sendik & Cohen-Or 2017)",
    "dcor_foliage": "foliage (Sendik & Cohen-Or 2017)",
}
TERMS = {
    "stylize": "The style image is a public-domain painting. The network was trained on the "
    "300 training photos of the Berkeley Segmentation Dataset (BSDS500), whose terms allow "
    "non-commercial research and education only: treat these weights the same way.",
    "texture": "The example texture comes from a research texture set without a licence of "
    "its own (research and benchmark use); treat these weights the same way.",
}
# the one-line form of TERMS, in each model's config.json (list_models, texture-nets models)
SHORT_TERMS = {
    "stylize": "non-commercial research and education only (trained on BSDS500 photos)",
    "texture": "research and benchmark use (example from a research texture set)",
}
OUT = "zoo"


def zoo_recipe(mode: str) -> dict[str, Any]:
    """The zoo's recipe for a mode: configs/zoo_texture.yaml or configs/zoo_stylizer.yaml
    (what users start from to train a model like the shipped ones)."""
    kind = "stylizer" if mode == "stylize" else "texture"
    return dict(yaml.safe_load((REPO / "configs" / f"zoo_{kind}.yaml").read_text()))


def train(name: str, mode: str, work: Path, descriptor: str) -> tuple[Path, float | None]:
    """The model's run directory, trained now unless it already has its steps, and the
    minutes of training done now (None when nothing was trained).

    A shipped model whose run is gone (another machine) is re-measured as shipped.
    """
    run = work / name
    recipe = zoo_recipe(mode)
    steps = SHORTER.get(name, int(recipe["max_steps"]))
    try:
        if read_checkpoint(run).global_step >= steps:
            return run, None
    except CheckpointError:
        if not run.exists() and (MODELS_DIR / name / WEIGHTS).is_file():
            return MODELS_DIR / name, None
    data = data_root()
    settings: dict[str, Any] = {"mode": mode, "max_steps": steps, "descriptor": descriptor}
    if mode == "stylize":
        settings["style_image"] = str(data / "styles" / f"{name}.jpg")
        settings["content_dir"] = str(data / "content" / "train")
        settings["val_dir"] = str(data / "content" / "val")
    else:
        settings["style_image"] = str(data / "textures" / f"{name}.jpg")
    settings = {**recipe, **settings, "resume": "auto", "out": str(run)}
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train_run(settings)
    return run, (time.perf_counter() - start) / 60


def portable(training: dict[str, Any]) -> dict[str, Any]:
    """The run's config without machine paths: the data folder written as ``DATA``, paths
    inside the repository relative to it."""
    data, repo = str(data_root()), f"{REPO}/"
    return {
        key: value.replace(data, "DATA").replace(repo, "") if isinstance(value, str) else value
        for key, value in training.items()
    }


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def jpeg(image: Image.Image, side: int = 256) -> bytes:
    image = image.copy()
    image.thumbnail((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    return buffer.getvalue()


def measure_stylizer(model: api.Stylizer, name: str, args: argparse.Namespace) -> dict[str, Any]:
    photo = open_image("builtin:astronaut").resize((512, 512), Image.Resampling.LANCZOS)
    model.stylize(photo)  # warm-up
    figures: dict[str, Any] = {"seconds_512": median_time(lambda: model.stylize(photo))}
    if args.skip_gatys:
        return figures
    from benchmarks.stylize_quality import Gatys, scores, square_photo
    from texture_nets.image import load_image
    from texture_nets.inference.stylize import stylize_tensor
    from texture_nets.objective.objective import load_descriptor, loss_settings

    settings = loss_settings(model.info.training, stylize=True)
    descriptor, _ = load_descriptor(args.descriptor, settings)
    style = load_image(data_root() / "styles" / f"{name}.jpg", settings.style_size)
    val = sorted(list_images(data_root() / "content" / "val"))[: args.photos]
    photos = torch.cat([square_photo(str(path)) for path in val])
    with torch.no_grad():
        network = stylize_tensor(model.network, photos, seed=0)
    gatys = Gatys(descriptor, style, settings)
    start = time.perf_counter()
    optimised = torch.cat([gatys(photo[None], args.gatys_steps) for photo in photos])
    figures["gatys_seconds_256"] = (time.perf_counter() - start) / len(photos)
    figures["network"] = scores(descriptor, style, network, photos)
    figures["gatys"] = scores(descriptor, style, optimised, photos)
    figures["photos"] = len(photos)
    return figures


def measure_texture(model: api.TextureModel, name: str, args: argparse.Namespace) -> dict[str, Any]:
    model.sample(size=512)  # warm-up
    figures: dict[str, Any] = {"seconds_512": median_time(lambda: model.sample(size=512))}
    if args.skip_gatys:
        return figures
    objective = TextureObjective.load(data_root() / "textures" / f"{name}.jpg", args.descriptor)
    samples = torch.cat([pil_to_tensor(image) for image in model.sample(size=256, count=4)])
    gatys = objective.gatys(256, args.gatys_steps)
    figures["network_loss"] = objective.score(samples)
    figures["gatys_loss"] = gatys.loss
    figures["gatys_seconds_256"] = gatys.seconds
    return figures


def card(info: ModelInfo, figures: dict[str, Any], size_mb: float, args: argparse.Namespace) -> str:
    """The model card: usage, training (command, data, terms), measured figures, pictures."""
    pictures = "![sample](sample.png)"
    if info.mode == "stylize":
        pictures = "Style image (public domain): ![style](style.jpg)\n\n" + pictures
    measured = [
        f"- Weights: {size_mb:.2f} MB (fp16 safetensors)",
        f"- Time per 512 px image on a 2-core CPU: {figures['seconds_512']:.2f} s",
    ]
    if figures.get("train_minutes"):
        measured.append(f"- Training time on a 2-core CPU: {figures['train_minutes']:.1f} min")
    if "network" in figures:
        net, ref = figures["network"], figures["gatys"]
        measured += [
            f"- Style distance {net['style_distance']:.3f} vs {ref['style_distance']:.3f} for "
            f"Gatys et al.'s optimisation ({args.gatys_steps} L-BFGS iterations from the photo, "
            f"{figures['gatys_seconds_256']:.0f} s per 256 px photo); content distance "
            f"{net['content_distance']:.3f} vs {ref['content_distance']:.3f} "
            f"({figures['photos']} validation photos at 256 px, same descriptor and objective)",
        ]
    if "network_loss" in figures:
        measured += [
            f"- Texture loss of four 256 px samples {figures['network_loss']:.4f} vs "
            f"{figures['gatys_loss']:.4f} for one Gatys image ({args.gatys_steps} L-BFGS "
            f"iterations, {figures['gatys_seconds_256']:.0f} s), "
            f"{figures['network_loss'] / figures['gatys_loss']:.1f}x",
        ]
    measured.append("- Measured by `python -m benchmarks.zoo` (benchmarks/results/zoo).")
    return model_card(
        info,
        {
            "Training data and terms": TERMS[info.mode],
            "Measured": "\n".join(measured),
            "Pictures": pictures,
        },
    )


def build(
    name: str, mode: str, args: argparse.Namespace, previous: dict[str, Any]
) -> dict[str, Any]:
    run, minutes = train(name, mode, args.work, args.descriptor)
    if minutes is None:  # a reused run keeps the figure measured when it trained
        minutes = previous.get("train_minutes")
    model = api.load(run, device="cpu")
    title = (STYLIZERS if mode == "stylize" else TEXTURES)[name]
    kind = "stylizer" if mode == "stylize" else "texture generator"
    info = replace(
        model.info,
        name=name,
        description=f"{kind}: {title} ({model.info.architecture}, {model.info.global_step} steps)",
        training=portable(model.info.training),
        descriptor_source=model.info.descriptor_source,
        terms=SHORT_TERMS[mode],
    )
    folder = MODELS_DIR / name
    model.info = info
    files: dict[str, bytes] = {}
    if mode == "stylize":
        files["style.jpg"] = jpeg(open_image(data_root() / "styles" / f"{name}.jpg"))
    save_model(folder, model.network, info, dtype=torch.float16, card="", files=files)
    shipped = api.load(folder, device="cpu")  # measure what ships: fp16 weights, as loaded
    if args.keep_gatys:  # re-time only; the Gatys figures of the previous run stay
        args.skip_gatys = True
    if isinstance(shipped, api.Stylizer):
        figures = measure_stylizer(shipped, name, args)
        sample = shipped.stylize("builtin:chelsea", size=384)
    else:
        assert isinstance(shipped, api.TextureModel)
        figures = measure_texture(shipped, name, args)
        sample = shipped.sample(size=384)
    figures["train_minutes"] = minutes
    if args.keep_gatys:
        kept = ("network", "gatys", "photos", "network_loss", "gatys_loss", "gatys_seconds_256")
        figures.update({key: previous[key] for key in kept if key in previous})
    (folder / "sample.png").write_bytes(png(sample))
    size_mb = (folder / WEIGHTS).stat().st_size / 2**20
    (folder / CARD).write_text(card(info, figures, size_mb, args))
    return {"name": name, "mode": mode, "architecture": info.architecture,
            "steps": info.global_step, "size_mb": size_mb, **figures}  # fmt: skip


def to_markdown(rows: list[dict[str, Any]], gatys_steps: int) -> str:
    lines = []
    for row in rows:
        if "network" in row:
            net, ref = row["network"], row["gatys"]
            versus = (
                f"style {net['style_distance']:.2f} vs {ref['style_distance']:.2f}, "
                f"content {net['content_distance']:.2f} vs {ref['content_distance']:.2f}"
            )
        elif "network_loss" in row:
            ratio = row["network_loss"] / row["gatys_loss"]
            versus = f"loss {row['network_loss']:.3f} vs {row['gatys_loss']:.4f} ({ratio:.1f}x)"
        else:
            versus = "not measured"
        kind = "stylizer" if row["mode"] == "stylize" else "texture"
        lines.append(
            [
                f"`{row['name']}`",
                kind,
                f"{row['architecture']}, {row['steps']} steps",
                f"{row['train_minutes']:.1f} min" if row.get("train_minutes") else "n/a",
                f"{row['size_mb']:.2f}",
                f"{row['seconds_512']:.2f} s",
                versus,
                SHORT_TERMS[row["mode"]].split(" (")[0],
            ]
        )
    total = sum(row["size_mb"] for row in rows)
    header = ["name", "kind", "network", "training (2-core CPU)", "MB (fp16)", "512 px image",
              f"vs Gatys ({gatys_steps} L-BFGS it., 256 px)", "terms"]  # fmt: skip
    return table(header, lines) + f"\n\nAll models together: {total:.1f} MB."


GALLERY = REPO / "docs" / "images" / "models.jpg"
GALLERY_PHOTO = "builtin:chelsea"  # public domain (scikit-image); what every sample.png shows


def write_gallery(side: int = 200) -> Path:
    """The README's first picture: the photo and every stylizer's ``sample.png`` of it, then
    every texture model's sample (each model folder's own picture, made by ``build``)."""

    def thumb(image: Image.Image) -> Image.Image:
        image = image.convert("RGB")
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        return image

    def picture(name: str) -> Image.Image:
        return thumb(Image.open(MODELS_DIR / name / "sample.png"))

    stylizers = image_grid(
        [[thumb(open_image(GALLERY_PHOTO)), *(picture(name) for name in STYLIZERS)]],
        ["photo", *STYLIZERS],
    )
    textures = image_grid([[picture(name) for name in TEXTURES]], list(TEXTURES))
    canvas = Image.new("RGB", (max(stylizers.width, textures.width),
                               stylizers.height + textures.height), "white")  # fmt: skip
    canvas.paste(stylizers, (0, 0))
    canvas.paste(textures, (0, stylizers.height))
    canvas.save(GALLERY, quality=88)
    return GALLERY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    names = [*STYLIZERS, *TEXTURES]
    parser.add_argument("--only", nargs="+", choices=names, help="just these models")
    parser.add_argument("--work", type=Path, default=REPO / "runs" / "zoo", help="run folders")
    parser.add_argument("--descriptor", default="onnx", help="descriptor weights")
    parser.add_argument("--gatys-steps", type=int, default=100, help="L-BFGS iterations")
    parser.add_argument("--photos", type=int, default=2, help="validation photos per stylizer")
    parser.add_argument("--skip-gatys", action="store_true", help="no Gatys comparison")
    parser.add_argument(
        "--keep-gatys", action="store_true", help="re-time only, keep the last Gatys figures"
    )
    parser.add_argument(
        "--gallery-only", action="store_true", help="only redraw docs/images/models.jpg"
    )
    args = parser.parse_args(argv)
    if args.gallery_only:
        print(write_gallery())
        return 0
    torch.set_num_threads(min(2, torch.get_num_threads()))
    text = RESULTS_JSON.read_text() if RESULTS_JSON.is_file() else "{}"
    previous = {row["name"]: row for row in json.loads(text).get("models", [])}
    rows = []
    for name in args.only or names:
        mode = "stylize" if name in STYLIZERS else "texture"
        print(f"== {name} ({mode})", flush=True)
        rows.append(build(name, mode, args, previous.get(name, {})))
    done = {row["name"] for row in rows}
    kept = [row for name, row in previous.items() if name not in done]
    rows = sorted([*kept, *rows], key=lambda row: names.index(row["name"]))
    write_results(OUT, to_markdown(rows, args.gatys_steps), {"models": rows})
    write_gallery()
    update_readme()
    return 0


RESULTS_JSON = REPO / "benchmarks" / "results" / OUT / "results.json"

if __name__ == "__main__":
    raise SystemExit(main())

"""Saved models: a folder with the weights (safetensors), ``config.json`` and a model card.

The folder is what a user copies, loads without Lightning or VGG, or pushes to a model hub as
it is (the card is the hub's ``README.md``). The shipped zoo (``texture_nets/models/NAME/``)
uses the same format with fp16 weights. Written directly rather than through
huggingface_hub's mixin: the same three files, and no hub package in the core install.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from texture_nets.errors import UserError
from texture_nets.image import atomic_write, is_builtin
from texture_nets.nets.checkpoint import CheckpointInfo, read_checkpoint
from texture_nets.nets.networks import Network, build_network, config_from_dict

log = logging.getLogger("texture_nets")

FORMAT = "texture-nets-model/1"
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
CARD = "README.md"
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"  # the shipped zoo (package data)


class ModelFolderError(UserError):
    """A folder that is not a usable saved model."""


@dataclass(frozen=True)
class ModelInfo:
    """What ``config.json`` holds: enough to rebuild the network and to say what it is."""

    name: str  # the style / texture image's stem, e.g. vangogh_starry_night
    mode: str  # texture | stylize
    architecture: str  # ulyanov | johnson
    network: dict[str, Any]  # the architecture's config (rebuilds the network)
    description: str = ""  # one line, shown by list_models()
    global_step: int = 0
    training: dict[str, Any] = field(default_factory=dict)  # the run's full TrainConfig
    descriptor_source: str = ""
    style_sha256: str = ""
    terms: str = ""  # terms of use of the weights, from those of their training data
    format: str = FORMAT

    @property
    def photo_size(self) -> int:
        """The longer side of the photos a stylizer was trained on (0: not recorded, trained
        on whole photos): the scale it paints at by default."""
        return int(self.training.get("photo_size") or 0)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def export_metadata(self) -> dict[str, str]:
        """What an exported file says of the model (``export_onnx``'s metadata)."""
        return {
            "kind": self.mode,
            "name": self.name,
            "description": self.description,
            "training_steps": str(self.global_step),
            # the photos' longer side in training: stylize at about this size for the strokes
            # the model learned (0: trained on whole photos, any size)
            "training_photo_size": str(self.photo_size),
            "terms": self.terms,
        }


def is_model_folder(path: Path) -> bool:
    return (path / CONFIG).is_file() and (path / WEIGHTS).is_file()


def save_model(
    folder: str | Path,
    network: Network,
    info: ModelInfo,
    dtype: torch.dtype | None = None,
    card: str | None = None,
    files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write ``network`` as a model folder; ``dtype`` (e.g. fp16 for the zoo) casts the
    weights, None keeps them as they are (a save/load round trip is then bit-exact)."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserError(f"cannot create {folder}: {error.strerror or error}") from error
    state = {
        name: (tensor if dtype is None else tensor.to(dtype)).detach().cpu().contiguous()
        for name, tensor in network.state_dict().items()
    }
    atomic_write(folder / WEIGHTS, lambda path: save_file(state, str(path), {"format": FORMAT}))
    atomic_write(folder / CONFIG, lambda path: path.write_text(info.to_json()))
    text = card if card is not None else model_card(info)
    atomic_write(folder / CARD, lambda path: path.write_text(text))
    for name, data in (files or {}).items():
        atomic_write(folder / name, partial(_write_bytes, data=data))
    return folder


def _write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def load_model(folder: str | Path) -> tuple[Network, ModelInfo]:
    """Rebuild a saved network (fp32, eval mode) and its ``ModelInfo``."""
    folder = Path(folder).expanduser()
    if not is_model_folder(folder):
        raise ModelFolderError(f"{folder}: not a saved model (needs {CONFIG} and {WEIGHTS})")
    info = read_info(folder)
    try:
        network = build_network(config_from_dict(info.architecture, info.network))
        state = load_file(str(folder / WEIGHTS))
        network.load_state_dict({name: tensor.float() for name, tensor in state.items()})
    except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
        raise ModelFolderError(f"{folder}: unreadable saved model ({error})") from error
    return network.eval(), info


def shipped_models() -> dict[str, str]:
    """The models that come with the package: name -> its description and terms, one line."""
    return {name: summary(info) for name, info in shipped_infos().items()}


def shipped_infos() -> dict[str, ModelInfo]:
    """The models that come with the package: name -> ``ModelInfo`` (no weights loaded)."""
    if not MODELS_DIR.is_dir():
        return {}
    return {
        folder.name: read_info(folder)
        for folder in sorted(MODELS_DIR.iterdir())
        if is_model_folder(folder)
    }


def read_info(folder: Path) -> ModelInfo:
    """A model folder's ``config.json`` (what it is, how it was trained), without weights."""
    try:
        data = json.loads((folder / CONFIG).read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        return ModelInfo(**data)
    except (OSError, ValueError, TypeError) as error:
        raise ModelFolderError(f"{folder}: unreadable saved model ({error})") from error


def summary(info: ModelInfo) -> str:
    """One line: the description, then the terms of use when the model has any."""
    return info.description + (f" [terms: {info.terms}]" if info.terms else "")


def resolve_model(name_or_path: str | Path) -> Path:
    """A shipped model's name -> its folder; anything else -> the path as given. A local path
    that shadows a shipped name is loaded, and said so (a log warning)."""
    path = Path(name_or_path).expanduser()
    if str(name_or_path) not in shipped_infos():
        return path
    if not path.exists():
        return MODELS_DIR / str(name_or_path)
    log.warning(
        "%s: using the local %s, not the shipped model of that name (rename or move it to use "
        "the shipped one)",
        name_or_path,
        "folder" if path.is_dir() else "file",
    )
    return path


def read_trained(name_or_path: str | Path) -> CheckpointInfo:
    """A checkpoint, run, model folder or shipped name as a ``CheckpointInfo`` (what
    ``compare`` reads). A model folder's example is its ``style.jpg`` when the recorded path
    is not on this machine; "" when neither is (the caller asks for one)."""
    path = resolve_model(name_or_path)
    if not is_model_folder(path):
        return read_checkpoint(path)
    network, info = load_model(path)
    config = dict(info.training)
    style, sha256 = str(config.get("style_image") or ""), info.style_sha256
    if not (is_builtin(style) or Path(style).expanduser().is_file()):
        style = str(path / "style.jpg") if (path / "style.jpg").is_file() else ""
        sha256 = ""  # a thumbnail, not the training image: nothing to check it against
    config["style_image"] = style
    return CheckpointInfo(
        path=path,
        config=config,
        generator_config=network.config,
        generator_state=network.state_dict(),
        descriptor_source=info.descriptor_source,
        style_sha256=sha256,
        global_step=info.global_step,
        architecture=info.architecture,
    )


def find_runs(folder: Path) -> list[Path]:
    """Training runs (``checkpoints/last.ckpt``) and saved model folders below ``folder``."""
    if not folder.is_dir():
        return []
    runs = {last.parent.parent for last in folder.glob("**/checkpoints/last.ckpt")}
    runs |= {
        config.parent for config in folder.glob(f"**/{CONFIG}") if is_model_folder(config.parent)
    }
    return sorted(runs)


def training_command(training: Mapping[str, Any]) -> str:
    """The ``texture-nets train`` command that reproduces a run: the flags whose values differ
    from the defaults of its mode (paths as they were given)."""
    from texture_nets.training.config_files import code_defaults, mode_file

    mode = str(training.get("mode", "texture"))
    defaults = {**code_defaults(), **mode_file(mode)}
    image_flag = "--style" if mode == "stylize" else "--texture"
    parts = ["texture-nets train", image_flag, str(training.get("style_image"))]
    skip = {"mode", "style_image", "resume", "out"}
    for key, value in training.items():
        if key in skip or key not in defaults or defaults[key] == value:
            continue
        shown = ",".join(map(str, value)) if isinstance(value, list) else value
        parts += ["--" + key.replace("_", "-"), str(shown)]
    return " ".join(parts)


def model_card(info: ModelInfo, sections: Mapping[str, str] | None = None) -> str:
    """The model card (``README.md``): what the model is, how to use it, how it was made.

    ``sections``: extra Markdown sections (title -> body), e.g. measured figures."""
    kind = "stylizer" if info.mode == "stylize" else "texture generator"
    name = json.dumps(info.name)  # a double-quoted literal: the snippet is ruff-formatted
    usage = (
        f'tn.load({name}).stylize("photo.jpg").save("out.png")'
        if info.mode == "stylize"
        else f'tn.load({name}).sample(size=512, seed=0).save("out.png")'
    )
    lines = [
        *card_metadata(info),
        f"# {info.name}",
        "",
        info.description or f"A texture-nets {kind}.",
        "",
        "```python",
        "import texture_nets as tn",
        "",
        usage,
        "```",
        "",
        "## How it was trained",
        "",
        f"- Network: {info.architecture} ({_network_summary(info.network)}), "
        f"{info.global_step} training steps",
        f"- Descriptor: {info.descriptor_source or 'unknown'} (frozen VGG, Gram-matrix loss)",
        f"- Command: `{training_command(info.training)}`" if info.training else "",
    ]
    for title, body in (sections or {}).items():
        lines += ["", f"## {title}", "", body.rstrip()]
    return "\n".join(line for line in lines if line is not None) + "\n"


def card_metadata(info: ModelInfo) -> list[str]:
    """The YAML header model hubs read (licence, library, task, tags)."""
    task = "image-to-image" if info.mode == "stylize" else "unconditional-image-generation"
    tags = ["texture-nets", "style-transfer" if info.mode == "stylize" else "texture-synthesis"]
    licence = ["license: other", f"license_name: {json.dumps(info.terms)}"] if info.terms else []
    return [
        "---",
        *licence,
        "library_name: texture-nets",
        f"pipeline_tag: {task}",
        "tags:",
        *(f"- {tag}" for tag in [*tags, info.architecture]),
        "---",
        "",
    ]


def _network_summary(network: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in network.items())

"""Reading training checkpoints without Lightning or VGG: what ``generate.py`` needs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from texture_nets.errors import UserError
from texture_nets.nets.networks import (
    DEFAULT_ARCHITECTURE,
    Network,
    NetworkConfig,
    build_network,
    config_from_dict,
    texture_generator,
)
from texture_nets.nets.ulyanov import Generator

GENERATOR_PREFIX = "generator."  # state_dict keys of the network (TextureNetsModule.generator)
# ... and of its moving average, when training kept one (``ema_decay``): preferred for images
AVERAGE_PREFIX = "generator_average.module."
AVERAGED_COUNT = "generator_average.n_averaged"  # 0: the average holds no step yet
CHECKPOINT_FORMAT = 1  # hyper_parameters["format"]; raise it when the layout changes
# TextureNetsModule's state_dict prefixes before it held an ``Objective`` (checkpoints of
# earlier versions): renamed on load (readers take only ``generator*`` keys: still format 1)
RENAMED_PREFIXES = {"loss.": "objective.loss.", "descriptor.": "objective.descriptor."}
DESCRIPTOR_PREFIX = "objective.descriptor."  # not saved: frozen, and rebuilt from its source


def renamed_keys(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """``state_dict`` with the keys of the old layout (``loss.*``) under ``objective.``."""
    renamed: dict[str, Any] = {}
    for key, value in state_dict.items():
        old = next((p for p in RENAMED_PREFIXES if key.startswith(p)), None)
        renamed[key if old is None else RENAMED_PREFIXES[old] + key[len(old) :]] = value
    return renamed


class CheckpointError(UserError):
    """A file that is not a usable texture-nets checkpoint."""


@dataclass(frozen=True)
class CheckpointInfo:
    path: Path
    config: dict[str, Any]
    # ``generator_*``: the network of any architecture, named after the checkpoint's keys
    # (hyper_parameters["generator"], state_dict "generator.*"), which must stay readable.
    generator_config: NetworkConfig
    generator_state: dict[str, Tensor]
    descriptor_source: str
    style_sha256: str
    global_step: int
    architecture: str = DEFAULT_ARCHITECTURE
    # the last step's weights, when ``generator_state`` is their moving average: what a
    # resumed run continues from
    live_state: dict[str, Tensor] | None = None

    @property
    def mode(self) -> str:
        return str(self.config.get("mode", "texture"))

    def require_mode(self, wanted: str, remedy: str, where: str = "") -> None:
        """The one check that the checkpoint was trained for ``wanted`` mode: else a
        ``CheckpointError`` that names both modes and says what to do (``remedy``)."""
        if self.mode != wanted:
            raise CheckpointError(
                f"{where}{self.path} is a {self.mode}-mode checkpoint, but {wanted} mode was "
                f"asked for; {remedy}"
            )

    def build_generator(self) -> Generator:
        """The trained multiscale generator (what texture sampling needs), in eval mode."""
        try:
            return texture_generator(self.build_network())
        except TypeError as error:
            raise CheckpointError(
                f"{self.path} holds a {self.architecture} network, not a multiscale generator"
            ) from error

    def build_network(self, live: bool = False) -> Network:
        """The trained network of whichever architecture the checkpoint holds, in eval mode;
        ``live``: with the last step's weights rather than their average (if one is kept)."""
        network = build_network(self.generator_config)
        state = self.live_state if live and self.live_state is not None else self.generator_state
        try:
            network.load_state_dict(state)
        except RuntimeError as error:
            raise CheckpointError(
                f"{self.path}: generator weights do not match its config "
                f"({summarize_load_error(error)}); the file is damaged or was edited"
            ) from error
        return network.eval()


def summarize_load_error(error: BaseException, limit: int = 200) -> str:
    """``load_state_dict``'s multi-line report as one line: its first problem, and a count."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    details = [line for line in lines if not line.startswith("Error(s) in loading")] or lines
    if not details:
        return type(error).__name__
    first = details[0].rstrip(".")
    first = first if len(first) <= limit else first[: limit - 3] + "..."
    return first + (f" (and {len(details) - 1} more)" if len(details) > 1 else "")


def find_checkpoint(path: str | Path) -> Path:
    """A checkpoint file, or a run directory (-> ``checkpoints/last.ckpt``)."""
    path = Path(path).expanduser()
    if path.is_dir():
        for candidate in (path / "checkpoints" / "last.ckpt", path / "last.ckpt"):
            if candidate.is_file():
                return candidate
        raise CheckpointError(
            f"{path}: a directory without checkpoints/last.ckpt (not a training run?)"
        )
    if not path.exists():
        raise CheckpointError(f"{path}: no such checkpoint file or run directory")
    return path


def read_checkpoint(path: str | Path, expect_mode: str | None = None) -> CheckpointInfo:
    """Load a checkpoint's generator and settings; ``expect_mode`` guards texture vs stylize."""
    path = find_checkpoint(path)
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise CheckpointError(
            f"{path} is not a texture-nets checkpoint (cannot be loaded: {type(error).__name__})"
        ) from error
    hparams = raw.get("hyper_parameters") if isinstance(raw, dict) else None
    if not isinstance(hparams, dict) or "generator" not in hparams or "state_dict" not in raw:
        raise CheckpointError(
            f"{path} is not a texture-nets checkpoint (no generator settings inside)"
        )
    saved_format = hparams.get("format", CHECKPOINT_FORMAT)  # absent in the first checkpoints
    if not isinstance(saved_format, int) or saved_format > CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path}: checkpoint format {saved_format!r} is newer than this texture-nets "
            f"reads ({CHECKPOINT_FORMAT}); update texture-nets"
        )
    architecture = str(hparams.get("architecture", DEFAULT_ARCHITECTURE))
    try:
        generator_config = config_from_dict(architecture, hparams["generator"])
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{path}: unreadable generator settings ({error})") from error
    weights = raw["state_dict"]
    averaged = weights.get(AVERAGED_COUNT)
    prefix = AVERAGE_PREFIX if averaged is not None and int(averaged) > 0 else GENERATOR_PREFIX

    def _state(prefix: str) -> dict[str, Tensor]:
        return {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}

    state = _state(prefix)
    info = CheckpointInfo(
        path=path,
        config=dict(hparams.get("config", {})),
        generator_config=generator_config,
        generator_state=state,
        descriptor_source=str(hparams.get("descriptor_source", "unknown")),
        style_sha256=str(hparams.get("style_sha256", "")),
        global_step=int(raw.get("global_step", 0)),
        architecture=architecture,
        live_state=_state(GENERATOR_PREFIX) if prefix == AVERAGE_PREFIX else None,
    )
    if expect_mode is not None:
        info.require_mode(expect_mode, f"use a {expect_mode}-mode checkpoint")
    return info

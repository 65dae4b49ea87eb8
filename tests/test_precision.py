"""Tests for texture_nets.precision: when the descriptor runs in bf16."""

from __future__ import annotations

import warnings

import pytest
import torch

from texture_nets import precision
from texture_nets.precision import bf16_supported, descriptor_autocast, resolve_bf16

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
    assert 0.05 < precision._cpu_bf16_speedup() < 20  # a real ratio of two timings


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
def test_descriptor_autocast(enabled: bool, dtype: torch.dtype) -> None:
    conv = torch.nn.Conv2d(3, 4, 3)
    with descriptor_autocast(CPU, enabled):
        out = conv(torch.rand(1, 3, 8, 8))
    assert out.dtype == dtype
    assert conv(torch.rand(1, 3, 8, 8)).dtype == torch.float32  # only inside the context

"""The banded executor's parts: stored maps (memory and disk), statistics, memory budget."""

from __future__ import annotations

import gc

import pytest
import torch

from texture_nets.inference.bands import (
    BAND_BYTES,
    InMemory,
    Moments,
    OnDisk,
    Storage,
    band_count,
    generate_in_bands,
    read,
    resident_bytes,
    storage,
)
from texture_nets.nets.ulyanov import GeneratorConfig, make_inputs, make_noise, seeded_rng

CPU = torch.device("cpu")


def written(stored: InMemory | OnDisk, data: torch.Tensor, rows: int) -> InMemory | OnDisk:
    for start in range(0, data.shape[2], rows):
        stored.write(start, data[:, :, start : start + rows])
    return stored


def test_stored_maps_give_back_any_rows_wrapped_or_reflected() -> None:
    data = torch.randn(2, 3, 11, 5)
    index = torch.tensor([10, 0, 1, 2, 3, 4, 5, 5, 9])  # a wrap, a run across bands, a repeat
    for kind in (InMemory, OnDisk):
        stored = written(kind(tuple(data.shape)), data, rows=4)  # type: ignore[arg-type]
        torch.testing.assert_close(read(stored, index, CPU), data[:, :, index], rtol=0, atol=0)


def test_moments_merged_over_bands_match_float64() -> None:
    data = torch.randn(2, 3, 37, 29) * 0.1 + 50  # a large mean: naive sums would cancel
    moments = Moments()
    for start, stop in ((0, 5), (5, 6), (6, 30), (30, 37)):
        moments.add(data[:, :, start:stop])
    exact = data.double()
    assert moments.mean is not None
    torch.testing.assert_close(moments.mean, exact.mean((2, 3)), rtol=1e-7, atol=0)
    torch.testing.assert_close(
        moments.variance(), exact.var((2, 3), unbiased=False), rtol=1e-5, atol=0
    )


def test_maps_beyond_the_budget_go_to_disk_and_memory_is_given_back() -> None:
    storage = Storage(budget=1000 * 4)
    small = storage.new((1, 10, 10, 10))  # 4000 bytes: fits
    assert isinstance(small, InMemory) and storage.in_memory == 4000
    large = storage.new((1, 10, 10, 11))
    assert isinstance(large, OnDisk) and storage.on_disk == 1
    del small
    gc.collect()
    assert storage.in_memory == 0
    assert isinstance(storage.new((1, 10, 10, 10)), InMemory)


def test_the_budget_for_a_peak_counts_what_the_process_holds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert resident_bytes() > 10_000_000  # a real reading: torch alone is more
    monkeypatch.setattr(storage, "resident_bytes", lambda: 500_000_000)
    peak = 500_000_000 + 16 * BAND_BYTES + 3_000_000
    assert Storage.for_peak(peak, reserve=1_000_000).budget == 2_000_000
    assert Storage.for_peak(1, reserve=0).budget == 0


def test_a_generator_spilled_to_disk_equals_one_kept_in_memory() -> None:
    config = GeneratorConfig(num_scales=3, channels=4)
    generator = config.build().eval()
    inputs = make_inputs(config, make_noise(1, 40, 52, config, seeded_rng(0)))
    in_memory, on_disk = Storage(), Storage(0)
    first = generate_in_bands(generator, inputs, in_memory, max_rows=5)
    second = generate_in_bands(generator, inputs, on_disk, max_rows=5)
    assert in_memory.on_disk == 0 and on_disk.on_disk > 0
    torch.testing.assert_close(first, second, rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(first, generator(inputs), rtol=0, atol=1e-5)


def test_gpu_bands_are_larger_so_fewer() -> None:
    generator = GeneratorConfig(num_scales=3, channels=8).build()
    on_cpu = band_count(generator, 1, 2048, 2048, device="cpu")
    assert band_count(generator, 1, 2048, 2048, device="cuda") < on_cpu  # counted, not run

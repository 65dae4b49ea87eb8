"""Thread count: physical cores, from /proc/cpuinfo's (physical id, core id) pairs."""

from __future__ import annotations

import pytest
import torch

from texture_nets import threads

SMT = "\n\n".join(
    f"processor\t: {cpu}\nphysical id\t: 0\ncore id\t\t: {cpu // 2}\nflags\t\t: avx"
    for cpu in range(8)
)
TWO_SOCKETS = "\n\n".join(
    f"processor\t: {cpu}\nphysical id\t: {cpu % 2}\ncore id\t\t: 0" for cpu in range(2)
)


def test_physical_cores_counts_cores_not_hyperthreads() -> None:
    assert threads.physical_cores(SMT) == 4
    assert threads.physical_cores(TWO_SOCKETS) == 2


def test_without_core_ids_falls_back_to_usable_cpus() -> None:
    assert threads.physical_cores("processor : 0\n") == threads.usable_cpus()


def test_use_physical_cores_respects_omp_num_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    before = torch.get_num_threads()
    try:
        monkeypatch.setattr(threads, "physical_cores", lambda: 1)
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        assert threads.use_physical_cores() == 1
        monkeypatch.setenv("OMP_NUM_THREADS", "3")
        torch.set_num_threads(2)
        assert threads.use_physical_cores() == 2  # left alone
    finally:
        torch.set_num_threads(before)

"""CPU threads: one per physical core.

Hyper-threads share a core's vector units, so compute-bound convolutions gain nothing from a
second thread per core and lose to contention; PyTorch's default can count logical CPUs. The
commands call ``use_physical_cores`` at start-up unless ``OMP_NUM_THREADS`` says otherwise.
"""

from __future__ import annotations

import os

import torch


def read_cpuinfo() -> str:
    """The text of ``/proc/cpuinfo`` ("" where there is none): the one place that reads it."""
    try:
        with open("/proc/cpuinfo") as handle:
            return handle.read()
    except OSError:
        return ""


def physical_cores(cpuinfo: str | None = None) -> int:
    """Distinct (package, core) pairs in ``/proc/cpuinfo``; the usable CPU count elsewhere."""
    if cpuinfo is None:
        cpuinfo = read_cpuinfo()
    cores = set()
    package = core = None
    for line in [*cpuinfo.splitlines(), ""]:
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "physical id":
            package = value.strip()
        elif key == "core id":
            core = value.strip()
        elif not line.strip():
            if core is not None:
                cores.add((package, core))
            package = core = None
    return len(cores) or usable_cpus()


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask; containers often restrict it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def use_physical_cores() -> int:
    """Set torch's intra-op threads to the physical cores we may use; returns the count."""
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(max(1, min(physical_cores(), usable_cpus())))
    return torch.get_num_threads()

"""Measuring a piece of code: its wall time and its peak memory, in a fresh process if asked."""

from __future__ import annotations

import gc
import multiprocessing
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import torch

from texture_nets.errors import UserError
from texture_nets.precision import bf16_supported
from texture_nets.threads import read_cpuinfo

T = TypeVar("T")
A = TypeVar("A")


class MemoryProbe:
    """Peak memory of what runs between ``start()`` and ``stop()``, on top of what is loaded.

    CUDA: ``max_memory_allocated()`` after ``reset_peak_memory_stats()``, minus the allocation
    at the start. CPU, in a process of its own only (``isolated``; a shared process would count
    other work's peaks): Linux ``VmHWM`` after resetting it to ``VmRSS``
    (``/proc/self/clear_refs`` "5"), minus ``VmRSS`` at the start. ``getrusage`` ``ru_maxrss``
    cannot be reset, and a spawned child inherits its parent's there (Linux carries the
    pre-exec peak across (v)fork + exec; see docs/architecture.md), so it is only recorded,
    and used without ``/proc`` (macOS). If
    the reset is refused, the ``VmHWM`` increase is a lower bound (a higher transient peak while
    loading hides the method's memory up to that level).
    """

    def __init__(self, device: torch.device, isolated: bool) -> None:
        self.device = device
        self.isolated = isolated
        self.baseline = 0
        self.how = "not measured"
        self.ru_maxrss_start = 0

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.baseline = torch.cuda.memory_allocated(self.device)
            self.how = "cuda max_memory_allocated - memory_allocated at start"
            return
        if not self.isolated:
            return
        gc.collect()
        self.ru_maxrss_start = _ru_maxrss_bytes()
        if _proc_status_bytes("VmHWM") is None:
            self.baseline = self.ru_maxrss_start
            self.how = "ru_maxrss increase"
        elif _reset_peak_rss():
            self.baseline = _proc_status_bytes("VmRSS") or 0
            self.how = "VmHWM after a clear_refs reset - VmRSS at start"
        else:
            self.baseline = _proc_status_bytes("VmHWM") or 0
            self.how = "VmHWM increase (peak could not be reset: a lower bound)"

    def stop(self) -> dict[str, Any]:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif not self.isolated:
            return {"peak_increase_bytes": None, "how": self.how}
        elif self.how == "ru_maxrss increase":
            peak = _ru_maxrss_bytes()
        else:
            peak = _proc_status_bytes("VmHWM") or 0
        record: dict[str, Any] = {
            "peak_increase_bytes": float(max(0, peak - self.baseline)),
            "baseline_bytes": float(self.baseline),
            "peak_bytes": float(peak),
            "how": self.how,
        }
        if self.device.type != "cuda":
            record["ru_maxrss_start_bytes"] = float(self.ru_maxrss_start)
            record["ru_maxrss_end_bytes"] = float(_ru_maxrss_bytes())
        return record


def _ru_maxrss_bytes() -> int:
    """``getrusage(RUSAGE_SELF).ru_maxrss`` in bytes (KiB on Linux, bytes on macOS)."""
    import resource

    value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(value) if sys.platform == "darwin" else int(value) * 1024


def _proc_status_bytes(key: str) -> int | None:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak resident) of this process, Linux only."""
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024  # "VmHWM:    12345 kB"
    except (OSError, ValueError, IndexError):
        return None
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def timed(device: torch.device, run: Callable[[], T]) -> tuple[T, float]:
    """``run()`` and its wall time in seconds, queued GPU work included."""
    start = time.perf_counter()
    result = run()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return result, time.perf_counter() - start


def run_in_fresh_process(name: str, function: Callable[[A], Any], argument: A) -> Any:
    """``function(argument)`` in a spawned process, so that its peak RSS is its own.

    ``function`` must be importable and its result loadable with ``torch.load(...,
    weights_only=True)`` (tensors and plain data): it comes back through a file. A
    ``UserError`` in the child is raised again here, any other failure as a ``RuntimeError``
    with the child's traceback.
    """
    with tempfile.TemporaryDirectory(prefix="texture-nets-") as tmp:
        path = Path(tmp) / "result.pt"
        process = multiprocessing.get_context("spawn").Process(
            target=_child, args=(function, argument, str(path))
        )
        process.start()
        process.join()
        if not path.is_file():
            raise RuntimeError(
                f"the {name} process died without a result (exit code {process.exitcode}); "
                "out of memory?"
            )
        record = torch.load(path, map_location="cpu", weights_only=True)
    if record["ok"]:
        return record["result"]
    if record["user_error"]:
        raise UserError(record["message"])
    raise RuntimeError(f"the {name} run failed:\n{record['traceback']}")


def _child(function: Callable[[A], Any], argument: A, path: str) -> None:
    """The spawned process: run the function, write its result (or its error) to ``path``."""
    try:
        record: dict[str, Any] = {"ok": True, "result": function(argument)}
    except BaseException as error:  # reported to the parent, which raises it again
        record = {
            "ok": False,
            "user_error": isinstance(error, UserError),
            "message": str(error),
            "traceback": traceback.format_exc(),
        }
    torch.save(record, path)


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo``), else what ``platform`` knows."""
    names = [
        line.split(":", 1)[1].strip()
        for line in read_cpuinfo().splitlines()
        if line.startswith("model name")
    ]
    return names[0] if names else platform.processor() or platform.machine()


def machine_summary(device: torch.device) -> dict[str, Any]:
    """What ran a measurement: CPU (and its bf16 support), cores, torch threads, GPU, device,
    PyTorch version."""
    cpu = cpu_name()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    # bf16 figures mean nothing without it: CPUs without bf16 instructions emulate bf16 slowly
    bf16 = bf16_supported(device)
    summary = (
        f"Machine: {cpu} ({'with' if bf16 else 'without'} bf16 instructions), "
        f"{os.cpu_count()} logical cores, {torch.get_num_threads()} torch threads"
        f"{', ' + gpu if gpu else ''}, device {device}; PyTorch {torch.__version__}."
    )
    return {
        "cpu": cpu,
        "bf16": bf16,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "gpu": gpu,
        "device": str(device),
        "torch": torch.__version__,
        "summary": summary,
    }

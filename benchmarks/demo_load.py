"""The web demo under load, through its HTTP API (``gradio_client``), as users reach it.

The server is ``texture-nets demo`` in a child process (the shipped models). Measured:

1. after the server's warm-up (every model loaded and run once), the first request and the
   median of ``--repeats`` requests after it, end to end: upload, stylize, download, a
   ``--side`` px photo;
2. ``--requests`` requests at once (the shipped stylizers in turn):
   all answered, each equal to the API's ``tn.load(style).stylize`` of the same photo
   (largest and 99.9th-percentile pixel difference, in 1/255), the wall time until the last
   answer;
3. the server's resident memory (Linux ``/proc``): after start, and its peak over the run.

    python -m benchmarks.demo_load
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.common import table, write_results
from texture_nets import Stylizer
from texture_nets.app.child import demo_in_child
from texture_nets.app.demo import WARM
from texture_nets.image import open_image

STYLES = ("vangogh_starry_night", "hokusai_great_wave", "picabia_udnie", "roman_mosaic_duck")
PHOTO = "builtin:chelsea"  # public domain (scikit-image)


def rss_mib(pid: int) -> tuple[float, float]:
    """(resident, peak resident) memory of a process in MiB (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def differences(answer: str, expected: np.ndarray) -> tuple[float, float]:
    """(largest, 99.9th percentile) absolute pixel difference in 1/255."""
    pixels = np.asarray(Image.open(answer).convert("RGB"), np.int16)
    if pixels.shape != expected.shape:
        return float("inf"), float("inf")
    error = np.abs(pixels - expected)
    return float(error.max()), float(np.percentile(error, 99.9))


def measure(side: int, repeats: int, requests: int, work: Path) -> dict[str, Any]:
    from gradio_client import Client, handle_file

    photo = work / "photo.png"
    open_image(PHOTO, max_side=side).save(photo)
    expected = {}
    for style in STYLES:  # what the API paints: the demo must answer the same
        image = open_image(photo, max_side=side)
        result = Stylizer.from_pretrained(style).stylize(image, size=side, seed=0)
        expected[style] = np.asarray(result.convert("RGB"), np.int16)
    log = work / "demo.log"
    with demo_in_child(log) as (url, pid):
        deadline = time.monotonic() + 300  # the server warms its models up in the background
        while WARM not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        idle = rss_mib(pid)[0]
        client = Client(url, verbose=False)

        def ask(style: str) -> tuple[str, float]:
            start = time.perf_counter()
            answer = client.predict(handle_file(str(photo)), style, side, api_name="/stylize")
            return str(answer), time.perf_counter() - start

        first = ask(STYLES[0])[1]
        single = [ask(STYLES[0])[1] for _ in range(repeats)]
        start = time.perf_counter()
        jobs = [STYLES[k % len(STYLES)] for k in range(requests)]
        with ThreadPoolExecutor(max_workers=requests) as pool:
            answers = list(pool.map(ask, jobs))
        wall = time.perf_counter() - start
        errors = [differences(answer, expected[style]) for (answer, _), style in zip(
            answers, jobs, strict=True
        )]  # fmt: skip
        peak = rss_mib(pid)[1]
    return {
        "side": side,
        "photo": PHOTO,
        "first_request_s": round(first, 2),
        "request_s_median": round(statistics.median(single), 3),
        "concurrent_requests": requests,
        "concurrent_wall_s": round(wall, 1),
        "concurrent_latency_s_max": round(max(t for _, t in answers), 1),
        "answered_equal_to_api": sum(e[1] <= 2 and e[0] <= 8 for e in errors),
        "max_error_255": max(e[0] for e in errors),
        "p999_error_255": max(e[1] for e in errors),
        "server_rss_idle_mib": round(idle),
        "server_rss_peak_mib": round(peak),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=512, help="the photo's longer side")
    parser.add_argument("--repeats", type=int, default=5, help="sequential requests timed")
    parser.add_argument("--requests", type=int, default=20, help="requests sent at once")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="demo_load_") as work:
        result = measure(args.side, args.repeats, args.requests, Path(work))
    rows = [
        ["first request after start (models warmed up)", f"{result['first_request_s']} s"],
        [f"one {args.side} px photo, end to end (median of {args.repeats})",
         f"{result['request_s_median']} s"],
        [f"{args.requests} requests at once: all answered", f"{result['concurrent_wall_s']} s"],
        ["answers equal to the API (p99.9 <= 2/255, max <= 8/255)",
         f"{result['answered_equal_to_api']} of {args.requests}"],
        ["largest / p99.9 difference from the API",
         f"{result['max_error_255']:.0f} / {result['p999_error_255']:.1f} (1/255)"],
        ["server memory after the warm-up / peak", f"{result['server_rss_idle_mib']} / "
         f"{result['server_rss_peak_mib']} MiB"],
    ]  # fmt: skip
    markdown = "\n".join([
        f"Shipped stylizers ({', '.join(STYLES)}) on `{PHOTO}`, through gradio_client.", "",
        table(["measure", "value"], rows),
    ])  # fmt: skip
    write_results("demo_load", markdown, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

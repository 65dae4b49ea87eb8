"""Generation vs Gatys, measured side by side in one run; and large outputs in bounded memory.

1. Textures: per-sample latency of trained generators (batch 1 and 4) at 256, 512 and
   1024 px, against Gatys L-BFGS from noise at 256 px with the same descriptor and loss: the
   time it needs to reach the network's own loss, and a fixed 300-iteration budget.
2. Stylization: a 512x512 and a 1024x768 photo through the Ulyanov and Johnson networks,
   against Gatys style transfer (seconds per iteration measured over ``--gatys-probe``
   iterations, times the 300-iteration budget: an L-BFGS iteration costs the same every time).
3. Peak memory, each measured in a fresh process: a 256 px sample vs Gatys at 256 px; a
   4096x4096 texture and a 4000x3000 photo generated tile by tile (``generate.py --tile``),
   next to whole-image generation at 2048 px.

Uses the runs of ``benchmarks.time_to_quality`` and ``benchmarks.stylize_quality`` (their
``--work`` folders); run those first (``python -m benchmarks.run`` does).

    python -m benchmarks.generation_speed
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from benchmarks.common import TextureObjective, data_root, median_time, table, write_results
from texture_nets.baselines.gatys import stylize
from texture_nets.evaluation.measure import MemoryProbe, run_in_fresh_process
from texture_nets.image import load_image, save_image
from texture_nets.inference.stylize import stylize_tensor
from texture_nets.nets.checkpoint import read_checkpoint
from texture_nets.nets.networks import Network, sample_textures
from texture_nets.objective.objective import Objective, loss_settings
from texture_nets.precision import bf16_fast

TEXTURES = ("tn_red_peppers", "dcor_flagstones")
STYLE_RUNS = ("ulyanov_hokusai_great_wave", "johnson_hokusai_great_wave")
SIZES = (256, 512, 1024)
PHOTO = "builtin:astronaut"
BUDGET = 300
MIB = 2**20


def photo(width: int, height: int) -> torch.Tensor:
    image = load_image(PHOTO)
    return F.interpolate(image, size=(height, width), mode="bicubic", antialias=True).clamp(0, 1)


# -- 1. textures ------------------------------------------------------------------------------


def texture_row(stem: str, args: argparse.Namespace) -> dict[str, Any]:
    run = args.texture_work / stem
    info = read_checkpoint(run)
    generator = info.build_generator().eval()
    objective = TextureObjective.load(Path(info.config["style_image"]), args.descriptor)
    with torch.no_grad():
        network_loss = objective.score(sample_textures(generator, 256, 256, [100, 101, 102, 103]))
        latency = {}
        for side in SIZES:
            sample_textures(generator, side, side, [0])  # warm-up
            one = median_time(partial(sample_textures, generator, side, side, [0]), args.repeats)
            four = median_time(partial(sample_textures, generator, side, side, [0, 1, 2, 3]), 1)
            latency[side] = {"batch1": one, "batch4_per_sample": four / 4}
    gatys = objective.gatys(256, args.gatys_budget)
    to_same = gatys.seconds_to(network_loss)
    base = latency[256]["batch1"]
    return {
        "texture": stem,
        "steps": info.global_step,
        "network_loss": network_loss,
        "latency_seconds": latency,
        "gatys_budget": gatys.iterations,
        "gatys_loss_after_budget": gatys.loss,
        "gatys_seconds_budget": gatys.seconds,
        "gatys_seconds_to_network_loss": to_same,
        "gatys_iterations_to_network_loss": (
            gatys.times.index(to_same) + 1 if to_same is not None else None
        ),
        "speedup_same_loss": to_same / base if to_same is not None else None,
        "speedup_budget": gatys.seconds / base,
    }


# -- 2. stylization ----------------------------------------------------------------------------


def stylize_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    infos = {name: read_checkpoint(args.style_work / name) for name in STYLE_RUNS}
    networks: dict[str, Network] = {n: i.build_network().eval() for n, i in infos.items()}
    settings = loss_settings(infos[STYLE_RUNS[0]].config, stylize=True)
    bf16 = bf16_fast(torch.device("cpu"))
    style = load_image(infos[STYLE_RUNS[0]].config["style_image"], settings.style_size)
    objective = Objective.load(args.descriptor, settings, [style], use_bf16=bf16)
    rows = []
    for width, height in ((512, 512), (1024, 768)):
        content = photo(width, height)
        row: dict[str, Any] = {"size": f"{width}x{height}"}
        with torch.no_grad():
            for name, network in networks.items():
                stylize_tensor(network, content, 0)  # warm-up
                row[name] = median_time(partial(stylize_tensor, network, content, 0), args.repeats)
        result = stylize(objective, content, args.gatys_probe + 1, progress=False)
        per_iteration = (result.seconds[-1] - result.seconds[0]) / args.gatys_probe
        row["gatys_seconds_per_iteration"] = per_iteration
        row["gatys_budget_seconds"] = per_iteration * args.gatys_budget
        row["gatys_budget"] = args.gatys_budget
        rows.append(row)
    return rows


# -- 3. memory, each in a fresh process ------------------------------------------------------


@dataclass(frozen=True)
class MemoryJob:
    kind: str  # "texture" or "gatys"
    run: str  # checkpoint (texture, photo) or texture image (gatys)
    width: int
    height: int
    descriptor: str = "auto"


def measure_in_child(job: MemoryJob) -> dict[str, Any]:
    """Runs in a spawned process: peak memory and time of one generation."""
    torch.set_num_threads(torch.get_num_threads())
    probe = MemoryProbe(torch.device("cpu"), isolated=True)
    if job.kind == "gatys":
        objective = TextureObjective.load(Path(job.run), job.descriptor)
        probe.start()
        start = time.perf_counter()
        objective.gatys(job.width, 10)
    else:
        generator = read_checkpoint(job.run).build_generator().eval()
        probe.start()
        start = time.perf_counter()
        with torch.no_grad():
            sample_textures(generator, job.height, job.width, [0])
    seconds = time.perf_counter() - start
    return {**probe.stop(), "seconds": seconds}


_CLI = """
import sys
from texture_nets.cli.generate import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
print("VmHWM", [l.split()[1] for l in status.splitlines() if l.startswith("VmHWM")][0], code)
"""


def generate_cli_peak(argv: list[str]) -> dict[str, Any]:
    """``generate.py ARGV`` in its own process: wall time and the process's peak RSS (Linux)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _CLI, *argv], capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    last = done.stdout.strip().splitlines()[-1:] or [""]
    if done.returncode != 0 or not last[0].startswith("VmHWM"):
        raise RuntimeError(f"generate.py {' '.join(argv)} failed:\n{done.stderr[-2000:]}")
    _, kib, _ = last[0].split()
    return {"seconds": seconds, "peak_bytes": float(kib) * 1024}


def memory_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Working memory of one 256 px image (fresh process each), and whole ``generate.py``
    runs for large outputs (peak RSS of the process, imports and all)."""
    texture_run = str(args.texture_work / TEXTURES[0])
    texture_image = read_checkpoint(texture_run).config["style_image"]
    ulyanov, johnson = (str(args.style_work / name) for name in STYLE_RUNS)
    rows = []
    small = {
        "texture 256 px, network": MemoryJob("texture", texture_run, 256, 256),
        "texture 256 px, Gatys L-BFGS (10 iterations)": MemoryJob(
            "gatys", texture_image, 256, 256, descriptor=args.descriptor
        ),
    }
    for label, job in small.items():
        print(f"memory: {label} ...", flush=True)
        rows.append({"what": label, **run_in_fresh_process(label, measure_in_child, job)})
    with tempfile.TemporaryDirectory() as tmp:
        photo_file = Path(tmp) / "photo.png"
        save_image(photo(4000, 3000), photo_file)
        out = str(Path(tmp) / "out")
        photo_args = ["--content", str(photo_file)]
        large = {
            "texture 2048x2048, --tile off": ["--texture", texture_run, "--size", "2048",
                                               "--tile", "off"],
            "texture 4096x4096, --tile auto": ["--texture", texture_run, "--size", "4096"],
            "photo 4000x3000, Ulyanov, --tile auto": ["--checkpoint", ulyanov, *photo_args],
            "photo 4000x3000, Johnson, --tile auto": ["--checkpoint", johnson, *photo_args],
        }  # fmt: skip
        for label, argv in large.items():
            print(f"memory: {label} ...", flush=True)
            record = generate_cli_peak([*argv, "--out", out])
            rows.append({"what": f"generate.py {label}", **record})
    return rows


# -- report ------------------------------------------------------------------------------------


def _time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def to_markdown(
    textures: list[dict[str, Any]], photos: list[dict[str, Any]], memory: list[dict[str, Any]]
) -> str:
    texture_table = table(
        ["texture", *(f"{s} px (batch 1 / per sample in 4)" for s in SIZES),
         "Gatys to network loss", "speed-up", "Gatys, fixed budget", "speed-up"],
        [
            [
                r["texture"],
                *(
                    f"{_time(r['latency_seconds'][s]['batch1'])} / "
                    f"{_time(r['latency_seconds'][s]['batch4_per_sample'])}"
                    for s in SIZES
                ),
                f"{_time(r['gatys_seconds_to_network_loss'])} "
                f"({r['gatys_iterations_to_network_loss']} it)",
                f"{r['speedup_same_loss']:.0f}x" if r["speedup_same_loss"] else "-",
                f"{_time(r['gatys_seconds_budget'])} ({r['gatys_budget']} it)",
                f"{r['speedup_budget']:.0f}x",
            ]
            for r in textures
        ],
    )  # fmt: skip
    photo_table = table(
        ["photo", "Ulyanov", "Johnson", "Gatys, fixed budget (s/it x its)", "speed-up U / J"],
        [
            [
                r["size"],
                _time(r[STYLE_RUNS[0]]),
                _time(r[STYLE_RUNS[1]]),
                f"{_time(r['gatys_budget_seconds'])} ({r['gatys_seconds_per_iteration']:.2f} s/it "
                f"x {r['gatys_budget']})",
                f"{r['gatys_budget_seconds'] / r[STYLE_RUNS[0]]:.0f}x / "
                f"{r['gatys_budget_seconds'] / r[STYLE_RUNS[1]]:.0f}x",
            ]
            for r in photos
        ],
    )
    memory_table = table(
        ["generation", "time", "peak RSS of the process", "of which the generation's own"],
        [
            [
                r["what"],
                _time(r["seconds"]),
                f"{r['peak_bytes'] / MIB:.0f} MiB",
                f"{r['peak_increase_bytes'] / MIB:.0f} MiB" if "peak_increase_bytes" in r else "-",
            ]
            for r in memory
        ],
    )
    return f"{texture_table}\n\n{photo_table}\n\n{memory_table}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texture-work", type=Path, default=Path("runs/bench_textures"))
    parser.add_argument("--style-work", type=Path, default=Path("runs/bench_stylize"))
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--gatys-probe", type=int, default=10, help="timed Gatys iterations")
    parser.add_argument("--gatys-budget", type=int, default=BUDGET, help="Gatys iterations")
    parser.add_argument("--descriptor", default="auto")
    parser.add_argument("--skip-memory", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_root()
    textures = [texture_row(stem, args) for stem in TEXTURES]
    photos = stylize_rows(args)
    memory = [] if args.skip_memory else memory_rows(args)
    payload = {"textures": textures, "photos": photos, "memory": memory}
    write_results("generation_speed", to_markdown(textures, photos, memory), payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

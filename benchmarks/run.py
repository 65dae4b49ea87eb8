"""Run every benchmark in order and put their tables into docs/benchmarks.md (the shipped
models' table into the README).

    python -m benchmarks.run                      # everything (about 2 hours on a 2-core CPU)
    python -m benchmarks.run --only training_speed precision
    python -m benchmarks.run --readme-only        # just refresh the pages from results/

Each benchmark writes ``benchmarks/results/<name>/results.{md,json}``; the section of
docs/benchmarks.md between the ``benchmarks:start`` / ``benchmarks:end`` markers and the
README's ``zoo:start`` / ``zoo:end`` section are rebuilt from those files.
Run on an otherwise idle machine: two torch processes on few cores slow each other down.
"""

from __future__ import annotations

import argparse
import importlib
import re
import time

from benchmarks.common import REPO, RESULTS

# name -> (arguments, README heading); trained runs are shared through runs/bench_*
BENCHMARKS: dict[str, tuple[list[str], str]] = {
    "quality_study": (
        ["--part", "compare"],
        "Quality with the present defaults: the quality study (docs/quality.md)",
    ),
    "stylize_quality": ([], "Stylization: networks vs Gatys style transfer"),
    "time_to_quality": (["--minutes", "6"], "Time to quality (texture networks vs Gatys loss)"),
    "generation_speed": ([], "Generation vs Gatys, and large outputs"),
    "inference_speed": ([], "Inference speed: the banded executor, bf16, large textures"),
    "bf16_accuracy": ([], "bf16 inference accuracy: the shipped models, and what auto takes"),
    "demo_load": ([], "The demo under load: one photo end to end, 20 requests at once"),
    "training_speed": ([], "Training throughput"),
    "precision": ([], "Training precisions: loss and step time"),
    "order_score": ([], "Which score sees a texture's order: real crops vs shuffled tiles"),
    "order_levers": ([], "Textures with order: the shifted-Gram term on Gatys"),
    "texture_quality": (
        ["--max-steps", "400", "--gatys-steps", "150"],
        "Texture quality at 400 steps (5 textures)",
    ),
    "video_temporal": ([], "Video: temporal stability (--temporal), speed, memory"),
    "paper_figure": (
        ["--work", "~/texture-nets-runs/paper_figure"],
        "The paper's comparison: Portilla-Simoncelli, GAN, Gatys, texture network (5 textures)",
    ),
}
START, END = "<!-- benchmarks:start -->", "<!-- benchmarks:end -->"
ZOO_START, ZOO_END = "<!-- zoo:start -->", "<!-- zoo:end -->"


def readme_section() -> str:
    parts = [START, ""]
    for name, (arguments, heading) in BENCHMARKS.items():
        result = RESULTS / name / "results.md"
        if not result.is_file():
            continue
        command = " ".join(["python -m benchmarks." + name, *arguments])
        parts += [f"#### {heading}", "", f"`{command}`", "", result.read_text().strip(), ""]
    parts.append(END)
    return "\n".join(parts)


def zoo_section() -> str:
    """The shipped models' table (``python -m benchmarks.zoo``), placed beside the API docs."""
    result = RESULTS / "zoo" / "results.md"
    body = result.read_text().strip() if result.is_file() else "(not measured yet)"
    return "\n".join([ZOO_START, "", "`python -m benchmarks.zoo`", "", body, "", ZOO_END])


def update_readme() -> None:
    """The benchmark tables into docs/benchmarks.md, the zoo's into the README."""
    pages = (
        ("docs/benchmarks.md", START, END, readme_section),
        ("README.md", ZOO_START, ZOO_END, zoo_section),
    )
    for name, start, end, section in pages:
        page = REPO / name
        text = page.read_text()
        pattern = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
        if not pattern.search(text):
            raise SystemExit(f"{name} has no {start} ... {end} section")
        page.write_text(pattern.sub(lambda _, section=section: section(), text))  # type: ignore[misc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", nargs="+", choices=list(BENCHMARKS), help="run just these")
    parser.add_argument(
        "--readme-only",
        action="store_true",
        help="only rebuild docs/benchmarks.md and the README",
    )
    args = parser.parse_args(argv)
    if not args.readme_only:
        for name in args.only or list(BENCHMARKS):
            arguments, _ = BENCHMARKS[name]
            print(f"== {name} {' '.join(arguments)}", flush=True)
            start = time.perf_counter()
            code = importlib.import_module(f"benchmarks.{name}").main(arguments)
            print(f"== {name}: exit {code} after {(time.perf_counter() - start) / 60:.1f} min")
            if code:
                return code
    update_readme()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""``benchmarks.paper_figure``: the paper's comparison over several textures, resumable; run
here on one tiny texture at tiny sizes and budgets (a network trained 2 steps; the methods in
this process, ``--no-isolate``: the spawned path is ``tests/test_compare.py``'s)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from benchmarks import paper_figure, run
from tests.test_compare import random_image
from texture_nets.inference.pretrained import MODELS_DIR

TINY = [
    "--size", "32", "--samples", "2", "--baseline-samples", "2", "--gatys-steps", "2",
    "--ps-steps", "1", "--gan-minutes", "0.005", "--train-minutes", "1", "--train-steps", "2",
    "--descriptor", "random", "--repeats", "1",
    "--train", "image_size=32", "num_scales=3", "style_layers=[relu1_1,relu2_1]",
    "precision=fp32", "--no-isolate",
]  # fmt: skip


def test_textures_use_the_shipped_models_where_they_exist() -> None:
    assert len(paper_figure.DEFAULT_TEXTURES) >= 5
    found = {n: paper_figure.shipped_model(Path(n)) for n in paper_figure.DEFAULT_TEXTURES}
    assert found["tn_pebbles.jpg"] == MODELS_DIR / "tn_pebbles"
    assert found["dcor_foliage.jpg"] == MODELS_DIR / "dcor_foliage"
    assert found["tn_bricks.jpg"] is None  # trained by the benchmark
    assert "paper_figure" in run.BENCHMARKS


def test_tiny_run_writes_figure_and_table_and_resumes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    random_image(data / "tiny.png", 48, 48, seed=0)
    work, results = tmp_path / "work", tmp_path / "results"
    argv = ["--work", str(work), "--results", str(results), "--data", str(data),
            "--textures", "tiny.png", *TINY]  # fmt: skip
    assert paper_figure.main(argv) == 0
    report_path = work / "compare" / "tiny" / "report.json"
    report = json.loads(report_path.read_text())
    assert list(report["methods"]) == ["network", "gatys", "ps", "gan"]
    assert (work / "runs" / "tiny" / "finished.json").is_file()  # no shipped model: trained
    markdown = (results / "results.md").read_text()
    for name in ("Portilla-Simoncelli", "GAN", "Gatys", "network"):
        assert f"| tiny | {name} |" in markdown
    with Image.open(results / "paper_figure.png") as figure:  # example + 4 methods, 1 row
        assert figure.width >= 5 * paper_figure.FIGURE_CELL
        assert paper_figure.FIGURE_CELL < figure.height < 2 * paper_figure.FIGURE_CELL
    assert json.loads((results / "results.json").read_text())["textures"]["tiny"]["floor"]

    stamp = report_path.stat().st_mtime_ns
    (results / "paper_figure.png").unlink()
    assert paper_figure.main(argv) == 0  # resumed: the finished texture is not run again
    assert report_path.stat().st_mtime_ns == stamp
    assert (results / "paper_figure.png").is_file()
    assert paper_figure.main([*argv, "--report-only"]) == 0

    kept = work / "methods" / "tiny" / "ps.pt"  # each method's run, kept for a resume
    ps_stamp = kept.stat().st_mtime_ns
    report_path.unlink()  # interrupted after the methods ran, before the report
    assert paper_figure.main(argv) == 0
    assert report_path.is_file() and kept.stat().st_mtime_ns == ps_stamp

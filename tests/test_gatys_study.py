"""Smoke test of ``benchmarks/gatys_study.py`` (``--quick``: 32 px, 4 iterations, random VGG)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from benchmarks import gatys_study

FIGURES = {
    "optimizers.png",
    "optimizers_loss.png",
    "optimizers_time.png",
    "pooling.png",
    "layers.png",
    "init.png",
    "init_loss.png",
    "ratio.png",
}


def test_quick_study_writes_markdown_and_figures(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTURE_NETS_DATA", str(shared_data))
    argv = ["--quick", "--descriptor", "random", "--precision", "fp32", "--out", str(tmp_path)]
    assert gatys_study.main(argv) == 0
    markdown = (tmp_path / "gatys.md").read_text()
    figures = tmp_path / "images" / "gatys"
    assert {path.name for path in figures.glob("*.png")} >= FIGURES
    for name in FIGURES:
        assert f"(images/gatys/{name})" in markdown
        with Image.open(figures / name) as image:
            assert image.width > 32 and image.height > 16
    for heading in ("## 1.", "## 2.", "## 3.", "## 4.", "## 5."):
        assert heading in markdown
    assert markdown.count("**Measured:**") == 5
    assert "random:vgg16" in markdown and "gatys_study --quick" in markdown
    results = json.loads((figures / "results.json").read_text())
    assert set(results["studies"]) == set(gatys_study.STUDIES)
    assert len(results["studies"]["layers"]) == 5
    assert [r["content_weight"] for r in results["studies"]["ratio"]] == list(gatys_study.RATIOS)
    assert len(results["studies"]["optimizers"]["lbfgs"]["losses"]) == gatys_study.QUICK["steps"]


def test_study_subset_and_bad_flags(
    shared_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEXTURE_NETS_DATA", str(shared_data))
    argv = ["--quick", "--descriptor", "random", "--studies", "pooling", "--out", str(tmp_path)]
    assert gatys_study.main(argv) == 0
    markdown = (tmp_path / "gatys.md").read_text()
    assert "## 2." in markdown and "## 1." not in markdown
    with pytest.raises(SystemExit, match="unknown"):
        gatys_study.main(["--studies", "colours", "--out", str(tmp_path)])

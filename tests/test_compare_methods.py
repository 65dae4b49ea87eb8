"""``compare --methods``: the four methods of the paper's comparison (network, Gatys,
Portilla-Simoncelli, GAN), their parsing and a tiny end-to-end run of all four."""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.test_compare import TRAIN_TINY, random_image
from texture_nets.cli import compare as compare_cli
from texture_nets.cli import train as train_cli
from texture_nets.errors import UserError
from texture_nets.evaluation import compare, methods


def hide_plenoptic(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        return None if name == "plenoptic" else real(name, *args, **kwargs)

    monkeypatch.setattr(methods.importlib.util, "find_spec", find_spec)


def test_methods_parse_commas_lists_and_keep_order() -> None:
    assert methods.parse_methods("gan, network") == ["gan", "network"]
    assert methods.parse_methods(["ps,gatys", "ps"]) == ["ps", "gatys"]
    parser = compare_cli.build_parser()
    assert parser.parse_args(["--methods", "gan,network", "ps"]).methods == ["gan", "network", "ps"]
    assert parser.parse_args([]).methods is None  # compare picks every installed method


def test_unknown_method_names_the_choices() -> None:
    with pytest.raises(
        UserError, match=r"unknown method 'vae'; choose from network, gatys, ps, gan"
    ):
        methods.parse_methods("network,vae")


def test_missing_extra_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    hide_plenoptic(monkeypatch)
    with pytest.raises(UserError, match=r"pip install 'texture-nets\[ps\]'"):
        methods.parse_methods("ps")
    assert methods.parse_methods(None) == ["network", "gatys", "gan"]  # the installed ones


def test_default_is_every_installed_method_and_stylize_only_two() -> None:
    assert methods.parse_methods(None) == ["network", "gatys", "ps", "gan"]  # [ps] is in dev
    assert methods.parse_methods(None, "stylize") == ["network", "gatys"]
    with pytest.raises(UserError, match="textures only"):
        methods.parse_methods("network,gan", "stylize")


def test_cli_method_errors_are_one_line_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["--model", str(tmp_path / "none"), "--out", str(tmp_path / "out")]
    assert compare_cli.main([*base, "--methods", "network,bogus"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and "choose from network, gatys, ps, gan" in error
    assert len(error.splitlines()) == 1
    hide_plenoptic(monkeypatch)
    assert compare_cli.main([*base, "--methods", "ps"]) == 2
    error = capsys.readouterr().err.strip()
    assert "texture-nets[ps]" in error and len(error.splitlines()) == 1


@pytest.fixture(scope="module")
def texture_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    shared = tmp_path_factory.mktemp("methods")
    texture = random_image(shared / "example.png", 40, 40, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = train_cli.main(["--texture", str(texture), "--out", str(shared / "run"),
                               "--max-steps", "2", *TRAIN_TINY])  # fmt: skip
    assert code == 0
    return shared / "run", texture


def test_all_four_methods_write_the_table_and_the_paper_figure(
    texture_run: tuple[Path, Path], tmp_path: Path
) -> None:
    run, texture = texture_run
    out = tmp_path / "cmp"
    options = compare.CompareOptions(
        checkpoint=str(run), out=out, texture=str(texture), size=32, samples=2, gatys_steps=3,
        descriptor="random", precision="fp32", repeats=2, methods=["network", "gatys", "ps", "gan"],
        ps_steps=1, gan_minutes=0.01, baseline_samples=2,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = compare.compare(options, isolate=False)
    assert report == json.loads((out / "report.json").read_text())
    assert list(report["methods"]) == ["network", "gatys", "ps", "gan"]
    assert report["floor"]["crops"] == compare.FLOOR_CROPS and report["floor"]["size"] == 32
    for name, method in report["methods"].items():
        assert method["images"] == 2, name
        assert method["seconds_per_image"] > 0
        assert "diversity" in method["metrics"]  # two images each: pairs to compare
        over = method["over_floor"]
        for key in ("style_distance", "swd"):
            assert over[key] == pytest.approx(
                method["metrics"][key] / report["floor"]["metrics"][key]
            )
    gan = report["methods"]["gan"]
    assert gan["training"]["steps"] >= 1 and gan["training_seconds"] > 0
    assert gan["training"]["seconds"] == gan["training_seconds"]  # from the training run
    assert "memory" in gan["training"] and gan["timed_passes"] == 2  # samples: the other run
    assert (
        report["methods"]["ps"]["training_seconds"] == report["methods"]["ps"]["seconds_per_image"]
    )
    markdown = (out / "report.md").read_text()
    header = next(line for line in markdown.splitlines() if line.startswith("| metric |"))
    cells = [c.strip() for c in header.strip("|").split("|")]
    assert cells[0] == "metric"
    assert [c.split(" (")[0] for c in cells[1:]] == [
        "Portilla-Simoncelli",
        "GAN",
        "Gatys",
        "network",
    ]
    rows = ["Gram / floor", "SWD / floor", "diversity", "wall time per image",
            "training (once) or optimisation (per image)", "peak memory (increase)"]  # fmt: skip
    for row in rows:
        assert f"| {row}" in markdown, row
    columns = report["outputs"]["grid_columns"]
    assert columns == ["example (crop)", "Portilla-Simoncelli", "GAN", "Gatys",
                       "network seed 0", "network seed 1"]  # fmt: skip
    with Image.open(out / "comparison.png") as grid:
        assert grid.width > len(columns) * 32 and grid.height > 32
    for name in ("ps_seed0.png", "gan_seed1.png", "gatys_seed1.png", "network_seed0.png"):
        with Image.open(out / "images" / name) as image:
            assert image.size == (32, 32)


def test_kept_runs_are_reused_with_the_same_settings_only(
    texture_run: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, texture = texture_run
    calls: list[str] = []
    real = compare.run_method

    def counted(job: methods.MethodJob, isolated: bool = False) -> methods.MethodRun:
        calls.append(job.method)
        return real(job, isolated)

    monkeypatch.setattr(compare, "run_method", counted)
    work = tmp_path / "work"

    def options(seed: int) -> compare.CompareOptions:
        return compare.CompareOptions(
            checkpoint=str(run), out=tmp_path / f"cmp{seed}", texture=str(texture), size=32,
            samples=2, gatys_steps=2, descriptor="random", precision="fp32", repeats=1,
            methods=["network", "gan"], gan_minutes=0.005, seed=seed, work=work,
        )  # fmt: skip

    first = compare.compare(options(0), isolate=False)
    assert calls == ["network", "gan-training", "gan"]
    assert {p.name for p in work.glob("*.pt")} >= {"network.pt", "gan-training.pt", "gan.pt"}
    again = compare.compare(options(0), isolate=False)
    assert calls == ["network", "gan-training", "gan"]  # nothing ran again
    assert again["methods"]["gan"]["metrics"] == first["methods"]["gan"]["metrics"]
    (work / "gan-training.pt").unlink()  # an earlier stage reruns: so do the later ones
    compare.compare(options(0), isolate=False)
    assert calls[3:] == ["gan-training", "gan"]
    compare.compare(options(1), isolate=False)  # other settings: everything reruns
    assert calls[5:] == ["network", "gan-training", "gan"]

"""The benchmark scripts' own logic: FLOP counting, tables, the README section they rebuild."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from torch import Tensor

from benchmarks import run
from benchmarks.common import GatysRun, table
from benchmarks.training_speed import descriptor_flops
from texture_nets.objective.descriptor import VGGDescriptor


def test_descriptor_flops_match_vgg16s_known_cost(
    random_state: Callable[[str, int], dict[str, Tensor]],
) -> None:
    """VGG16's 13 convolutions cost 15.35 GMAC at 224 px (the usual published figure)."""
    descriptor = VGGDescriptor("vgg16", random_state("vgg16", 0), last_layer="relu5_3")
    assert descriptor_flops(descriptor, 1, 224) / 2 == pytest.approx(15.35e9, rel=0.01)
    assert descriptor_flops(descriptor, 4, 112) == pytest.approx(
        descriptor_flops(descriptor, 1, 224)
    )


def test_gatys_run_time_to_a_loss() -> None:
    result = GatysRun(image=None, loss=0.1, seconds=3.0, losses=[5.0, 2.0, 1.0], times=[1, 2, 3])  # type: ignore[arg-type]
    assert result.seconds_to(2.0) == 2
    assert result.seconds_to(0.5) is None
    assert result.iterations == 3


def test_table() -> None:
    assert table(["a", "b"], [[1, "x"]]) == "| a | b |\n|---|---|\n| 1 | x |"


def test_benchmark_and_zoo_sections_are_rebuilt_from_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "results"
    (results / "precision").mkdir(parents=True)
    (results / "precision" / "results.md").write_text("| x |\n|---|\n| 1 |\n")
    (results / "zoo").mkdir()
    (results / "zoo" / "results.md").write_text("| model |\n|---|\n| zoo_row |\n")
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{run.ZOO_START}\nold zoo\n{run.ZOO_END}\noutro\n")
    page = tmp_path / "docs" / "benchmarks.md"
    page.parent.mkdir()
    page.write_text(f"intro\n{run.START}\nold table\n{run.END}\noutro\n")
    monkeypatch.setattr(run, "RESULTS", results)
    monkeypatch.setattr(run, "REPO", tmp_path)
    run.update_readme()
    text, zoo = page.read_text(), readme.read_text()
    assert "old table" not in text and "| 1 |" in text and "zoo_row" not in text
    assert "`python -m benchmarks.precision`" in text
    assert text.startswith("intro\n") and text.endswith(f"{run.END}\noutro\n")
    assert "zoo_row" in zoo and "old zoo" not in zoo and "| 1 |" not in zoo
    assert zoo.startswith("intro\n") and zoo.endswith(f"{run.ZOO_END}\noutro\n")
    page.write_text("no markers")
    with pytest.raises(SystemExit, match=r"docs/benchmarks\.md has no <!-- benchmarks:start -->"):
        run.update_readme()


def test_square_photo_is_a_centre_crop_of_the_shorter_side() -> None:
    from benchmarks.stylize_quality import square_photo

    image = square_photo("builtin:astronaut", 64)  # 512x512 source
    assert image.shape == (1, 3, 64, 64)
    wide = square_photo("builtin:chelsea", 48)  # 451x300 source
    assert wide.shape == (1, 3, 48, 48)
    assert float(wide.min()) >= 0 and float(wide.max()) <= 1


def test_stylize_table_ratios_come_from_the_measured_times() -> None:
    from benchmarks.stylize_quality import to_markdown

    methods = {
        "gatys": {"style_distance": 0.5, "content_distance": 0.6},
        "ulyanov": {"style_distance": 0.7, "content_distance": 0.8, "train_steps": 400},
        "johnson": {"style_distance": 0.9, "content_distance": 1.0, "train_steps": 400},
    }
    text = to_markdown(
        [{"style": "wave.jpg", "methods": methods}],
        {"gatys": 100.0, "ulyanov": 0.5, "johnson": 0.25},
        100,
    )
    assert "| wave | Ulyanov (400 steps) | 0.700 | 0.800 | 500 ms | 200x faster |" in text
    assert "| wave | Johnson (400 steps) | 0.900 | 1.000 | 250 ms | 400x faster |" in text


def test_conv_flops_count_every_convolution_at_its_level() -> None:
    from benchmarks.inference_speed import conv_flops
    from texture_nets.nets.ulyanov import GeneratorConfig

    one_level = GeneratorConfig(num_scales=1, channels=2, noise_depth=3).build()
    # 3x3 3->2, 3x3 2->2, 1x1 2->2, to_rgb 1x1 2->3, at 4x5 pixels, 2 FLOPs per multiply-add
    assert conv_flops(one_level, 4, 5) == 2 * (9 * 3 * 2 + 9 * 2 * 2 + 2 * 2 + 2 * 3) * 20
    two_levels = GeneratorConfig(num_scales=2, channels=2, noise_depth=3).build()
    coarse_block = 2 * (9 * 3 * 2 + 9 * 2 * 2 + 2 * 2) * 2 * 3  # 2x3 pixels
    assert conv_flops(two_levels, 4, 5) > conv_flops(one_level, 4, 5) + coarse_block


def test_quality_study_report_divides_by_the_floor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmarks import quality_study as study

    monkeypatch.setattr(study, "STUDY", tmp_path / "study")
    monkeypatch.setattr(study, "DOC", tmp_path / "docs" / "quality.md")
    monkeypatch.setattr(study, "FIGURES", tmp_path / "docs" / "images" / "quality")
    (tmp_path / "docs").mkdir()
    floor = {"style_distance": 0.02, "swd": 0.5, "diversity_shifts": 0.8}
    gatys = [{"iterations": 300, "seconds": 60.0, "style_distance": 0.004, "swd": 0.4}]
    study._write_json(
        study.STUDY / "references" / "bricks.json",
        {"texture": "bricks", "size": 256, "example": [512, 512], "floor": floor, "gatys": gatys},
    )

    def point(seconds: float, gram: float) -> dict[str, float]:
        return {"seconds": seconds, "step": seconds * 2, "style_distance": gram, "swd": 1.0,
                "diversity_shifts": 0.4}  # fmt: skip

    for part, config, gram in (
        ("screen", "default", 0.08), ("screen", "cosine", 0.06), ("compare", "cosine", 0.04)
    ):  # fmt: skip
        study._write_json(
            study.STUDY / "runs" / part / "bricks" / f"{config}-seed0.json",
            {"part": part, "texture": "bricks", "config": config, "seed": 0, "minutes": 1.0,
             "points": [point(30, 2 * gram), point(60, gram)], "machine": "Machine: M."},
        )  # fmt: skip
    Image.new("RGB", (64, 64), "red").save(
        study.STUDY / "runs" / "screen" / "bricks" / "default-seed0.jpg"
    )  # a run's picture (the other has none: a blank in the grid)
    archive = study.STUDY / "archive"
    archive.mkdir(parents=True)
    (archive / "screen.md").write_text("old screen tables")  # beside the new runs' tables
    text = study.write_report().read_text()
    assert text.index("| `default` | 120 |") < text.index("old screen tables")
    # final Gram 0.08 / floor 0.02 = 4.00, SWD 1.0 / 0.5 = 2.00, diversity 0.4 as it is,
    # Gram / Gatys 300: 0.08 / 0.004 = 20.00, SWD / Gatys 300: 1.0 / 0.4 = 2.50; cosine:
    # 3.00 and 15.00
    assert "| `default` | 120 | 4.00 | 2.00 | 0.40 | 20.00 | 2.50 |" in text
    assert "| `cosine` | 120 | 3.00 | 2.00 | 0.40 | 15.00 | 2.50 |" in text
    # paired with the first config: Gram 0.06 / 0.08, SWD equal (not lower)
    assert "| `cosine` | 1 | 0.75, lower in 1/1 | 1.00, lower in 0/1 |" in text
    # the README's summary: the compare part only (Gram 0.04 / 0.02), and where it ran
    summary = (study.STUDY / "results.md").read_text()
    assert "| `cosine` | 120 | 2.00 | 2.00 | 0.40 | 10.00 | 2.50 |" in summary
    assert "`default`" not in summary and summary.rstrip().endswith("Machine: M.")
    assert (study.FIGURES / "screen_style_distance.png").is_file()
    assert "![Gram / floor" in text
    assert "![outputs, screen](images/quality/screen_samples.jpg)" in text
    grid = Image.open(study.FIGURES / "screen_samples.jpg")
    # columns example (blank: not in the data), default (the 64 px picture), cosine (blank)
    assert grid.size == (160 + 64 + 160 + 4 * 4, 16 + 160 + 2 * 4)
    red, green, blue = grid.getpixel((4 + 160 + 4 + 32, 16 + 4 + 32))
    assert red > 200 and green < 60 and blue < 60


def test_quality_study_snapshots_mark_fractions_of_the_budget(tmp_path: Path) -> None:
    from benchmarks.quality_study import Snapshots

    assert Snapshots(tmp_path, minutes=2.0, count=4).marks == [30.0, 60.0, 90.0]
    by_steps = Snapshots(tmp_path, steps=400, count=4)
    assert by_steps.by_steps and by_steps.marks == [100.0, 200.0, 300.0]


def test_quality_study_budgets_keep_a_timer_and_the_schedule_on_steps() -> None:
    from benchmarks.quality_study import Part, budget_flags
    from texture_nets.cli import train as train_cli

    by_steps = budget_flags(Part(("a.png",), (0,), ("default",), steps=400))
    by_time = budget_flags(Part(("a.png",), (0,), ("default",), minutes=4.0))
    for flags in (by_steps, by_time):
        config = train_cli.resolve_config(["--texture", "a.png", *flags])[0]
        assert config.max_time is not None  # Lightning's Timer exists: snapshots, seconds
    config = train_cli.resolve_config(["--texture", "a.png", *by_steps])[0]
    assert config.max_steps == 400


def test_quality_study_stylize_section_divides_by_gatys() -> None:
    from benchmarks import quality_study as study

    refs = {"wave": {"gatys": [
        {"iterations": 100, "style_distance": 0.4, "content_distance": 0.2},
        {"iterations": 300, "style_distance": 0.2, "content_distance": 0.4},
    ], "gatys_seconds_per_photo": 30.0}}  # fmt: skip
    early = {"seconds": 30.0, "step": 40, "style_distance": 0.8, "content_distance": 0.6}
    point = {"seconds": 60.0, "step": 90, "style_distance": 0.5, "content_distance": 0.5}
    runs = [{"texture": "wave", "config": "default", "seed": 0, "minutes": 1.0,
             "points": [early, point]}]  # fmt: skip
    text = study.stylize_section("stylize", runs, refs)
    assert "| `default` | 90 | 2.50 | 1.25 | 2.50, 1.25 |" in text  # over Gatys at 300
    assert "- `default`: `(defaults)`" in text and "- `johnson`" not in text  # the ones run
    # along the budget: each scoring point over the same Gatys figure, at its minutes
    assert "| config | 0.5 min | 1.0 min |" in text
    assert "| `default` | 4.00, 1.50 (40 steps) | 2.50, 1.25 (90 steps) |" in text


def test_video_benchmark_synthetic_clips_carry_their_true_flow() -> None:
    pytest.importorskip("cv2", reason="the [video] extra")
    from benchmarks import video_temporal as bench
    from texture_nets.inference.temporal import warping_error

    for position in (bench.pan_astronaut, bench.zoom_chelsea):
        clip = bench.synthetic_clip("clip", "builtin:astronaut", position, 3)
        assert clip.true_flows is not None and len(clip.true_flows) == 2
        # the input warped by its true flow is itself, up to bilinear resampling
        assert warping_error(clip.frames, flows=clip.true_flows) < 0.01
        shuffled = [clip.frames[0], clip.frames[2], clip.frames[1]]
        assert warping_error(shuffled, flows=clip.true_flows) > 0.02


def test_video_benchmark_picks_the_least_blending_that_meets_both_targets() -> None:
    from benchmarks.video_temporal import pick_weight

    def row(error: float, style: float) -> dict[str, float]:
        return {"error_ratio_mean": error, "error_ratio_worst": error,
                "style_ratio_mean": style, "style_ratio_worst": style}  # fmt: skip

    sweep = {"0.5": row(0.6, 1.0), "0.6": row(0.45, 1.05), "0.7": row(0.3, 1.08),
             "0.8": row(0.2, 1.2), "plain0.6": row(0.1, 1.0)}  # fmt: skip
    assert pick_weight(sweep) == 0.6
    sweep["0.6"] = row(0.45, 1.15)
    assert pick_weight(sweep) == 0.7


def test_demo_load_compares_answers_pixel_by_pixel(tmp_path: Path) -> None:
    """``benchmarks.demo_load``: an answer equal to the API's has no difference, one changed
    pixel is its difference, another size never counts as equal; memory is read from /proc."""
    import os

    import numpy as np

    from benchmarks.demo_load import differences, rss_mib

    pixels = np.random.default_rng(0).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "answer.png")
    expected = pixels.astype(np.int16)
    assert differences(str(tmp_path / "answer.png"), expected) == (0.0, 0.0)
    changed = expected.copy()
    changed[3, 4, 1] = 255 - changed[3, 4, 1]
    assert differences(str(tmp_path / "answer.png"), changed)[0] == abs(
        255 - 2 * int(pixels[3, 4, 1])
    )
    assert differences(str(tmp_path / "answer.png"), expected[:10]) == (np.inf, np.inf)
    resident, peak = rss_mib(os.getpid())
    assert 0 < resident <= peak

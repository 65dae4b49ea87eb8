"""One vocabulary across the commands: ``--model`` wherever a model is asked for (older
spellings still read), ``--out`` a folder (or a file name where one file is written), help on
every flag, ``--count`` refused where it means nothing, every command naming what it wrote,
and ``texture-nets models``."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from texture_nets.cli import COMMANDS
from texture_nets.cli import compare as compare_cli
from texture_nets.cli import export as export_cli
from texture_nets.cli import gatys as gatys_cli
from texture_nets.cli import generate as generate_cli
from texture_nets.cli import models as models_cli
from texture_nets.cli import train as train_cli
from texture_nets.training.config_files import code_defaults


def parsers() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser (the demo's needs Gradio only when run, not to parse)."""
    from texture_nets.cli import demo as demo_cli

    made: dict[str, Callable[[], argparse.ArgumentParser]] = {
        "train": lambda: train_cli.build_parser(code_defaults()),
        "generate": generate_cli.build_parser,
        "gatys": gatys_cli.build_parser,
        "compare": compare_cli.build_parser,
        "export": export_cli.build_parser,
        "demo": demo_cli.build_parser,
        "models": models_cli.build_parser,
    }
    assert set(made) == set(COMMANDS), "a new command: add it here"
    return {name: build() for name, build in made.items()}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_shown_flag_has_help_and_one_default(command: str) -> None:
    parser = parsers()[command]
    formatter = parser._get_formatter()
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
            continue
        assert action.help and action.help.strip(), f"{command} {action.option_strings}: no help"
        shown = formatter._get_help_string(action) or ""  # type: ignore[attr-defined]
        assert shown.count("(default:") <= 1, f"{command} {action.option_strings}: {shown}"


@pytest.mark.parametrize(
    ("command", "spellings"),
    [
        ("generate", [["--model", "M"], ["--texture", "M"], ["--checkpoint", "M"]]),
        ("compare", [["--model", "M"], ["--checkpoint", "M"]]),
        ("export", [["--model", "M"]]),
    ],
)
def test_the_model_is_model_everywhere_and_older_spellings_still_read(
    command: str, spellings: list[list[str]]
) -> None:
    parser = parsers()[command]
    for given in spellings:
        assert parser.parse_args(given).model == "M", given
    help_text = parser.format_help()
    assert "--model NAME_OR_PATH" in help_text
    assert "--checkpoint" not in help_text  # hidden aliases stay out of --help


def test_count_with_a_photo_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["--model", "vangogh_starry_night", "--content", "builtin:astronaut", "--count", "3"]
    assert generate_cli.main([*argv, "--out", str(out)]) == 2
    assert "--count is for texture samples" in capsys.readouterr().err
    assert not out.exists()


def test_generate_names_the_files_it_wrote(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    out = tmp_path / "samples"
    with caplog.at_level(logging.INFO, logger="texture_nets"):
        argv = ["--model", "tn_pebbles", "--size", "40", "--count", "2", "--out", str(out)]
        assert generate_cli.main(argv) == 0
    written = sorted(out.iterdir())
    assert len(written) == 2
    for path in written:
        assert f"wrote {path}" in caplog.text


def test_export_out_is_a_folder_or_an_onnx_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("onnx")  # the [export] extra (installed by make install / .ci/run)
    with caplog.at_level(logging.INFO, logger="texture_nets"):
        assert export_cli.main(["--model", "tn_pebbles", "--out", str(tmp_path / "dir")]) == 0
    assert (tmp_path / "dir" / "tn_pebbles.onnx").is_file()
    assert f"wrote {tmp_path / 'dir' / 'tn_pebbles.onnx'}" in caplog.text
    assert export_cli.main(["tn_pebbles", "--out", str(tmp_path / "p.onnx")]) == 0  # positional
    assert (tmp_path / "p.onnx").is_file()
    assert export_cli.main(["tn_pebbles", "--model", "tn_pebbles"]) == 2


def test_gatys_out_may_be_a_folder(tmp_path: Path) -> None:
    argv = ["--texture", "builtin:brick", "--descriptor", "random", "--size", "32"]
    argv += ["--style-layers", "relu1_1", "--steps", "2", "--precision", "fp32"]
    folder = tmp_path / "gatys"
    folder.mkdir()
    assert gatys_cli.main([*argv, "--out", str(folder)]) == 0
    assert (folder / "brick_gatys.png").is_file()


@pytest.mark.subprocess
def test_compare_takes_a_shipped_models_name(tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    argv = ["--model", "vangogh_starry_night", "--content", "builtin:astronaut", "--out", str(out)]
    argv += ["--descriptor", "random", "--steps", "2", "--size", "64", "--samples", "1"]
    assert compare_cli.main([*argv, "--repeats", "1"]) == 0
    assert (out / "report.json").is_file()


def test_compare_default_out_leaves_a_model_folder_untouched() -> None:
    assert compare_cli.default_out("vangogh_starry_night") == Path("compare/vangogh_starry_night")


def test_models_lists_shipped_models_with_terms_and_local_runs(
    tiny_texture_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert models_cli.main(["--runs", str(tiny_texture_run.parent)]) == 0
    text = capsys.readouterr().out
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
    assert "non-commercial" in lines["vangogh_starry_night"]
    assert "stylizer" in lines["vangogh_starry_night"]
    assert "texture" in lines[str(tiny_texture_run)]

"""The package as users get it: the ``texture-nets`` command, and a wheel installed
non-editable into a fresh environment (package data: YAML defaults, shipped models)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest

from texture_nets import cli

ROOT = Path(__file__).resolve().parents[1]
COPY_IGNORE = (".venv", ".git", "runs", "build", "*.egg-info", "__pycache__", ".*_cache", "samples")


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("train", "generate", "gatys", "compare", "export", "models", "demo"):
        assert f"  {name} " in out


def test_unknown_command_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["trian"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: unknown command 'trian'; did you mean train? "
        "(one of train, generate, gatys, compare, export, models, demo)"
    )


@pytest.mark.parametrize("command", ["train", "generate", "gatys", "compare", "export", "demo"])
def test_each_command_help_shows_examples(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "examples:\n" in out
    assert out.count(f"texture-nets {command} ") + out.count(".py ") >= 2


@pytest.mark.subprocess
def test_wrappers_and_subcommands_print_the_same_config() -> None:
    flags = ["--style", "builtin:coffee", "--print-config"]
    wrapper = run(sys.executable, "train.py", *flags)
    command = run(sys.executable, "-m", "texture_nets", "train", *flags)
    assert wrapper.returncode == command.returncode == 0, wrapper.stderr + command.stderr
    assert wrapper.stdout == command.stdout
    assert "style_weight: 0.5" in wrapper.stdout  # stylize mode's YAML was applied


@pytest.mark.subprocess
@pytest.mark.slow
def test_wheel_install_matches_the_checkout(tmp_path: Path) -> None:
    """Build the wheel, install it (no deps: they come from this environment) into a fresh
    venv, and run it outside the checkout: same --print-config, shipped models load."""
    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    wheel_dir = tmp_path / "dist"
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                "-w", wheel_dir, source)  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = wheel_dir.glob("texture_nets-*.whl")
    with zipfile.ZipFile(wheel) as archive:  # what a type checker and the API need at run time
        names = set(archive.namelist())
    assert "texture_nets/py.typed" in names
    assert "texture_nets/models/vangogh_starry_night/config.json" in names
    venv = tmp_path / "venv"
    assert run(sys.executable, "-m", "venv", "--without-pip", venv).returncode == 0
    python = venv / "bin" / "python"
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])")
    # dependencies from this environment (appended after the venv's own site-packages)
    Path(site.stdout.strip(), "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    installed = run(sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", wheel)
    assert installed.returncode == 0, installed.stderr[-2000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    where = run(python, "-c", "import texture_nets; print(texture_nets.__file__)", cwd=outside)
    assert where.stdout.startswith(str(venv)), where.stdout + where.stderr
    for mode_flag in ("--texture", "--style"):
        flags = [mode_flag, "builtin:coffee", "--print-config"]
        from_wheel = run(venv / "bin" / "texture-nets", "train", *flags, cwd=outside)
        from_checkout = run(sys.executable, "train.py", *flags)
        assert from_wheel.returncode == 0, from_wheel.stderr[-2000:]
        assert from_wheel.stdout == from_checkout.stdout
    photo = tmp_path / "photo.png"
    from texture_nets.image import open_image

    open_image("builtin:coffee").resize((96, 64)).save(photo)
    script = (
        "import texture_nets as tn; assert len(tn.list_models()) >= 8; "
        f"tn.load('vangogh_starry_night').stylize({str(photo)!r}).save('out.png')"
    )
    used = run(python, "-c", script, cwd=outside)
    assert used.returncode == 0, used.stderr[-2000:]
    assert (outside / "out.png").stat().st_size > 0


@pytest.mark.subprocess
def test_a_hung_test_fails_at_the_timeout(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """The suite's per-test timeout is on (pytest-timeout, ``timeout`` in pyproject.toml) and
    turns a hang into a failure: a child pytest with a 1 s limit fails a 60 s sleep quickly."""
    assert request.config.pluginmanager.hasplugin("timeout")
    assert 60 <= float(request.config.getini("timeout")) <= 3600  # set, and generous
    (tmp_path / "test_hang.py").write_text("import time\n\ndef test_hang():\n    time.sleep(60)\n")
    started = time.monotonic()
    child = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o",
                "timeout=1", "test_hang.py", cwd=tmp_path)  # fmt: skip
    assert child.returncode == 1, child.stdout + child.stderr
    assert "Timeout" in child.stdout and "1 failed" in child.stdout, child.stdout
    assert time.monotonic() - started < 30

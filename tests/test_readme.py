"""The README's commands work as pasted: the blocks marked ``<!-- readme-test -->`` run (in a
temporary folder, as a user would paste them), and every command line of every block parses
with the flags it uses, so the front door cannot drift from the code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from texture_nets.cli import COMMANDS

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"(<!-- readme-test -->\n)?```(bash|python)\n(.*?)```", re.S)
BLOCKS = [(bool(m[1]), m[2], m[3]) for m in BLOCK.finditer(README.read_text())]
TESTED = [(kind, text) for marked, kind, text in BLOCKS if marked]


def command_lines() -> list[list[str]]:
    """Every ``texture-nets ...`` / ``python train.py|generate.py ...`` line of the bash
    blocks, as ``[command, *args]`` (continuation lines joined, comments dropped)."""
    lines = []
    for _, kind, text in BLOCKS:
        if kind != "bash":
            continue
        for line in text.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:1] == ["texture-nets"] and len(words) > 1:
                lines.append(words[1:])
            elif words[:2] in (["python", "train.py"], ["python", "generate.py"]):
                lines.append([words[1].removesuffix(".py"), *words[2:]])
    return lines


def test_the_readme_has_tested_blocks_of_both_kinds() -> None:
    assert {kind for kind, _ in TESTED} == {"bash", "python"}


@pytest.mark.parametrize("words", command_lines(), ids=lambda words: " ".join(words)[:60])
def test_every_readme_command_parses(words: list[str]) -> None:
    import importlib

    command, args = words[0], words[1:]
    assert command in COMMANDS, command
    module = importlib.import_module(COMMANDS[command][0])
    if command == "train":
        from texture_nets.training.config_files import code_defaults

        parser = module.build_parser(code_defaults())
    else:
        parser = module.build_parser()
    parser.parse_args(args)  # a flag that does not exist is a UserError here


@pytest.mark.subprocess
@pytest.mark.parametrize(
    ("kind", "text"), TESTED, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TESTED)]
)
def test_a_marked_readme_block_runs_as_pasted(kind: str, text: str, tmp_path: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    if kind == "bash":
        argv = ["bash", "-euo", "pipefail", "-c", text]
    else:
        argv = [sys.executable, "-c", text]
    result = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    written = [path for path in tmp_path.rglob("*") if path.is_file()]
    assert written, "a README block that writes nothing proves little"

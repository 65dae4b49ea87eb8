"""The import rules of docs/architecture.md, checked on the source: every ``import`` (lazy ones
inside functions included) of every module of a subpackage against that subpackage's "never"
column, so a layering slip fails here rather than in a reader's head."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import texture_nets

PACKAGE = Path(texture_nets.__file__).parent

# subpackage: (forbidden module prefixes, allowed exceptions among them)
NEVER: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "nets": (
        ("lightning", "texture_nets.objective", "texture_nets.training", "texture_nets.cli"),
        (),
    ),
    "objective": (
        ("lightning", "texture_nets.nets", "texture_nets.training", "texture_nets.cli"),
        ("texture_nets.nets.checkpoint",),
    ),
    "training": (("texture_nets.cli", "texture_nets.app"), ()),
    "inference": (
        (
            "lightning",
            "texture_nets.objective.descriptor",
            "texture_nets.training",
            "texture_nets.cli",
            "texture_nets.app",
        ),
        ("texture_nets.training.config_files",),
    ),
    "baselines": (
        ("lightning", "texture_nets.nets", "texture_nets.training", "texture_nets.cli"),
        (),
    ),
    "evaluation": (("texture_nets.app", "texture_nets.cli"), ()),
    "app": (("texture_nets.training", "texture_nets.cli"), ()),
}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names a file imports (``from X import Y`` gives ``X`` and ``X.Y``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def violations(subpackage: str) -> list[str]:
    forbidden, allowed = NEVER[subpackage]
    found = []
    for path in sorted((PACKAGE / subpackage).rglob("*.py")):
        for name in sorted(imported_modules(path)):
            hit = any(name == p or name.startswith(p + ".") for p in forbidden)
            excused = any(name == a or name.startswith(a + ".") for a in allowed)
            if hit and not excused:
                found.append(f"{path.relative_to(PACKAGE)} imports {name}")
    return found


@pytest.mark.parametrize("subpackage", sorted(NEVER))
def test_subpackage_keeps_its_import_rules(subpackage: str) -> None:
    assert violations(subpackage) == []


def test_nothing_outside_the_command_lines_imports_them() -> None:
    outside = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if "cli" not in path.relative_to(PACKAGE).parts and path.name != "__main__.py"
        for name in sorted(imported_modules(path))
        if name == "texture_nets.cli" or name.startswith("texture_nets.cli.")
    ]
    assert outside == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from texture_nets.cli.args import parse_size\n")
    assert "texture_nets.cli.args" in imported_modules(module)

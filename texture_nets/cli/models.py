"""``texture-nets models``: the shipped models and the local runs, with what each one is, the
size it was trained at and its terms of use."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from texture_nets.errors import DefaultsHelpFormatter, UserErrorParser, exit_on_user_error
from texture_nets.inference.pretrained import (
    find_runs,
    is_model_folder,
    read_info,
    shipped_infos,
)
from texture_nets.nets.checkpoint import CheckpointError, read_checkpoint

COLUMNS = ("name", "kind", "network", "trained at", "steps", "terms")


def build_parser() -> argparse.ArgumentParser:
    parser = UserErrorParser(
        prog="texture-nets models",
        description="List the shipped models and the training runs and model folders below "
        "--runs: any of their names or paths goes where a command asks for --model.",
        formatter_class=DefaultsHelpFormatter,
    )
    parser.add_argument(
        "--runs", type=Path, default=Path("runs"), help="also list the runs below this folder"
    )
    return parser


def row(name: str, mode: str, architecture: str, training: dict[str, Any], steps: int,
        terms: str) -> tuple[str, ...]:  # fmt: skip
    """One table row; "trained at" is the scale the model works at (stylizers: the photos'
    longer side when recorded, else the crops' side; textures: the samples' side)."""
    kind = "stylizer" if mode == "stylize" else "texture"
    photo = int(training.get("photo_size") or 0)
    side = int(training.get("image_size") or 0)
    scale = f"{photo} px photos" if photo else (f"{side} px" if side else "?")
    return (name, kind, architecture, scale, str(steps), terms)


def local_rows(folder: Path) -> list[tuple[str, ...]]:
    rows = []
    for run in find_runs(folder):
        try:
            if is_model_folder(run):
                info = read_info(run)
                rows.append(row(str(run), info.mode, info.architecture, info.training,
                                info.global_step, info.terms or "-"))  # fmt: skip
            else:
                ckpt = read_checkpoint(run)
                rows.append(row(str(run), ckpt.mode, ckpt.architecture, ckpt.config,
                                ckpt.global_step, "-"))  # fmt: skip
        except (CheckpointError, OSError) as error:
            rows.append((str(run), "unreadable", "", "", "", str(error)[:60]))
    return rows


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [COLUMNS, *rows]) for i in range(len(COLUMNS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
             for r in [COLUMNS, *rows]]  # fmt: skip
    return "\n".join(lines)


@exit_on_user_error
def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    shipped = [
        row(name, info.mode, info.architecture, info.training, info.global_step, info.terms)
        for name, info in shipped_infos().items()
    ]
    print("shipped models (texture-nets generate --model NAME ...):")
    print(table(shipped))
    local = local_rows(args.runs)
    if local:
        print(f"\nlocal runs and model folders below {args.runs}:")
        print(table(local))
    else:
        print(f"\nno training runs below {args.runs} (texture-nets train --out ... makes one)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python scripts/compare_outputs.py DIR_A DIR_B``: compare the same-named images of two
output folders (e.g. GPU vs CPU generation of the same weights); exit 1 if any pair differs
by more than the limits (in 8-bit levels), or if the folders have no image in common."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

SUFFIXES = (".png", ".jpg", ".jpeg")


def compare(a: Path, b: Path) -> tuple[float, float]:
    """(max, mean) absolute difference of two images, in 8-bit levels."""
    first = np.asarray(Image.open(a).convert("RGB"), dtype=np.int16)
    second = np.asarray(Image.open(b).convert("RGB"), dtype=np.int16)
    if first.shape != second.shape:
        return float("inf"), float("inf")
    diff = np.abs(first - second)
    return float(diff.max()), float(diff.mean())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--max-diff", type=float, default=16, help="largest pixel difference")
    parser.add_argument("--mean-diff", type=float, default=1.0, help="largest mean difference")
    parser.add_argument("--label", default="", help="printed in front of every line")
    args = parser.parse_args(argv)
    names = sorted(p.name for p in args.first.glob("*") if p.suffix.lower() in SUFFIXES)
    common = [name for name in names if (args.second / name).is_file()]
    if not common:
        print(f"{args.label}FAIL: no image of {args.first} is also in {args.second}")
        return 1
    failed = False
    for name in common:
        largest, mean = compare(args.first / name, args.second / name)
        ok = largest <= args.max_diff and mean <= args.mean_diff
        failed |= not ok
        print(
            f"{args.label}{'ok  ' if ok else 'FAIL'} {name}: max |diff| {largest:.0f}/255, "
            f"mean {mean:.3f}/255 (limits {args.max_diff:g}, {args.mean_diff:g})"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""Figures drawn with PIL only: loss curves on a log axis, and labelled grids of images."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from texture_nets.image import atomic_write

CURVE_COLOURS = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (127, 127, 127),
)


@dataclass(frozen=True)
class Curve:
    """One labelled line of ``plot_curves``: ``values[i]`` at ``x[i]`` (default: iteration i+1)."""

    values: Sequence[float]
    label: str = ""
    x: Sequence[float] | None = None

    def points(self) -> list[tuple[float, float]]:
        """(x, value) pairs with a finite, positive value (drawable on a log axis)."""
        xs = self.x if self.x is not None else range(1, len(self.values) + 1)
        if len(xs) != len(self.values):
            raise ValueError(f"curve {self.label!r}: {len(xs)} x values for {len(self.values)}")
        return [
            (float(x), v)
            for x, v in zip(xs, self.values, strict=True)
            if math.isfinite(v) and v > 0 and math.isfinite(x)
        ]


def plot_losses(losses: Sequence[float], path: str | Path, title: str = "") -> Path:
    """Draw the loss curve as a PNG: iteration on x, loss on a log-scale y axis."""
    return plot_curves([Curve(losses)], path, title)


def plot_curves(
    curves: Sequence[Curve],
    path: str | Path,
    title: str = "",
    xlabel: str = "iteration",
    ylabel: str = "loss (log scale)",
) -> Path:
    """Several curves in one PNG (log-scale y), with a legend of the labelled ones.

    The x axis runs over iterations 1..N (the longest curve) when no curve has ``x`` values,
    else over [0, the largest x] (e.g. seconds).
    """
    width, height = 720, 440
    left, right, top, bottom = 84, 24, 36, 56
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    x0, x1, y0, y1 = left, width - right, top, height - bottom
    drawn = [(curve, curve.points()) for curve in curves]
    values = [v for _, points in drawn for _, v in points]
    iterations = all(curve.x is None for curve in curves)
    if iterations:
        x_lo, x_hi = 1.0, float(max([2, *(len(c.values) for c in curves)]))
    else:
        xs = [x for _, points in drawn for x, _ in points]
        x_lo, x_hi = min(0.0, *xs) if xs else 0.0, max(xs) if xs else 1.0
        x_hi = x_hi if x_hi > x_lo else x_lo + 1.0

    def px(x: float) -> float:
        return x0 + (x - x_lo) / (x_hi - x_lo) * (x1 - x0)

    def text_size(text: str) -> tuple[float, float, float]:
        box = draw.textbbox((0, 0), text, font=font)
        return box[2] - box[0], box[3] - box[1], box[1]

    if values:
        exps = [math.log10(v) for v in values]
        lo, hi = math.floor(min(exps)), math.ceil(max(exps))
        hi = max(hi, lo + 1)

        def py(exp: float) -> float:
            return y1 - (exp - lo) / (hi - lo) * (y1 - y0)

        decade_step = max(1, math.ceil((hi - lo) / 8))
        for exp in range(lo, hi + 1):
            y = py(exp)
            if (exp - lo) % decade_step == 0:
                draw.line([(x0, y), (x1, y)], fill=(225, 225, 225))
                label = f"1e{exp}"
                w, h, off = text_size(label)
                draw.text((x0 - 8 - w, y - h / 2 - off), label, fill="black", font=font)
            if hi - lo <= 4 and exp < hi:  # minor ticks at 2..9 x 10^exp
                for k in range(2, 10):
                    y_minor = py(exp + math.log10(k))
                    draw.line([(x0 - 3, y_minor), (x0, y_minor)], fill="black")
            draw.line([(x0 - 6, y), (x0, y)], fill="black")
        ticks = (
            [float(t) for t in _nice_ticks(1, int(x_hi))]
            if iterations
            else _nice_float_ticks(x_lo, x_hi)
        )
        for tick in ticks:
            x = px(tick)
            draw.line([(x, y1), (x, y1 + 6)], fill="black")
            label = f"{tick:g}"
            w, _, _ = text_size(label)
            draw.text((x - w / 2, y1 + 9), label, fill="black", font=font)
        for index, (_, points) in enumerate(drawn):
            colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
            line = [(px(x), py(math.log10(v))) for x, v in points]
            if len(line) == 1:
                (cx, cy) = line[0]
                draw.ellipse([cx - 2, cy - 2, cx + 2, cy + 2], fill=colour)
            elif line:
                draw.line(line, fill=colour, width=2)
    draw.rectangle([x0, y0, x1, y1], outline="black")
    labelled = [(i, c.label) for i, c in enumerate(curves) if c.label]
    if labelled:  # legend, top right inside the plot
        row = max(text_size(label)[1] for _, label in labelled) + 6
        legend_w = max(text_size(label)[0] for _, label in labelled) + 34
        lx, ly = x1 - legend_w - 8, y0 + 8
        draw.rectangle(
            [lx, ly, lx + legend_w, ly + row * len(labelled) + 4], fill="white", outline="grey"
        )
        for n, (index, label) in enumerate(labelled):
            colour = CURVE_COLOURS[index % len(CURVE_COLOURS)]
            y = ly + 4 + n * row + row / 2
            draw.line([(lx + 6, y), (lx + 24, y)], fill=colour, width=3)
            _, h, off = text_size(label)
            draw.text((lx + 30, y - h / 2 - off), label, fill="black", font=font)
    w, _, _ = text_size(xlabel)
    draw.text(((x0 + x1 - w) / 2, height - 22), xlabel, fill="black", font=font)
    box = draw.textbbox((0, 0), ylabel, font=font)
    text = Image.new("RGB", (int(box[2]) + 2, int(box[3]) + 2), "white")
    ImageDraw.Draw(text).text((0, 0), ylabel, fill="black", font=font)
    text = text.rotate(90, expand=True)
    image.paste(text, (8, (y0 + y1 - text.height) // 2))
    if title:
        draw.text((x0, 12), title, fill="black", font=font)
    return atomic_write(path, lambda tmp: image.save(tmp, format="PNG"))


def _nice_ticks(first: int, last: int, count: int = 6) -> list[int]:
    """Integer tick positions at 1/2/5 x 10^k spacing covering [first, last]."""
    span = max(1, last - first)
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(1, int(step))
    ticks = [first] + [t for t in range(step, last + 1, step) if t > first]
    return ticks


def _nice_float_ticks(low: float, high: float, count: int = 6) -> list[float]:
    """Tick positions at 1/2/5 x 10^k spacing (any real k) within [low, high]."""
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    return [round(k * step, 12) for k in range(first, math.floor(high / step + 1e-9) + 1)]


def image_grid(
    rows: Sequence[Sequence[Image.Image]], labels: Sequence[str], gap: int = 4
) -> Image.Image:
    """Rows of images under one header row of column labels (PIL only), on white."""
    font = ImageFont.load_default()
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    label_widths = [int(probe.textbbox((0, 0), t, font=font)[2]) + 4 for t in labels]
    columns = max(len(labels), *(len(r) for r in rows))
    widths = [
        max([label_widths[c] if c < len(labels) else 0] + [r[c].width for r in rows if c < len(r)])
        for c in range(columns)
    ]
    heights = [max(image.height for image in row) for row in rows]
    header = 16
    canvas = Image.new(
        "RGB",
        (sum(widths) + gap * (columns + 1), header + sum(heights) + gap * (len(rows) + 1)),
        "white",
    )
    draw = ImageDraw.Draw(canvas)
    x = gap
    for column, text in enumerate(labels):
        draw.text((x + 2, 2), text, fill="black", font=font)
        x += widths[column] + gap
    y = header + gap
    for row, height in zip(rows, heights, strict=True):
        x = gap
        for column, image in enumerate(row):
            canvas.paste(image, (x + (widths[column] - image.width) // 2, y))
            x += widths[column] + gap
        y += height + gap
    return canvas

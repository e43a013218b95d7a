"""A bar chart of stretches done per day, drawn with Pillow (``deskbreak stats --chart``).

One bar per day, solid teal on days that met the daily goal and pale teal on the others; the
goal is a dashed orange line across the plot, labelled at its right end. The y axis counts
stretches with a few round ticks and light grid lines; the x axis names the days: weekday
and date for up to two weeks, every few days for up to two months, the months beyond that.
A title and a small legend sit on top. Pillow's own font (``ImageFont.load_default``) at a
size meant to be read at 100% zoom: no system fonts needed, no matplotlib.

``layout()`` works out where everything goes; ``draw_chart()`` paints it. The tests read the
picture back pixel by pixel against ``layout()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

RGB = tuple[int, int, int]

BACKGROUND: RGB = (255, 255, 255)
GRID: RGB = (228, 232, 236)
AXIS: RGB = (110, 116, 124)
TEXT: RGB = (33, 37, 41)
MUTED: RGB = (96, 102, 110)
MET: RGB = (0, 150, 136)  # a day that met the goal
BELOW: RGB = (152, 214, 204)  # a day below the goal (or every day, with no goal)
GOAL: RGB = (235, 115, 0)

SIZE = (960, 440)
TITLE = "Stretches done per day"


@dataclass(frozen=True)
class Layout:
    """Where things go, in pixels. ``plot`` is (left, top, right, bottom); ``bottom`` is the
    row of the x axis, and a bar of value v rises ``round(v * scale)`` pixels above it."""

    size: tuple[int, int]
    plot: tuple[int, int, int, int]
    y_max: int
    y_step: int
    bars: tuple[tuple[int, int], ...]  # (x0, x1) of each day's bar, inclusive
    slot: float  # pixels per day

    @property
    def scale(self) -> float:
        return (self.plot[3] - self.plot[1]) / self.y_max

    def y_of(self, value: float) -> int:
        """The row of ``value`` on the y axis (the top row of a bar of that height)."""
        return self.plot[3] - round(value * self.scale)


def _font(size: int) -> Any:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow older than 10.1: the small bitmap font only
        return ImageFont.load_default()


def _nice_step(top: float) -> int:
    """A round tick step giving at most about six ticks up to ``top``."""
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        if top / step <= 6:
            return step
    return int(10 ** math.ceil(math.log10(top / 6)))


def _text_width(font: Any, text: str) -> float:
    return float(font.getlength(text))


class _Fonts:
    def __init__(self, width: int) -> None:
        base = 14 if width >= 640 else 12
        self.title = _font(base + 6)
        self.label = _font(base)
        self.small = _font(base - 1)


def layout(days: Sequence[tuple[date, int]], goal: int, size: tuple[int, int] = SIZE) -> Layout:
    if not days:
        raise ValueError("a chart needs at least one day")
    width, height = size
    fonts = _Fonts(width)
    top_value = max(max(v for _d, v in days), goal, 1)
    step = _nice_step(top_value)
    y_max = (top_value // step + 1) * step  # always some room above the highest bar
    tick_w = max(_text_width(fonts.label, str(v)) for v in range(0, y_max + 1, step))
    left = round(12 + 18 + 10 + tick_w + 8)  # margin, y-axis title, gap, tick labels, gap
    right = width - (round(_text_width(fonts.small, f"goal {goal}")) + 22 if goal > 0 else 24)
    top = 78
    two_lines = len(days) <= 14
    bottom = height - (64 if two_lines else 50)
    slot = (right - left) / len(days)
    gap = max(1.0, slot * 0.22) if slot >= 3 else 0.0
    bars = []
    for i in range(len(days)):
        x0 = round(left + i * slot + gap / 2)
        x1 = max(x0, round(left + (i + 1) * slot - gap / 2) - 1)
        bars.append((x0, x1))
    return Layout(size, (left, top, right, bottom), y_max, step, tuple(bars), slot)


def _date_labels(days: Sequence[date], slot: float, font: Any) -> list[tuple[int, list[str]]]:
    """(index, lines) of the days that get a label under the axis."""
    n = len(days)
    if n <= 14:
        return [(i, [d.strftime("%a"), f"{d.day} {d:%b}"]) for i, d in enumerate(days)]
    if n <= 62:
        need = _text_width(font, "30 Sep") + 14
        every = next((k for k in (1, 2, 3, 7, 14) if k * slot >= need), 14)
        # Count back from the last day, so today always has its date under it.
        return [(i, [f"{d.day} {d:%b}"]) for i, d in enumerate(days) if (n - 1 - i) % every == 0]
    # Months: the first of each month, the year with January (and the first label), skipping
    # a month whose label would run into the one before.
    out: list[tuple[int, list[str]]] = []
    prev_x, prev_w = -math.inf, 0.0
    for i, d in enumerate(days):
        if d.day != 1 and i != 0:
            continue
        text = f"{d:%b %Y}" if (d.month == 1 or not out) else f"{d:%b}"
        x, w = (i + 0.5) * slot, _text_width(font, text)
        if x - prev_x >= (prev_w + w) / 2 + 10:
            out.append((i, [text]))
            prev_x, prev_w = x, w
    return out


def draw_chart(
    days: Sequence[tuple[date, int]],
    goal: int,
    size: tuple[int, int] = SIZE,
    *,
    title: str = TITLE,
) -> Image.Image:
    """Stretches done per day (``days``: (date, done), in order) against the daily ``goal``
    (0: no goal). Returns an RGB image of ``size``."""
    geo = layout(days, goal, size)
    width, height = size
    fonts = _Fonts(width)
    left, top, right, bottom = geo.plot
    im = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(im)

    # Title, and the legend on the line below it.
    draw.text((left, 14), title, font=fonts.title, fill=TEXT)
    legend: list[tuple[str, RGB, str]] = []
    if goal > 0:
        legend = [
            ("box", MET, "goal met"),
            ("box", BELOW, "below goal"),
            ("line", GOAL, f"daily goal ({goal})"),
        ]
    x = float(left)
    ly = 48
    for kind, colour, label in legend:
        if kind == "box":
            draw.rectangle((round(x), ly + 2, round(x) + 13, ly + 15), fill=colour)
            x += 19
        else:
            for dx in range(0, 22, 8):
                draw.line((round(x) + dx, ly + 9, round(x) + dx + 4, ly + 9), fill=colour, width=3)
            x += 27
        draw.text((x, ly), label, font=fonts.small, fill=MUTED)
        x += _text_width(fonts.small, label) + 22

    # Grid and y ticks.
    for v in range(0, geo.y_max + 1, geo.y_step):
        y = geo.y_of(v)
        if v:
            draw.line((left, y, right, y), fill=GRID, width=1)
        label = str(v)
        draw.text(
            (left - 8 - _text_width(fonts.label, label), y),
            label,
            font=fonts.label,
            fill=MUTED,
            anchor="lm",
        )

    # Bars, and their values when there is room to print them.
    show_values = geo.slot >= 20
    for (_day, value), (x0, x1) in zip(days, geo.bars, strict=True):
        if value <= 0:
            continue
        y = geo.y_of(value)
        colour = MET if goal > 0 and value >= goal else BELOW
        if y <= bottom - 1:
            if x1 - x0 >= 8 and bottom - y >= 4:
                draw.rounded_rectangle(
                    (x0, y, x1, bottom - 1),
                    radius=3,
                    fill=colour,
                    corners=(True, True, False, False),
                )
            else:
                draw.rectangle((x0, y, x1, bottom - 1), fill=colour)
        if show_values:
            draw.text(((x0 + x1) / 2, y - 3), str(value), font=fonts.small, fill=TEXT, anchor="md")

    # The goal: a dashed line over the bars, labelled at its right end.
    if goal > 0:
        gy = geo.y_of(goal)
        xg = left
        while xg < right:
            draw.line((xg, gy, min(xg + 9, right), gy), fill=GOAL, width=2)
            xg += 15
        draw.text((right + 8, gy), f"goal {goal}", font=fonts.small, fill=GOAL, anchor="lm")

    # Axes.
    draw.line((left, top - 4, left, bottom), fill=AXIS, width=1)
    draw.line((left, bottom, right, bottom), fill=AXIS, width=1)

    # Day labels under the axis, with a small tick.
    line_h = 17
    for i, lines in _date_labels([d for d, _v in days], geo.slot, fonts.small):
        x0, x1 = geo.bars[i]
        cx = (x0 + x1) / 2
        draw.line((cx, bottom, cx, bottom + 4), fill=AXIS, width=1)
        for k, text in enumerate(lines):
            draw.text(
                (cx, bottom + 7 + k * line_h), text, font=fonts.small, fill=MUTED, anchor="mt"
            )

    # Axis titles.
    draw.text(((left + right) / 2, height - 6), "day", font=fonts.label, fill=TEXT, anchor="md")
    ytitle = "stretches done"
    tw = round(_text_width(fonts.label, ytitle)) + 4
    label_im = Image.new("RGB", (tw, 20), BACKGROUND)
    ImageDraw.Draw(label_im).text((2, 10), ytitle, font=fonts.label, fill=TEXT, anchor="lm")
    rotated = label_im.rotate(90, expand=True)
    im.paste(rotated, (12, round((top + bottom) / 2 - rotated.height / 2)))
    return im


def save_chart(
    path: Path,
    days: Sequence[tuple[date, int]],
    goal: int,
    size: tuple[int, int] = SIZE,
    *,
    title: str = TITLE,
) -> Path:
    """Draw the chart and write it to ``path`` as a PNG."""
    image = draw_chart(days, goal, size, title=title)
    image.save(path, format="PNG", optimize=True)
    return path

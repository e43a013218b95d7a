"""The stats chart: a real PNG, and bars whose heights are read back pixel by pixel."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from PIL import Image

from deskbreak import chart

MON = date(2025, 3, 3)
DONE = [3, 0, 7, 10, 5, 1, 9]
GOAL = 6


def week(values: list[int], start: date = MON) -> list[tuple[date, int]]:
    return [(start + timedelta(days=i), v) for i, v in enumerate(values)]


def bar_top(im: Image.Image, x: int, top: int, bottom: int) -> tuple[int, tuple[int, ...]] | None:
    """The highest row of bar colour in column ``x`` of the plot, and that colour."""
    for y in range(top, bottom):
        px = im.getpixel((x, y))
        if px in (chart.MET, chart.BELOW):
            return y, px
    return None


def test_the_chart_is_a_png_of_the_size_asked_for(tmp_path: Path) -> None:
    out = chart.save_chart(tmp_path / "c.png", week(DONE), GOAL)
    with Image.open(out) as im:
        assert im.format == "PNG"
        assert im.size == chart.SIZE
        im.load()
    small = chart.save_chart(tmp_path / "s.png", week(DONE), GOAL, size=(640, 320))
    with Image.open(small) as im:
        assert im.format == "PNG" and im.size == (640, 320)


def test_bar_heights_match_the_data() -> None:
    im = chart.draw_chart(week(DONE), GOAL)
    geo = chart.layout(week(DONE), GOAL)
    _left, top, _right, bottom = geo.plot
    heights = []
    for value, (x0, x1) in zip(DONE, geo.bars, strict=True):
        found = bar_top(im, (x0 + x1) // 2, top, bottom)
        if value == 0:
            assert found is None, "a day with nothing done has no bar"
            heights.append(0)
            continue
        assert found is not None
        y, colour = found
        # A bar runs unbroken from its top down to the axis.
        assert all(
            im.getpixel(((x0 + x1) // 2, yy)) in (colour, chart.GOAL) for yy in range(y, bottom)
        )
        assert colour == (chart.MET if value >= GOAL else chart.BELOW)
        heights.append(bottom - y)
    # Heights are proportional to the values (one pixel of rounding at most)...
    per_unit = heights[DONE.index(10)] / 10
    for value, h in zip(DONE, heights, strict=True):
        assert abs(h - value * per_unit) <= 1, (value, h, per_unit)
    # ...and the scale is the axis's: a bar of 10 reaches the row of the "10" tick.
    assert abs(per_unit - geo.scale) < 0.2
    # The tallest bar is not cut off: the axis goes above it.
    assert geo.y_max > max(DONE)


def test_the_goal_is_a_line_at_its_height() -> None:
    im = chart.draw_chart(week(DONE), GOAL)
    geo = chart.layout(week(DONE), GOAL)
    left, top, right, bottom = geo.plot
    rows = {}
    for y in range(top, bottom):
        rows[y] = sum(1 for x in range(left, right) if im.getpixel((x, y)) == chart.GOAL)
    goal_row = max(rows, key=lambda y: rows[y])
    assert rows[goal_row] > 0.5 * (right - left)  # dashed, across the whole plot
    # It sits where a bar of GOAL stretches would end.
    tallest = bar_top(im, sum(geo.bars[3]) // 2, top, bottom)
    assert tallest is not None
    per_unit = (bottom - tallest[0]) / 10
    assert abs((bottom - goal_row) - GOAL * per_unit) <= 2


def test_without_a_goal_there_is_no_goal_line_and_one_bar_colour() -> None:
    im = chart.draw_chart(week(DONE), 0)
    colours = {c for _n, c in im.getcolors(maxcolors=1 << 16) or []}
    assert chart.GOAL not in colours
    assert chart.MET not in colours
    assert chart.BELOW in colours


def test_a_year_of_days_still_draws_every_bar() -> None:
    days = [(MON + timedelta(days=i), (i * 7) % 12) for i in range(365)]
    im = chart.draw_chart(days, 8)
    geo = chart.layout(days, 8)
    assert im.size == chart.SIZE
    _left, top, _right, bottom = geo.plot
    assert len(geo.bars) == 365
    assert all(x1 >= x0 for x0, x1 in geo.bars)
    # Bars never overlap and stay inside the plot.
    assert all(a[1] < b[0] for a, b in zip(geo.bars, geo.bars[1:], strict=False))
    assert geo.bars[0][0] >= geo.plot[0] and geo.bars[-1][1] <= geo.plot[2]
    for (_d, value), (x0, _x1) in list(zip(days, geo.bars, strict=True))[:40]:
        found = bar_top(im, x0, top, bottom)
        assert (found is None) == (value == 0)


def test_big_numbers_get_round_ticks() -> None:
    geo = chart.layout(week([40, 55, 12]), 50)
    assert geo.y_step in (10, 20, 25) and geo.y_max % geo.y_step == 0 and geo.y_max > 55

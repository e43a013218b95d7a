"""The tray icon's pictures: each state looks like itself, at tray sizes, on any panel."""

from __future__ import annotations

import colorsys
import itertools
import math
from typing import cast

import pytest
from PIL import Image, ImageChops, ImageStat

from deskbreak.icon import STATES, app_icon, draw_icon, progress_steps

DARK = (30, 30, 30, 255)
LIGHT = (240, 240, 240, 255)


def on_panel(im: Image.Image, panel: tuple[int, int, int, int]) -> Image.Image:
    return Image.alpha_composite(Image.new("RGBA", im.size, panel), im).convert("RGB")


RGBA = tuple[int, int, int, int]


def pixels(im: Image.Image) -> list[RGBA]:
    """The pixels of an RGBA image."""
    assert im.mode == "RGBA"
    return cast(list[RGBA], list(im.get_flattened_data()))


def levels(im: Image.Image) -> list[int]:
    """The pixels of a greyscale image."""
    assert im.mode == "L"
    return cast(list[int], list(im.get_flattened_data()))


def pixel(im: Image.Image, x: int, y: int) -> RGBA:
    return cast(RGBA, im.getpixel((x, y)))


def is_teal(px: RGBA) -> bool:
    r, g, b, a = px
    return a > 200 and g > 120 and b > 100 and r < 60


def ring_band(size: int) -> list[tuple[int, int]]:
    """Pixels well inside the ring (outer radius 0.47, width 0.15 of the side)."""
    c = size / 2
    out = []
    for y in range(size):
        for x in range(size):
            d = math.hypot(x + 0.5 - c, y + 0.5 - c) / size
            if 0.34 < d < 0.45:
                out.append((x, y))
    return out


def teal_in_ring(im: Image.Image) -> list[tuple[int, int]]:
    return [(x, y) for x, y in ring_band(im.width) if is_teal(pixel(im, x, y))]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("size", [22, 24, 64])
def test_each_state_draws_a_square_rgba_image_with_something_on_it(state: str, size: int) -> None:
    im = draw_icon(state, 0.5, size)
    assert im.mode == "RGBA"
    assert im.size == (size, size)
    opaque = sum(1 for px in pixels(im) if px[3] > 128)
    assert opaque > 0.2 * size * size
    # Transparent background: the corners show the panel.
    assert pixel(im, 0, 0)[3] == 0
    assert pixel(im, size - 1, size - 1)[3] == 0


def test_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown icon state 'sleeping'"):
        draw_icon("sleeping", 0.0)


def test_waiting_ring_fills_with_progress() -> None:
    band = len(ring_band(64))
    covered = [len(teal_in_ring(draw_icon("waiting", p))) for p in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert covered[0] == 0
    assert covered == sorted(covered)
    assert covered[-1] > 0.95 * band
    for p, n in zip((0.25, 0.5, 0.75), covered[1:4], strict=True):
        assert abs(n / covered[-1] - p) < 0.05, (p, n, covered[-1])


def test_waiting_ring_fills_clockwise_from_twelve_o_clock() -> None:
    quarter = teal_in_ring(draw_icon("waiting", 0.25))
    assert quarter
    # All of the first quarter is in the top-right: right of centre, above centre.
    assert all(x >= 31 and y <= 32 for x, y in quarter)
    half = teal_in_ring(draw_icon("waiting", 0.5))
    assert all(x >= 31 for x, _ in half)
    assert any(y > 48 for _, y in half)


def test_states_differ_clearly_on_dark_and_light_panels() -> None:
    images = {state: draw_icon(state, 0.5, 24) for state in STATES}
    for a, b in itertools.combinations(STATES, 2):
        for panel in (DARK, LIGHT):
            diff = ImageChops.difference(on_panel(images[a], panel), on_panel(images[b], panel))
            distance = sum(ImageStat.Stat(diff).mean) / 3
            assert distance > 12, (a, b, panel, distance)


def test_due_is_mostly_a_warm_colour() -> None:
    warm = 0
    opaque = 0
    for r, g, b, a in pixels(draw_icon("due", 0.0)):
        if a < 200:
            continue
        opaque += 1
        h, s, v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
        if s > 0.6 and v > 0.6 and h * 360 <= 50:
            warm += 1
    assert warm > 0.6 * opaque


def test_waiting_is_not_warm_but_teal() -> None:
    teal = sum(1 for px in pixels(draw_icon("waiting", 0.5)) if is_teal(px))
    assert teal > 0.15 * 64 * 64


@pytest.mark.parametrize("state", ["paused", "off-duty"])
def test_paused_and_off_duty_are_grey_only(state: str) -> None:
    visible = [px for px in pixels(draw_icon(state, 0.5)) if px[3] > 0]
    assert visible
    assert all(max(px[:3]) - min(px[:3]) <= 2 for px in visible)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("panel", [DARK, LIGHT], ids=["dark-panel", "light-panel"])
def test_icon_stands_out_at_22_px_on_dark_and_light_panels(
    state: str, panel: tuple[int, int, int, int]
) -> None:
    grey = on_panel(draw_icon(state, 0.0, 22), panel).convert("L")
    standing_out = sum(1 for v in levels(grey) if abs(v - panel[0]) > 60) / (22 * 22)
    # Off-duty is meant to be dim, but still visible.
    assert standing_out > (0.1 if state == "off-duty" else 0.25), standing_out


def test_snoozed_ring_shows_its_progress_in_a_muted_colour() -> None:
    early = draw_icon("snoozed", 0.1)
    late = draw_icon("snoozed", 0.9)
    assert ImageChops.difference(early, late).getbbox() is not None
    r, g, b, _ = pixel(late, 8, 32)  # left side of the ring, reached late
    _h, s, _v = colorsys.rgb_to_hsv(r / 255, g / 255, b / 255)
    assert 0.1 < s < 0.5  # muted, not grey and not loud
    assert not is_teal((r, g, b, 255))


def test_progress_steps_quantises_down_to_24_steps() -> None:
    assert progress_steps(0.0) == 0.0
    assert progress_steps(1 / 24 - 1e-9) == 0.0
    assert progress_steps(1 / 24) == pytest.approx(1 / 24)
    assert progress_steps(0.5) == 0.5
    assert progress_steps(0.999) == pytest.approx(23 / 24)
    assert progress_steps(1.0) == 1.0
    samples = [i / 10_000 for i in range(10_001)]
    values = [progress_steps(p) for p in samples]
    assert len(set(values)) == 25
    assert all(v <= p for v, p in zip(values, samples, strict=True))
    assert values == sorted(values)


def test_progress_steps_clamps_odd_input() -> None:
    assert progress_steps(-0.3) == 0.0
    assert progress_steps(1.7) == 1.0
    assert progress_steps(float("nan")) == 0.0
    assert progress_steps(0.5, steps=4) == 0.5
    assert progress_steps(0.49, steps=4) == 0.25
    with pytest.raises(ValueError):
        progress_steps(0.5, steps=0)


def test_same_quantised_progress_draws_the_same_picture() -> None:
    a = draw_icon("waiting", progress_steps(0.50))
    b = draw_icon("waiting", progress_steps(0.51))
    assert ImageChops.difference(a, b).getbbox() is None


@pytest.mark.parametrize("size", [16, 22, 24, 32, 48, 64, 128, 256])
def test_app_icon_at_every_size(size: int) -> None:
    im = app_icon(size)
    assert im.mode == "RGBA"
    assert im.size == (size, size)
    assert sum(1 for px in pixels(im) if px[3] > 128) > 0.3 * size * size
    # Same design language as the tray: the teal ring.
    assert sum(1 for px in pixels(im) if is_teal(px)) > 0.1 * size * size

"""The tray icon, drawn with Pillow: one look per break-cycle state.

How it works: every picture is drawn on a canvas four times larger than asked for and then
scaled down, which gives smooth edges without any font or image file. Shapes that carry
meaning get a thin dark edge and sit on a translucent grey track, so the icon reads on dark
and on light panels alike, and at the 22-24 px most panels use.

- waiting:  a teal ring fills clockwise from 12 o'clock as the interval passes, around a
            small figure stretching its arms up.
- due:      a full orange disc with the figure in bold white: different at a glance.
- snoozed:  the ring in a muted slate blue, with a "z" in the middle.
- paused:   grey only: a grey ring with two pause bars.
- off-duty: grey only: a thin dim ring with a crescent moon.

Pillow is imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

STATES = ("waiting", "due", "snoozed", "paused", "off-duty")

_SCALE = 4  # supersampling factor

RGBA = tuple[int, int, int, int]

TEAL: RGBA = (0, 170, 150, 255)
ORANGE: RGBA = (255, 128, 0, 255)
SLATE: RGBA = (125, 145, 180, 255)
GREY: RGBA = (160, 160, 160, 255)
DIM_GREY: RGBA = (140, 140, 140, 200)
WHITE: RGBA = (255, 255, 255, 255)
EDGE: RGBA = (30, 30, 30, 210)
TRACK: RGBA = (150, 150, 150, 140)

# Geometry, as fractions of the canvas side.
_OUTER = 0.47  # outer radius of the ring
_WIDTH = 0.15  # ring width
_EDGE = 0.025  # width of the dark edge around shapes, in pixels per pixel of side


def progress_steps(progress: float, steps: int = 24) -> float:
    """Round ``progress`` down to a multiple of ``1/steps``, within 0..1.

    The icon only needs redrawing when this value changes, so it changes about ``steps``
    times per interval. Rounding down means the ring never shows more time gone than has.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if math.isnan(progress) or progress <= 0:
        return 0.0
    if progress >= 1:
        return 1.0
    return math.floor(progress * steps) / steps


def draw_icon(state: str, progress: float, size: int = 64) -> Image.Image:
    """Draw the tray icon for ``state`` ("waiting", "due", "snoozed", "paused", "off-duty").

    ``progress`` (0..1) is how much of the interval (or snooze) has passed; the waiting and
    snoozed rings show it. Returns an RGBA image of ``size`` x ``size`` pixels.
    """
    if state not in STATES:
        raise ValueError(f"unknown icon state {state!r}; expected one of {', '.join(STATES)}")
    if size < 1:
        raise ValueError(f"size must be at least 1 pixel, got {size}")
    p = progress_steps(progress, 360)
    c = _Canvas(size)
    if state == "waiting":
        c.ring(TRACK)
        c.arc(p, TEAL)
        c.figure(TEAL, bold=False)
    elif state == "due":
        c.disc(ORANGE)
        c.figure(WHITE, bold=True)
    elif state == "snoozed":
        c.ring(TRACK)
        c.arc(p, SLATE)
        c.zed(SLATE)
    elif state == "paused":
        c.ring(GREY)
        c.pause_bars(GREY)
    else:  # off-duty
        c.thin_ring(DIM_GREY)
        c.moon(DIM_GREY)
    return c.finish()


def app_icon(size: int) -> Image.Image:
    """The application's own icon: the waiting look with the ring three quarters full."""
    return draw_icon("waiting", 0.75, size)


Shape = Callable[[float], "Image.Image"]


class _Canvas:
    """A supersampled drawing surface with the few shapes the icon needs.

    Positions and lengths are fractions of the icon's side. Each shape is a function from
    "how much bigger" (also a fraction) to a mask, so its dark edge is the same shape drawn
    a little bigger underneath.
    """

    def __init__(self, size: int) -> None:
        from PIL import Image

        self.size = size
        self.side = size * _SCALE
        self.image = Image.new("RGBA", (self.side, self.side), (0, 0, 0, 0))
        # The edge is about one screen pixel at tray sizes and grows gently for big icons.
        self.edge = max(1.0, _EDGE * size) / size

    # -- plumbing ---------------------------------------------------------------------------

    def _blank(self) -> Image.Image:
        from PIL import Image

        return Image.new("L", (self.side, self.side), 0)

    def _px(self, fraction: float) -> float:
        return fraction * self.side

    def _paint(self, mask: Image.Image, colour: RGBA) -> None:
        """Composite ``colour`` over the canvas where ``mask`` is set."""
        from PIL import Image

        layer = Image.new("RGBA", (self.side, self.side), (*colour[:3], 0))
        layer.putalpha(mask.point(lambda v: v * colour[3] // 255))
        self.image.alpha_composite(layer)

    def _with_edge(self, shape: Shape, colour: RGBA) -> None:
        """Paint ``shape`` in ``colour``, outlined by a thin dark edge."""
        from PIL import ImageChops

        inside = shape(0.0)
        self._paint(ImageChops.subtract(shape(self.edge), inside), EDGE)
        self._paint(inside, colour)

    def circle(self, x: float, y: float, r: float) -> Image.Image:
        from PIL import ImageDraw

        m = self._blank()
        if r > 0:
            cx, cy, rr = self._px(x), self._px(y), self._px(r)
            ImageDraw.Draw(m).ellipse((cx - rr, cy - rr, cx + rr, cy + rr), fill=255)
        return m

    def annulus(self, outer: float, inner: float) -> Image.Image:
        from PIL import ImageChops

        return ImageChops.subtract(self.circle(0.5, 0.5, outer), self.circle(0.5, 0.5, inner))

    def strokes(self, lines: Sequence[Sequence[tuple[float, float]]], width: float) -> Image.Image:
        """Polylines with round joints and ends."""
        from PIL import ImageDraw

        m = self._blank()
        d = ImageDraw.Draw(m)
        w = self._px(width)
        for line in lines:
            pts = [(self._px(x), self._px(y)) for x, y in line]
            d.line(pts, fill=255, width=max(1, round(w)), joint="curve")
            for x, y in pts:
                d.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=255)
        return m

    def finish(self) -> Image.Image:
        from PIL import Image

        # Scale in premultiplied form so transparent pixels do not darken the edges.
        small = self.image.convert("RGBa").resize((self.size, self.size), Image.Resampling.BOX)
        return small.convert("RGBA")

    # -- shapes -----------------------------------------------------------------------------

    def ring(self, colour: RGBA) -> None:
        self._with_edge(lambda g: self.annulus(_OUTER + g, _OUTER - _WIDTH - g), colour)

    def thin_ring(self, colour: RGBA) -> None:
        w = _WIDTH / 2.5
        self._with_edge(lambda g: self.annulus(_OUTER + g, _OUTER - w - g), colour)

    def arc(self, progress: float, colour: RGBA) -> None:
        """The part of the ring for ``progress``, clockwise from 12 o'clock."""
        from PIL import ImageChops, ImageDraw

        if progress <= 0:
            return
        wedge = self._blank()
        r = self._px(0.5)
        ImageDraw.Draw(wedge).pieslice((0, 0, 2 * r, 2 * r), -90, -90 + 360 * progress, fill=255)
        band = self.annulus(_OUTER, _OUTER - _WIDTH)
        self._paint(ImageChops.multiply(wedge, band), colour)

    def disc(self, colour: RGBA) -> None:
        self._with_edge(lambda g: self.circle(0.5, 0.5, _OUTER + g), colour)

    def figure(self, colour: RGBA, *, bold: bool) -> None:
        """A person stretching both arms up: a head inside the raised arms, body and legs."""
        from PIL import ImageChops

        w = 0.075 if bold else 0.06
        head = 0.052 if bold else 0.046
        lines = [
            [(0.37, 0.33), (0.43, 0.49), (0.57, 0.49), (0.63, 0.33)],  # raised arms
            [(0.50, 0.49), (0.50, 0.59)],  # body
            [(0.43, 0.69), (0.50, 0.59), (0.57, 0.69)],  # legs
        ]

        def shape(g: float) -> Image.Image:
            return ImageChops.lighter(
                self.strokes(lines, w + 2 * g), self.circle(0.5, 0.385, head + g)
            )

        self._with_edge(shape, colour)

    def zed(self, colour: RGBA) -> None:
        z = [[(0.40, 0.39), (0.60, 0.39), (0.40, 0.61), (0.60, 0.61)]]
        self._with_edge(lambda g: self.strokes(z, 0.07 + 2 * g), colour)

    def pause_bars(self, colour: RGBA) -> None:
        bars = [[(0.42, 0.37), (0.42, 0.63)], [(0.58, 0.37), (0.58, 0.63)]]
        self._with_edge(lambda g: self.strokes(bars, 0.085 + 2 * g), colour)

    def moon(self, colour: RGBA) -> None:
        from PIL import ImageChops

        def shape(g: float) -> Image.Image:
            full = self.circle(0.5, 0.5, 0.2 + g)
            bite = self.circle(0.59, 0.44, 0.2 - g)
            return ImageChops.subtract(full, bite)

        self._with_edge(shape, colour)

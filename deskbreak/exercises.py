"""The stretch catalogue and how the next stretch is picked. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

CATEGORIES = ("warm-up", "dynamic", "desk", "static")

DESK_ROTATION: tuple[str, ...] = ("wall-stretch", "neck-flexion", "shoulder-roll")

SAFETY_NOTE = (
    "Warm up before you stretch, move gently and never into pain. "
    "See a doctor if back pain is severe or persistent, or comes with other symptoms."
)


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    category: str  # one of CATEGORIES (custom exercises may use any of them)
    duration: int  # seconds
    desk: bool  # can be done at or beside a desk, in office clothes
    equipment: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    summary: str = ""  # one short line for a notification body
    custom: bool = field(default=False, compare=False)


# Filled in below with every exercise the seed article names.
CATALOGUE: tuple[Exercise, ...] = ()

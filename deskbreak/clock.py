"""Where time comes from. Only the composition root reads a real clock; the core is given ``now``.

``wall()`` is seconds since the epoch (it jumps with NTP steps, suspend and manual changes);
``monotonic()`` never jumps and does not advance during a system suspend. Comparing the two is
how the daemon notices that the machine slept or the clock was changed.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def wall(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to.

    ``advance`` moves both clocks; ``jump`` moves only wall time.
    """

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 1000.0

    def wall(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> float:
        self._wall += seconds
        self._mono += seconds
        return self._wall

    def jump(self, seconds: float) -> float:
        """Wall time jumps (suspend, NTP step, user change); monotonic time stands still."""
        self._wall += seconds
        return self._wall


class DriftGuard:
    """Tells how far wall time moved beyond monotonic time since the last check.

    A positive gap after a suspend is the time spent asleep; a gap either way without a suspend
    is a clock change. Pure arithmetic over readings handed in.
    """

    def __init__(self, wall: float, mono: float) -> None:
        self._offset = wall - mono

    def check(self, wall: float, mono: float) -> float:
        offset = wall - mono
        gap = offset - self._offset
        self._offset = offset
        return gap

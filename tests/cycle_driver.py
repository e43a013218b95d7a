"""Drives a BreakCycle the way the daemon does: events at fake-clock times, timers honoured."""

from __future__ import annotations

from datetime import tzinfo

from deskbreak.clock import FakeClock
from deskbreak.cycle import (
    Action,
    ArmTimer,
    BreakCycle,
    Event,
    Notify,
    Record,
    ShowStatus,
    Start,
    Tick,
)
from deskbreak.settings import Settings


class CycleDriver:
    def __init__(self, settings: Settings, start: float | None = None, tz: tzinfo | None = None):
        self.clock = FakeClock() if start is None else FakeClock(start)
        self.cycle = BreakCycle(settings, self.clock.wall(), tz=tz)
        self.actions: list[Action] = []
        self.timer: float | None = None
        self.send(Start())

    @property
    def now(self) -> float:
        return self.clock.wall()

    def send(self, event: Event) -> list[Action]:
        out = self.cycle.handle(event, self.now)
        self.actions.extend(out)
        arms = [a for a in out if isinstance(a, ArmTimer)]
        assert arms, "every event ends by arming the timer"
        self.timer = arms[-1].at
        assert isinstance(out[-1], ShowStatus)
        return out

    def run_for(self, seconds: float) -> list[Action]:
        """Let time pass, firing the timer whenever it comes due (as the scheduler would)."""
        end = self.now + seconds
        fired: list[Action] = []
        while self.timer is not None and self.timer <= end:
            self.clock.advance(max(0.0, self.timer - self.now))
            fired.extend(self.send(Tick()))
        self.clock.advance(end - self.now)
        return fired

    def notifies(self, actions: list[Action] | None = None) -> list[Notify]:
        return [a for a in (self.actions if actions is None else actions) if isinstance(a, Notify)]

    def records(self, kind: str | None = None) -> list[Record]:
        return [a for a in self.actions if isinstance(a, Record) and kind in (None, a.kind)]

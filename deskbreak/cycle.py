"""The break cycle: a pure state machine. Events go in with ``now``; actions come out.

How it works
============

Time is wall-clock seconds since the epoch, always handed in. Nothing here reads a clock,
sleeps, or touches a file, a bus or a screen. The daemon owns one ``BreakCycle``, feeds it
events from one thread, and carries out the actions it returns: it shows and closes
notifications, arms one timer, updates the tray, writes history and settings.

States (``Phase``)::

    WAITING  the interval runs; the next reminder is due at ``due_at``
    DUE      a reminder is on screen since ``shown_at``; it is closed as missed after
             ``missed_after`` without an answer
    SNOOZED  the same stretch comes back at ``due_at``
    PAUSED   nothing happens until ``pause_until`` (None: until resumed)

Transitions (event: from -> to). An event not listed for a state raises ``IllegalEvent``
and leaves the state exactly as it was::

    Start          any       -> WAITING   the interval starts now
    Tick           WAITING   -> DUE       when due_at has come (shown once, however late)
                   SNOOZED   -> DUE       when the snooze has run out (same stretch)
                   DUE       -> WAITING   when missed_after has passed: recorded as missed
                   PAUSED    -> WAITING   when pause_until has come: the interval restarts
    Accept         DUE|SNOOZED -> WAITING recorded as done; next one an interval later
    Skip           DUE|SNOOZED -> WAITING recorded as skipped; next one an interval later
    Snooze(d)      DUE|SNOOZED -> SNOOZED the same stretch returns after d
    Dismissed      DUE       -> WAITING   closed unanswered: the missed rule
    StretchNow     WAITING|SNOOZED|DUE -> DUE   (DUE: shown again)
                   PAUSED    -> DUE       an explicit request ends the pause
    Pause(until)   any       -> PAUSED    a showing or snoozed reminder is recorded as paused
    Resume         PAUSED    -> WAITING   the interval restarts
    SetInterval    any       the pending reminder is re-planned from when the current
                             interval started (not from zero); persisted to settings
    SettingsChanged any      as SetInterval for the interval, without persisting; a new
                             rotation applies from the next pick
    Away(seconds)  any but PAUSED: the user was away (suspend, lock, idle) for ``seconds``.
                   At least ``natural_break``: recorded as a natural break, any showing or
                   snoozed reminder is closed, and the interval starts again now.
                   Shorter: nothing is reset; a reminder that came due shows once.
    AwayStarted    any       the user left; due reminders wait (held) until they return
    AwayEnded      any       as Away(now - when they left)

Every handled event ends with ``ArmTimer`` (the next moment the cycle needs a ``Tick``)
and ``ShowStatus`` (a snapshot for the tray and ``status``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from deskbreak.durations import format_duration
from deskbreak.errors import IllegalEvent
from deskbreak.exercises import Exercise, pick_next
from deskbreak.settings import Settings

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Start:
    """The daemon has started."""


@dataclass(frozen=True)
class Tick:
    """A timer fired, or the daemon wants the cycle to look at the time."""


@dataclass(frozen=True)
class Accept:
    """The user did the stretch."""


@dataclass(frozen=True)
class Skip:
    """The user skipped the stretch."""


@dataclass(frozen=True)
class Snooze:
    """Bring the same stretch back later; ``seconds=None`` means the configured snooze."""

    seconds: int | None = None


@dataclass(frozen=True)
class Dismissed:
    """The notification was closed or expired without an answer."""

    reason: str = "dismissed"


@dataclass(frozen=True)
class StretchNow:
    """Show a stretch now."""


@dataclass(frozen=True)
class Pause:
    """Hold all reminders until ``until`` (wall time), or until resumed when None."""

    until: float | None = None


@dataclass(frozen=True)
class Resume:
    """End a pause; the interval restarts."""


@dataclass(frozen=True)
class SetInterval:
    """The user chose a new interval (tray, CLI). It is persisted to the settings file."""

    seconds: int


@dataclass(frozen=True)
class SettingsChanged:
    """The settings file was (re)read."""

    settings: Settings


@dataclass(frozen=True)
class Away:
    """The user was away for ``seconds`` and is back now (e.g. measured after a suspend)."""

    seconds: float
    kind: str = "away"  # "suspend" | "lock" | "idle" | "away"


@dataclass(frozen=True)
class AwayStarted:
    """The user has left (screen locked, idle past the threshold)."""

    kind: str = "away"


@dataclass(frozen=True)
class AwayEnded:
    """The user is back."""


Event = (
    Start
    | Tick
    | Accept
    | Skip
    | Snooze
    | Dismissed
    | StretchNow
    | Pause
    | Resume
    | SetInterval
    | SettingsChanged
    | Away
    | AwayStarted
    | AwayEnded
)

# ---------------------------------------------------------------- actions and views


class Phase(enum.Enum):
    WAITING = "waiting"
    DUE = "due"
    SNOOZED = "snoozed"
    PAUSED = "paused"


@dataclass(frozen=True)
class Reminder:
    """One reminder, from the moment it is planned until it is answered."""

    id: int
    exercise: str
    due_at: float
    shown_at: float | None = None
    snoozes: int = 0


@dataclass(frozen=True)
class Notify:
    """Show this reminder (replacing any deskbreak notification on screen)."""

    reminder: Reminder
    exercise: Exercise
    timeout: int  # seconds until it counts as missed


@dataclass(frozen=True)
class CloseNotification:
    """Take the reminder off the screen."""


@dataclass(frozen=True)
class ArmTimer:
    """Send a ``Tick`` at wall time ``at`` (None: nothing to wait for)."""

    at: float | None


@dataclass(frozen=True)
class Record:
    """Something for the history: ``kind`` is shown, snoozed, done, skipped, missed,
    natural-break, paused or held."""

    kind: str
    at: float
    reminder: Reminder | None = None
    detail: str = ""


@dataclass(frozen=True)
class PersistSetting:
    """Write one key of the settings file (its text form, as a user would type it)."""

    key: str
    value: str


@dataclass(frozen=True)
class Status:
    """A snapshot of the cycle for the tray, ``status`` and the terminal."""

    state: str  # "waiting" | "due" | "snoozed" | "paused"
    now: float
    next_at: float | None  # when the next reminder is due (None while due or paused)
    exercise: str  # the current (due, snoozed) or next stretch
    exercise_name: str
    interval: int
    cycle_start: float
    pause_until: float | None
    snoozes: int
    away: bool

    @property
    def progress(self) -> float:
        """How much of the interval has passed, 0..1."""
        if self.state in ("due",):
            return 1.0
        if self.state != "waiting" or self.interval <= 0:
            return 0.0
        done = (self.now - self.cycle_start) / self.interval
        return min(1.0, max(0.0, done))


@dataclass(frozen=True)
class ShowStatus:
    status: Status


Action = Notify | CloseNotification | ArmTimer | Record | PersistSetting | ShowStatus

NATURAL_BREAK_DEFAULT = 300


# ---------------------------------------------------------------- the machine


@dataclass
class _State:
    phase: Phase
    cycle_start: float
    due_at: float
    current: Reminder | None
    next_exercise: str
    rotation_pos: int
    last_exercise: str | None
    pause_until: float | None = None
    away_since: float | None = None
    next_id: int = 1
    notified: bool = False  # the current reminder is on screen
    extra: dict[str, float] = field(default_factory=dict)


class BreakCycle:
    """The break cycle. Feed it events with ``handle(event, now)``."""

    def __init__(self, settings: Settings, now: float, *, first_id: int = 1) -> None:
        self._settings = settings
        self._catalogue: Mapping[str, Exercise] = settings.catalogue()
        first, pos = pick_next(settings.reminders.exercises, None, 0)
        interval = settings.reminders.interval
        self._s = _State(
            phase=Phase.WAITING,
            cycle_start=now,
            due_at=now + interval,
            current=None,
            next_exercise=first,
            rotation_pos=pos,
            last_exercise=None,
            next_id=first_id,
        )

    # -- queries

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def phase(self) -> Phase:
        return self._s.phase

    @property
    def current(self) -> Reminder | None:
        return self._s.current

    def exercise(self, exercise_id: str) -> Exercise:
        return self._catalogue[exercise_id]

    def status(self, now: float) -> Status:
        s = self._s
        if s.phase is Phase.DUE:
            next_at: float | None = None
        elif s.phase is Phase.PAUSED:
            next_at = None
        else:
            next_at = s.due_at
        ex_id = s.current.exercise if s.current is not None else s.next_exercise
        return Status(
            state=s.phase.value,
            now=now,
            next_at=next_at,
            exercise=ex_id,
            exercise_name=self._catalogue[ex_id].name,
            interval=self._settings.reminders.interval,
            cycle_start=s.cycle_start,
            pause_until=s.pause_until if s.phase is Phase.PAUSED else None,
            snoozes=s.current.snoozes if s.current is not None else 0,
            away=s.away_since is not None,
        )

    def next_deadline(self) -> float | None:
        """The next moment a ``Tick`` is needed."""
        s = self._s
        if s.phase is Phase.PAUSED:
            return s.pause_until
        if s.away_since is not None:
            return None  # nothing comes due or is missed while nobody is there to see it
        if s.phase is Phase.DUE:
            assert s.current is not None and s.current.shown_at is not None
            return s.current.shown_at + self._settings.reminders.missed_after
        return s.due_at

    # -- the one entry point

    def handle(self, event: Event, now: float) -> list[Action]:
        handler = _HANDLERS.get(type(event))
        if handler is None:  # pragma: no cover - guarded by the type checker
            raise IllegalEvent(f"unknown event {event!r}")
        actions = handler(self, event, now)
        actions.extend(self._tick(now))
        actions.append(ArmTimer(self.next_deadline()))
        actions.append(ShowStatus(self.status(now)))
        return actions

    # -- handlers (each returns the actions of its own transition)

    def _on_start(self, _e: Start, now: float) -> list[Action]:
        self._restart_interval(now)
        return []

    def _on_tick(self, _e: Tick, now: float) -> list[Action]:
        s = self._s
        # The wall clock went back by more than an interval (a manual change): re-plan from now
        # rather than wait for a reminder that is now far away.
        if s.phase is Phase.WAITING and s.due_at - now > self._settings.reminders.interval:
            self._restart_interval(now)
        return []

    def _on_accept(self, _e: Accept, now: float) -> list[Action]:
        return self._answer("done", now, "accept")

    def _on_skip(self, _e: Skip, now: float) -> list[Action]:
        return self._answer("skipped", now, "skip")

    def _on_snooze(self, e: Snooze, now: float) -> list[Action]:
        s = self._s
        if s.phase not in (Phase.DUE, Phase.SNOOZED) or s.current is None:
            raise IllegalEvent("nothing to snooze: no stretch is due")
        seconds = e.seconds if e.seconds is not None else self._settings.reminders.snooze
        if seconds <= 0:
            raise IllegalEvent("a snooze must be longer than zero")
        out: list[Action] = self._close_if_shown()
        s.current = replace(s.current, snoozes=s.current.snoozes + 1)
        s.phase = Phase.SNOOZED
        s.due_at = now + seconds
        out.append(Record("snoozed", now, s.current, format_duration(seconds)))
        return out

    def _on_dismissed(self, e: Dismissed, now: float) -> list[Action]:
        s = self._s
        if s.phase is not Phase.DUE or s.current is None:
            raise IllegalEvent("no reminder is on screen")
        s.notified = False  # the server already took it away
        return self._finish("missed", now, e.reason)

    def _on_stretch_now(self, _e: StretchNow, now: float) -> list[Action]:
        s = self._s
        if s.phase is Phase.PAUSED:
            s.pause_until = None
            s.phase = Phase.WAITING
        if s.phase is Phase.DUE and s.current is not None:
            return self._show(now)
        if s.current is None:
            s.current = Reminder(id=self._take_id(), exercise=s.next_exercise, due_at=now)
        s.due_at = now
        return self._show(now)

    def _on_pause(self, e: Pause, now: float) -> list[Action]:
        s = self._s
        if e.until is not None and e.until <= now:
            raise IllegalEvent("a pause must end in the future")
        out: list[Action] = []
        if s.current is not None:
            out = self._finish("paused", now, "")
        s.phase = Phase.PAUSED
        s.pause_until = e.until
        out.append(Record("paused", now, None, "" if e.until is None else f"until {e.until:.0f}"))
        return out

    def _on_resume(self, _e: Resume, now: float) -> list[Action]:
        if self._s.phase is not Phase.PAUSED:
            raise IllegalEvent("reminders are not paused")
        self._restart_interval(now)
        return [Record("resumed", now)]

    def _on_set_interval(self, e: SetInterval, now: float) -> list[Action]:
        if e.seconds <= 0:
            raise IllegalEvent("the interval must be longer than zero")
        self._apply_settings(
            replace(self._settings, reminders=replace(self._settings.reminders, interval=e.seconds))
        )
        self._replan(now)
        return [PersistSetting("reminders.interval", format_duration(e.seconds))]

    def _on_settings_changed(self, e: SettingsChanged, now: float) -> list[Action]:
        old_interval = self._settings.reminders.interval
        self._apply_settings(e.settings)
        if e.settings.reminders.interval != old_interval:
            self._replan(now)
        return []

    def _on_away(self, e: Away, now: float) -> list[Action]:
        return self._returned(now, e.seconds, e.kind)

    def _on_away_started(self, e: AwayStarted, now: float) -> list[Action]:
        s = self._s
        if s.away_since is None:
            s.away_since = now
            s.extra["away_kind_" + e.kind] = now
        return []

    def _on_away_ended(self, _e: AwayEnded, now: float) -> list[Action]:
        s = self._s
        if s.away_since is None:
            return []
        since = s.away_since
        kinds = [k.removeprefix("away_kind_") for k in s.extra if k.startswith("away_kind_")]
        s.away_since = None
        s.extra = {k: v for k, v in s.extra.items() if not k.startswith("away_kind_")}
        return self._returned(now, max(0.0, now - since), kinds[0] if kinds else "away")

    # -- helpers

    def _natural_break(self) -> int:
        return getattr(self._settings.reminders, "natural_break", NATURAL_BREAK_DEFAULT)

    def _returned(self, now: float, seconds: float, kind: str) -> list[Action]:
        s = self._s
        if s.phase is Phase.PAUSED:
            return []
        if seconds < self._natural_break():
            # Nothing is reset. A reminder already on screen is shown again so the user sees
            # it; one that came due meanwhile is shown by _tick, once.
            return self._show(now) if s.phase is Phase.DUE else []
        out: list[Action] = []
        detail = f"{kind} {format_duration(seconds)}"
        if s.current is not None:
            out = self._finish("natural-break", now, detail)
        else:
            out.append(Record("natural-break", now, None, detail))
        self._restart_interval(now)
        return out

    def _apply_settings(self, settings: Settings) -> None:
        self._settings = settings
        self._catalogue = settings.catalogue()
        rotation = settings.reminders.exercises
        s = self._s
        if s.next_exercise not in rotation or s.next_exercise not in self._catalogue:
            s.next_exercise, s.rotation_pos = pick_next(rotation, s.last_exercise, 0)
        if s.current is not None and s.current.exercise not in self._catalogue:
            s.current = replace(s.current, exercise=s.next_exercise)

    def _replan(self, now: float) -> None:
        s = self._s
        if s.phase is Phase.WAITING:
            s.due_at = s.cycle_start + self._settings.reminders.interval

    def _restart_interval(self, now: float) -> None:
        s = self._s
        s.phase = Phase.WAITING
        s.pause_until = None
        s.current = None
        s.cycle_start = now
        s.due_at = now + self._settings.reminders.interval

    def _take_id(self) -> int:
        rid = self._s.next_id
        self._s.next_id += 1
        return rid

    def _pick(self) -> None:
        s = self._s
        s.next_exercise, s.rotation_pos = pick_next(
            self._settings.reminders.exercises, s.last_exercise, s.rotation_pos
        )

    def _show(self, now: float) -> list[Action]:
        s = self._s
        assert s.current is not None
        first_show = s.current.shown_at is None or s.phase is Phase.SNOOZED
        s.current = replace(s.current, shown_at=now)
        s.phase = Phase.DUE
        s.notified = True
        if s.current.exercise != s.last_exercise:
            s.last_exercise = s.current.exercise
            self._pick()
        out: list[Action] = [
            Notify(
                s.current,
                self._catalogue[s.current.exercise],
                self._settings.reminders.missed_after,
            )
        ]
        if first_show:
            out.append(Record("shown", now, s.current))
        return out

    def _close_if_shown(self) -> list[Action]:
        if self._s.notified:
            self._s.notified = False
            return [CloseNotification()]
        return []

    def _answer(self, outcome: str, now: float, verb: str) -> list[Action]:
        if self._s.phase not in (Phase.DUE, Phase.SNOOZED) or self._s.current is None:
            raise IllegalEvent(f"nothing to {verb}: no stretch is due")
        out = self._finish(outcome, now, "")
        self._restart_interval(now)
        return out

    def _finish(self, outcome: str, now: float, detail: str) -> list[Action]:
        """Close the current reminder with ``outcome`` and start a fresh interval."""
        s = self._s
        out = self._close_if_shown()
        out.append(Record(outcome, now, s.current, detail))
        self._restart_interval(now)
        return out

    def _tick(self, now: float) -> list[Action]:
        """Whatever has come due by ``now``; at most one reminder is shown per call."""
        s = self._s
        out: list[Action] = []
        if s.phase is Phase.PAUSED and s.pause_until is not None and now >= s.pause_until:
            self._restart_interval(now)
            out.append(Record("resumed", now))
        if s.away_since is not None:
            return out  # due reminders wait until the user is back
        if (
            s.phase is Phase.DUE
            and s.current is not None
            and s.current.shown_at is not None
            and now >= s.current.shown_at + self._settings.reminders.missed_after
        ):
            out.extend(self._finish("missed", now, "no answer"))
        if s.phase in (Phase.WAITING, Phase.SNOOZED) and now >= s.due_at:
            if s.current is None:
                s.current = Reminder(id=self._take_id(), exercise=s.next_exercise, due_at=s.due_at)
            out.extend(self._show(now))
        return out


_Handler = Callable[[BreakCycle, Event, float], list[Action]]
_HANDLERS: dict[type, _Handler] = {
    Start: BreakCycle._on_start,  # type: ignore[dict-item]
    Tick: BreakCycle._on_tick,  # type: ignore[dict-item]
    Accept: BreakCycle._on_accept,  # type: ignore[dict-item]
    Skip: BreakCycle._on_skip,  # type: ignore[dict-item]
    Snooze: BreakCycle._on_snooze,  # type: ignore[dict-item]
    Dismissed: BreakCycle._on_dismissed,  # type: ignore[dict-item]
    StretchNow: BreakCycle._on_stretch_now,  # type: ignore[dict-item]
    Pause: BreakCycle._on_pause,  # type: ignore[dict-item]
    Resume: BreakCycle._on_resume,  # type: ignore[dict-item]
    SetInterval: BreakCycle._on_set_interval,  # type: ignore[dict-item]
    SettingsChanged: BreakCycle._on_settings_changed,  # type: ignore[dict-item]
    Away: BreakCycle._on_away,  # type: ignore[dict-item]
    AwayStarted: BreakCycle._on_away_started,  # type: ignore[dict-item]
    AwayEnded: BreakCycle._on_away_ended,  # type: ignore[dict-item]
}

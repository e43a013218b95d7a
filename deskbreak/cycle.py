"""The break cycle: a pure state machine. Events go in with ``now``; actions come out.

How it works
============

Time is wall-clock seconds since the epoch, always handed in. Nothing here reads a clock,
sleeps, or touches a file, a bus or a screen. The daemon owns one ``BreakCycle``, feeds it
events from one thread, and carries out the actions it returns: it shows and closes
notifications, arms one timer, updates the tray, writes history and settings.

States (``Phase``)::

    WAITING   the interval runs; the next reminder is due at ``due_at``
    DUE       a reminder is on screen since ``shown_at``; it is closed as missed after
              ``missed_after`` without an answer (not while the user follows it in the
              guided window, and not while they are away)
    SNOOZED   the same reminder comes back at ``due_at``
    PAUSED    nothing happens until ``pause_until`` (None: until resumed)
    OFF_DUTY  outside work hours; the interval starts afresh when the work day starts

Transitions (event: from -> to). An event not listed for a state raises ``IllegalEvent``
and leaves the state exactly as it was::

    Start          any       -> WAITING (OFF_DUTY outside work hours)
    Tick           WAITING   -> DUE       due_at has come: shown once, however late;
                                          held instead while the user must not be
                                          disturbed (Busy), at most ``dnd.max_defer``
                   SNOOZED   -> DUE       the snooze has run out (the same reminder)
                   DUE       -> WAITING   missed_after has passed: recorded as missed
                   PAUSED    -> WAITING   pause_until has come: the interval restarts
                   WAITING|SNOOZED -> OFF_DUTY   the work day has ended
                   OFF_DUTY  -> WAITING   the work day has started: a fresh interval
    Accept         DUE|SNOOZED -> WAITING recorded as done; next one an interval later
    Skip           DUE|SNOOZED -> WAITING recorded as skipped (if today's skip budget
                                          allows); next one an interval later
    Snooze(d)      DUE|SNOOZED -> SNOOZED the same reminder returns after d (at most
                                          ``max_snoozes`` times)
    Dismissed      DUE       -> WAITING   closed unanswered: the missed rule
    Begin          DUE       -> DUE       the user started following it (guided window):
                                          it is no longer missed by timeout
    StretchNow     WAITING|SNOOZED|DUE|OFF_DUTY -> DUE   (DUE: shown again)
                   PAUSED    -> DUE       an explicit request ends the pause
    Pause(until)   any       -> PAUSED    a showing or snoozed reminder is recorded as paused
    Resume         PAUSED    -> WAITING   the interval restarts
    SetInterval    any       the pending reminder is re-planned from when the current
                             interval started (not from zero); persisted to settings
    SettingsChanged any      as SetInterval for the interval, without persisting; a new
                             rotation applies from the next pick; work hours at once
    Away(seconds)  the user was away (suspend, lock, idle) for ``seconds`` and is back.
                   At least ``away.natural_break``: recorded as a natural break, any
                   showing or snoozed reminder is closed, and the interval starts afresh.
                   Shorter: nothing is reset; a reminder that came due shows once.
                   A suspend or lock set to "pause-interval": the interval stood still.
                   While an absence goes on (asleep while locked), it is part of it.
    AwayStarted    the user left; nothing comes due or is missed until they return
    AwayEnded      as Away(now - when they left)
    Busy(reason)   the user must not be disturbed: a reminder that comes due is held
    Free           they can be disturbed again: a held reminder shows now
    ClockChanged(s) the wall clock was set by ``s`` seconds while no time passed (the daemon
                   tells a clock set back from a suspend by comparing it with a clock
                   that never jumps). What runs for a length of time (the interval, a
                   snooze, the missed rule, an absence) keeps its length: it moves with the
                   clock. Times of day (a pause until 14:00, the work day, fixed breaks)
                   stay where they are on the clock.

Routines: every ``routines.every``-th reminder (or, with ``routines.every_seconds``, the
first one after that long since the last routine) is the configured routine, a sequence of
exercises answered as one reminder. Routines don't move the single-stretch rotation on.

Budgets: ``max_snoozes`` per reminder and ``skip_budget`` per local day; an answer beyond a
budget is an ``IllegalEvent``. Today's counts (done, skipped) restart at local midnight.

Every handled event ends with ``ArmTimer`` (the next moment the cycle needs a ``Tick``)
and ``ShowStatus`` (a snapshot for the tray and ``status``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import tzinfo

from deskbreak import schedule as sched
from deskbreak.durations import format_duration
from deskbreak.errors import IllegalEvent
from deskbreak.exercises import Exercise, pick_next
from deskbreak.settings import Routine, Settings

# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Start:
    """The daemon has started."""


@dataclass(frozen=True)
class Tick:
    """A timer fired, or the daemon wants the cycle to look at the time."""


@dataclass(frozen=True)
class Accept:
    """The user did the stretch (for a routine: ``completed`` lists what they did)."""

    completed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Skip:
    """The user skipped the stretch."""


@dataclass(frozen=True)
class Snooze:
    """Bring the same stretch back later; ``seconds=None`` means the configured snooze."""

    seconds: int | None = None


@dataclass(frozen=True)
class Dismissed:
    """The notification was closed without an answer."""

    reason: str = "dismissed"


@dataclass(frozen=True)
class Begin:
    """The user started following the stretch (the guided window is open)."""


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
    """The user has left (machine asleep, screen locked, idle past the threshold).

    ``since`` is when they left, if that was before now (idleness is noticed late).
    """

    kind: str = "away"
    since: float | None = None


@dataclass(frozen=True)
class AwayEnded:
    """The user is back."""


@dataclass(frozen=True)
class Busy:
    """The user must not be disturbed (fullscreen window, notifications inhibited)."""

    reason: str


@dataclass(frozen=True)
class Free:
    """The user may be disturbed again."""


@dataclass(frozen=True)
class ClockChanged:
    """The wall clock was set by ``seconds`` (negative: back) while no real time passed."""

    seconds: float


Event = (
    Start
    | Tick
    | Accept
    | Skip
    | Snooze
    | Dismissed
    | Begin
    | StretchNow
    | Pause
    | Resume
    | SetInterval
    | SettingsChanged
    | Away
    | AwayStarted
    | AwayEnded
    | Busy
    | Free
    | ClockChanged
)

# ---------------------------------------------------------------- actions and views


class Phase(enum.Enum):
    WAITING = "waiting"
    DUE = "due"
    SNOOZED = "snoozed"
    PAUSED = "paused"
    OFF_DUTY = "off-duty"


@dataclass(frozen=True)
class Reminder:
    """One reminder, from the moment it is planned until it is answered."""

    id: int
    exercise: str  # the (first) exercise
    due_at: float
    shown_at: float | None = None
    snoozes: int = 0
    routine: str | None = None  # the routine's id, for a routine
    exercises: tuple[str, ...] = ()  # every exercise of a routine, in order
    held: str = ""  # why it was held back, if it was


@dataclass(frozen=True)
class Notify:
    """Show this reminder (replacing any deskbreak notification on screen)."""

    reminder: Reminder
    exercise: Exercise
    timeout: int  # seconds until it counts as missed
    routine: Routine | None = None
    exercises: tuple[Exercise, ...] = ()  # a routine's exercises (else just ``exercise``)

    @property
    def total(self) -> int:
        """How long the whole reminder takes, in seconds."""
        return sum(e.duration for e in self.exercises) or self.exercise.duration


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
    natural-break, paused, resumed or held."""

    kind: str
    at: float
    reminder: Reminder | None = None
    detail: str = ""
    completed: tuple[str, ...] = ()  # exercises done, for a routine


@dataclass(frozen=True)
class PersistSetting:
    """Write one key of the settings file (its text form, as a user would type it)."""

    key: str
    value: str


@dataclass(frozen=True)
class Status:
    """A snapshot of the cycle for the tray, ``status`` and the terminal."""

    state: str  # "waiting" | "due" | "snoozed" | "paused" | "off-duty"
    now: float
    next_at: float | None  # when the next reminder is due (None while due or paused)
    exercise: str  # the current (due, snoozed) or next stretch
    exercise_name: str  # its name, or the routine's name for a routine
    interval: int
    cycle_start: float
    pause_until: float | None
    snoozes: int
    away: bool
    routine: str | None = None  # the current or next reminder's routine id, if a routine
    held: str | None = None  # why a reminder that is due is being held back
    off_duty_until: float | None = None
    in_progress: bool = False  # the user is following the stretch in the guided window
    done_today: int = 0
    skips_today: int = 0
    daily_goal: int = 0
    snooze_allowed: bool = True
    skip_allowed: bool = True
    snooze_note: str = ""  # why snoozing is not allowed
    skip_note: str = ""  # why skipping is not allowed

    @property
    def progress(self) -> float:
        """How much of the interval has passed, 0..1."""
        if self.state == "due":
            return 1.0
        if self.state != "waiting" or self.next_at is None:
            return 0.0
        span = self.next_at - self.cycle_start
        if span <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.now - self.cycle_start) / span))


@dataclass(frozen=True)
class ShowStatus:
    status: Status


Action = Notify | CloseNotification | ArmTimer | Record | PersistSetting | ShowStatus


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
    off_until: float | None = None
    away_since: float | None = None
    away_kinds: tuple[str, ...] = ()
    busy: str | None = None
    next_id: int = 1
    notified: bool = False  # the current reminder is on screen
    in_progress: bool = False
    since_routine: int = 0  # reminders since the last routine
    last_routine_at: float = 0.0
    day: int = 0  # local day of the counters below
    done_today: int = 0
    skips_today: int = 0
    held_recorded: bool = False
    extra: dict[str, float] = field(default_factory=dict)


class BreakCycle:
    """The break cycle. Feed it events with ``handle(event, now)``."""

    def __init__(
        self,
        settings: Settings,
        now: float,
        *,
        first_id: int = 1,
        tz: tzinfo | None = None,
        done_today: int = 0,
        skips_today: int = 0,
        last_exercise: str | None = None,
    ) -> None:
        self._settings = settings
        self._tz = tz
        self._catalogue: Mapping[str, Exercise] = settings.catalogue()
        rotation = settings.reminders.exercises
        # Carry on the rotation after the last stretch shown (before a restart, say).
        after = rotation.index(last_exercise) + 1 if last_exercise in rotation else 0
        first, pos = pick_next(rotation, last_exercise, after)
        self._s = _State(
            phase=Phase.WAITING,
            cycle_start=now,
            due_at=now + settings.reminders.interval,
            current=None,
            next_exercise=first,
            rotation_pos=pos,
            last_exercise=last_exercise,
            next_id=first_id,
            last_routine_at=now,
            day=sched.local_day(now, tz),
            done_today=done_today,
            skips_today=skips_today,
        )
        self._restart_interval(now)

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
        r = self._settings.reminders
        if s.phase in (Phase.WAITING, Phase.SNOOZED):
            next_at: float | None = s.due_at
        else:
            next_at = None
        if s.current is not None:
            ex_id, routine_id = s.current.exercise, s.current.routine
        else:
            ex_id = s.next_exercise
            routine_id = self._settings.routines.routine if self._routine_due(now) else None
        routine = self._routines().get(routine_id) if routine_id else None
        name = routine.name if routine is not None else self._catalogue[ex_id].name
        answering = s.phase in (Phase.DUE, Phase.SNOOZED) and s.current is not None
        snooze_note = self._snooze_refusal() if answering else ""
        skip_note = self._skip_refusal() if answering else ""
        due = s.phase in (Phase.WAITING, Phase.SNOOZED) and now >= s.due_at
        return Status(
            state=s.phase.value,
            now=now,
            next_at=next_at,
            exercise=ex_id,
            exercise_name=name,
            interval=r.interval,
            cycle_start=s.cycle_start,
            pause_until=s.pause_until if s.phase is Phase.PAUSED else None,
            snoozes=s.current.snoozes if s.current is not None else 0,
            away=s.away_since is not None,
            routine=routine_id,
            held=s.busy if due and s.busy is not None else None,
            off_duty_until=s.off_until if s.phase is Phase.OFF_DUTY else None,
            in_progress=s.in_progress,
            done_today=s.done_today,
            skips_today=s.skips_today,
            daily_goal=r.daily_goal,
            snooze_allowed=answering and not snooze_note,
            skip_allowed=answering and not skip_note,
            snooze_note=snooze_note,
            skip_note=skip_note,
        )

    def next_deadline(self) -> float | None:
        """The next moment a ``Tick`` is needed."""
        s = self._s
        if s.phase is Phase.PAUSED:
            return s.pause_until
        if s.phase is Phase.OFF_DUTY:
            return s.off_until
        if s.away_since is not None:
            return None  # nothing comes due or is missed while nobody is there to see it
        if s.phase is Phase.DUE:
            if s.in_progress:
                return None
            assert s.current is not None and s.current.shown_at is not None
            return s.current.shown_at + self._settings.reminders.missed_after
        deadline = s.due_at
        if s.busy is not None and s.held_recorded:
            deadline = s.due_at + self._settings.dnd.max_defer  # held: shown when free, or then
        ends = sched.work_ends(self._settings.schedule, s.cycle_start, self._tz)
        if ends is not None and ends < deadline:
            deadline = ends
        return deadline

    # -- the one entry point

    def handle(self, event: Event, now: float) -> list[Action]:
        handler = _HANDLERS.get(type(event))
        if handler is None:  # pragma: no cover - guarded by the type checker
            raise IllegalEvent(f"unknown event {event!r}")
        self._roll_day(now)
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

    def _on_accept(self, e: Accept, now: float) -> list[Action]:
        self._require_answerable("accept")
        assert self._s.current is not None
        completed = e.completed
        if completed is None:
            completed = self._s.current.exercises or (self._s.current.exercise,)
        self._s.done_today += 1
        return self._finish("done", now, "", completed)

    def _on_skip(self, _e: Skip, now: float) -> list[Action]:
        self._require_answerable("skip")
        refusal = self._skip_refusal()
        if refusal:
            raise IllegalEvent(refusal)
        self._s.skips_today += 1
        return self._finish("skipped", now, "")

    def _on_snooze(self, e: Snooze, now: float) -> list[Action]:
        s = self._s
        self._require_answerable("snooze")
        assert s.current is not None
        refusal = self._snooze_refusal()
        if refusal:
            raise IllegalEvent(refusal)
        seconds = e.seconds if e.seconds is not None else self._settings.reminders.snooze
        if seconds <= 0:
            raise IllegalEvent("a snooze must be longer than zero")
        out: list[Action] = self._close_if_shown()
        s.current = replace(s.current, snoozes=s.current.snoozes + 1)
        s.phase = Phase.SNOOZED
        s.in_progress = False
        s.due_at = now + seconds
        out.append(Record("snoozed", now, s.current, format_duration(seconds)))
        return out

    def _on_dismissed(self, e: Dismissed, now: float) -> list[Action]:
        s = self._s
        if s.phase is not Phase.DUE or s.current is None:
            raise IllegalEvent("no reminder is on screen")
        s.notified = False  # the server already took it away
        return self._finish("missed", now, e.reason)

    def _on_begin(self, _e: Begin, now: float) -> list[Action]:
        s = self._s
        if s.phase is not Phase.DUE or s.current is None:
            raise IllegalEvent("no stretch is due")
        s.in_progress = True
        return []

    def _on_stretch_now(self, _e: StretchNow, now: float) -> list[Action]:
        s = self._s
        if s.phase is Phase.PAUSED:
            s.pause_until = None
            s.phase = Phase.WAITING
        if s.phase is Phase.DUE and s.current is not None:
            return self._show(now)
        if s.current is None:
            s.current = self._new_reminder(now, now)  # a routine, if one is due
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
        reminders = replace(self._settings.reminders, interval=e.seconds)
        self._apply_settings(replace(self._settings, reminders=reminders), now)
        self._replan(now)
        return [PersistSetting("reminders.interval", format_duration(e.seconds))]

    def _on_settings_changed(self, e: SettingsChanged, now: float) -> list[Action]:
        old = self._settings
        self._apply_settings(e.settings, now)
        if e.settings.reminders.interval != old.reminders.interval:
            self._replan(now)
        if e.settings.schedule != old.schedule and self._s.phase in (
            Phase.WAITING,
            Phase.OFF_DUTY,
        ):
            on = sched.on_duty(e.settings.schedule, now, self._tz)
            if on != (self._s.phase is Phase.WAITING):
                self._restart_interval(now)
        return []

    def _on_away(self, e: Away, now: float) -> list[Action]:
        s = self._s
        if s.away_since is not None:
            # Asleep while locked (or idle): part of an absence that goes on. It is counted
            # once, whole, when the user is back.
            if e.kind not in s.away_kinds:
                s.away_kinds = (*s.away_kinds, e.kind)
            return []
        return self._returned(now, e.seconds, (e.kind,))

    def _on_away_started(self, e: AwayStarted, now: float) -> list[Action]:
        s = self._s
        left = now if e.since is None else min(now, e.since)
        if s.away_since is None:
            s.away_since, s.away_kinds = left, ()
        else:
            s.away_since = min(s.away_since, left)
        if e.kind not in s.away_kinds:
            s.away_kinds = (*s.away_kinds, e.kind)
        return []

    def _on_away_ended(self, _e: AwayEnded, now: float) -> list[Action]:
        s = self._s
        if s.away_since is None:
            return []
        since, kinds = s.away_since, s.away_kinds
        s.away_since, s.away_kinds = None, ()
        return self._returned(now, max(0.0, now - since), kinds or ("away",))

    def _on_busy(self, e: Busy, now: float) -> list[Action]:
        self._s.busy = e.reason
        return []

    def _on_free(self, _e: Free, now: float) -> list[Action]:
        self._s.busy = None
        return []

    def _on_clock_changed(self, e: ClockChanged, now: float) -> list[Action]:
        s = self._s
        shift = e.seconds
        s.cycle_start += shift
        s.last_routine_at += shift
        if s.away_since is not None:
            s.away_since += shift
        if s.current is not None:
            shown = s.current.shown_at
            s.current = replace(
                s.current,
                due_at=s.current.due_at + shift,
                shown_at=None if shown is None else shown + shift,
            )
        if s.phase is Phase.WAITING and s.current is None:
            s.due_at = self._due_after(s.cycle_start)  # a fixed break stays at its time of day
        elif s.phase in (Phase.WAITING, Phase.SNOOZED):
            s.due_at += shift
        return []

    # -- helpers

    def _routines(self) -> dict[str, Routine]:
        return self._settings.routines.all()

    def _routine_due(self, now: float) -> bool:
        r = self._settings.routines
        s = self._s
        if r.every > 0 and s.since_routine + 1 >= r.every:
            return True
        return r.every_seconds > 0 and now - s.last_routine_at >= r.every_seconds

    def _require_answerable(self, verb: str) -> None:
        if self._s.phase not in (Phase.DUE, Phase.SNOOZED) or self._s.current is None:
            raise IllegalEvent(f"nothing to {verb}: no stretch is due")

    def _snooze_refusal(self) -> str:
        limit = self._settings.reminders.max_snoozes
        current = self._s.current
        if limit is not None and current is not None and current.snoozes >= limit:
            times = "once" if limit == 1 else f"{limit} times"
            return f"already snoozed {times}, the most allowed for one reminder"
        return ""

    def _skip_refusal(self) -> str:
        budget = self._settings.reminders.skip_budget
        if budget is not None and self._s.skips_today >= budget:
            return "no skips left today" if budget else "skipping is turned off (skip_budget = 0)"
        return ""

    def _roll_day(self, now: float) -> None:
        day = sched.local_day(now, self._tz)
        if day != self._s.day:
            self._s.day = day
            self._s.done_today = 0
            self._s.skips_today = 0

    def _returned(self, now: float, seconds: float, kinds: tuple[str, ...]) -> list[Action]:
        s = self._s
        if s.phase in (Phase.PAUSED, Phase.OFF_DUTY):
            return []
        away = self._settings.away
        modes = {"suspend": away.suspend, "lock": away.lock}
        if all(modes.get(k) == "pause-interval" for k in kinds):
            # The interval stood still while the user was away.
            if s.phase in (Phase.WAITING, Phase.SNOOZED):
                s.cycle_start += seconds
                s.due_at += seconds
                return []
            return self._show(now) if s.phase is Phase.DUE else []
        if seconds < away.natural_break:
            # Nothing is reset. A reminder already on screen is shown again so the user sees
            # it; one that came due meanwhile is shown by _tick, once.
            return self._show(now) if s.phase is Phase.DUE and not s.in_progress else []
        detail = f"{'+'.join(kinds)} {format_duration(seconds)}"
        if s.current is not None:
            return self._finish("natural-break", now, detail)
        self._restart_interval(now)
        return [Record("natural-break", now, None, detail)]

    def _apply_settings(self, settings: Settings, now: float) -> None:
        self._settings = settings
        self._catalogue = settings.catalogue()
        rotation = settings.reminders.exercises
        s = self._s
        if s.next_exercise not in rotation or s.next_exercise not in self._catalogue:
            s.next_exercise, s.rotation_pos = pick_next(rotation, s.last_exercise, 0)
        if s.current is not None:
            gone = [
                e for e in (s.current.exercise, *s.current.exercises) if e not in self._catalogue
            ]
            if gone or (s.current.routine and s.current.routine not in self._routines()):
                s.current = replace(s.current, exercise=s.next_exercise, routine=None, exercises=())

    def _replan(self, now: float) -> None:
        s = self._s
        if s.phase is Phase.WAITING:
            s.due_at = self._due_after(s.cycle_start)

    def _due_after(self, start: float) -> float:
        """When the reminder of an interval starting at ``start`` is due: the interval's end,
        or a fixed-time break before it (unless it comes within half an interval of start)."""
        interval = self._settings.reminders.interval
        due = start + interval
        fixed = sched.next_fixed_break(self._settings.schedule, start, self._tz)
        if fixed is not None and fixed < due and fixed - start >= interval / 2:
            due = fixed
        return due

    def _restart_interval(self, now: float) -> None:
        s = self._s
        s.pause_until = None
        s.current = None
        s.in_progress = False
        s.held_recorded = False
        s.cycle_start = now
        if sched.on_duty(self._settings.schedule, now, self._tz):
            s.phase = Phase.WAITING
            s.off_until = None
            s.due_at = self._due_after(now)
        else:
            s.phase = Phase.OFF_DUTY
            s.off_until = sched.next_start(self._settings.schedule, now, self._tz)
            s.due_at = s.off_until if s.off_until is not None else now

    def _take_id(self) -> int:
        rid = self._s.next_id
        self._s.next_id += 1
        return rid

    def _pick(self) -> None:
        s = self._s
        s.next_exercise, s.rotation_pos = pick_next(
            self._settings.reminders.exercises, s.last_exercise, s.rotation_pos
        )

    def _new_reminder(self, now: float, due_at: float) -> Reminder:
        s = self._s
        if self._routine_due(now):
            routine = self._settings.routine()
            s.since_routine = 0
            s.last_routine_at = now
            return Reminder(
                id=self._take_id(),
                exercise=routine.exercises[0],
                due_at=due_at,
                routine=routine.id,
                exercises=routine.exercises,
            )
        s.since_routine += 1
        return Reminder(id=self._take_id(), exercise=s.next_exercise, due_at=due_at)

    def _show(self, now: float) -> list[Action]:
        s = self._s
        assert s.current is not None
        first_show = s.current.shown_at is None or s.phase is Phase.SNOOZED
        s.current = replace(s.current, shown_at=now)
        s.phase = Phase.DUE
        s.notified = True
        s.held_recorded = False
        s.in_progress = False  # shown as a notification: the missed rule applies again
        if s.current.routine is None and s.current.exercise != s.last_exercise:
            s.last_exercise = s.current.exercise
            self._pick()
        routine = self._routines().get(s.current.routine) if s.current.routine else None
        exercises = tuple(self._catalogue[e] for e in s.current.exercises)
        out: list[Action] = [
            Notify(
                s.current,
                self._catalogue[s.current.exercise],
                self._settings.reminders.missed_after,
                routine,
                exercises,
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

    def _finish(
        self, outcome: str, now: float, detail: str, completed: tuple[str, ...] = ()
    ) -> list[Action]:
        """Close the current reminder with ``outcome`` and start a fresh interval."""
        s = self._s
        out = self._close_if_shown()
        out.append(Record(outcome, now, s.current, detail, completed))
        self._restart_interval(now)
        return out

    def _tick(self, now: float) -> list[Action]:
        """Whatever has come due by ``now``; at most one reminder is shown per call."""
        s = self._s
        out: list[Action] = []
        if s.phase is Phase.PAUSED and s.pause_until is not None and now >= s.pause_until:
            self._restart_interval(now)
            out.append(Record("resumed", now))
        if s.phase is Phase.OFF_DUTY and s.off_until is not None and now >= s.off_until:
            self._restart_interval(now)
        if s.away_since is not None:
            return out  # due reminders wait until the user is back
        if (
            s.phase is Phase.DUE
            and not s.in_progress
            and s.current is not None
            and s.current.shown_at is not None
            and now >= s.current.shown_at + self._settings.reminders.missed_after
        ):
            out.extend(self._finish("missed", now, "no answer"))
        if s.phase in (Phase.WAITING, Phase.SNOOZED) and not sched.on_duty(
            self._settings.schedule, now, self._tz
        ):
            if s.current is not None:
                out.extend(self._finish("missed", now, "the work day ended"))
            else:
                self._restart_interval(now)
            return out
        if s.phase in (Phase.WAITING, Phase.SNOOZED) and now >= s.due_at:
            if s.current is None:
                s.current = self._new_reminder(now, s.due_at)
            if s.busy is not None and now < s.due_at + self._settings.dnd.max_defer:
                if not s.held_recorded:
                    s.held_recorded = True
                    s.current = replace(s.current, held=s.busy)
                    out.append(Record("held", now, s.current, s.busy))
                return out
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
    Begin: BreakCycle._on_begin,  # type: ignore[dict-item]
    StretchNow: BreakCycle._on_stretch_now,  # type: ignore[dict-item]
    Pause: BreakCycle._on_pause,  # type: ignore[dict-item]
    Resume: BreakCycle._on_resume,  # type: ignore[dict-item]
    SetInterval: BreakCycle._on_set_interval,  # type: ignore[dict-item]
    SettingsChanged: BreakCycle._on_settings_changed,  # type: ignore[dict-item]
    Away: BreakCycle._on_away,  # type: ignore[dict-item]
    AwayStarted: BreakCycle._on_away_started,  # type: ignore[dict-item]
    AwayEnded: BreakCycle._on_away_ended,  # type: ignore[dict-item]
    Busy: BreakCycle._on_busy,  # type: ignore[dict-item]
    Free: BreakCycle._on_free,  # type: ignore[dict-item]
    ClockChanged: BreakCycle._on_clock_changed,  # type: ignore[dict-item]
}

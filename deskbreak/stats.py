"""What the history says: counts per local day, a period's summary, the goal streak. Pure.

How it works
============

The history store (``deskbreak.adapters.history``) hands over ``Entry`` rows: one per event
(a reminder shown, snoozed, done, ...), each carrying what is known of its reminder. Everything
here is arithmetic on those rows, the daily goal and a time zone (``tz=None``: the system's
local zone, which is right across DST changes). Nothing reads a clock or a file.

Definitions (the README repeats them for users)::

    day             a local calendar day; an event belongs to the day its time falls on
    reminders       reminders shown, each counted once, on the day it was first shown
                    (a snoozed reminder that comes back is the same reminder)
    done, skipped,  reminders closed that way, on the day they were closed
    missed
    snoozes         every snooze (a reminder snoozed twice counts twice)
    natural breaks  every time the user came back from a break long enough to count,
                    whether or not a reminder was waiting
    paused          reminders closed because the user paused reminders
    completion rate done / (done + skipped + missed): of the reminders the user saw through
                    to an answer or let lapse, the share they did. Reminders closed by a
                    natural break or a pause are left out: the user was away, or said so.
                    None when there is nothing to divide by.
    goal met        done >= daily goal, for a goal above zero
    streak          the run of days that met the goal, counted back from today. Today
                    counts once it is met; until then it does not break the run. A day
                    with no reminder at all (deskbreak was not running: a weekend, a
                    holiday) neither breaks nor extends it. Any other day below the goal
                    ends it.
    top exercises   exercises of the reminders done, most first (each exercise of a
                    routine counts once)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any

DONE = "done"
SKIPPED = "skipped"
MISSED = "missed"
SNOOZED = "snoozed"
SHOWN = "shown"
NATURAL_BREAK = "natural-break"
PAUSED = "paused"
HELD = "held"

# The kinds that close a reminder (its outcome). "held" is an outcome only while nothing
# else has happened to the reminder.
OUTCOMES = (DONE, SKIPPED, MISSED, NATURAL_BREAK, PAUSED)


@dataclass(frozen=True)
class Entry:
    """One event of the history, with what is known of its reminder (if it had one)."""

    at: float  # wall time, seconds since the epoch
    kind: str  # shown, snoozed, done, skipped, missed, natural-break, paused, resumed, held...
    reminder: int | None = None  # the reminder's persistent id
    exercise: str | None = None  # its exercise (the first one of a routine)
    exercises: tuple[str, ...] = ()  # every exercise of the reminder
    routine: str | None = None  # the routine's name, if the reminder was one
    due_at: float | None = None
    shown_at: float | None = None  # when the reminder was first shown
    snoozes: int = 0  # how often the reminder was snoozed, in all
    outcome: str | None = None  # how the reminder ended (None: still open)
    answer_seconds: float | None = None  # for an answer: seconds since it was (last) shown
    detail: str = ""


@dataclass(frozen=True)
class DayCounts:
    """What happened on one local day."""

    day: date
    reminders: int = 0
    done: int = 0
    skipped: int = 0
    missed: int = 0
    snoozes: int = 0
    natural_breaks: int = 0
    paused: int = 0
    held: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.day.isoformat(),
            "reminders": self.reminders,
            "done": self.done,
            "skipped": self.skipped,
            "missed": self.missed,
            "snoozes": self.snoozes,
            "natural_breaks": self.natural_breaks,
            "paused": self.paused,
            "held": self.held,
        }


@dataclass(frozen=True)
class Summary:
    """A period of whole local days, ``first`` to ``last`` inclusive."""

    first: date
    last: date
    days: tuple[DayCounts, ...]  # every day of the period, in order, empty days included
    goal: int
    streak: int
    top_exercises: tuple[tuple[str, int], ...] = field(default=())

    def _total(self, name: str) -> int:
        return sum(getattr(d, name) for d in self.days)

    @property
    def reminders(self) -> int:
        return self._total("reminders")

    @property
    def done(self) -> int:
        return self._total("done")

    @property
    def skipped(self) -> int:
        return self._total("skipped")

    @property
    def missed(self) -> int:
        return self._total("missed")

    @property
    def snoozes(self) -> int:
        return self._total("snoozes")

    @property
    def natural_breaks(self) -> int:
        return self._total("natural_breaks")

    @property
    def paused(self) -> int:
        return self._total("paused")

    @property
    def held(self) -> int:
        return self._total("held")

    @property
    def completion_rate(self) -> float | None:
        return completion_rate(self.done, self.skipped, self.missed)

    @property
    def goal_met_days(self) -> int:
        return sum(1 for d in self.days if met(d, self.goal))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (``deskbreak stats --json``)."""
        rate = self.completion_rate
        return {
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
            "days": len(self.days),
            "reminders": self.reminders,
            "done": self.done,
            "skipped": self.skipped,
            "missed": self.missed,
            "snoozes": self.snoozes,
            "natural_breaks": self.natural_breaks,
            "paused": self.paused,
            "held": self.held,
            "completion_rate": None if rate is None else round(rate, 4),
            "daily_goal": self.goal,
            "goal_met_days": self.goal_met_days,
            "streak": self.streak,
            "top_exercises": [{"exercise": ex, "done": n} for ex, n in self.top_exercises],
            "per_day": [d.as_dict() for d in self.days],
        }


# ---------------------------------------------------------------- days and periods


def local_day(ts: float, tz: tzinfo | None = None) -> date:
    """The local calendar day that wall time ``ts`` falls on."""
    return (datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)).date()


def day_start(day: date, tz: tzinfo | None = None) -> float:
    """Wall time of local midnight at the start of ``day``."""
    midnight = datetime.combine(day, time())
    if tz is None:
        return midnight.timestamp()  # local time via mktime: honours DST
    return midnight.replace(tzinfo=tz).timestamp()


def bounds(first: date, last: date, tz: tzinfo | None = None) -> tuple[float, float]:
    """``(since, until)``: the wall times from the start of ``first`` to the end of ``last``."""
    return day_start(first, tz), day_start(last + timedelta(days=1), tz)


def last_days(now: float, days: int, tz: tzinfo | None = None) -> tuple[date, date]:
    """``(first, last)`` of the ``days`` local days ending with today (the day of ``now``)."""
    if days < 1:
        raise ValueError("a period is at least one day")
    today = local_day(now, tz)
    return today - timedelta(days=days - 1), today


def each_day(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# ---------------------------------------------------------------- counting


@dataclass
class _Day:
    reminders: set[int] = field(default_factory=set)
    counts: Counter[str] = field(default_factory=Counter)


_COUNTED = {
    DONE: "done",
    SKIPPED: "skipped",
    MISSED: "missed",
    SNOOZED: "snoozes",
    NATURAL_BREAK: "natural_breaks",
    HELD: "held",
}


def count_days(
    entries: Iterable[Entry], first: date, last: date, tz: tzinfo | None = None
) -> list[DayCounts]:
    """Counts for every day from ``first`` to ``last``; entries outside are ignored."""
    acc: dict[date, _Day] = {d: _Day() for d in each_day(first, last)}
    for e in entries:
        if e.kind == SHOWN:
            if e.reminder is None:
                continue
            first_shown = e.shown_at if e.shown_at is not None else e.at
            slot = acc.get(local_day(first_shown, tz))
            if slot is not None:
                slot.reminders.add(e.reminder)
            continue
        slot = acc.get(local_day(e.at, tz))
        if slot is None:
            continue
        if e.kind == PAUSED:
            if e.reminder is not None:  # a pause that closed a reminder
                slot.counts["paused"] += 1
        elif e.kind in _COUNTED:
            slot.counts[_COUNTED[e.kind]] += 1
    return [
        DayCounts(
            day=d,
            reminders=len(a.reminders),
            done=a.counts["done"],
            skipped=a.counts["skipped"],
            missed=a.counts["missed"],
            snoozes=a.counts["snoozes"],
            natural_breaks=a.counts["natural_breaks"],
            paused=a.counts["paused"],
            held=a.counts["held"],
        )
        for d, a in acc.items()
    ]


def completion_rate(done: int, skipped: int, missed: int) -> float | None:
    """done / (done + skipped + missed), or None when all three are zero."""
    total = done + skipped + missed
    return done / total if total else None


def met(day: DayCounts, goal: int) -> bool:
    """The day met a daily goal (a goal of zero or less is no goal: never met)."""
    return goal > 0 and day.done >= goal


def streak(days: Sequence[DayCounts], goal: int, today: date) -> tuple[int, bool]:
    """The current goal streak, from ``days`` (consecutive, in order, ending with ``today``).

    Returns ``(length, open)``: ``open`` is True when the run reached the first of ``days``
    without ending, so older days could make it longer (the caller may look further back and
    add the two). With no goal (zero or less) the streak is 0.
    """
    if goal <= 0:
        return 0, False
    length = 0
    for d in reversed(days):
        if d.day > today:
            continue
        if met(d, goal):
            length += 1
        elif d.day == today or (d.reminders == 0 and d.done == 0):
            continue  # today is not over; a day off neither breaks nor extends the run
        else:
            return length, False
    return length, True


def top_exercises(entries: Iterable[Entry], limit: int | None = None) -> list[tuple[str, int]]:
    """Exercises of the reminders done, most first (ties by id), at most ``limit`` of them."""
    counts: Counter[str] = Counter()
    for e in entries:
        if e.kind != DONE:
            continue
        exercises = e.exercises or ((e.exercise,) if e.exercise else ())
        counts.update(exercises)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked if limit is None else ranked[:limit]


def summarize(
    entries: Sequence[Entry],
    first: date,
    last: date,
    *,
    goal: int,
    streak_length: int = 0,
    tz: tzinfo | None = None,
) -> Summary:
    """The summary of the days ``first`` to ``last``. ``entries`` should cover them (more is
    fine). The streak is worked out by the caller (it may need older days: see ``streak``)."""
    since, until = bounds(first, last, tz)
    inside = [e for e in entries if since <= e.at < until]
    return Summary(
        first=first,
        last=last,
        days=tuple(count_days(entries, first, last, tz)),
        goal=goal,
        streak=streak_length,
        top_exercises=tuple(top_exercises(inside)),
    )

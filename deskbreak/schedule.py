"""Work hours and fixed-time breaks, on the local wall clock. Pure: time and zone are passed in.

A work day runs from ``start`` to ``end`` (minutes after local midnight) on each of ``days``.
The default schedule is always on. ``tz=None`` means the system's local zone.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from deskbreak.settings import Schedule

_LOOKAHEAD_DAYS = 8


def _local_date(ts: float, tz: tzinfo | None) -> date:
    return (datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)).date()


def at_minutes(day: date, minutes: int, tz: tzinfo | None) -> float:
    """When the local clock shows ``minutes`` after midnight on ``day`` (1440: next midnight)."""
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
    if tz is None:
        return naive.timestamp()
    return naive.replace(tzinfo=tz).timestamp()


def _periods(schedule: Schedule, now: float, tz: tzinfo | None) -> list[tuple[float, float]]:
    """Work periods (start, end) from yesterday on, in order."""
    first = _local_date(now, tz) - timedelta(days=1)
    out = []
    for offset in range(_LOOKAHEAD_DAYS + 1):
        day = first + timedelta(days=offset)
        if day.weekday() in schedule.days:
            out.append((at_minutes(day, schedule.start, tz), at_minutes(day, schedule.end, tz)))
    return out


def on_duty(schedule: Schedule, now: float, tz: tzinfo | None = None) -> bool:
    if schedule.always_on:
        return True
    return any(start <= now < end for start, end in _periods(schedule, now, tz))


def work_ends(schedule: Schedule, now: float, tz: tzinfo | None = None) -> float | None:
    """When the work period containing ``now`` ends (None: never, or not on duty)."""
    if schedule.always_on:
        return None
    for start, end in _periods(schedule, now, tz):
        if start <= now < end:
            # Back-to-back days (e.g. 00:00-24:00) join into one period.
            nxt = next_start(schedule, end - 0.001, tz)
            return end if nxt is None or nxt > end else work_ends(schedule, end, tz)
    return None


def next_start(schedule: Schedule, now: float, tz: tzinfo | None = None) -> float | None:
    """The first work-day start after ``now`` (None with no work days at all)."""
    for start, _end in _periods(schedule, now, tz):
        if start > now:
            return start
    return None


def next_fixed_break(schedule: Schedule, now: float, tz: tzinfo | None = None) -> float | None:
    """The first fixed-time break after ``now`` on a work day."""
    if not schedule.breaks:
        return None
    first = _local_date(now, tz)
    for offset in range(_LOOKAHEAD_DAYS):
        day = first + timedelta(days=offset)
        if day.weekday() not in schedule.days:
            continue
        for minutes in sorted(schedule.breaks):
            at = at_minutes(day, minutes, tz)
            if at > now:
                return at
    return None


def local_day(ts: float, tz: tzinfo | None = None) -> int:
    """The local calendar day of ``ts`` as an ordinal, for "per day" counters."""
    return _local_date(ts, tz).toordinal()

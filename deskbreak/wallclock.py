"""Local wall-clock arithmetic for people: "until 13:00", "until tomorrow", "at 14:05".

Pure functions of the time handed in. ``tz=None`` means the system's local zone (through the C
library), which is right across DST changes; tests pass a named ``ZoneInfo``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo


def _local(ts: float, tz: tzinfo | None) -> datetime:
    return datetime.fromtimestamp(ts, tz) if tz is not None else datetime.fromtimestamp(ts)


def _stamp(naive: datetime, tz: tzinfo | None) -> float:
    if tz is None:
        return naive.timestamp()  # local time via mktime: honours DST
    return naive.replace(tzinfo=tz).timestamp()


def next_clock_time(now: float, hour: int, minute: int, tz: tzinfo | None = None) -> float:
    """The next moment after ``now`` when the local clock shows ``hour:minute``."""
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise ValueError(f"not a time of day: {hour:02d}:{minute:02d}")
    today = _local(now, tz).replace(tzinfo=None)
    candidate = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if _stamp(candidate, tz) <= now:
        candidate += timedelta(days=1)
    return _stamp(candidate, tz)


def start_of_tomorrow(now: float, tz: tzinfo | None = None) -> float:
    """Local midnight at the start of tomorrow."""
    today = _local(now, tz).replace(tzinfo=None)
    midnight = today.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return _stamp(midnight, tz)


def clock_label(ts: float, now: float, tz: tzinfo | None = None) -> str:
    """ "14:05" today, "Tue 09:00" within a week, "2026-12-01 09:00" beyond."""
    when = _local(ts, tz)
    today = _local(now, tz)
    if when.date() == today.date():
        return when.strftime("%H:%M")
    if abs((when.date() - today.date()).days) < 7:
        return when.strftime("%a %H:%M")
    return when.strftime("%Y-%m-%d %H:%M")


def parse_clock(text: str) -> tuple[int, int]:
    """ "13:00" -> (13, 0); ValueError naming what is allowed."""
    try:
        hh, mm = text.strip().split(":")
        hour, minute = int(hh), int(mm)
    except ValueError:
        raise ValueError(f'expected a time of day like "13:00", got {text!r}') from None
    if not (0 <= hour < 24 and 0 <= minute < 60) or len(mm) != 2:
        raise ValueError(f'expected a time of day like "13:00", got {text!r}')
    return hour, minute

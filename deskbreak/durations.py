"""Durations as people write them in settings and on the command line: "90s", "10m", "1h30m"."""

from __future__ import annotations

import re

_PART = re.compile(r"(\d+)([hms])")
_UNIT = {"h": 3600, "m": 60, "s": 1}
ALLOWED = 'a duration like "90s", "10m" or "1h30m"'


def parse_duration(text: str) -> int:
    """Return the number of seconds in ``text``; raise ValueError with what is allowed.

    Units must come in the order h, m, s, each at most once. Zero is rejected.
    """
    if not isinstance(text, str):
        raise ValueError(f"expected {ALLOWED}, got {text!r}")
    s = text.strip().lower()
    pos = 0
    total = 0
    seen: list[str] = []
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        unit = m.group(2)
        if seen and "hms".index(unit) <= "hms".index(seen[-1]):
            raise ValueError(f"expected {ALLOWED}, got {text!r}")
        seen.append(unit)
        total += int(m.group(1)) * _UNIT[unit]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"expected {ALLOWED}, got {text!r}")
    if total <= 0:
        raise ValueError(f"must be longer than zero ({ALLOWED}), got {text!r}")
    return total


def format_duration(seconds: float) -> str:
    """Format seconds the way settings write them: 2700 -> "45m", 5400 -> "1h30m", 90 -> "1m30s"."""
    total = max(0, round(seconds))
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    out = ""
    if h:
        out += f"{h}h"
    if m:
        out += f"{m}m"
    if s or not out:
        out += f"{s}s"
    return out


def humanize(seconds: float) -> str:
    """A short phrase for people: "23 min", "1 h 5 min", "40 s"; rounds up to the minute."""
    secs = max(0, int(-(-seconds // 1)))
    if secs < 60:
        return f"{secs} s"
    minutes = -(-secs // 60)
    if minutes < 60:
        return f"{minutes} min"
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if m else f"{h} h"

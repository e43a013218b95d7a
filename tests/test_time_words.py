"""Durations as typed by people, and local wall-clock arithmetic across DST."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deskbreak.durations import format_duration, humanize, parse_duration
from deskbreak.views import countdown
from deskbreak.wallclock import clock_label, next_clock_time, parse_clock, start_of_tomorrow

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2h", 7200), ("1h0m5s", 3605), (" 45M ", 2700)],
)
def test_parse_duration_accepts_what_people_write(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "45", "0m", "m", "10x", "1m1h", "5m5m", "-5m", "1.5h", "10 m"]
)
def test_parse_duration_rejects_with_what_is_allowed(text: str) -> None:
    with pytest.raises(ValueError, match=r'"90s", "10m" or "1h30m"'):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(2700, "45m"), (5400, "1h30m"), (90, "1m30s"), (2, "2s")]
)
def test_format_duration_round_trips(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "words"), [(40, "40 s"), (61, "2 min"), (23 * 60, "23 min"), (65 * 60, "1 h 5 min")]
)
def test_humanize(seconds: float, words: str) -> None:
    assert humanize(seconds) == words


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def test_until_tomorrow_is_local_midnight_on_the_day_clocks_go_forward() -> None:
    # 2026-03-29 is the spring-forward day in Berlin: the day has 23 hours.
    now = at("2026-03-28T15:00")
    end = start_of_tomorrow(now, BERLIN)
    assert datetime.fromtimestamp(end, BERLIN).isoformat() == "2026-03-29T00:00:00+01:00"
    after = start_of_tomorrow(end + 1, BERLIN)
    assert after - end == 23 * 3600


def test_until_clock_time_across_fall_back() -> None:
    now = at("2026-10-24T18:00")  # Saturday; Sunday has 25 hours
    end = next_clock_time(now, 13, 0, BERLIN)
    assert (
        datetime.fromtimestamp(end, BERLIN).strftime("%Y-%m-%d %H:%M %z")
        == "2026-10-25 13:00 +0100"
    )
    assert end - now == (19 + 1) * 3600


def test_until_clock_time_later_today() -> None:
    now = at("2026-06-01T09:30")
    assert next_clock_time(now, 13, 0, BERLIN) - now == 3.5 * 3600


def test_clock_label_today_this_week_and_beyond() -> None:
    now = at("2026-06-01T09:30")  # a Monday
    assert clock_label(at("2026-06-01T14:05"), now, BERLIN) == "14:05"
    assert clock_label(at("2026-06-02T09:00"), now, BERLIN) == "Tue 09:00"
    assert clock_label(at("2026-07-01T09:00"), now, BERLIN) == "2026-07-01 09:00"


@pytest.mark.parametrize("text", ["13", "25:00", "12:60", "1:5", "noon"])
def test_parse_clock_rejects(text: str) -> None:
    with pytest.raises(ValueError, match='"13:00"'):
        parse_clock(text)


def test_parse_clock() -> None:
    assert parse_clock("09:05") == (9, 5)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (45, "45 s"),
        (2 * 60 + 1, "3 min"),
        (3 * 60, "3 min"),
        (3 * 60 + 1, "about 5 min"),
        (7 * 60 + 30, "about 5 min"),
        (7 * 60 + 31, "about 10 min"),
        (12 * 60 + 31, "about 15 min"),
        (23 * 60, "about 25 min"),
        (44 * 60 + 55, "about 45 min"),
        (65 * 60, "about 1 h 5 min"),
        (3 * 3600, "about 3 h"),
    ],
)
def test_the_tray_counts_down_by_the_minute_only_for_the_last_three(
    seconds: float, words: str
) -> None:
    assert countdown(seconds) == words

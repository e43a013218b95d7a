"""The history arithmetic (deskbreak.stats): known rows in, known numbers out. Pure."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from deskbreak import stats
from deskbreak.stats import DayCounts, Entry

BERLIN = ZoneInfo("Europe/Berlin")
UTC = ZoneInfo("UTC")


def at(day: date, hour: int, minute: int = 0, tz: ZoneInfo = UTC) -> float:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp()


class Book:
    """Builds entries the way the store would hand them over."""

    def __init__(self, tz: ZoneInfo = UTC) -> None:
        self.tz = tz
        self.entries: list[Entry] = []
        self.next_id = 1

    def reminder(
        self,
        day: date,
        hour: int,
        outcome: str | None,
        *,
        exercise: str = "neck-flexion",
        snoozes: int = 0,
        answer_hour: int | None = None,
        exercises: tuple[str, ...] = (),
    ) -> int:
        rid = self.next_id
        self.next_id += 1
        shown = at(day, hour, tz=self.tz)
        common: dict[str, Any] = dict(
            reminder=rid,
            exercise=exercise,
            exercises=exercises or (exercise,),
            shown_at=shown,
            snoozes=snoozes,
            outcome=outcome,
        )
        self.entries.append(Entry(at=shown, kind="shown", **common))
        t = shown
        for _ in range(snoozes):
            t += 600
            self.entries.append(Entry(at=t, kind="snoozed", **common))
            t += 1
            self.entries.append(Entry(at=t, kind="shown", **common))
        if outcome is not None:
            end = at(day, answer_hour, tz=self.tz) if answer_hour is not None else t + 30
            if answer_hour is not None and answer_hour < hour:
                end += 86400
            self.entries.append(Entry(at=end, kind=outcome, **common))
        return rid

    def event(self, day: date, hour: int, kind: str) -> None:
        self.entries.append(Entry(at=at(day, hour, tz=self.tz), kind=kind))


MON = date(2025, 3, 3)


def test_counts_per_day_for_known_data() -> None:
    b = Book()
    for h in (9, 10, 11):
        b.reminder(MON, h, "done")
    b.reminder(MON, 12, "skipped", snoozes=2)
    b.reminder(MON, 13, "missed")
    b.reminder(MON, 14, "natural-break")
    b.event(MON, 15, "natural-break")  # back from a break with nothing due
    b.reminder(MON, 16, "paused")
    b.event(MON, 16, "paused")  # the pause itself is not a reminder closed
    b.event(MON, 17, "resumed")
    b.reminder(MON + timedelta(days=1), 9, "done")
    days = stats.count_days(b.entries, MON, MON + timedelta(days=2), UTC)
    assert [d.day for d in days] == [MON, MON + timedelta(days=1), MON + timedelta(days=2)]
    assert days[0] == DayCounts(
        day=MON, reminders=7, done=3, skipped=1, missed=1, snoozes=2, natural_breaks=2, paused=1
    )
    assert days[1] == DayCounts(day=MON + timedelta(days=1), reminders=1, done=1)
    assert days[2] == DayCounts(day=MON + timedelta(days=2))  # an empty day is still listed


def test_a_snoozed_reminder_shown_again_counts_once() -> None:
    b = Book()
    b.reminder(MON, 9, "done", snoozes=3)
    (day,) = stats.count_days(b.entries, MON, MON, UTC)
    assert day.reminders == 1 and day.snoozes == 3 and day.done == 1


def test_a_reminder_counts_on_the_day_it_was_first_shown_and_is_done_on_the_next() -> None:
    b = Book()
    b.reminder(MON, 23, "done", answer_hour=1)  # shown 23:00, done 01:00 the next day
    first, second = stats.count_days(b.entries, MON, MON + timedelta(days=1), UTC)
    assert (first.reminders, first.done) == (1, 0)
    assert (second.reminders, second.done) == (0, 1)
    # Looking at the second day only, the reminder is not counted again there.
    (only,) = stats.count_days(b.entries, MON + timedelta(days=1), MON + timedelta(days=1), UTC)
    assert (only.reminders, only.done) == (0, 1)


def test_completion_rate_is_done_over_done_skipped_and_missed() -> None:
    assert stats.completion_rate(3, 1, 0) == 0.75
    assert stats.completion_rate(0, 0, 0) is None
    b = Book()
    b.reminder(MON, 9, "done")
    b.reminder(MON, 10, "missed")
    b.reminder(MON, 11, "natural-break")  # left out: the user was away
    b.reminder(MON, 12, "paused")  # left out: the user paused
    s = stats.summarize(b.entries, MON, MON, goal=8, tz=UTC)
    assert s.completion_rate == 0.5
    assert s.as_dict()["completion_rate"] == 0.5


def days_with(done: list[int], *, reminders: list[int] | None = None) -> list[DayCounts]:
    rem = reminders if reminders is not None else [max(d, 1) for d in done]
    return [
        DayCounts(day=MON + timedelta(days=i), reminders=r, done=d)
        for i, (d, r) in enumerate(zip(done, rem, strict=True))
    ]


def test_streak_counts_back_from_today_over_days_that_met_the_goal() -> None:
    days = days_with([8, 2, 8, 9, 8])
    assert stats.streak(days, 8, days[-1].day) == (3, False)


def test_today_counts_once_met_and_does_not_break_the_streak_before() -> None:
    days = days_with([8, 8, 3])
    today = days[-1].day
    assert stats.streak(days, 8, today) == (2, True)  # today not met (yet): 2, not broken
    met_today = days_with([8, 8, 8])
    assert stats.streak(met_today, 8, today) == (3, True)


def test_a_day_without_reminders_neither_breaks_nor_extends_the_streak() -> None:
    # Fri met, Sat and Sun off (deskbreak not running), Mon met: a streak of 2.
    days = days_with([1, 8, 0, 0, 8], reminders=[1, 8, 0, 0, 8])
    assert stats.streak(days, 8, days[-1].day) == (2, False)
    # A day with reminders but nothing done does break it.
    broken = days_with([8, 0, 8], reminders=[8, 5, 8])
    assert stats.streak(broken, 8, broken[-1].day) == (1, False)


def test_streak_reaching_the_first_day_is_open_and_no_goal_means_no_streak() -> None:
    days = days_with([8, 8])
    assert stats.streak(days, 8, days[-1].day) == (2, True)
    assert stats.streak(days, 0, days[-1].day) == (0, False)
    assert stats.streak([], 8, MON) == (0, True)


def test_summary_totals_goal_days_and_top_exercises() -> None:
    b = Book()
    for h in range(9, 17):  # 8 done on Monday: goal met
        b.reminder(MON, h, "done", exercise="wall-stretch" if h % 2 else "neck-flexion")
    tue = MON + timedelta(days=1)
    b.reminder(tue, 9, "done", exercise="neck-flexion")
    b.reminder(tue, 10, "skipped")
    b.reminder(tue, 11, "done", exercise="warm-up", exercises=("march", "heel-dig", "neck-flexion"))
    s = stats.summarize(b.entries, MON, tue, goal=8, streak_length=1, tz=UTC)
    assert (s.reminders, s.done, s.skipped, s.goal_met_days) == (11, 10, 1, 1)
    # A routine counts each of its exercises.
    assert s.top_exercises[:2] == (("neck-flexion", 6), ("wall-stretch", 4))
    assert ("march", 1) in s.top_exercises
    data = s.as_dict()
    assert data["from"] == "2025-03-03" and data["to"] == "2025-03-04" and data["days"] == 2
    assert data["done"] == 10 and data["streak"] == 1 and data["goal_met_days"] == 1
    assert [d["done"] for d in data["per_day"]] == [8, 2]


def test_entries_outside_the_period_are_left_out() -> None:
    b = Book()
    b.reminder(MON - timedelta(days=1), 9, "done")
    b.reminder(MON, 9, "done")
    b.reminder(MON + timedelta(days=1), 9, "done")
    s = stats.summarize(b.entries, MON, MON, goal=8, tz=UTC)
    assert (s.reminders, s.done) == (1, 1)
    assert s.top_exercises == (("neck-flexion", 1),)


def test_days_follow_the_local_clock_across_dst() -> None:
    spring = date(2024, 3, 31)  # Europe/Berlin: 23 hours long
    since, until = stats.bounds(spring, spring, BERLIN)
    assert until - since == 23 * 3600
    autumn = date(2024, 10, 27)  # 25 hours long
    since, until = stats.bounds(autumn, autumn, BERLIN)
    assert until - since == 25 * 3600
    b = Book(BERLIN)
    b.reminder(autumn, 0, "done")  # 00:00 local
    b.reminder(autumn, 23, "done")  # 23:00 local, 24 hours later in UTC terms
    b.reminder(autumn + timedelta(days=1), 0, "done")
    days = stats.count_days(b.entries, autumn, autumn + timedelta(days=1), BERLIN)
    assert [d.done for d in days] == [2, 1]
    # In UTC the same events split differently (00:00 in Berlin is 22:00 UTC the day before).
    utc_days = stats.count_days(b.entries, autumn - timedelta(days=1), autumn, UTC)
    assert [d.done for d in utc_days] == [1, 2]


def test_last_days_ends_with_today() -> None:
    now = at(MON, 12)
    assert stats.last_days(now, 7, UTC) == (MON - timedelta(days=6), MON)
    assert stats.last_days(now, 1, UTC) == (MON, MON)

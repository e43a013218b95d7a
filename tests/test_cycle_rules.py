"""The cycle's time rules, budgets and routines on a fake clock (no sleeping).

Work hours and DST run in a named zone so the tests mean the same everywhere."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from deskbreak.cycle import (
    Accept,
    Action,
    Away,
    AwayEnded,
    AwayStarted,
    Begin,
    BreakCycle,
    Busy,
    Free,
    Phase,
    Record,
    Skip,
    Snooze,
    Start,
    StretchNow,
    Tick,
)
from deskbreak.errors import IllegalEvent
from deskbreak.settings import Away as AwaySettings
from deskbreak.settings import Dnd, Reminders, Routine, Routines, Schedule, Settings
from tests.cycle_driver import CycleDriver

MIN = 60
HOUR = 3600
BERLIN = ZoneInfo("Europe/Berlin")


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def show(ts: float) -> str:
    return datetime.fromtimestamp(ts, BERLIN).strftime("%a %Y-%m-%d %H:%M")


def settings(**parts: object) -> Settings:
    base = Settings(
        reminders=Reminders(interval=45 * MIN, snooze=10 * MIN, missed_after=5 * MIN),
        routines=Routines(every=0),
    )
    return replace(base, **parts)  # type: ignore[arg-type]


class Rig(CycleDriver):
    def __init__(self, s: Settings | None = None, start: str = "2026-06-01T10:00") -> None:
        super().__init__(s or settings(), local(start), BERLIN)

    def times(self, actions: list[Action]) -> list[str]:
        return [show(n.reminder.shown_at or 0) for n in self.notifies(actions)]


# ---------------------------------------------------------------- budgets


def test_snooze_limit_refuses_and_says_why() -> None:
    r = Rig(settings(reminders=Reminders(interval=45 * MIN, max_snoozes=2)))
    r.run_for(45 * MIN)
    for _ in range(2):
        r.send(Snooze(MIN))
        r.run_for(MIN)
    st = r.cycle.status(r.now)
    assert not st.snooze_allowed
    assert "2 times" in st.snooze_note
    with pytest.raises(IllegalEvent, match="most allowed"):
        r.cycle.handle(Snooze(MIN), r.now)
    assert r.cycle.phase is Phase.DUE
    r.send(Accept())  # answering still works


def test_unlimited_snoozes() -> None:
    r = Rig(settings(reminders=Reminders(interval=45 * MIN, max_snoozes=None)))
    r.run_for(45 * MIN)
    for _ in range(20):
        r.send(Snooze(MIN))
        r.run_for(MIN)
    assert r.cycle.status(r.now).snooze_allowed


def test_skip_budget_is_per_day_and_refills_at_midnight() -> None:
    r = Rig(settings(reminders=Reminders(interval=45 * MIN, skip_budget=1)), "2026-06-01T21:00")
    r.run_for(45 * MIN)
    r.send(Skip())
    r.run_for(45 * MIN)
    st = r.cycle.status(r.now)
    assert not st.skip_allowed and st.skip_note == "no skips left today"
    with pytest.raises(IllegalEvent, match="no skips left today"):
        r.cycle.handle(Skip(), r.now)
    r.send(Accept())  # 22:30
    r.run_for(95 * MIN)  # 23:15 shown and missed; 00:05 shown: a new day, a new budget
    assert r.cycle.phase is Phase.DUE
    assert r.cycle.status(r.now).skip_allowed
    r.send(Skip())


def test_zero_skip_budget_means_no_skipping() -> None:
    r = Rig(settings(reminders=Reminders(interval=45 * MIN, skip_budget=0)))
    r.run_for(45 * MIN)
    assert "turned off" in r.cycle.status(r.now).skip_note


def test_todays_progress_counts_done_and_restarts_each_day() -> None:
    r = Rig(settings(reminders=Reminders(interval=45 * MIN, daily_goal=3)), "2026-06-01T22:00")
    r.cycle = BreakCycle(r.cycle.settings, r.now, tz=BERLIN, done_today=2)
    r.send(Start())
    r.run_for(45 * MIN)
    r.send(Accept())
    st = r.cycle.status(r.now)
    assert (st.done_today, st.daily_goal) == (3, 3)
    r.run_for(2 * HOUR)
    assert r.cycle.status(r.now).done_today == 0


# ---------------------------------------------------------------- routines


def routine_settings(**kw: int) -> Settings:
    routine = Routine("loosen", "Loosen up", ("march-in-place", "neck-flexion"))
    return settings(routines=Routines(routine="loosen", custom=(routine,), **kw))


def test_every_nth_reminder_is_the_routine() -> None:
    r = Rig(routine_settings(every=3))
    names = []
    for _ in range(6):
        [n] = r.notifies(r.run_for(45 * MIN))
        names.append(n.routine.name if n.routine else n.exercise.id)
        r.send(Accept())
    assert names == [
        "wall-stretch",
        "neck-flexion",
        "Loosen up",
        "shoulder-roll",
        "wall-stretch",
        "Loosen up",
    ]


def test_routine_by_duration_comes_after_that_long() -> None:
    r = Rig(routine_settings(every_seconds=2 * HOUR))
    kinds = []
    for _ in range(4):
        [n] = r.notifies(r.run_for(45 * MIN))
        kinds.append(n.routine is not None)
        r.send(Accept())
    # 10:45, 11:31, 12:17 (2h17m after start: the routine), 13:03
    assert kinds == [False, False, True, False]


def test_routine_notification_names_it_and_its_length() -> None:
    r = Rig(routine_settings(every=1))
    [n] = r.notifies(r.run_for(45 * MIN))
    assert n.routine is not None and n.routine.name == "Loosen up"
    assert [e.id for e in n.exercises] == ["march-in-place", "neck-flexion"]
    assert n.total == sum(e.duration for e in n.exercises)
    assert r.cycle.status(r.now).exercise_name == "Loosen up"


def test_status_names_the_routine_before_it_comes() -> None:
    r = Rig(routine_settings(every=2))
    r.run_for(45 * MIN)
    r.send(Accept())
    st = r.cycle.status(r.now)
    assert st.routine == "loosen" and st.exercise_name == "Loosen up"


def test_routine_is_snoozed_and_skipped_as_a_whole() -> None:
    r = Rig(routine_settings(every=1))
    [n] = r.notifies(r.run_for(45 * MIN))
    r.send(Snooze(5 * MIN))
    [again] = r.notifies(r.run_for(5 * MIN))
    assert again.reminder.id == n.reminder.id and again.routine is not None
    r.send(Skip())
    [skipped] = r.records("skipped")
    assert skipped.reminder is not None and skipped.reminder.routine == "loosen"


def test_routine_done_records_the_exercises_done() -> None:
    r = Rig(routine_settings(every=1))
    r.run_for(45 * MIN)
    r.send(Accept(completed=("march-in-place",)))
    [done] = r.records("done")
    assert done.completed == ("march-in-place",)
    assert done.reminder is not None and done.reminder.exercises == (
        "march-in-place",
        "neck-flexion",
    )


def test_routine_does_not_move_the_rotation_on() -> None:
    r = Rig(routine_settings(every=2))
    seen = []
    for _ in range(4):
        [n] = r.notifies(r.run_for(45 * MIN))
        seen.append(n.exercise.id if n.routine is None else "R")
        r.send(Accept())
    assert seen == ["wall-stretch", "R", "neck-flexion", "R"]


def test_routines_off() -> None:
    r = Rig(settings(routines=Routines(every=0, every_seconds=0)))
    for _ in range(10):
        [n] = r.notifies(r.run_for(45 * MIN))
        assert n.routine is None
        r.send(Accept())


# ---------------------------------------------------------------- the guided window


def test_a_stretch_being_followed_is_never_missed() -> None:
    r = Rig()
    r.run_for(45 * MIN)
    r.send(Begin())
    assert r.timer is None
    r.run_for(20 * MIN)
    assert not r.records("missed")
    assert r.cycle.status(r.now).in_progress
    r.send(Accept())
    assert r.records("done")


def test_shown_again_after_a_window_failed_the_missed_rule_applies_again() -> None:
    r = Rig()
    r.run_for(45 * MIN)
    r.send(Begin())
    r.send(StretchNow())  # the window broke: the daemon shows the notification again
    assert not r.cycle.status(r.now).in_progress
    r.run_for(5 * MIN)
    assert r.records("missed")


def test_stretch_now_gives_the_routine_when_one_is_due() -> None:
    r = Rig(routine_settings(every=2))
    r.run_for(45 * MIN)
    r.send(Accept())
    assert r.cycle.status(r.now).routine == "loosen"
    [n] = r.notifies(r.send(StretchNow()))
    assert n.routine is not None and n.routine.id == "loosen"
    r.send(Accept())
    [nxt] = r.notifies(r.run_for(45 * MIN))
    assert nxt.routine is None  # the cadence counted it


def test_rotation_carries_on_after_the_last_stretch_shown() -> None:
    s = settings()
    cycle = BreakCycle(s, local("2026-06-01T10:00"), tz=BERLIN, last_exercise="neck-flexion")
    assert cycle.status(local("2026-06-01T10:00")).exercise == "shoulder-roll"


def test_begin_with_nothing_due_is_illegal() -> None:
    r = Rig()
    with pytest.raises(IllegalEvent):
        r.cycle.handle(Begin(), r.now)


# ---------------------------------------------------------------- work hours


WORK = Schedule(days=(0, 1, 2, 3, 4), start=9 * 60, end=17 * 60 + 30, breaks=())


def test_no_reminders_outside_work_hours_and_a_fresh_interval_each_morning() -> None:
    r = Rig(settings(schedule=WORK), "2026-06-05T16:00")  # a Friday
    fired = r.run_for(3 * 24 * HOUR + 2 * HOUR)  # to Monday 18:00, answering nothing
    times = r.times(fired)
    assert times[0] == "Fri 2026-06-05 16:45"
    assert all(not t.startswith(("Sat", "Sun")) for t in times)
    monday = [t for t in times if t.startswith("Mon")]
    assert monday[0] == "Mon 2026-06-08 09:45"  # an interval after the day started
    assert all("09:45" <= t[-5:] <= "17:30" for t in monday)


def test_off_duty_status_says_until_when() -> None:
    r = Rig(settings(schedule=WORK), "2026-06-06T12:00")  # Saturday
    st = r.cycle.status(r.now)
    assert st.state == "off-duty"
    assert st.off_duty_until is not None and show(st.off_duty_until) == "Mon 2026-06-08 09:00"
    assert r.timer == st.off_duty_until


def test_snoozed_reminder_at_the_end_of_the_day_is_closed_not_carried_over() -> None:
    r = Rig(settings(schedule=WORK), "2026-06-01T16:30")
    r.run_for(45 * MIN)  # 17:15 due
    r.send(Snooze(10 * MIN))  # would come back at 17:25
    r.run_for(30 * MIN)  # 17:45
    assert r.cycle.phase in (Phase.DUE, Phase.OFF_DUTY)
    r.run_for(HOUR)
    assert r.cycle.phase is Phase.OFF_DUTY


def test_fixed_time_break_reminds_at_that_clock_time() -> None:
    s = settings(schedule=replace(WORK, breaks=(12 * 60 + 30,)))
    r = Rig(s, "2026-06-01T11:00")
    times = r.times(r.run_for(2 * HOUR))
    assert times == ["Mon 2026-06-01 11:45", "Mon 2026-06-01 12:30"]


def test_fixed_break_right_after_an_answer_does_not_nag_twice() -> None:
    s = settings(schedule=replace(WORK, breaks=(12 * 60 + 30,)))
    r = Rig(s, "2026-06-01T11:40")
    [n] = r.notifies(r.run_for(45 * MIN))  # 12:25
    r.send(Accept())
    times = r.times(r.run_for(HOUR))
    assert times == ["Mon 2026-06-01 13:10"]  # 12:30 came too soon after; an interval later
    assert n.reminder.shown_at is not None


def test_work_day_on_a_dst_change_day() -> None:
    # 2026-03-29: Berlin springs forward at 02:00. A 09:00-17:30 day is still 8.5 h long.
    s = settings(schedule=Schedule(days=(6,), start=9 * 60, end=17 * 60 + 30))
    r = Rig(s, "2026-03-29T00:30")
    assert r.cycle.phase is Phase.OFF_DUTY
    assert r.timer is not None and show(r.timer) == "Sun 2026-03-29 09:00"
    fired = r.run_for(18 * HOUR)
    times = r.times(fired)
    assert times[0] == "Sun 2026-03-29 09:45"
    assert all(t[-5:] <= "17:30" for t in times)


# ---------------------------------------------------------------- away, suspend, lock


def test_lock_set_to_pause_interval_stands_the_interval_still() -> None:
    r = Rig(settings(away=AwaySettings(lock="pause-interval")))
    r.run_for(20 * MIN)
    r.send(AwayStarted("lock"))
    r.clock.advance(30 * MIN)
    r.send(AwayEnded())
    assert not r.records("natural-break")
    assert r.timer == r.now + 25 * MIN


def test_idle_is_always_a_natural_break_when_long() -> None:
    r = Rig(settings(away=AwaySettings(lock="pause-interval")))
    r.run_for(20 * MIN)
    r.send(AwayStarted("idle"))
    r.clock.advance(6 * MIN)
    r.send(AwayEnded())
    assert len(r.records("natural-break")) == 1
    assert r.timer == r.now + 45 * MIN


def test_idle_noticed_late_counts_from_the_last_input() -> None:
    r = Rig()
    r.run_for(20 * MIN)
    r.send(AwayStarted("idle", since=r.now - 5 * MIN))  # noticed at the 5-minute threshold
    r.clock.advance(2 * MIN)
    out = r.send(AwayEnded())
    [rec] = [a for a in out if isinstance(a, Record)]
    assert rec.kind == "natural-break" and "idle 7m" in rec.detail


def test_custom_natural_break_length() -> None:
    r = Rig(settings(away=AwaySettings(natural_break=15 * MIN)))
    r.run_for(20 * MIN)
    r.send(Away(10 * MIN, "suspend"))
    assert not r.records("natural-break")
    r.send(Away(15 * MIN, "suspend"))
    assert r.records("natural-break")


def test_away_twice_over_counts_from_when_they_first_left() -> None:
    r = Rig()
    r.run_for(10 * MIN)
    r.send(AwayStarted("idle"))
    r.clock.advance(3 * MIN)
    r.send(AwayStarted("lock"))
    r.clock.advance(3 * MIN)
    out = r.send(AwayEnded())
    [rec] = [a for a in out if isinstance(a, Record)]
    assert rec.kind == "natural-break" and "idle+lock 6m" in rec.detail


def test_reminder_due_during_short_suspend_shows_once_on_return() -> None:
    r = Rig()
    r.run_for(42 * MIN)  # due at 45 min, while asleep
    r.send(AwayStarted("suspend"))
    r.clock.jump(3 * MIN)
    r.clock.advance(1 * MIN)
    out = r.send(AwayEnded())
    assert len(r.notifies(out)) == 1
    assert r.notifies(r.send(Tick())) == []


# ---------------------------------------------------------------- do-not-disturb


def test_reminder_due_while_busy_is_held_then_shown_once_when_free() -> None:
    r = Rig()
    r.run_for(40 * MIN)
    r.send(Busy("fullscreen"))
    assert r.notifies(r.run_for(10 * MIN)) == []
    st = r.cycle.status(r.now)
    assert st.held == "fullscreen"
    [held] = r.records("held")
    assert held.detail == "fullscreen" and held.reminder is not None
    out = r.send(Free())
    [n] = r.notifies(out)
    assert n.reminder.held == "fullscreen"
    assert r.cycle.status(r.now).held is None


def test_held_reminder_shows_after_the_maximum_deferral() -> None:
    r = Rig(settings(dnd=Dnd(max_defer=20 * MIN)))
    r.send(Busy("notifications inhibited"))
    assert r.notifies(r.run_for(45 * MIN + 20 * MIN - 1)) == []
    assert len(r.notifies(r.run_for(1))) == 1
    assert len(r.records("held")) == 1


def test_busy_before_due_does_not_delay_the_held_record() -> None:
    r = Rig()
    r.send(Busy("fullscreen"))
    r.run_for(45 * MIN)
    assert len(r.records("held")) == 1
    assert r.records("held")[0].at == r.now


def test_busy_after_it_is_shown_changes_nothing() -> None:
    r = Rig()
    r.run_for(45 * MIN)
    r.send(Busy("fullscreen"))
    assert r.cycle.phase is Phase.DUE
    r.send(Accept())
    assert r.records("done")


def test_stretch_now_is_shown_even_when_busy() -> None:
    r = Rig()
    r.send(Busy("fullscreen"))
    assert len(r.notifies(r.send(StretchNow()))) == 1

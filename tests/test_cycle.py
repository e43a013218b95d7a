"""The break cycle on a fake clock: one behaviour per test, no sleeping."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from deskbreak.cycle import (
    Accept,
    Away,
    AwayEnded,
    AwayStarted,
    CloseNotification,
    Dismissed,
    Event,
    Pause,
    PersistSetting,
    Phase,
    Record,
    Resume,
    SetInterval,
    SettingsChanged,
    Skip,
    Snooze,
    StretchNow,
    Tick,
)
from deskbreak.errors import IllegalEvent
from deskbreak.settings import Reminders, Settings
from tests.cycle_driver import CycleDriver

MIN = 60


def make_settings(**kw: object) -> Settings:
    base = Reminders(interval=45 * MIN, snooze=10 * MIN, missed_after=5 * MIN)
    return Settings(reminders=replace(base, **kw))  # type: ignore[arg-type]


class Harness(CycleDriver):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__(settings or make_settings())


def test_first_reminder_comes_one_interval_after_start() -> None:
    h = Harness()
    assert h.run_for(45 * MIN - 1) == []
    fired = h.run_for(1)
    [n] = h.notifies(fired)
    assert n.reminder.exercise == "wall-stretch"
    assert n.exercise.name
    assert h.cycle.phase is Phase.DUE


def test_notify_carries_the_missed_timeout() -> None:
    h = Harness(make_settings(missed_after=2 * MIN))
    [n] = h.notifies(h.run_for(45 * MIN))
    assert n.timeout == 2 * MIN


def test_accept_plans_the_next_one_interval_later() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    h.run_for(30)
    out = h.send(Accept())
    assert CloseNotification() in out
    assert [r.kind for r in out if isinstance(r, Record)] == ["done"]
    accepted_at = h.now
    assert h.timer == accepted_at + 45 * MIN
    assert h.notifies(h.run_for(45 * MIN - 1)) == []
    assert len(h.notifies(h.run_for(1))) == 1


def test_skip_plans_the_next_one_interval_later_and_records_skipped() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    h.send(Skip())
    assert h.records("skipped")
    assert h.timer == h.now + 45 * MIN


def test_rotation_moves_on_and_never_repeats() -> None:
    h = Harness()
    seen = []
    for _ in range(7):
        [n] = h.notifies(h.run_for(45 * MIN))
        seen.append(n.reminder.exercise)
        h.send(Accept())
    assert seen[:3] == ["wall-stretch", "neck-flexion", "shoulder-roll"]
    assert all(a != b for a, b in itertools.pairwise(seen))


def test_status_names_the_next_stretch_and_its_time() -> None:
    h = Harness()
    st = h.cycle.status(h.now)
    assert st.state == "waiting"
    assert st.exercise == "wall-stretch"
    assert st.next_at == h.now + 45 * MIN
    h.run_for(15 * MIN)
    assert h.cycle.status(h.now).progress == pytest.approx(1 / 3)


def test_snooze_brings_the_same_stretch_back_after_the_snooze() -> None:
    h = Harness()
    [first] = h.notifies(h.run_for(45 * MIN))
    out = h.send(Snooze(5 * MIN))
    assert CloseNotification() in out
    assert h.cycle.phase is Phase.SNOOZED
    assert h.notifies(h.run_for(5 * MIN - 1)) == []
    [again] = h.notifies(h.run_for(1))
    assert again.reminder.exercise == first.reminder.exercise
    assert again.reminder.id == first.reminder.id
    assert again.reminder.snoozes == 1


def test_snooze_without_length_uses_the_configured_snooze() -> None:
    h = Harness(make_settings(snooze=7 * MIN))
    h.run_for(45 * MIN)
    h.send(Snooze())
    assert h.timer == h.now + 7 * MIN


def test_snoozing_does_not_advance_the_rotation() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    h.send(Snooze(MIN))
    h.run_for(MIN)
    h.send(Accept())
    [n] = h.notifies(h.run_for(45 * MIN))
    assert n.reminder.exercise == "neck-flexion"


def test_unanswered_reminder_is_missed_once_and_next_comes_an_interval_later() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    fired = h.run_for(5 * MIN)
    assert [r.kind for r in fired if isinstance(r, Record)] == ["missed"]
    assert CloseNotification() in fired
    missed_at = h.now
    assert h.cycle.phase is Phase.WAITING
    assert h.timer == missed_at + 45 * MIN
    # Left alone for a whole day: one reminder per interval + missed window, never more.
    fired = h.run_for(24 * 60 * MIN)
    assert len(h.notifies(fired)) == (24 * 60) // 50


def test_dismissed_notification_counts_as_missed() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    out = h.send(Dismissed("dismissed"))
    assert [r.kind for r in out if isinstance(r, Record)] == ["missed"]
    assert CloseNotification() not in out  # the server already closed it
    assert h.timer == h.now + 45 * MIN


def test_stretch_now_shows_the_next_stretch_at_once() -> None:
    h = Harness()
    h.run_for(10 * MIN)
    out = h.send(StretchNow())
    [n] = h.notifies(out)
    assert n.reminder.exercise == "wall-stretch"
    h.send(Accept())
    assert h.timer == h.now + 45 * MIN
    [n2] = h.notifies(h.run_for(45 * MIN))
    assert n2.reminder.exercise == "neck-flexion"


def test_stretch_now_while_due_shows_the_same_one_again() -> None:
    h = Harness()
    [n] = h.notifies(h.run_for(45 * MIN))
    [again] = h.notifies(h.send(StretchNow()))
    assert again.reminder.id == n.reminder.id
    assert len(h.records("shown")) == 1


def test_stretch_now_while_snoozed_shows_the_snoozed_stretch() -> None:
    h = Harness()
    [n] = h.notifies(h.run_for(45 * MIN))
    h.send(Snooze(10 * MIN))
    [again] = h.notifies(h.send(StretchNow()))
    assert again.reminder.exercise == n.reminder.exercise


def test_pause_holds_everything_until_its_end_then_the_interval_restarts() -> None:
    h = Harness()
    h.run_for(40 * MIN)
    h.send(Pause(until=h.now + 60 * MIN))
    assert h.cycle.phase is Phase.PAUSED
    assert h.notifies(h.run_for(60 * MIN - 1)) == []
    h.run_for(1)
    assert h.cycle.phase is Phase.WAITING
    resumed_at = h.now
    assert h.timer == resumed_at + 45 * MIN


def test_pause_without_end_holds_until_resume() -> None:
    h = Harness()
    h.send(Pause())
    assert h.timer is None
    assert h.notifies(h.run_for(10 * 60 * MIN)) == []
    h.send(Resume())
    assert h.timer == h.now + 45 * MIN


def test_pause_while_due_closes_the_reminder_and_records_it() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    out = h.send(Pause(until=h.now + 30 * MIN))
    assert CloseNotification() in out
    assert [r.kind for r in out if isinstance(r, Record)] == ["paused", "paused"]
    assert h.cycle.current is None


def test_resume_when_not_paused_is_illegal_and_changes_nothing() -> None:
    h = Harness()
    before = h.cycle.status(h.now)
    with pytest.raises(IllegalEvent, match="not paused"):
        h.cycle.handle(Resume(), h.now)
    assert h.cycle.status(h.now) == before


@pytest.mark.parametrize("event", [Accept(), Skip(), Snooze()])
def test_answering_with_nothing_due_is_illegal_and_changes_nothing(event: Event) -> None:
    h = Harness()
    h.run_for(MIN)
    before = h.cycle.status(h.now)
    with pytest.raises(IllegalEvent, match="no stretch is due"):
        h.cycle.handle(event, h.now)
    assert h.cycle.status(h.now) == before


def test_pause_into_the_past_is_illegal() -> None:
    h = Harness()
    with pytest.raises(IllegalEvent):
        h.cycle.handle(Pause(until=h.now - 1), h.now)
    assert h.cycle.phase is Phase.WAITING


def test_stretch_now_while_paused_ends_the_pause() -> None:
    h = Harness()
    h.send(Pause(until=h.now + 60 * MIN))
    [n] = h.notifies(h.send(StretchNow()))
    assert h.cycle.phase is Phase.DUE
    h.send(Accept())
    assert h.timer == h.now + 45 * MIN
    assert n.reminder.exercise == "wall-stretch"


def test_changing_the_interval_replans_from_when_the_interval_started() -> None:
    h = Harness()
    started = h.now
    h.run_for(10 * MIN)
    out = h.send(SetInterval(20 * MIN))
    assert PersistSetting("reminders.interval", "20m") in out
    assert h.timer == started + 20 * MIN


def test_shortening_the_interval_below_the_elapsed_time_fires_now_once() -> None:
    h = Harness()
    h.run_for(30 * MIN)
    out = h.send(SetInterval(20 * MIN))
    assert len(h.notifies(out)) == 1
    assert h.cycle.phase is Phase.DUE


def test_settings_change_replans_without_persisting() -> None:
    h = Harness()
    started = h.now
    out = h.send(SettingsChanged(make_settings(interval=30 * MIN)))
    assert not [a for a in out if isinstance(a, PersistSetting)]
    assert h.timer == started + 30 * MIN


def test_settings_change_with_new_rotation_applies_from_next_pick() -> None:
    h = Harness()
    h.send(SettingsChanged(make_settings(exercises=("neck-flexion", "shoulder-roll"))))
    [n] = h.notifies(h.run_for(45 * MIN))
    assert n.reminder.exercise == "neck-flexion"


def test_interval_change_while_snoozed_keeps_the_snooze() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    h.send(Snooze(10 * MIN))
    h.send(SetInterval(60 * MIN))
    assert h.timer == h.now + 10 * MIN


def test_short_absence_resets_nothing() -> None:
    h = Harness()
    h.run_for(20 * MIN)
    h.send(Away(2 * MIN, "lock"))
    assert h.timer == h.clock.wall() - 20 * MIN + 45 * MIN
    assert not h.records("natural-break")


def test_long_absence_is_a_natural_break_and_restarts_the_interval() -> None:
    h = Harness()
    h.run_for(20 * MIN)
    out = h.send(Away(10 * MIN, "suspend"))
    [rec] = [r for r in out if isinstance(r, Record)]
    assert rec.kind == "natural-break"
    assert "suspend" in rec.detail
    assert h.timer == h.now + 45 * MIN
    assert h.notifies(out) == []


def test_reminder_due_during_a_short_absence_shows_once_on_return() -> None:
    h = Harness()
    h.run_for(44 * MIN)
    h.clock.jump(3 * MIN)  # slept across the due time; no tick ran meanwhile
    out = h.send(Away(3 * MIN, "suspend"))
    assert len(h.notifies(out)) == 1
    assert len(h.notifies(h.send(Tick()))) == 0


def test_very_long_absence_never_bursts() -> None:
    h = Harness()
    h.clock.jump(3 * 24 * 60 * MIN)
    out = h.send(Away(3 * 24 * 60 * MIN, "suspend"))
    assert h.notifies(out) == []
    assert len(h.records("natural-break")) == 1


def test_reminder_held_while_away_then_shown_once_on_return() -> None:
    h = Harness()
    h.run_for(43 * MIN)
    h.send(AwayStarted("idle"))
    assert h.notifies(h.run_for(4 * MIN)) == []  # due at 45 min, user away
    out = h.send(AwayEnded())
    assert len(h.notifies(out)) == 1


def test_away_past_natural_break_closes_a_due_reminder_as_natural_break() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    h.send(AwayStarted("lock"))
    assert h.timer is None  # nothing is missed while nobody is there to see it
    h.clock.advance(8 * MIN)
    out = h.send(AwayEnded())
    [rec] = [r for r in out if isinstance(r, Record)]
    assert rec.kind == "natural-break"
    assert rec.reminder is not None
    assert CloseNotification() in out
    assert h.notifies(out) == []
    assert not h.records("missed")
    assert h.timer == h.now + 45 * MIN


def test_short_away_while_due_shows_the_reminder_again_on_return() -> None:
    h = Harness()
    [n] = h.notifies(h.run_for(45 * MIN))
    h.send(AwayStarted("lock"))
    h.clock.advance(2 * MIN)
    out = h.send(AwayEnded())
    [again] = h.notifies(out)
    assert again.reminder.id == n.reminder.id
    assert len(h.records("shown")) == 1
    assert h.timer == h.now + 5 * MIN


def test_away_while_paused_changes_nothing() -> None:
    h = Harness()
    h.send(Pause(until=h.now + 60 * MIN))
    h.send(Away(30 * MIN))
    assert h.cycle.phase is Phase.PAUSED


def test_clock_set_back_far_replans_from_now() -> None:
    h = Harness()
    h.run_for(10 * MIN)
    h.clock.jump(-3 * 60 * MIN)
    h.send(Tick())
    assert h.timer == h.now + 45 * MIN


def test_clock_jump_forward_shows_one_reminder_not_a_burst() -> None:
    h = Harness()
    h.clock.jump(5 * 60 * MIN)
    out = h.send(Tick())
    assert len(h.notifies(out)) == 1


def test_record_carries_the_reminder_with_due_and_shown_times() -> None:
    h = Harness()
    h.run_for(45 * MIN)
    due = h.now
    h.run_for(MIN)
    h.send(Accept())
    [done] = h.records("done")
    assert done.reminder is not None
    assert done.reminder.due_at == due
    assert done.reminder.shown_at == due
    assert done.at == due + MIN


def test_reminder_ids_increase() -> None:
    h = Harness()
    ids = []
    for _ in range(3):
        [n] = h.notifies(h.run_for(45 * MIN))
        ids.append(n.reminder.id)
        h.send(Skip())
    assert ids == sorted(set(ids))

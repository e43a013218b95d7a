"""The daemon wired to fake adapters and a fake clock; the settings file is a real TOML file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from deskbreak import cycle as c
from deskbreak.adapters import settings_file
from deskbreak.adapters.dnd import FakeDnd
from deskbreak.adapters.guide_window import FakeGuideWindow
from deskbreak.adapters.history import FakeHistory
from deskbreak.adapters.idle import FakeIdleWatcher
from deskbreak.adapters.notifier import FakeNotifier
from deskbreak.adapters.session import FakeSessionWatcher
from deskbreak.adapters.timer import FakeTimer
from deskbreak.adapters.tray import FakeTray
from deskbreak.clock import FakeClock
from deskbreak.daemon import Daemon, Redraw
from deskbreak.views import next_refresh

MIN = 60
CONFIG = """\
# my settings
[reminders]
# every so often
interval = "45m"   # keep it
snooze = "10m"
"""


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Icons and state go to throwaway folders, never the user's own."""
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


class Rig:
    def __init__(
        self,
        tmp_path: Path,
        text: str = CONFIG,
        *,
        history: FakeHistory | None = None,
        guide_available: bool = True,
        dnd_reason: str | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        self.path = tmp_path / "config.toml"
        self.path.write_text(text)
        self.clock = clock or FakeClock()
        self.notifier: FakeNotifier | None = None
        self.history = history if history is not None else FakeHistory()
        self.guide: FakeGuideWindow | None = None
        self.dnd: FakeDnd | None = None
        self.idle: FakeIdleWatcher | None = None
        self.session: FakeSessionWatcher | None = None

        def make_notifier(on_action, on_closed, log):  # type: ignore[no-untyped-def]
            self.notifier = FakeNotifier(on_action, on_closed)
            return self.notifier

        def make_guide(on_step, on_outcome, log):  # type: ignore[no-untyped-def]
            self.guide = FakeGuideWindow(on_step, on_outcome, guide_available)
            return self.guide

        def make_dnd(on_change):  # type: ignore[no-untyped-def]
            self.dnd = FakeDnd(on_change, dnd_reason)
            return self.dnd

        def make_idle(threshold, left, back, log):  # type: ignore[no-untyped-def]
            self.idle = FakeIdleWatcher(threshold, left, back, log)
            return self.idle

        def make_session(**kw):  # type: ignore[no-untyped-def]
            self.session = FakeSessionWatcher(**kw)
            return self.session

        self.d = Daemon(
            self.path,
            settings_file.load(self.path),
            clock=self.clock,
            make_tray=FakeTray,
            make_notifier=make_notifier,
            make_timer=FakeTimer,
            terminal=False,
            state_dir=tmp_path / "state",
            make_history=lambda log: self.history,
            make_guide=make_guide,
            make_dnd=make_dnd,
            make_idle=make_idle,
            make_session=make_session,
        )
        self.d.start_adapters()
        self.d.dispatch(c.Start())

    @property
    def tray(self) -> FakeTray:
        return self.d.tray  # type: ignore[no-any-return]

    @property
    def shown(self) -> list[str]:
        assert self.notifier is not None
        return [n.title for n in self.notifier.shown]

    def wait(self, seconds: float) -> None:
        """Let time pass; fire the timer whenever it comes due, as the scheduler would, and
        redraw the tray when its words are due to change, as the owning thread would."""
        end = self.clock.wall() + seconds
        timer: FakeTimer = self.d.timer
        while True:
            redraw = self.d.redraw_in()
            moments = [t for t in (timer.armed,) if t is not None]
            if redraw is not None:
                moments.append(self.clock.wall() + max(0.0, redraw))
            if not moments or min(moments) > end:
                break
            at = min(moments)
            self.clock.advance(max(0.0, at - self.clock.wall()))
            if timer.armed is not None and timer.armed <= at:
                timer.armed = None
                timer.fire()
            else:
                self.d.post(Redraw())
            self.d.run_pending()
        self.clock.advance(end - self.clock.wall())

    def click(self, *labels: str) -> None:
        self.tray.click_label(*labels)
        self.d.run_pending()


def test_reminder_is_a_notification_titled_with_the_stretch(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    assert rig.shown == ["Wall stretch"]
    assert rig.notifier is not None
    notice = rig.notifier.shown[-1]
    assert notice.body  # the short instruction
    assert "doctor" in notice.body  # first reminder of a new install: the safety advice
    assert notice.timeout == 5 * MIN
    assert rig.tray.model.state == "due"
    assert rig.tray.model.due


def test_safety_advice_only_on_the_very_first_reminder(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    rig.click("Done")
    rig.wait(45 * MIN)
    assert rig.notifier is not None
    assert "doctor" not in rig.notifier.shown[-1].body


def test_tray_done_then_next_one_interval_later(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    rig.click("Done")
    assert rig.notifier is not None and rig.notifier.closed
    assert rig.tray.model.state == "waiting"
    rig.wait(45 * MIN - 1)
    assert rig.shown == ["Wall stretch"]
    rig.wait(1)
    assert rig.shown == ["Wall stretch", "Neck flexion"]


def test_tray_snooze_brings_the_same_stretch_back(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    rig.click("Snooze", "5 min")
    assert rig.tray.model.state == "snoozed"
    rig.wait(5 * MIN)
    assert rig.shown == ["Wall stretch", "Wall stretch"]


def test_notification_buttons_answer_the_reminder(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    assert rig.notifier is not None
    rig.notifier.press("skip")
    rig.d.run_pending()
    assert rig.tray.model.state == "waiting"
    rig.wait(45 * MIN)
    rig.notifier.press("done")
    rig.d.run_pending()
    assert rig.tray.model.state == "waiting"
    assert rig.shown == ["Wall stretch", "Neck flexion"]


def test_pause_then_resume_from_the_tray(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Pause", "30 min")
    assert rig.tray.model.paused
    assert rig.tray.model.header.startswith("Paused until")
    rig.wait(29 * MIN)
    rig.click("Resume")
    rig.wait(45 * MIN)
    assert rig.shown == ["Wall stretch"]


def test_pause_until_tomorrow_lasts_past_the_evening(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Pause", "Until tomorrow")
    rig.wait(60 * MIN)
    assert rig.shown == []
    rig.wait(25 * 60 * MIN)
    assert rig.shown  # it ended by itself


def test_frequency_from_the_tray_replans_and_saves_only_that_value(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(10 * MIN)
    rig.click("Frequency", "Every 20 min")
    assert rig.tray.model.interval == 20 * MIN
    assert rig.path.read_text() == CONFIG.replace('interval = "45m"', 'interval = "20m"')
    rig.wait(10 * MIN)  # re-planned from when the interval started
    assert rig.shown == ["Wall stretch"]


def test_frequency_creates_the_settings_file_from_the_example(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.path.unlink()
    rig.click("Frequency", "Every 1 h 30 min")
    text = rig.path.read_text()
    assert 'interval = "1h30m"' in text
    assert "# How long to work between breaks." in text
    assert settings_file.load(rig.path).reminders.interval == 90 * MIN


def test_broken_settings_file_is_not_overwritten_by_a_frequency_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rig = Rig(tmp_path)
    rig.path.write_text("[reminders\ninterval = \n")
    with caplog.at_level(logging.WARNING, logger="deskbreak"):
        rig.click("Frequency", "Every 30 min")
    assert rig.path.read_text() == "[reminders\ninterval = \n"
    assert "could not save reminders.interval" in caplog.text
    rig.wait(30 * MIN)  # the change still applies to the running daemon
    assert rig.shown == ["Wall stretch"]


def test_menu_answers_that_no_longer_apply_are_ignored(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.d.on_tray_command("accept", None)  # a stale click: nothing is due
    rig.d.run_pending()
    assert rig.tray.model.state == "waiting"


def test_notifier_that_raises_does_not_stop_reminders(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert rig.notifier is not None

    def boom(_notice: object) -> None:
        raise OSError("the notification server went away")

    rig.notifier.show = boom  # type: ignore[method-assign]
    rig.wait(45 * MIN)
    assert rig.tray.model.state == "due"  # the tray still shows it is due


def test_tooltip_counts_down_roughly_when_far_and_by_the_minute_when_close(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"
    rig.wait(2 * MIN + 1)
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"
    rig.wait(1 * MIN)  # 41:59 left
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 40 min"
    status = rig.d.core.status(rig.clock.wall())
    refresh = next_refresh(status)
    assert refresh is not None and 4 * MIN < refresh - rig.clock.wall() <= 5 * MIN
    rig.wait(37 * MIN)  # 4:59 left
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 5 min"
    rig.wait(2 * MIN)  # 2:59 left
    assert rig.tray.model.tooltip == "Next: Wall stretch in 3 min"
    rig.wait(1 * MIN)
    assert rig.tray.model.tooltip == "Next: Wall stretch in 2 min"
    status = rig.d.core.status(rig.clock.wall())
    refresh = next_refresh(status)
    assert refresh is not None and 0 < refresh - rig.clock.wall() <= MIN


def test_the_tray_words_change_only_when_the_daemon_redraws_them(tmp_path: Path) -> None:
    """Every moment next_refresh names changes the words, and nothing changes in between:
    no redraw is wasted and none is missed, over a whole interval."""
    rig = Rig(tmp_path)
    changes = 0
    shown = rig.tray.model.tooltip
    for _ in range(45 * 60 // 10 - 1):
        status = rig.d.core.status(rig.clock.wall())
        refresh = next_refresh(status)
        rig.wait(10)
        now = rig.clock.wall()
        if rig.tray.model.tooltip != shown:
            changes += 1
            shown = rig.tray.model.tooltip
            assert refresh is not None and refresh <= now
        else:
            assert refresh is None or refresh > now
    assert changes == 11  # about 45 → about 5 min (8), then 3, 2, 1 min (3)


def test_the_owning_thread_waits_for_the_words_and_the_timer_only_for_the_reminder(
    tmp_path: Path,
) -> None:
    """A change of the tray's words is the owning thread's own timeout, not a timer tick: it
    comes only when nothing was queued first, and it leaves the timer where it was."""
    rig = Rig(tmp_path)
    timer: FakeTimer = rig.d.timer
    assert timer.armed == rig.clock.wall() + 45 * MIN  # the reminder, not the words
    wait = rig.d.redraw_in()
    assert wait is not None and wait == 2.5 * MIN  # "about 45 min" turns "about 40 min"
    rig.clock.advance(2.5 * MIN)
    rig.d.post(c.Tick())
    assert isinstance(rig.d._next_item(), c.Tick)  # what is queued comes first
    item = rig.d._next_item()  # nothing queued, and the moment has come: at once
    assert isinstance(item, Redraw)
    rig.d.step(item)
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 40 min"
    assert timer.armed == rig.clock.wall() + 42.5 * MIN
    assert rig.d.redraw_in() == 5 * MIN


def test_quit_from_the_tray_stops_the_loop(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Quit")
    assert rig.d._stopping


def test_sleeping_machine_counts_as_a_natural_break(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(20 * MIN)
    rig.clock.jump(40 * MIN)  # suspended: wall time moved, monotonic did not
    rig.d.post(c.Tick())
    rig.d.run_pending()
    assert rig.shown == []  # no reminder greets the user on return
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"


# ---------------------------------------------------------------- history and budgets


def test_every_answer_is_recorded_in_the_history(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    rig.click("Snooze", "5 min")
    rig.wait(5 * MIN)
    rig.click("Done")
    rig.wait(45 * MIN)
    rig.click("Skip")
    rig.wait(45 * MIN)
    rig.wait(5 * MIN)  # unanswered: missed
    assert rig.history.kinds == [
        "shown",
        "snoozed",
        "shown",
        "done",
        "shown",
        "skipped",
        "shown",
        "missed",
    ]


def test_todays_progress_is_seeded_from_the_history(tmp_path: Path) -> None:
    history = FakeHistory()
    clock = FakeClock()
    for i in range(3):
        reminder = c.Reminder(id=i + 1, exercise="neck-flexion", due_at=clock.wall() - 900)
        history.record("shown", clock.wall() - 900 + i, reminder)
        history.record("done", clock.wall() - 800 + i, reminder)
    rig = Rig(tmp_path, history=history)
    assert rig.tray.model.extra_header == "Today: 3 of 8 stretches"
    rig.wait(45 * MIN)
    rig.click("Done")
    assert rig.tray.model.extra_header == "Today: 4 of 8 stretches"


def test_history_that_cannot_be_written_never_stops_reminders(tmp_path: Path) -> None:
    history = FakeHistory()
    history.fail_writes = True
    rig = Rig(tmp_path, history=history)
    rig.wait(45 * MIN)
    rig.click("Done")
    rig.wait(45 * MIN)
    assert rig.shown == ["Wall stretch", "Neck flexion"]


def test_a_history_notice_is_told_once_at_start(tmp_path: Path) -> None:
    rig = Rig(tmp_path, history=FakeHistory(notice="the history file was damaged; moved aside"))
    rig.d._tell("deskbreak: history", rig.history.notice or "")  # what run() does after Start
    assert rig.notifier is not None
    assert "moved aside" in rig.notifier.shown[-1].body


def test_snooze_budget_disables_the_snooze_items_and_says_why(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CONFIG + "max_snoozes = 1\n")
    rig.wait(45 * MIN)
    rig.click("Snooze", "5 min")
    rig.wait(5 * MIN)
    model = rig.tray.model
    assert not model.snooze_enabled
    assert "most allowed" in model.snooze_note
    with pytest.raises(LookupError):
        rig.click("Snooze", "5 min")
    assert rig.notifier is not None
    rig.notifier.press("snooze")  # the button is refused too
    rig.d.run_pending()
    assert rig.tray.model.state == "due"


def test_skip_budget_disables_skip_for_the_day(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CONFIG + "skip_budget = 1\n")
    rig.wait(45 * MIN)
    rig.click("Skip")
    rig.wait(45 * MIN)
    assert not rig.tray.model.skip_enabled
    assert rig.tray.model.skip_note == "Skip (no skips left today)"


# ---------------------------------------------------------------- routines and the guide


ROUTINE_CONFIG = (
    CONFIG
    + '\n[routines]\nevery = 1\nroutine = "loosen"\n'
    + ('[routine.loosen]\nname = "Loosen up"\nexercises = ["march-in-place", "neck-flexion"]\n')
)


def test_routine_notification_names_it_and_its_length(tmp_path: Path) -> None:
    rig = Rig(tmp_path, ROUTINE_CONFIG)
    rig.wait(45 * MIN)
    assert rig.notifier is not None
    notice = rig.notifier.shown[-1]
    assert notice.title == "Loosen up (2 min)"
    assert "Marching in place" in notice.body and "Neck flexion" in notice.body
    assert rig.tray.model.header == "Now: Loosen up"


def test_start_opens_the_guided_window_and_done_there_is_done(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    assert rig.notifier is not None and rig.guide is not None
    assert [k for k, _ in rig.notifier.shown[-1].actions] == ["start", "done", "snooze", "skip"]
    rig.notifier.press("start")
    rig.d.run_pending()
    assert rig.guide.current is not None
    title, exercises, _start = rig.guide.current
    assert title is None and [e.id for e in exercises] == ["wall-stretch"]
    rig.wait(20 * MIN)  # following the stretch: never missed meanwhile
    assert "missed" not in rig.history.kinds
    rig.guide.answer("done", finished=True)
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "done"
    assert rig.tray.model.state == "waiting"


def test_closing_the_guided_window_early_is_a_skip(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Stretch now")
    assert rig.guide is not None and rig.guide.current is not None
    rig.guide.answer("skipped", finished=False)
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "skipped"


def test_snooze_from_the_guided_window(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Stretch now")
    assert rig.guide is not None
    rig.guide.answer("snoozed")
    rig.d.run_pending()
    assert rig.tray.model.state == "snoozed"


def test_routine_in_the_guided_window_records_the_exercises_done(tmp_path: Path) -> None:
    rig = Rig(tmp_path, ROUTINE_CONFIG)
    rig.wait(45 * MIN)
    rig.d.on_tray_command("start", None)
    rig.d.run_pending()
    assert rig.guide is not None and rig.guide.current is not None
    assert rig.guide.current[0] == "Loosen up"
    rig.guide.answer("done", completed=["march-in-place"])
    rig.d.run_pending()
    kind, _at, reminder, detail = rig.history.records[-1]
    assert kind == "done" and detail == "march-in-place"
    assert reminder.routine == "loosen"


def test_no_tk_means_notifications_only(tmp_path: Path) -> None:
    rig = Rig(tmp_path, guide_available=False)
    rig.wait(45 * MIN)
    assert rig.notifier is not None
    assert [k for k, _ in rig.notifier.shown[-1].actions] == ["done", "snooze", "skip"]
    rig.click("Stretch now")
    assert rig.notifier.shown[-1].title == "Wall stretch"


def test_a_broken_window_falls_back_to_the_notification(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    rig.d.on_tray_command("start", None)
    rig.d.run_pending()
    assert rig.guide is not None and rig.notifier is not None
    before = len(rig.notifier.shown)
    rig.guide.answer("failed")
    rig.d.run_pending()
    assert len(rig.notifier.shown) == before + 1
    assert rig.tray.model.state == "due"


# ---------------------------------------------------------------- away and do-not-disturb


def test_reminder_due_while_busy_is_held_and_shown_when_free(tmp_path: Path) -> None:
    rig = Rig(tmp_path, dnd_reason="a fullscreen window (Slides) is active")
    rig.wait(45 * MIN)
    assert rig.shown == []
    assert rig.tray.model.header.startswith("Held: Wall stretch")
    assert rig.dnd is not None and rig.dnd.watching
    assert rig.history.kinds == ["held"]
    rig.dnd.free()
    rig.d.run_pending()
    assert rig.shown == ["Wall stretch"]


def test_idle_past_the_natural_break_is_a_natural_break(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(30 * MIN)
    assert rig.idle is not None
    rig.idle.leave(idle_for=5 * MIN)
    rig.d.run_pending()
    rig.wait(20 * MIN)  # the reminder falls due while they are away: held
    assert rig.shown == []
    rig.idle.come_back(25 * MIN)
    rig.d.run_pending()
    assert rig.shown == []  # no reminder greets them
    assert "natural-break" in rig.history.kinds
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"


def test_short_idle_shows_the_reminder_on_return(tmp_path: Path) -> None:
    rig = Rig(tmp_path, CONFIG + '\n[away]\nnatural_break = "10m"\n')
    rig.wait(40 * MIN)
    assert rig.idle is not None
    rig.idle.leave(idle_for=MIN)
    rig.d.run_pending()
    rig.wait(6 * MIN)
    assert rig.shown == []
    rig.idle.come_back(7 * MIN)
    rig.d.run_pending()
    assert rig.shown == ["Wall stretch"]


def test_lock_then_unlock(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(10 * MIN)
    assert rig.session is not None
    rig.session.lock()
    rig.d.run_pending()
    rig.wait(50 * MIN)
    assert rig.shown == []
    rig.session.unlock()
    rig.d.run_pending()
    assert "natural-break" in rig.history.kinds


def test_wake_from_suspend_is_noticed_at_once(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(42 * MIN)
    rig.clock.jump(2 * MIN)  # asleep across... not yet due
    rig.clock.jump(2 * MIN)  # ...now past the due time, 4 min asleep
    assert rig.session is not None
    rig.session.wake()
    rig.d.run_pending()
    assert rig.shown == ["Wall stretch"]  # shown once, right away
    assert "natural-break" not in rig.history.kinds


def test_without_logind_the_clocks_are_compared_every_minute(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert rig.session is not None
    rig.session.watching = []
    rig.d.post(c.Tick())
    rig.d.run_pending()
    timer: FakeTimer = rig.d.timer
    assert timer.armed is not None and timer.armed - rig.clock.wall() <= 60


def test_the_rotation_carries_on_after_a_restart(tmp_path: Path) -> None:
    history = FakeHistory()
    first = Rig(tmp_path, history=history)
    first.wait(45 * MIN)
    first.click("Done")  # wall-stretch done; neck-flexion would be next
    second = Rig(tmp_path, history=history, clock=first.clock)  # restarted a moment later
    second.wait(45 * MIN)
    assert second.shown == ["Neck flexion"]

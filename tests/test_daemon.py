"""The daemon wired to fake adapters and a fake clock; the settings file is a real TOML file."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from deskbreak import cycle as c
from deskbreak.adapters import settings_file
from deskbreak.adapters.notifier import FakeNotifier
from deskbreak.adapters.timer import FakeTimer
from deskbreak.adapters.tray import FakeTray
from deskbreak.clock import FakeClock
from deskbreak.daemon import Daemon, next_refresh

MIN = 60
CONFIG = """\
# my settings
[reminders]
# every so often
interval = "45m"   # keep it
snooze = "10m"
"""


class Rig:
    def __init__(self, tmp_path: Path, text: str = CONFIG) -> None:
        self.path = tmp_path / "config.toml"
        self.path.write_text(text)
        self.clock = FakeClock()
        self.notifier: FakeNotifier | None = None

        def make_notifier(on_action, on_closed, log):  # type: ignore[no-untyped-def]
            self.notifier = FakeNotifier(on_action, on_closed)
            return self.notifier

        self.d = Daemon(
            self.path,
            settings_file.load(self.path),
            clock=self.clock,
            make_tray=FakeTray,
            make_notifier=make_notifier,
            make_timer=FakeTimer,
            terminal=False,
            state_dir=tmp_path / "state",
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
        """Let time pass; fire the timer whenever it comes due, as the scheduler would."""
        end = self.clock.wall() + seconds
        timer: FakeTimer = self.d.timer
        while timer.armed is not None and timer.armed <= end:
            self.clock.advance(max(0.0, timer.armed - self.clock.wall()))
            timer.armed = None
            timer.fire()
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


def test_tooltip_counts_down_and_refreshes_once_a_minute(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    assert rig.tray.model.tooltip == "Next: Wall stretch in 45 min"
    rig.wait(2 * MIN + 1)
    assert rig.tray.model.tooltip == "Next: Wall stretch in 43 min"
    status = rig.d.core.status(rig.clock.wall())
    refresh = next_refresh(status)
    assert refresh is not None and 0 < refresh - rig.clock.wall() <= MIN


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
    assert rig.tray.model.tooltip == "Next: Wall stretch in 45 min"

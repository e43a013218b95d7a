"""The buttons on a real reminder: ``deskbreak run`` on Xvfb with dunst, buttons pressed
through dunst's context menu, effects read from ``deskbreak status`` and ``deskbreak events``
(the real command line) and off the bus."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_proc import EventReader
from tests.desktop_harness import Desktop, NotifyRecord, Proc, wait_for

pytestmark = pytest.mark.desktop

CONFIG = """\
[reminders]
interval = "1h"       # reminders come when the test asks for them
snooze = "2s"
missed_after = "10m"  # nothing is missed unless the test makes it so
guide = "notification"  # these tests are about the notification; the window has its own
"""
TITLE = "deskbreak: settings not applied"


class Session:
    def __init__(self, desktop: Desktop, cfg: Path) -> None:
        self.desktop = desktop
        self.cfg = cfg
        self.proc: Proc = desktop.spawn(
            "deskbreak",
            [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(cfg)],
            # A history of its own: the shared desktop's would carry the rotation on.
            env={**desktop.env, "DESKBREAK_HISTORY": str(cfg.parent / "history.sqlite3")},
        )
        wait_for(lambda: self.cli("status").returncode == 0 or self.check(), 20, "the daemon")
        self.events = EventReader(desktop.env, "--json")
        self.events.wait_for_event(lambda e: e["event"] == "status", "the first status")

    def check(self) -> bool:
        assert self.proc.alive(), self.proc.output()
        return False

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deskbreak", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.desktop.env,
            stdin=subprocess.DEVNULL,
        )

    def status(self) -> dict[str, Any]:
        r = self.cli("status", "--json")
        assert r.returncode == 0, r.stderr
        data: dict[str, Any] = json.loads(r.stdout)
        return data

    def ours(self) -> list[NotifyRecord]:
        log = self.desktop.notifications
        assert log is not None
        return [n for n in log.notifies if n.app_name == "deskbreak"]

    def notify(self, number: int) -> NotifyRecord:
        """Our ``number``-th Notify (0-based), once the server has given it an id."""

        def find() -> NotifyRecord | None:
            ours = self.ours()
            return ours[number] if len(ours) > number and ours[number].id else None

        return wait_for(find, 10, f"deskbreak notification number {number + 1}")

    def record(self, kind: str, start: int = 0) -> dict[str, Any]:
        return self.events.wait_for_event(
            lambda e: e["event"] == "record" and e["kind"] == kind,
            f"a {kind!r} record",
            start=start,
        )[1]

    def on_screen(self) -> int:
        return self.desktop.displayed_count()

    def close(self) -> None:
        self.events.close()
        self.proc.terminate()


@pytest.fixture
def session(desktop: Desktop, tmp_path: Path) -> Iterator[Session]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    desktop.reset_notifications()
    s = Session(desktop, cfg)
    yield s
    s.close()


def test_each_button_has_the_effect_of_the_tray_item(session: Session) -> None:
    s = session

    # Done
    assert s.cli("now").returncode == 0
    first = s.notify(0)
    assert first.summary == "Wall stretch"
    assert first.action_pairs == [("done", "Done"), ("snooze", "Snooze"), ("skip", "Skip")]
    s.desktop.press_notification_action("done", first.id)
    done = s.record("done")
    assert done["exercise"] == "wall-stretch"
    wait_for(lambda: s.on_screen() == 0, 10, "the answered reminder to go")
    snap = s.status()
    assert (snap["state"], snap["exercise"]) == ("waiting", "neck-flexion")
    assert snap["next_in"] >= 3590

    # Snooze: the same stretch comes back after the snooze length, by itself.
    mark = len(s.events.lines)
    s.cli("now")
    second = s.notify(1)
    assert second.summary == "Neck flexion"
    s.desktop.press_notification_action("snooze", second.id)
    assert s.record("snoozed", mark)["detail"] == "2s"
    assert s.status()["state"] in ("snoozed", "due")
    again = s.notify(2)
    assert again.summary == "Neck flexion"
    assert again.time - second.time >= 1.5
    assert again.action_keys == ["done", "snooze", "skip"]

    # Skip
    s.desktop.press_notification_action("skip", again.id)
    skipped = s.record("skipped", mark)
    assert skipped["exercise"] == "neck-flexion"
    snap = s.status()
    assert (snap["state"], snap["exercise"]) == ("waiting", "shoulder-roll")

    # Closed unanswered: the missed rule.
    s.cli("now")
    fourth = s.notify(3)
    assert fourth.summary == "Shoulder roll"
    s.desktop.close_notification()
    missed = s.record("missed", mark)
    assert (missed["exercise"], missed["detail"]) == ("shoulder-roll", "dismissed")
    assert s.status()["state"] == "waiting"


def test_only_one_deskbreak_notification_is_on_screen(session: Session) -> None:
    s = session
    s.cli("now")
    first = s.notify(0)
    s.cli("now")  # shown again: it replaces itself
    second = s.notify(1)
    assert second.replaces_id == first.id
    s.desktop.check_alive()
    assert s.on_screen() == 1
    s.desktop.press_notification_action("done", second.id)
    s.record("done")
    wait_for(lambda: s.on_screen() == 0, 10, "the reminder to go")


def test_a_settings_error_is_told_once_and_never_over_a_reminder(session: Session) -> None:
    s = session
    bad = CONFIG.replace('"2s"', "2")
    s.cfg.write_text(bad)
    _, event = s.events.wait_for_event(lambda e: e["event"] == "settings", "the reload")
    where = f"{s.cfg}:3: reminders.snooze"
    assert event["error"].startswith(where)
    notice = s.notify(0)
    assert notice.summary == TITLE
    assert where in notice.body and "last good settings" in notice.body
    assert notice.actions == []
    assert s.status()["settings_error"].startswith(where)

    # The same mistake saved again: no second notification.
    mark = len(s.events.lines)
    s.cfg.write_text(bad)
    s.events.wait_for_event(lambda e: e["event"] == "settings", "the second look", start=mark)
    assert s.cli("status").returncode == 0  # a round trip: anything it would show, it has
    assert [n.summary for n in s.ours()] == [TITLE]

    # Fixed: the notice goes, the status is clear.
    s.cfg.write_text(CONFIG.replace('"2s"', '"3s"'))
    wait_for(lambda: s.status()["snooze"] == 3, 5, "the fix to apply")
    assert s.status()["settings_error"] is None
    wait_for(lambda: s.on_screen() == 0, 10, "the settings notice to go")

    # A mistake while a reminder is on screen waits until the reminder is answered: the
    # reminder keeps its buttons.
    s.cli("now")
    reminder = s.notify(1)
    assert reminder.summary == "Wall stretch"
    mark = len(s.events.lines)
    s.cfg.write_text(bad)
    s.events.wait_for_event(
        lambda e: e["event"] == "settings" and e["error"], "the error", start=mark
    )
    assert s.cli("status").returncode == 0
    assert [n.summary for n in s.ours()] == [TITLE, "Wall stretch"]
    s.desktop.press_notification_action("done", reminder.id)
    s.record("done", mark)
    told = s.notify(2)
    assert told.summary == TITLE and where in told.body
    # Closing that notice changes nothing.
    s.desktop.close_notification()
    wait_for(lambda: s.on_screen() == 0, 10, "the settings notice to go")
    assert s.status()["state"] == "waiting"
    assert s.proc.alive()

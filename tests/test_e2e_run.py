"""The whole loop for real: ``deskbreak run`` on Xvfb with its own session bus, dunst and a
StatusNotifierItem host. Reminders are read off the bus; the menu is clicked over dbusmenu."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.desktop_harness import Desktop, NotifyRecord, wait_for

pytestmark = pytest.mark.desktop

CONFIG = """\
# deskbreak settings for the end-to-end test
[reminders]
interval = "2s"   # short, so the test runs in seconds
snooze = "4s"

[away]
idle = false   # nobody uses the test desktop's keyboard: never take that for being away
"""


def start_daemon(desktop: Desktop, cfg: Path) -> tuple[object, str]:
    proc = desktop.spawn(
        "deskbreak",
        [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(cfg)],
        # A history of its own: the shared desktop's would carry the rotation on.
        env={**desktop.env, "DESKBREAK_HISTORY": str(cfg.parent / "history.sqlite3")},
    )
    item = desktop.wait_for_sni_item(proc.pid)
    return proc, item


def next_notify(desktop: Desktop, after: int, timeout: float = 10.0) -> NotifyRecord:
    """The first deskbreak Notify after the first ``after`` ones."""
    log = desktop.notifications
    assert log is not None

    def find() -> NotifyRecord | None:
        ours = [n for n in log.notifies if n.app_name == "deskbreak"]
        return ours[after] if len(ours) > after else None

    return wait_for(find, timeout, f"deskbreak notification number {after + 1}")


def test_reminders_arrive_and_the_tray_menu_controls_them(desktop: Desktop, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    desktop.reset_notifications()
    proc, item = start_daemon(desktop, cfg)
    try:
        first = next_notify(desktop, 0)
        assert first.summary == "Wall stretch"
        assert first.body
        assert first.action_keys == ["start", "done", "snooze", "skip"]

        # The tray's menu follows the notification a moment later: wait for it.
        menu = desktop.wait_for_menu(item, lambda m: m.labels()[:1] == ["Now: Wall stretch"])
        labels = menu.labels()
        for wanted in ("Stretch now", "Done", "Snooze", "Skip", "Pause", "Frequency"):
            assert wanted in labels, labels
        assert "Open settings file" in labels and "Quit" in labels
        assert labels[0].startswith("Now: Wall stretch")
        assert labels[1] == "Today: 0 of 8 stretches"
        snooze_menu = menu.find("Snooze")
        assert snooze_menu is not None
        assert snooze_menu.labels() == ["4 s", "5 min", "10 min", "15 min"]

        # Snooze: the same stretch comes back after the snooze length, not the interval.
        desktop.menu_click(item, ("Snooze", "4 s"))
        again = next_notify(desktop, 1)
        assert again.summary == "Wall stretch"
        assert again.time - first.time >= 3.5

        # Done: the next stretch of the rotation one interval later. Each click waits for
        # the menu of the state it means: a menu rebuilt in between has new item ids.
        desktop.wait_for_menu(item, lambda m: m.labels()[:1] == ["Now: Wall stretch"])
        desktop.menu_click(item, ("Done",))
        nxt = next_notify(desktop, 2)
        assert nxt.summary == "Neck flexion"

        # Skip: also moves on.
        desktop.wait_for_menu(item, lambda m: m.labels()[:1] == ["Now: Neck flexion"])
        desktop.menu_click(item, ("Skip",))
        third = next_notify(desktop, 3)
        assert third.summary == "Shoulder roll"

        # Frequency: saved in the settings file, only that value, comments kept.
        desktop.wait_for_menu(item, lambda m: m.labels()[:1] == ["Now: Shoulder roll"])
        desktop.menu_click(item, ("Frequency", "Every 20 min"))
        wait_for(lambda: 'interval = "20m"' in cfg.read_text(), 10, "the new interval on disk")
        assert cfg.read_text() == CONFIG.replace('interval = "2s"', 'interval = "20m"')

        desktop.wait_for_menu(
            item, lambda m: (f := m.find("Frequency")) is not None and "Every 2 s" not in f.labels()
        )
        desktop.menu_click(item, ("Quit",))
        assert proc.popen.wait(timeout=15) == 0  # type: ignore[attr-defined]
        wait_for(lambda: item not in desktop.sni_items(), 10, "the item to leave the watcher")
    finally:
        proc.terminate()  # type: ignore[attr-defined]

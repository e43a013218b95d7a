"""Every tray menu entry of a real ``deskbreak run``, clicked over dbusmenu, does its job.

What each click did is read from the outside: the reminders on the bus (and when they came),
the menu and the icon as the tray host sees them, the settings file, the exit code.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from deskbreak.icon import GREY, ORANGE, TEAL
from deskbreak.wallclock import clock_label
from tests.desktop_harness import (
    Desktop,
    count_pixels,
    sni_has_icon,
    sni_icon,
    sni_icon_id,
    sni_tooltip,
)
from tests.e2e_daemon import RunningDaemon, settings_text

pytestmark = pytest.mark.desktop

ON_TIME = 1.0  # a reminder comes within this many seconds of its due time
EARLY = 0.05  # the bus monitor may stamp a message this much before the cause it follows

DUE_MENU = [
    "Stretch now",
    "Done",
    "Snooze",
    "Skip",
    "Pause",
    "Frequency",
    "Open settings file",
    "Quit",
]
WAITING_MENU = ["Stretch now", "Pause", "Frequency", "Open settings file", "Quit"]
PAUSED_MENU = ["Stretch now", "Resume", "Frequency", "Open settings file", "Quit"]


def assert_on_time(at: float, due_from: float, due_to: float) -> None:
    """``at`` falls in [due_from, due_to + ON_TIME] (the due time is known to that range)."""
    assert due_from - EARLY <= at < due_to + ON_TIME, (
        f"came {at - due_from:+.3f} s after the earliest due time "
        f"(due between {due_from:.3f} and {due_to:.3f})"
    )


def test_done_snooze_skip_and_stretch_now(desktop: Desktop, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1s", snooze="3s"))
    desktop.reset_notifications()
    log = desktop.notifications
    assert log is not None
    daemon = RunningDaemon(desktop, cfg)
    try:
        first = daemon.notify(0)
        assert first.summary == "Wall stretch"
        menu = daemon.wait_for_header("Now: Wall stretch")
        assert daemon.entries(menu) == DUE_MENU
        header = menu.children[0]
        assert not header.enabled  # a line to read, not to click
        snooze = menu.find("Snooze")
        assert snooze is not None and snooze.labels() == ["3 s", "5 min", "10 min", "15 min"]
        pause = menu.find("Pause")
        assert pause is not None and pause.labels() == [
            "30 min",
            "1 hour",
            "2 hours",
            "Until tomorrow",
        ]
        frequency = menu.find("Frequency")
        assert frequency is not None
        assert [(c.label, c.toggle_type, c.toggle_state) for c in frequency.children] == [
            ("Every 1 s", "radio", 1),
            ("Every 20 min", "radio", 0),
            ("Every 30 min", "radio", 0),
            ("Every 45 min", "radio", 0),
            ("Every 1 hour", "radio", 0),
            ("Every 1 h 30 min", "radio", 0),
        ]

        # Snooze: the notification goes away and the same stretch comes back after the
        # snooze length (3 s), not the interval (1 s).
        before, after = daemon.click("Snooze", "3 s")
        log.wait(lambda: first.id in log.close_calls, what="the reminder to be closed")
        daemon.wait_for_header("Snoozed: Wall stretch")
        again = daemon.notify(1)
        assert again.summary == "Wall stretch"
        assert_on_time(again.time, before + 3, after + 3)

        # Done: the next stretch of the rotation, one interval after the answer.
        daemon.wait_for_header("Now: Wall stretch")
        before, after = daemon.click("Done")
        log.wait(lambda: again.id in log.close_calls, what="the reminder to be closed")
        nxt = daemon.notify(2)
        assert nxt.summary == "Neck flexion"
        assert_on_time(nxt.time, before + 1, after + 1)

        # Skip: also the next stretch, one interval later.
        daemon.wait_for_header("Now: Neck flexion")
        before, after = daemon.click("Skip")
        third = daemon.notify(3)
        assert third.summary == "Shoulder roll"
        assert_on_time(third.time, before + 1, after + 1)

        # Stretch now, while one is due: shown again at once, the same stretch.
        daemon.wait_for_header("Now: Shoulder roll")
        before, after = daemon.click("Stretch now")
        shown_again = daemon.notify(4)
        assert shown_again.summary == "Shoulder roll"
        assert_on_time(shown_again.time, before, after)
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_stretch_now_while_waiting_shows_the_next_stretch_at_once(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1h30m"))
    desktop.reset_notifications()
    daemon = RunningDaemon(desktop, cfg)
    try:
        menu = daemon.wait_for_header("Next: Wall stretch at ")
        assert daemon.entries(menu) == WAITING_MENU
        before, after = daemon.click("Stretch now")
        shown = daemon.notify(0)
        assert shown.summary == "Wall stretch"
        assert_on_time(shown.time, before, after)
        daemon.wait_for_header("Now: Wall stretch")
    finally:
        daemon.stop()


def test_pause_silences_reminders_and_resume_restarts_the_interval(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1s"))
    desktop.reset_notifications()
    log = desktop.notifications
    assert log is not None
    daemon = RunningDaemon(desktop, cfg)
    try:
        first = daemon.notify(0)
        daemon.wait_for_header("Now: Wall stretch")
        before, after = daemon.click("Pause", "30 min")
        # The reminder on screen is taken away, and the menu says until when.
        log.wait(lambda: first.id in log.close_calls, what="the reminder to be closed")
        until = {clock_label(t + 1800, t) for t in (before, after + 1)}
        menu = daemon.wait_for_header("Paused until ")
        assert menu.labels()[0] in {f"Paused until {u}" for u in until}, menu.labels()
        assert daemon.entries(menu) == PAUSED_MENU
        # Nothing comes for well over two intervals.
        daemon.assert_no_notify_until(after + 2.5, count=1)

        before, after = daemon.click("Resume")
        nxt = daemon.notify(1)
        assert nxt.summary == "Neck flexion"
        assert_on_time(nxt.time, before + 1, after + 1)
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_frequency_is_saved_with_the_comments_and_replans_the_next_reminder(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    text = settings_text(interval="1h30m")
    cfg.write_text(text)
    daemon = RunningDaemon(desktop, cfg)

    def next_at(started: float, seconds: int) -> set[str]:
        # The interval began within a second after the log line that says it started.
        return {
            f"Next: Wall stretch at {clock_label(started + seconds + d, started)}" for d in (0, 1)
        }

    try:
        started = daemon.logged_at("deskbreak started")
        menu = daemon.wait_for_header("Next: Wall stretch at ")
        assert menu.labels()[0] in next_at(started, 5400), menu.labels()
        assert sni_tooltip(daemon.properties()) == "Next: Wall stretch in about 1 h 30 min"

        daemon.click("Frequency", "Every 20 min")
        desktop.wait_for(
            lambda: 'interval = "20m"' in cfg.read_text(), what="the new interval in the file"
        )
        # Only that value changed: every comment and every other line is as it was.
        assert cfg.read_text() == text.replace('interval = "1h30m"', 'interval = "20m"')
        # The pending reminder now comes 20 min after the interval began, not 90.
        menu = daemon.wait_for_menu(
            lambda m: m.labels()[0] in next_at(started, 1200), "the menu to name the new time"
        )
        frequency = menu.find("Frequency")
        assert frequency is not None
        checked = [c.label for c in frequency.children if c.toggle_state == 1]
        assert checked == ["Every 20 min"]
        desktop.wait_for(
            lambda: sni_tooltip(daemon.properties()) == "Next: Wall stretch in about 20 min",
            what="the tooltip to say 20 min",
        )
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_the_tooltip_counts_down_while_nothing_else_happens(
    desktop: Desktop, tmp_path: Path
) -> None:
    """Only time passes: the daemon redraws the tray's words by itself when they change,
    "in 2 min" to "in 1 min" as the last minute begins (5 s after the start here)."""
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1m5s"))
    daemon = RunningDaemon(desktop, cfg)
    try:
        daemon.wait_for_header("Next: Wall stretch at ")
        started = daemon.logged_at("deskbreak started")
        desktop.wait_for(
            lambda: sni_tooltip(daemon.properties()) == "Next: Wall stretch in 1 min",
            timeout=20,
            what="the tooltip to say 1 min",
        )
        assert time.time() - started >= 4.5  # not before the words were true
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_open_settings_file_creates_it_and_hands_it_to_the_desktop(
    desktop: Desktop, tmp_path: Path
) -> None:
    # A stand-in for the desktop's opener records what it was asked to open.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    opener = bin_dir / "xdg-open"
    opener.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> "{opened}"\n')
    opener.chmod(opener.stat().st_mode | stat.S_IXUSR)
    cfg = tmp_path / "settings" / "config.toml"  # not there yet: the defaults apply
    env = {"PATH": f"{bin_dir}{os.pathsep}{desktop.env['PATH']}"}
    daemon = RunningDaemon(desktop, cfg, env=env)
    try:
        daemon.wait_for_header("Next: ")
        daemon.click("Open settings file")
        desktop.wait_for(opened.exists, what="the settings file to be handed to xdg-open")
        desktop.wait_for(lambda: opened.read_text().endswith("\n"), what="xdg-open to finish")
        assert opened.read_text().splitlines() == [str(cfg)]
        # It was created from the commented example, so there is something to edit.
        assert cfg.read_text().lstrip().startswith("#")
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_quit_exits_cleanly_and_takes_the_icon_and_the_reminder_away(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1s"))
    desktop.reset_notifications()
    log = desktop.notifications
    assert log is not None
    daemon = RunningDaemon(desktop, cfg)
    try:
        shown = daemon.notify(0)
        daemon.wait_for_header("Now: ")
        daemon.click("Quit")
        assert daemon.wait_exit() == 0
        # Closed by deskbreak on its way out (the monitor may see it a moment later).
        log.wait(lambda: shown.id in log.close_calls, what="the reminder to be closed")
        desktop.wait_for(
            lambda: daemon.item not in desktop.sni_items(), what="the item to leave the watcher"
        )
        assert "deskbreak stopped" in daemon.output()
        assert "Traceback" not in daemon.output()
    finally:
        daemon.stop()


# -- the icon ------------------------------------------------------------------------------


def colour_share(props: dict[str, Any], colour: tuple[int, ...], tolerance: int = 40) -> float:
    """Share of the visible pixels of the item's icon that are near ``colour``."""
    rgba = sni_icon(props)
    pixels = cast(list[tuple[int, int, int, int]], list(rgba.get_flattened_data()))
    visible = [px for px in pixels if px[3] > 200]
    near = [
        px
        for px in visible
        if max(abs(a - b) for a, b in zip(px[:3], colour[:3], strict=True)) <= tolerance
    ]
    return len(near) / max(1, len(visible))


def tray_pixels(desktop: Desktop) -> dict[str, int]:
    """Pixels of the tray host's window: not background, and near each state's colour."""
    box = desktop.tray_window_box()
    shot = desktop.screenshot()
    return {
        "drawn": count_pixels(shot, box),
        "teal": count_pixels(shot, box, TEAL[:3]),
        "orange": count_pixels(shot, box, ORANGE[:3]),
        "grey": count_pixels(shot, box, GREY[:3], tolerance=12),
    }


def wait_for_tray(desktop: Desktop, wanted: Callable[[dict[str, int]], bool], what: str) -> None:
    """Wait until the tray host's pixels satisfy ``wanted`` (it may be mid-redraw before)."""
    seen: list[dict[str, int]] = []

    def check() -> bool:
        seen.append(tray_pixels(desktop))
        return wanted(seen[-1])

    try:
        desktop.wait_for(check, what=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the tray showed {seen[-1] if seen else 'nothing'}") from None


def test_the_icon_shows_waiting_due_and_paused_in_the_tray_host(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    # A tray host of its own, so that its pixels can only be this daemon's icon.
    # gtk-sni-tray handles each update on a thread of its own, and an icon update that is
    # handled after the item's removal adds the widget back. Then an icon of an earlier
    # test's daemon stays in the shared host after that daemon has left the watcher.
    desktop = desktop_factory()
    wait_for_tray(desktop, lambda p: p["drawn"] == 0, "an empty tray before deskbreak starts")
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1h30m"))
    daemon = RunningDaemon(desktop, cfg)
    try:
        daemon.wait_for_header("Next: ")
        waiting = desktop.wait_for(
            lambda: sni_has_icon(p := daemon.properties()) and p, what="the icon"
        )
        assert waiting["Status"] == "Active"
        assert colour_share(waiting, TEAL) > 0.05
        assert colour_share(waiting, ORANGE) == 0
        wait_for_tray(
            desktop,
            lambda p: p["teal"] >= 10 and p["drawn"] >= 100 and p["orange"] == 0,
            "the teal waiting icon in the tray host",
        )

        daemon.click("Stretch now")
        daemon.notify(0)
        due = desktop.wait_for(
            lambda: sni_icon_id(p := daemon.properties()) != sni_icon_id(waiting) and p,
            what="the icon to change when a stretch is due",
        )
        assert colour_share(due, ORANGE) > 0.5
        wait_for_tray(
            desktop,
            lambda p: p["orange"] >= 100 and p["teal"] == 0,
            "the orange due icon in the tray host",
        )

        daemon.wait_for_header("Now: ")
        daemon.click("Pause", "1 hour")
        paused = desktop.wait_for(
            lambda: (
                sni_icon_id(p := daemon.properties())
                not in (
                    sni_icon_id(waiting),
                    sni_icon_id(due),
                )
                and p
            ),
            what="the icon to change when paused",
        )
        assert colour_share(paused, GREY, tolerance=12) > 0.2
        assert colour_share(paused, ORANGE) == 0
        assert colour_share(paused, TEAL) == 0
        wait_for_tray(
            desktop,
            lambda p: p["grey"] >= 100 and p["orange"] == 0 and p["teal"] == 0,
            "the grey paused icon in the tray host",
        )
    finally:
        daemon.stop()

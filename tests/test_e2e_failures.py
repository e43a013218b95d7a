"""A real ``deskbreak run`` when parts of the desktop are missing, die or come late.

Each test builds the desktop it needs (no notification server, no tray host, only an
XEmbed tray) or breaks the shared one on purpose, and checks what a user would notice:
reminders still come (or come back), the tray still answers, one clear warning is logged,
and the process ends cleanly.
"""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deskbreak.icon import ORANGE, TEAL
from tests.desktop_harness import WATCHER_NAME, WATCHER_PATH, Desktop, count_pixels
from tests.e2e_daemon import RunningDaemon, settings_text

pytestmark = pytest.mark.desktop

WARNING = "Cannot show desktop notifications"
STILL_NOT_SHOWN = "notification still not shown"
BACK = "Desktop notifications work again."
INTERVAL = 2.0
ON_TIME = 1.0


def answer_from_the_tray(daemon: RunningDaemon, now_showing: str, next_one: str) -> None:
    """Click Done on the stretch the tray shows as due; the tray then names the next one."""
    daemon.wait_for_header(f"Now: {now_showing}")
    daemon.click("Done")
    daemon.wait_for_header(f"Next: {next_one} at ")


def test_without_a_notification_server_it_warns_once_and_recovers(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    desktop = desktop_factory(dunst=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="2s"))
    daemon = RunningDaemon(desktop, cfg)
    try:
        # Two reminders come due and cannot be shown; the tray keeps working throughout.
        answer_from_the_tray(daemon, "Wall stretch", "Neck flexion")
        daemon.wait_for_header("Now: Neck flexion")
        daemon.wait_for_log(STILL_NOT_SHOWN)
        assert daemon.log_count(WARNING) == 1, daemon.output()
        warning = next(line for line in daemon.output().splitlines() if WARNING in line)
        assert "WARNING" in warning and "no notification server is running" in warning
        assert daemon.notifies() == []
        daemon.assert_alive()

        # A notification server starts: the next reminder is shown.
        desktop.start_dunst()
        answer_from_the_tray(daemon, "Neck flexion", "Shoulder roll")
        shown = daemon.notify(0)
        assert shown.summary == "Shoulder roll"
        assert shown.action_keys == ["done", "snooze", "skip"]
        desktop.wait_for(lambda: desktop.displayed_count() == 1, what="dunst to show it")
        daemon.wait_for_log(BACK)
        assert daemon.log_count(WARNING) == 1
    finally:
        daemon.stop()


def test_when_the_notification_server_dies_and_comes_back(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    desktop = desktop_factory()
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="2s"))
    daemon = RunningDaemon(desktop, cfg)
    try:
        first = daemon.notify(0)
        assert first.summary == "Wall stretch"
        assert daemon.log_count(WARNING) == 0

        desktop.stop_dunst()  # killed while the reminder is on screen
        answer_from_the_tray(daemon, "Wall stretch", "Neck flexion")
        daemon.wait_for_header("Now: Neck flexion")
        daemon.wait_for_log(WARNING)
        answer_from_the_tray(daemon, "Neck flexion", "Shoulder roll")
        daemon.wait_for_header("Now: Shoulder roll")
        daemon.wait_for_log(STILL_NOT_SHOWN)
        assert daemon.log_count(WARNING) == 1, daemon.output()
        assert len(daemon.notifies()) == 1
        daemon.assert_alive()

        desktop.start_dunst()
        answer_from_the_tray(daemon, "Shoulder roll", "Wall stretch")
        back = daemon.notify(1)
        assert back.summary == "Wall stretch"
        desktop.wait_for(lambda: desktop.displayed_count() == 1, what="dunst to show it")
        daemon.wait_for_log(BACK)
        assert daemon.log_count(WARNING) == 1
    finally:
        daemon.stop()


def test_without_a_tray_host_it_notifies_and_the_icon_registers_when_one_starts(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    desktop = desktop_factory(sni=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="2s"))
    daemon = RunningDaemon(desktop, cfg, wait_for_item=False)
    try:
        first = daemon.notify(0)
        assert first.summary == "Wall stretch"
        daemon.assert_alive()

        desktop.start_sni_host()
        daemon.wait_for_item()
        # The late icon is a full one: it shows the current state and its menu works.
        daemon.wait_for_header("Now: Wall stretch")
        before, after = daemon.click("Done")
        nxt = daemon.notify(1)
        assert nxt.summary == "Neck flexion"
        assert before + INTERVAL - 0.05 <= nxt.time < after + INTERVAL + ON_TIME
        tray = desktop.tray_window_box()
        desktop.wait_for(
            lambda: count_pixels(desktop.screenshot(), tray, ORANGE[:3]) >= 100,
            what="the due icon drawn in the tray host",
        )
    finally:
        daemon.stop()


class SlowWatcher:
    """A StatusNotifierWatcher that owns its bus name before it serves its object.

    Real watchers can do that (status-notifier-watcher does, for a moment): an item that
    registers the instant the name appears gets an UnknownObject error. ``ready()`` makes
    it serve; after that it records every RegisterStatusNotifierItem call.
    """

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.conn = open_dbus_connection(bus=address)
        self.registrations: list[tuple[str, str]] = []  # (sender, path) once ready
        self.refused = 0  # calls answered with UnknownObject before ready()
        self._ready = threading.Event()
        self._cond = threading.Condition()
        reply = self.conn.send_and_get_reply(message_bus.RequestName(WATCHER_NAME))
        assert reply.body == (1,)  # primary owner
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def ready(self) -> None:
        self._ready.set()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_error, new_method_return

        try:
            while True:
                msg = self.conn.receive()
                if msg.header.message_type is not MessageType.method_call:
                    continue
                fields = msg.header.fields
                member = fields.get(HeaderFields.member)
                reply: Any
                if not self._ready.is_set() or fields.get(HeaderFields.path) != WATCHER_PATH:
                    with self._cond:
                        self.refused += 1
                        self._cond.notify_all()
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownObject")
                elif member == "RegisterStatusNotifierItem":
                    with self._cond:
                        self.registrations.append((fields.get(HeaderFields.sender), msg.body[0]))
                        self._cond.notify_all()
                    reply = new_method_return(msg)
                elif member == "Get" and msg.body[1] == "RegisteredStatusNotifierItems":
                    with self._cond:
                        items = [f"{sender}{path}" for sender, path in self.registrations]
                    reply = new_method_return(msg, "v", (("as", items),))
                else:
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")
                self.conn.send(reply)
        except (OSError, ValueError):
            pass

    def wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, timeout):
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")

    def stop(self) -> None:
        self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.conn.close()


def test_an_item_refused_by_a_watcher_still_starting_registers_once_it_serves(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    desktop = desktop_factory(sni=False)
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1h30m"))  # no state change to hide the fault
    daemon = RunningDaemon(desktop, cfg, wait_for_item=False)
    watcher: SlowWatcher | None = None
    try:
        daemon.wait_for_log("deskbreak started")
        watcher = SlowWatcher(desktop.bus_address)
        watcher.wait(lambda: watcher.refused > 0, 10, "the item to try to register")
        watcher.ready()
        watcher.wait(lambda: bool(watcher.registrations), 10, "the item to register again")
        sender, path = watcher.registrations[0]
        assert desktop.name_pid(sender) == daemon.pid
        # deskbreak's own item, like pystray's AppIndicator, registers its object path.
        assert path.startswith("/")
        daemon.assert_alive()
    finally:
        daemon.stop()
        if watcher is not None:
            watcher.stop()


def docked_icon_box(desktop: Desktop) -> tuple[int, int, int, int] | None:
    """(left, top, right, bottom) of deskbreak's XEmbed icon once trayer gave it its size."""
    windows = desktop.find_windows(wm_class="deskbreak", visible=True)
    if len(windows) != 1:
        return None
    x, y, w, h = desktop.window_geometry(windows[0])
    return (x, y, x + w, y + h) if min(w, h) >= 16 else None


def shows(desktop: Desktop, colour: tuple[int, ...], least: int) -> bool:
    """Whether the docked icon shows at least ``least`` pixels near ``colour`` on screen."""
    box = docked_icon_box(desktop)
    if box is None:
        return False
    return count_pixels(desktop.screenshot(), box, colour[:3]) >= least


def test_with_only_an_xembed_tray_the_icon_docks_and_deskbreak_says_what_is_missing(
    desktop_factory: Callable[..., Desktop], tmp_path: Path
) -> None:
    desktop = desktop_factory(sni=False, trayer=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1h30m"))
    daemon = RunningDaemon(desktop, cfg, env={"PYSTRAY_BACKEND": "xorg"}, wait_for_item=False)
    try:
        daemon.wait_for_log("tray backend 'xorg': no menu")
        warning = next(line for line in daemon.output().splitlines() if "no menu" in line)
        assert "WARNING" in warning and "notification buttons" in warning
        assert "AppIndicator" in warning
        desktop.wait_for(lambda: shows(desktop, TEAL, 15), what="the teal icon docked")

        # Its one action, left-click: a stretch now, and the icon turns orange.
        box = desktop.wait_for(lambda: docked_icon_box(desktop), what="the icon's box")
        centre = ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)
        desktop.run(["xdotool", "mousemove", *map(str, centre), "click", "1"])
        shown = daemon.notify(0)
        assert shown.summary == "Wall stretch"
        desktop.wait_for(lambda: shows(desktop, ORANGE, 150), what="the orange due icon")

        # The notification's buttons stand in for the menu.
        desktop.press_notification_action("done", shown.id)
        desktop.wait_for(lambda: shows(desktop, TEAL, 15), what="the teal icon again")
        assert not shows(desktop, ORANGE, 1)
        daemon.assert_alive()
    finally:
        daemon.stop()


def test_sigterm_while_a_reminder_shows_exits_cleanly_and_closes_it(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="2s"))
    desktop.reset_notifications()
    log = desktop.notifications
    assert log is not None
    daemon = RunningDaemon(desktop, cfg)
    try:
        shown = daemon.notify(0)
        desktop.wait_for(lambda: desktop.displayed_count() == 1, what="dunst to show it")
        daemon.signal(signal.SIGTERM)
        assert daemon.wait_exit() == 0
        # Closed by deskbreak on its way out (the monitor may see it a moment later).
        log.wait(lambda: shown.id in log.close_calls, what="the reminder to be closed")
        log.wait_for_signal("NotificationClosed", shown.id, 3)  # closed by a call
        desktop.wait_for(lambda: desktop.displayed_count() == 0, what="dunst to show nothing")
        desktop.wait_for(
            lambda: daemon.item not in desktop.sni_items(), what="the item to leave the watcher"
        )
        out = daemon.output()
        assert "stopping: SIGTERM" in out and "deskbreak stopped" in out
        assert "Traceback" not in out
    finally:
        daemon.stop()

"""The test desktop itself: it must see what a user would see, and let tests act like one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from tests.desktop_harness import (
    NOTIFICATIONS_NAME,
    SYSTEM_TRAY_SELECTION,
    WATCHER_NAME,
    Desktop,
    DesktopError,
    Proc,
    count_pixels,
    strip_mnemonic,
)

pytestmark = pytest.mark.desktop

ICON_RGB = (230, 20, 20)

# A minimal tray program; pystray is imported only in this child process (it opens the
# display at import time).
TRAY_PROGRAM = f"""
import pystray
from PIL import Image

def say(text):
    def callback(icon, item):
        print(text, flush=True)
    return callback

menu = pystray.Menu(
    pystray.MenuItem("Hello", say("clicked hello")),
    pystray.MenuItem("Snooze", pystray.Menu(
        pystray.MenuItem("10 min", say("clicked snooze 10")),
        pystray.MenuItem("30 min", say("clicked snooze 30")),
    )),
    pystray.MenuItem("Pause", say("clicked pause"), checked=lambda item: True),
    pystray.Menu.SEPARATOR,
    pystray.MenuItem("Quit", lambda icon, item: icon.stop()),
)
icon = pystray.Icon("probe", Image.new("RGB", (64, 64), {ICON_RGB}), "Probe title", menu)

def setup(icon):
    icon.visible = True
    print("ready", flush=True)

icon.run(setup)
print("stopped", flush=True)
"""


def start_tray_program(desktop: Desktop, tmp_path: Path):
    script = tmp_path / "tray_program.py"
    script.write_text(TRAY_PROGRAM)
    return desktop.spawn(
        "tray-program", [sys.executable, str(script)], env={"PYSTRAY_BACKEND": "appindicator"}
    )


def test_notification_with_actions_is_recorded_and_a_button_can_be_pressed(desktop: Desktop):
    desktop.reset_notifications()
    sender = desktop.spawn(
        "notify-send",
        [
            "notify-send",
            "--app-name=probe-app",
            "--icon=dialog-information",
            "--expire-time=45000",
            "--hint=string:desktop-entry:probe",
            "--action=snooze=Snooze",
            "--action=done=Done",
            "Time to stretch",
            "Roll your shoulders",
        ],
    )
    record = desktop.notifications.wait_for_notify(lambda n: n.app_name == "probe-app")

    assert record.summary == "Time to stretch"
    assert record.body == "Roll your shoulders"
    assert record.app_icon == "dialog-information"
    assert record.actions == ["snooze", "Snooze", "done", "Done"]
    assert record.action_pairs == [("snooze", "Snooze"), ("done", "Done")]
    assert record.hints["desktop-entry"] == "probe"
    assert record.expire_timeout == 45000
    assert record.replaces_id == 0
    assert record.id is not None and record.id > 0
    desktop.wait_for(lambda: desktop.displayed_count() == 1, what="dunst to show it")

    # "done" is the second line of the menu: the picker really chooses, not just line one.
    desktop.press_notification_action("done")
    invoked = desktop.notifications.wait_for_signal("ActionInvoked", id=record.id)
    assert invoked.arg == "done"
    assert sender.wait_for_output("done").split() == ["done"]
    assert [s.arg for s in desktop.notifications.action_invoked()] == ["done"]


def test_dismissing_and_expiry_are_seen_with_their_reasons(desktop: Desktop):
    desktop.reset_notifications()
    desktop.run(["notify-send", "--app-name=probe-dismiss", "Dismiss me", ""])
    shown = desktop.notifications.wait_for_notify(lambda n: n.app_name == "probe-dismiss")
    desktop.close_notification()
    closed = desktop.notifications.wait_for_signal("NotificationClosed", id=shown.id)
    assert closed.arg == 2  # dismissed by the user

    desktop.run(["notify-send", "--app-name=probe-expire", "--expire-time=800", "Brief", ""])
    brief = desktop.notifications.wait_for_notify(lambda n: n.app_name == "probe-expire")
    expired = desktop.notifications.wait_for_signal("NotificationClosed", id=brief.id)
    assert expired.arg == 1  # expired
    assert expired.time - brief.time >= 0.7


def test_tray_icon_registers_and_its_menu_can_be_clicked(desktop: Desktop, tmp_path: Path):
    program = start_tray_program(desktop, tmp_path)
    program.wait_for_output("ready")
    item = desktop.wait_for_sni_item(program.pid)

    props = desktop.sni_properties(item)
    assert props["Title"] == "Probe title"
    assert props["Status"] == "Active"
    assert props["IconName"]

    menu = desktop.menu_layout(item)
    assert menu.labels() == ["Hello", "Snooze", "Pause", "Quit"]
    snooze = menu.find("Snooze")
    assert snooze is not None and snooze.labels() == ["10 min", "30 min"]
    pause = menu.find("Pause")
    assert pause is not None and pause.toggle_type == "checkmark" and pause.toggle_state == 1

    desktop.menu_click(item, ("Snooze", "30 min"))
    program.wait_for_output("clicked snooze 30")
    desktop.menu_click(item, ("Hello",))
    output = program.wait_for_output("clicked hello")
    assert "clicked snooze 10" not in output

    with pytest.raises(AssertionError, match="no menu entry 'Later'"):
        desktop.menu_click(item, ("Later",))

    desktop.menu_click(item, ("Quit",))
    program.wait_for_output("stopped")
    assert program.popen.wait(timeout=10) == 0
    desktop.wait_for(lambda: desktop.sni_item_of(program.pid) is None, what="the item to go")


def test_screenshot_shows_the_icon_in_the_tray(desktop: Desktop, tmp_path: Path):
    box = desktop.tray_window_box()
    desktop.wait_for(
        lambda: count_pixels(desktop.screenshot(), box, ICON_RGB) == 0,
        what="a tray without a red icon",
    )
    program = start_tray_program(desktop, tmp_path)
    desktop.wait_for_sni_item(program.pid)

    red = desktop.wait_for(
        lambda: count_pixels(desktop.screenshot(), box, ICON_RGB) >= 200,
        what="the red icon to be drawn in the tray window",
    )
    assert red

    program.terminate()
    desktop.wait_for(
        lambda: count_pixels(desktop.screenshot(), box, ICON_RGB) == 0,
        what="the icon to leave the tray when its program ends",
    )


def test_variant_desktop_without_dunst_and_with_trayer(desktop_factory):
    d = desktop_factory(dunst=False, sni=False, trayer=True)
    assert d.selection_owner(SYSTEM_TRAY_SELECTION)
    # No notification server, and none is started by bus activation behind our back.
    assert not d.name_has_owner(NOTIFICATIONS_NAME)
    assert not d.name_has_owner(WATCHER_NAME)
    result = d.run(["notify-send", "nobody listens"], check=False)
    assert result.returncode != 0
    assert not d.name_has_owner(NOTIFICATIONS_NAME)
    assert d.env["DISPLAY"] == d.display
    assert Path(d.env["XDG_RUNTIME_DIR"]).stat().st_mode & 0o777 == 0o700
    assert "WAYLAND_DISPLAY" not in d.env


def test_stop_kills_every_process_it_started(desktop_factory):
    d = desktop_factory(dunst=True, sni=True, trayer=True)
    procs = [p.popen for p in d.procs]
    assert len(procs) == 6  # Xvfb, dbus-daemon, dunst, watcher, SNI host, trayer
    d.stop()
    assert all(p.poll() is not None for p in procs)


class DesktopWithBrokenTray(Desktop):
    """Fails to start its tray host, after Xvfb, the bus and dunst are up."""

    def __init__(self) -> None:
        super().__init__()
        self.started: list[Proc] = []

    def spawn(self, name, argv, env=None, pass_fds=()):
        proc = super().spawn(name, argv, env, pass_fds)
        self.started.append(proc)
        return proc

    def _start_sni_host(self) -> None:
        proc = self.spawn("broken-watcher", ["sh", "-c", "echo cannot start >&2; exit 3"])
        self.wait_for_name(WATCHER_NAME, proc, timeout=5)


def test_a_start_failing_halfway_stops_what_it_started():
    d = DesktopWithBrokenTray()
    try:
        with pytest.raises(DesktopError, match="broken-watcher exited with 3") as failure:
            d.start()
        assert "cannot start" in str(failure.value)  # the component's log is in the message
        assert [p.name for p in d.started] == ["xvfb", "dbus-daemon", "dunst", "broken-watcher"]
        assert all(not p.alive() for p in d.started)
    finally:
        shutil.rmtree(d.root, ignore_errors=True)


@pytest.mark.parametrize(
    ("label", "plain"), [("_Snooze", "Snooze"), ("__init__", "_init_"), ("Plain", "Plain")]
)
def test_strip_mnemonic(label: str, plain: str):
    assert strip_mnemonic(label) == plain

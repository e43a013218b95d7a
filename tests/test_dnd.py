"""Do-not-disturb sources against the real things: a fullscreen window on Xvfb, a
notification server's Inhibited property (a stand-in on a private bus), dunst's pause (the
real dunst) and GNOME's show-banners (gsettings with a keyfile backend)."""

from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deskbreak.adapters.dnd import (
    NOTIFICATIONS,
    NOTIFICATIONS_PATH,
    DndMonitor,
    FullscreenSource,
    GnomeBannersSource,
    InhibitedSource,
    create_dnd_monitor,
)
from tests.desktop_harness import Desktop, wait_for
from tests.fake_bus import PrivateBus, StubService

log = logging.getLogger("test-dnd")


class Reports:
    def __init__(self) -> None:
        self.seen: list[str | None] = []
        self._lock = threading.Lock()

    def __call__(self, reason: str | None) -> None:
        with self._lock:
            self.seen.append(reason)


# --------------------------------------------------------------------------- fullscreen on X


class Screen:
    """Windows on an X server with no window manager; the test plays the window manager's
    part by setting the EWMH properties itself."""

    def __init__(self, display: str) -> None:
        from Xlib import display as xdisplay

        self.d = xdisplay.Display(display)
        self.root = self.d.screen().root
        self.atom = self.d.intern_atom

    def window(self, name: str) -> Any:
        from Xlib import X

        w = self.root.create_window(0, 0, 200, 100, 0, X.CopyFromParent)
        w.set_wm_class(name.lower(), name)
        w.set_wm_name(name)
        w.map()
        self.d.sync()
        return w

    def activate(self, window: Any | None) -> None:
        from Xlib import Xatom

        self.root.change_property(
            self.atom("_NET_ACTIVE_WINDOW"), Xatom.WINDOW, 32, [window.id if window else 0]
        )
        self.d.sync()

    def set_fullscreen(self, window: Any, on: bool) -> None:
        from Xlib import Xatom

        state = [self.atom("_NET_WM_STATE_FULLSCREEN")] if on else []
        window.change_property(self.atom("_NET_WM_STATE"), Xatom.ATOM, 32, state)
        self.d.sync()

    def close(self) -> None:
        self.d.close()


@pytest.fixture
def screen(desktop_factory: Callable[..., Desktop]) -> Iterator[tuple[Desktop, Screen]]:
    xdesktop = desktop_factory(dunst=False, sni=False)
    s = Screen(xdesktop.display)
    yield xdesktop, s
    s.close()


@pytest.mark.desktop
def test_a_fullscreen_active_window_makes_the_user_busy(screen: tuple[Desktop, Screen]) -> None:
    xdesktop, s = screen
    source = FullscreenSource(xdesktop.display)
    try:
        assert source.available(), source.reason
        assert source.check() == (False, "")  # no active window at all
        video = s.window("VideoPlayer")
        editor = s.window("Editor")
        s.activate(video)
        assert source.check() == (False, "")  # active, not fullscreen
        s.set_fullscreen(video, True)
        assert source.check() == (True, "a fullscreen window (VideoPlayer) is active")
        s.activate(editor)  # the fullscreen window is no longer the active one
        assert source.check() == (False, "")
        s.activate(video)
        assert source.check()[0]
        s.set_fullscreen(video, False)
        assert source.check() == (False, "")
        s.set_fullscreen(video, True)
        video.destroy()  # the active window vanished: not busy, no error
        s.d.sync()
        assert source.check() == (False, "")
    finally:
        source.close()


@pytest.mark.desktop
def test_a_held_reminder_learns_at_once_when_fullscreen_ends(
    screen: tuple[Desktop, Screen],
) -> None:
    xdesktop, s = screen
    video = s.window("VideoPlayer")
    s.activate(video)
    s.set_fullscreen(video, True)
    reports = Reports()
    # Re-checks only every 5 minutes: a prompt report can only come from the X events.
    monitor = DndMonitor(
        [FullscreenSource(xdesktop.display)], log, reports, recheck=300, recheck_events=300
    )
    try:
        assert monitor.busy() == "a fullscreen window (VideoPlayer) is active"
        monitor.watch()
        assert monitor.watching
        s.set_fullscreen(video, False)
        wait_for(lambda: reports.seen == [None], 5, "the monitor to report 'free'")
        wait_for(lambda: not monitor.watching, 5, "the watching to end")

        # Again, ended this time by switching to another window.
        s.set_fullscreen(video, True)
        monitor.watch()
        s.activate(s.window("Editor"))
        wait_for(lambda: reports.seen == [None, None], 5, "'free' after a window switch")
    finally:
        monitor.close()


@pytest.mark.desktop
def test_the_fullscreen_source_can_be_turned_off(
    screen: tuple[Desktop, Screen], monkeypatch: pytest.MonkeyPatch
) -> None:
    xdesktop, s = screen
    video = s.window("VideoPlayer")
    s.activate(video)
    s.set_fullscreen(video, True)
    env = {"DISPLAY": xdesktop.display}
    on = create_dnd_monitor(log, env=env, inhibited=False, gnome_banners=False)
    off = create_dnd_monitor(log, env=env, fullscreen=False, inhibited=False, gnome_banners=False)
    try:
        assert on.busy() == "a fullscreen window (VideoPlayer) is active"
        assert off.busy() is None
    finally:
        on.close()
        off.close()


# --------------------------------------------------------------------------- notification server


@pytest.fixture
def notification_bus() -> Iterator[PrivateBus]:
    with PrivateBus("session") as bus:
        yield bus


def test_an_inhibited_notification_server_holds_and_its_change_is_heard(
    notification_bus: PrivateBus,
) -> None:
    server = StubService(
        notification_bus.address,
        NOTIFICATIONS,
        properties={(NOTIFICATIONS_PATH, NOTIFICATIONS): {"Inhibited": ("b", True)}},
    )
    reports = Reports()
    monitor = DndMonitor(
        [InhibitedSource(notification_bus.address)], log, reports, recheck=300, recheck_events=300
    )
    try:
        assert monitor.busy() == "notifications are inhibited (do not disturb)"
        monitor.watch()
        server.set_property(NOTIFICATIONS_PATH, NOTIFICATIONS, "Inhibited", "b", False)
        wait_for(lambda: reports.seen == [None], 5, "'free' after PropertiesChanged")
        assert monitor.busy() is None
    finally:
        monitor.close()
        server.close()


def test_a_server_without_the_property_never_holds(notification_bus: PrivateBus) -> None:
    server = StubService(notification_bus.address, NOTIFICATIONS)
    source = InhibitedSource(notification_bus.address)
    try:
        assert source.check() == (False, "")
    finally:
        source.close()
        server.close()


def test_no_notification_server_at_all_never_holds(notification_bus: PrivateBus) -> None:
    source = InhibitedSource(notification_bus.address)
    try:
        assert source.check() == (False, "")
    finally:
        source.close()


@pytest.mark.desktop
def test_dunst_paused_holds_and_resuming_it_frees(
    desktop_factory: Callable[..., Desktop],
) -> None:
    d = desktop_factory(dunst=True, sni=False)
    reports = Reports()
    monitor = DndMonitor([InhibitedSource(d.bus_address)], log, reports, recheck=300)
    try:
        assert monitor.busy() is None
        d.dunstctl("set-paused", "true")
        assert monitor.busy() == "notifications are paused (do not disturb)"
        monitor.watch()
        d.dunstctl("set-paused", "false")
        wait_for(lambda: reports.seen == [None], 5, "'free' after dunst resumed")
    finally:
        monitor.close()


# --------------------------------------------------------------------------- GNOME


@pytest.fixture
def gnome_env(tmp_path: Path) -> dict[str, str]:
    if shutil.which("gsettings") is None:
        pytest.fail("gsettings is not installed (scripts/setup --test)", pytrace=False)
    import os

    env = dict(os.environ)
    env.update(
        XDG_CURRENT_DESKTOP="ubuntu:GNOME",
        GSETTINGS_BACKEND="keyfile",
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        HOME=str(tmp_path),
    )
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    return env


def gsettings_set(env: dict[str, str], value: str) -> None:
    subprocess.run(
        ["gsettings", "set", "org.gnome.desktop.notifications", "show-banners", value],
        env=env,
        check=True,
        capture_output=True,
    )


def test_gnome_banners_off_holds(gnome_env: dict[str, str]) -> None:
    source = GnomeBannersSource(gnome_env)
    assert source.available(), source.reason
    assert source.check() == (False, "")  # the default: banners shown
    gsettings_set(gnome_env, "false")
    assert source.check() == (
        True,
        "GNOME's do-not-disturb is on (notification banners are off)",
    )
    gsettings_set(gnome_env, "true")
    assert source.check() == (False, "")


def test_gnome_banners_turned_back_on_frees_a_held_reminder(gnome_env: dict[str, str]) -> None:
    gsettings_set(gnome_env, "false")
    reports = Reports()
    monitor = DndMonitor([GnomeBannersSource(gnome_env)], log, reports, recheck=300)
    try:
        monitor.watch()
        gsettings_set(gnome_env, "true")
        wait_for(lambda: reports.seen == [None], 10, "'free' after banners came back")
    finally:
        monitor.close()


def test_gnome_banners_are_only_asked_on_gnome(gnome_env: dict[str, str]) -> None:
    gsettings_set(gnome_env, "false")
    not_gnome = {**gnome_env, "XDG_CURRENT_DESKTOP": "XFCE"}
    source = GnomeBannersSource(not_gnome)
    assert not source.available()
    assert source.reason == "not a GNOME session"
    assert source.check() == (False, "")
    monitor = create_dnd_monitor(log, env=not_gnome, fullscreen=False, inhibited=False)
    assert monitor.sources == []
    assert monitor.busy() is None

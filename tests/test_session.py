"""The session watcher against real buses: a private system bus with a stand-in logind, and a
private session bus where a stand-in screensaver announces ActiveChanged."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator

import pytest

from deskbreak.adapters.session import SessionWatcher
from tests.desktop_harness import wait_for
from tests.fake_bus import LOGIN1, FakeLogind, PrivateBus, StubService

log = logging.getLogger("test-session")


class Recorder:
    def __init__(self) -> None:
        self.events: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str) -> None:
        with self._lock:
            self.events.append(name)
            self.threads.add(threading.current_thread().name)

    def callbacks(self) -> dict[str, Callable[[], None]]:
        return {
            "on_sleep": lambda: self("sleep"),
            "on_wake": lambda: self("wake"),
            "on_lock": lambda: self("lock"),
            "on_unlock": lambda: self("unlock"),
        }

    def wait(self, *expected: str) -> None:
        wait_for(lambda: self.events == list(expected), 10, f"callbacks {list(expected)}")


@pytest.fixture
def system_bus() -> Iterator[PrivateBus]:
    with PrivateBus("system") as bus:
        yield bus


@pytest.fixture
def session_bus() -> Iterator[PrivateBus]:
    with PrivateBus("session") as bus:
        yield bus


def make_watcher(
    rec: Recorder, system: PrivateBus, session: PrivateBus, session_id: str = ""
) -> SessionWatcher:
    return SessionWatcher(
        log=log,
        system_bus=system.address,
        session_bus=session.address,
        session_id=session_id,
        **rec.callbacks(),
    )


def test_prepare_for_sleep_gives_sleep_then_wake(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    logind = FakeLogind(system_bus.address)
    rec = Recorder()
    watcher = make_watcher(rec, system_bus, session_bus)
    watcher.start()
    try:
        assert watcher.running
        assert "suspend (logind)" in watcher.watching
        logind.prepare_for_sleep(True)
        rec.wait("sleep")
        logind.prepare_for_sleep(False)
        rec.wait("sleep", "wake")
        # A repeated announcement is not a second suspend.
        logind.prepare_for_sleep(False)
        logind.lock()  # (a marker: the next signal after the repeat is handled)
        rec.wait("sleep", "wake", "lock")
        assert rec.threads == {"deskbreak-session"}
    finally:
        watcher.stop()
        logind.close()
    assert not watcher.running


def test_the_system_bus_is_found_through_the_environment(
    system_bus: PrivateBus, session_bus: PrivateBus, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DBUS_SYSTEM_BUS_ADDRESS is honoured (that is how tests and odd systems point it)."""
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", system_bus.address)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", session_bus.address)
    logind = FakeLogind(system_bus.address)
    rec = Recorder()
    watcher = SessionWatcher(log=log, session_id="", **rec.callbacks())
    watcher.start()
    try:
        logind.prepare_for_sleep(True)
        rec.wait("sleep")
    finally:
        watcher.stop()
        logind.close()


def test_the_session_lock_is_found_by_session_id_and_by_pid(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    logind = FakeLogind(system_bus.address, session_id="c2")
    try:
        for session_id, asked in (("c2", "GetSession"), ("", "GetSessionByPID")):
            logind.calls.clear()
            rec = Recorder()
            watcher = make_watcher(rec, system_bus, session_bus, session_id=session_id)
            watcher.start()
            try:
                assert "session lock (logind)" in watcher.watching
                assert logind.wait_for_call(asked)
                logind.lock()
                rec.wait("lock")
                logind.unlock()
                rec.wait("lock", "unlock")
            finally:
                watcher.stop()
    finally:
        logind.close()


def test_signals_of_another_session_are_ignored(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    logind = FakeLogind(system_bus.address, session_id="3")
    rec = Recorder()
    watcher = make_watcher(rec, system_bus, session_bus, session_id="3")
    watcher.start()
    try:
        logind.emit("/org/freedesktop/login1/session/_39", "org.freedesktop.login1.Session", "Lock")
        logind.prepare_for_sleep(True)  # a marker: everything before it was handled
        rec.wait("sleep")
    finally:
        watcher.stop()
        logind.close()


def test_locked_hint_and_the_screensaver_count_once_per_lock(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    logind = FakeLogind(system_bus.address)
    screensaver = StubService(session_bus.address, "org.freedesktop.ScreenSaver")
    rec = Recorder()
    watcher = make_watcher(rec, system_bus, session_bus)
    watcher.start()
    try:
        assert "screensaver" in watcher.watching
        # One lock, announced three ways: on_lock once.
        logind.lock()
        logind.set_locked_hint(True)
        screensaver.emit(
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver",
            "ActiveChanged",
            "b",
            (True,),
        )
        rec.wait("lock")
        screensaver.emit(
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver",
            "ActiveChanged",
            "b",
            (False,),
        )
        rec.wait("lock", "unlock")
        logind.set_locked_hint(False)
        logind.set_locked_hint(True)
        rec.wait("lock", "unlock", "lock")
        assert watcher.locked
    finally:
        watcher.stop()
        screensaver.close()
        logind.close()


def test_gnome_screensaver_alone_gives_lock_and_unlock(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    """Without logind (no name on the system bus), the session bus still tells."""
    screensaver = StubService(session_bus.address, "org.gnome.ScreenSaver")
    rec = Recorder()
    watcher = make_watcher(rec, system_bus, session_bus)
    watcher.start()
    try:
        assert watcher.watching == ["screensaver"]
        assert any(LOGIN1 in m for m in watcher.missing), watcher.missing
        for active in (True, False):
            screensaver.emit(
                "/org/gnome/ScreenSaver", "org.gnome.ScreenSaver", "ActiveChanged", "b", (active,)
            )
        rec.wait("lock", "unlock")
    finally:
        watcher.stop()
        screensaver.close()


def test_without_any_bus_it_says_so_and_starts_no_thread(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    rec = Recorder()
    watcher = SessionWatcher(
        log=log,
        system_bus="unix:path=/nonexistent/deskbreak-test-system-bus",
        session_bus="unix:path=/nonexistent/deskbreak-test-session-bus",
        session_id="",
        **rec.callbacks(),
    )
    with caplog.at_level(logging.INFO, logger="test-session"):
        watcher.start()
    try:
        assert not watcher.running
        assert watcher.watching == []
        assert len(watcher.missing) == 2
        text = caplog.text
        assert "suspend and session lock (no system bus" in text
        assert "screensaver (session bus" in text
    finally:
        watcher.stop()


def test_a_bus_that_goes_away_leaves_the_other_one_watched(
    system_bus: PrivateBus, session_bus: PrivateBus
) -> None:
    logind = FakeLogind(system_bus.address)
    screensaver = StubService(session_bus.address, "org.freedesktop.ScreenSaver")
    rec = Recorder()
    watcher = make_watcher(rec, system_bus, session_bus)
    watcher.start()
    try:
        logind.close()
        system_bus.close()  # the system bus dies under the watcher
        screensaver.emit(
            "/org/freedesktop/ScreenSaver",
            "org.freedesktop.ScreenSaver",
            "ActiveChanged",
            "b",
            (True,),
        )
        rec.wait("lock")
        assert watcher.running
    finally:
        watcher.stop()
        screensaver.close()

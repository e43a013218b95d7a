"""Idle detection: the X server's real idle counter on Xvfb (reset by xdotool input), the
watcher blocking on X SYNC alarms, Mutter's IdleMonitor through a stand-in on a private bus,
and the watcher's decisions and wait lengths driven by a fake clock (no sleeps)."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from deskbreak.adapters.idle import (
    AWAY_POLL,
    MIN_WAIT,
    MUTTER_INTERFACE,
    MUTTER_NAME,
    MUTTER_PATH,
    IdleTracker,
    IdleWatcher,
    MutterIdle,
    NoIdle,
    XScreenSaverIdle,
    create_idle_monitor,
)
from deskbreak.clock import FakeClock
from tests.desktop_harness import Desktop, wait_for
from tests.fake_bus import PrivateBus, StubService

log = logging.getLogger("test-idle")


# --------------------------------------------------------------------------- fake idle time


class ScriptedIdle:
    """Idle time read off a fake clock: the user gives input at the moments in ``inputs``.

    Waits move the clock instead of sleeping: timer waits by their timeout; with ``events``
    they end early where a real alarm would fire.
    """

    name = "scripted"
    reason = "scripted for a test"

    def __init__(self, clock: FakeClock, inputs: list[float], events: bool = False) -> None:
        self.clock = clock
        self.inputs = sorted([clock.monotonic(), *inputs])  # the user is there at the start
        self.events = events
        self.waits: list[tuple[str, float, float]] = []  # (kind, start, length)

    def available(self) -> bool:
        return True

    def _last_input(self, at: float) -> float:
        return [t for t in self.inputs if t <= at][-1]

    def _next_input(self, at: float) -> float | None:
        future = [t for t in self.inputs if t > at]
        return future[0] if future else None

    def idle_seconds(self) -> float:
        now = self.clock.monotonic()
        return now - self._last_input(now)

    def _advance(self, kind: str, to: float, timeout: float) -> None:
        now = self.clock.monotonic()
        end = min(to, now + timeout) if self.events else now + timeout
        self.waits.append((kind, now, end - now))
        self.clock.advance(end - now)

    def wait_idle(self, seconds: float, timeout: float) -> None:
        now = self.clock.monotonic()
        reach = self._last_input(now) + seconds
        nxt = self._next_input(now)
        while nxt is not None and nxt < reach:  # input before it gets there: starts over
            reach = nxt + seconds
            nxt = self._next_input(nxt)
        self._advance("idle", max(reach, now), timeout)

    def wait_active(self, timeout: float) -> None:
        nxt = self._next_input(self.clock.monotonic())
        self._advance("active", float("inf") if nxt is None else nxt, timeout)

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass


class Changes:
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []

    def away(self, seconds: float) -> None:
        self.seen.append(("away", seconds))

    def back(self, seconds: float) -> None:
        self.seen.append(("back", seconds))


def scripted_watcher(
    inputs: list[float], threshold: float = 300, events: bool = False
) -> tuple[IdleWatcher, ScriptedIdle, FakeClock, Changes]:
    clock = FakeClock()
    monitor = ScriptedIdle(clock, inputs, events)
    changes = Changes()
    watcher = IdleWatcher(
        monitor, threshold, changes.away, changes.back, log, monotonic=clock.monotonic
    )
    return watcher, monitor, clock, changes


def run_until(watcher: IdleWatcher, clock: FakeClock, until: float) -> None:
    while clock.monotonic() < until:
        watcher.step()


# --------------------------------------------------------------------------- decisions


def test_an_active_user_is_looked_at_only_when_the_threshold_could_be_reached() -> None:
    # Input every 2 minutes for an hour, threshold 5 minutes: never away.
    start = FakeClock().monotonic()
    inputs = [start + t for t in range(0, 3600, 120)]
    watcher, monitor, clock, changes = scripted_watcher(inputs)
    run_until(watcher, clock, start + 3600)
    assert changes.seen == []
    lengths = [length for _kind, _start, length in monitor.waits]
    assert all(length >= MIN_WAIT for length in lengths)
    # Each look waits for the rest of the threshold: about one look per 3 minutes, not 1 s polls.
    assert len(lengths) <= 3600 / 120 + 1


def test_leaving_and_coming_back_are_reported_with_the_whole_absence() -> None:
    start = FakeClock().monotonic()
    # Last input at +10 s, back at +1000 s: away for 990 s, noticed once idle reached 300 s.
    watcher, _monitor, clock, changes = scripted_watcher([start + 10, start + 1000])
    run_until(watcher, clock, start + 1100)
    assert [kind for kind, _ in changes.seen] == ["away", "back"]
    (_, idle_for), (_, away) = changes.seen
    assert 300 <= idle_for < 300 + MIN_WAIT
    assert away == pytest.approx(990)


def test_while_away_without_events_it_looks_three_times_a_minute() -> None:
    start = FakeClock().monotonic()
    watcher, monitor, clock, changes = scripted_watcher([start])
    run_until(watcher, clock, start + 3600)
    assert changes.seen[0][0] == "away"
    away_since = start + changes.seen[0][1]
    looks_per_minute = [
        sum(1 for _k, t, _len in monitor.waits if minute <= t < minute + 60)
        for minute in range(int(away_since) + 60, int(start + 3600) - 60, 60)
    ]
    assert max(looks_per_minute) <= 60 / AWAY_POLL


def test_a_return_is_noticed_within_one_poll_without_events() -> None:
    start = FakeClock().monotonic()
    watcher, _monitor, clock, _changes = scripted_watcher([start, start + 1234])
    seen_at: list[float] = []
    watcher._on_away_ended = lambda s: seen_at.append(clock.monotonic())  # type: ignore[method-assign]
    run_until(watcher, clock, start + 1400)
    assert seen_at and start + 1234 <= seen_at[0] <= start + 1234 + AWAY_POLL


def test_with_events_it_waits_for_the_change_itself() -> None:
    start = FakeClock().monotonic()
    watcher, monitor, clock, _changes = scripted_watcher(
        [start + 10, start + 3000], threshold=300, events=True
    )
    seen_at: list[float] = []
    watcher._on_away_started = lambda s: seen_at.append(clock.monotonic())  # type: ignore[method-assign]
    watcher._on_away_ended = lambda s: seen_at.append(clock.monotonic())  # type: ignore[method-assign]
    run_until(watcher, clock, start + 3100)
    # Away exactly when idle reached 300 s, back exactly at the input: no polling delay.
    assert seen_at == [start + 310, start + 3000]
    # While away (2690 s), it woke only for its safety look every 10 minutes.
    away_waits = [w for w in monitor.waits if w[0] == "active"]
    assert len(away_waits) <= 2690 / 600 + 1


def test_a_new_threshold_applies_at_the_next_look() -> None:
    tracker = IdleTracker(300, events=False)
    change, wait = tracker.observe(100, 1000)
    assert change is None and wait.until_idle == 300 and wait.timeout == 200
    tracker.threshold = 120
    change, wait = tracker.observe(130, 1030)
    assert change is not None and change.away and change.seconds == 130
    assert wait.until_idle is None and wait.timeout == AWAY_POLL


def test_after_a_failure_the_watcher_stops_and_says_why() -> None:
    class Broken(ScriptedIdle):
        def idle_seconds(self) -> float:
            from deskbreak.adapters.idle import IdleError

            raise IdleError("lost the X display: connection closed")

    monitor = Broken(FakeClock(), [])
    watcher = IdleWatcher(monitor, 300, lambda s: None, lambda s: None, log)
    watcher.start()
    wait_for(lambda: not watcher.running, 5, "the watcher thread to end")
    assert watcher.describe() == "off: lost the X display: connection closed"
    assert watcher.idle_seconds() is None


# --------------------------------------------------------------------------- choosing


def test_without_a_graphical_session_idle_detection_is_off_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="test-idle"):
        monitor = create_idle_monitor(log, env={}, platform="linux")
    assert isinstance(monitor, NoIdle) and not monitor.available()
    assert "no graphical session" in monitor.reason
    assert "idle detection is off: no graphical session" in caplog.text


def test_an_unusable_display_gives_the_reason(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="test-idle"):
        monitor = create_idle_monitor(log, env={"DISPLAY": ":4321"}, platform="linux")
    assert isinstance(monitor, NoIdle)
    assert "cannot open the X display ':4321'" in monitor.reason
    assert "idle detection is off" in caplog.text


def test_wayland_without_mutter_is_off(monkeypatch: pytest.MonkeyPatch) -> None:
    with PrivateBus("session") as bus:
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", bus.address)
        monitor = create_idle_monitor(
            log, env={"WAYLAND_DISPLAY": "wayland-0", "XDG_CURRENT_DESKTOP": "sway"}
        )
    assert isinstance(monitor, NoIdle)
    assert "no idle time source on Wayland for sway" in monitor.reason


# --------------------------------------------------------------------------- real X server


@pytest.fixture
def xdesktop(desktop_factory: Callable[..., Desktop]) -> Desktop:
    """An X server of this test's own: nobody else's input resets its idle counter."""
    return desktop_factory(dunst=False, sni=False)


def thread_switches(thread: threading.Thread) -> int:
    """Context switches (voluntary and not) of one thread so far, from /proc."""
    path = f"/proc/self/task/{thread.native_id}/status"
    total = 0
    with open(path) as f:
        for line in f:
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                total += int(line.split()[1])
    return total


@pytest.mark.desktop
def test_the_x_idle_counter_is_read_for_real_and_reset_by_input(xdesktop: Desktop) -> None:
    monitor = XScreenSaverIdle(xdesktop.display)
    try:
        assert monitor.available(), monitor.reason
        assert monitor.events, monitor.reason  # Xvfb has SYNC with IDLETIME
        xdesktop.run(["xdotool", "mousemove", "10", "10"])
        assert monitor.idle_seconds() < 1.0
        wait_for(lambda: monitor.idle_seconds() >= 1.2, 5, "the idle time to grow")
        xdesktop.run(["xdotool", "mousemove", "200", "150"])
        assert monitor.idle_seconds() < 0.5
        wait_for(lambda: monitor.idle_seconds() >= 0.8, 5, "the idle time to grow again")
        xdesktop.run(["xdotool", "key", "shift"])
        assert monitor.idle_seconds() < 0.5
    finally:
        monitor.close()


@pytest.mark.desktop
def test_the_watcher_on_x_notices_leaving_and_returning_without_polling(
    xdesktop: Desktop,
) -> None:
    threshold = 1.5
    monitor = XScreenSaverIdle(xdesktop.display)
    assert monitor.events, monitor.reason
    events: list[tuple[str, float, float]] = []
    watcher = IdleWatcher(
        monitor,
        threshold,
        lambda s: events.append(("away", s, time.monotonic())),
        lambda s: events.append(("back", s, time.monotonic())),
        log,
    )
    xdesktop.run(["xdotool", "mousemove", "5", "5"])
    last_input = time.monotonic()
    watcher.start()
    try:
        wait_for(lambda: events, 10, "the watcher to notice the user left")
        kind, idle_for, noticed = events[0]
        assert kind == "away" and idle_for >= threshold
        assert noticed - last_input < threshold + 1.0  # by the alarm, not a late poll

        # Away: the thread blocks on the X connection. Nothing wakes it for 3 s.
        thread = watcher._thread
        assert thread is not None
        before = thread_switches(thread)
        deadline = time.monotonic() + 3
        wait_for(lambda: time.monotonic() >= deadline, 5, "three quiet seconds", interval=0.5)
        assert thread_switches(thread) - before <= 1

        xdesktop.run(["xdotool", "mousemove", "300", "300"])
        returned = time.monotonic()
        wait_for(lambda: len(events) == 2, 5, "the watcher to notice the return")
        kind, away, noticed = events[1]
        assert kind == "back"
        assert noticed - returned < 2.0
        assert away == pytest.approx(returned - last_input, abs=0.5)
    finally:
        watcher.stop()
    assert not watcher.running


@pytest.mark.desktop
def test_stop_ends_a_watcher_blocked_on_x_at_once(xdesktop: Desktop) -> None:
    monitor = XScreenSaverIdle(xdesktop.display)
    watcher = IdleWatcher(monitor, 3600, lambda s: None, lambda s: None, log)
    watcher.start()
    assert watcher.running
    started = time.monotonic()
    watcher.stop()
    assert not watcher.running
    assert time.monotonic() - started < 2


# --------------------------------------------------------------------------- GNOME's Mutter


class FakeMutter(StubService):
    """org.gnome.Mutter.IdleMonitor: idle time set by the test, watches that it fires."""

    def __init__(self, address: str) -> None:
        self.idle_ms = 0
        self.watches: dict[int, tuple[str, int, str]] = {}  # id -> (kind, interval, owner)
        self._next = 1
        self._lock = threading.Lock()
        super().__init__(
            address,
            MUTTER_NAME,
            handlers={
                (MUTTER_INTERFACE, "GetIdletime"): lambda body: ("t", (self.idle_ms,)),
                (MUTTER_INTERFACE, "AddIdleWatch"): lambda body: self._add("idle", body[0]),
                (MUTTER_INTERFACE, "AddUserActiveWatch"): lambda body: self._add("active", 0),
                (MUTTER_INTERFACE, "RemoveWatch"): self._remove,
            },
        )

    def _add(self, kind: str, interval: int) -> tuple[str, tuple[Any, ...]]:
        with self._lock:
            watch = self._next
            self._next += 1
            self.watches[watch] = (kind, int(interval), self.calls[-1][3])
        return "u", (watch,)

    def _remove(self, body: tuple[Any, ...]) -> tuple[None, tuple[Any, ...]]:
        with self._lock:
            self.watches.pop(int(body[0]), None)
        return None, ()

    def watch_of(self, kind: str) -> int | None:
        with self._lock:
            for watch, (k, _interval, _owner) in self.watches.items():
                if k == kind:
                    return watch
        return None

    def fire(self, watch: int) -> None:
        owner = self.watches[watch][2]
        self.emit(MUTTER_PATH, MUTTER_INTERFACE, "WatchFired", "u", (watch,), destination=owner)


@pytest.fixture
def mutter_bus() -> Iterator[tuple[PrivateBus, FakeMutter]]:
    with PrivateBus("session") as bus:
        mutter = FakeMutter(bus.address)
        try:
            yield bus, mutter
        finally:
            mutter.close()


def test_mutter_idle_time_and_watches(mutter_bus: tuple[PrivateBus, FakeMutter]) -> None:
    bus, mutter = mutter_bus
    monitor = MutterIdle(bus.address)
    assert monitor.available(), monitor.reason
    assert monitor.events
    mutter.idle_ms = 4500
    assert monitor.idle_seconds() == 4.5

    mutter.idle_ms = 1000
    events: list[tuple[str, float]] = []
    watcher = IdleWatcher(
        monitor,
        300,
        lambda s: events.append(("away", s)),
        lambda s: events.append(("back", s)),
        log,
    )
    watcher.start()
    try:
        watch = wait_for(lambda: mutter.watch_of("idle"), 5, "an idle watch")
        assert mutter.watches[watch][1] == 300_000
        mutter.idle_ms = 300_000
        mutter.fire(watch)
        wait_for(lambda: events == [("away", 300.0)], 5, "away after WatchFired")

        active = wait_for(lambda: mutter.watch_of("active"), 5, "a user-active watch")
        mutter.idle_ms = 0
        mutter.fire(active)
        wait_for(lambda: [k for k, _ in events] == ["away", "back"], 5, "back after WatchFired")
        assert events[1][1] >= 300.0
        # Watching again for the next absence, with the idle watch removed and re-added.
        wait_for(lambda: mutter.watch_of("idle"), 5, "a new idle watch")
    finally:
        watcher.stop()


def test_mutter_missing_gives_the_reason() -> None:
    with PrivateBus("session") as bus:
        monitor = MutterIdle(bus.address)
        assert not monitor.available()
        assert MUTTER_NAME in monitor.reason


def test_thread_switch_counter_reads_this_thread() -> None:
    """The helper above reads real numbers (a guard for the no-polling assertion)."""
    before = thread_switches(threading.current_thread())
    threading.Event().wait(0.05)
    assert thread_switches(threading.current_thread()) > before
    assert os.path.exists(f"/proc/self/task/{threading.get_native_id()}/status")

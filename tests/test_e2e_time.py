"""Right on time and never in the way, for real: ``deskbreak run`` on the test desktop while
its wall clock is moved under it (the wall-clock-only shim, tests/wallshim.py), a stand-in
logind on a private system bus announces suspends and locks (tests/fake_bus.py), the X
server's own idle counter runs, and a window is made fullscreen.

Everything is read from the outside: ``Notify`` calls off the bus, ``deskbreak status
--json`` and ``deskbreak events --json`` (the real command line). The daemon's durations are
seconds long; each test waits for a condition with a deadline, and a "nothing more comes"
check is a bounded wait on the bus.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_proc import EventReader
from tests.desktop_harness import Desktop, NotifyRecord, Proc, wait_for
from tests.fake_bus import FakeLogind, PrivateBus
from tests.test_dnd import Screen
from tests.wallshim import WallShim

pytestmark = pytest.mark.desktop

APP = "deskbreak"
# How late a reminder may be on a shared, busy machine and still count as "on time".
ON_TIME = 2.0


def settings(natural_break: str = "3s", *, idle: bool = False, extra: str = "") -> str:
    """Second-scale settings. The interval starts long: a test sets the one it needs when it
    is ready (``TimeDaemon.restart_interval``), so a slow start cannot make a reminder early."""
    return f"""\
# deskbreak settings for a time-rules test
[reminders]
interval = "1h"
snooze = "5s"
missed_after = "10m"              # nothing is missed while a test runs
guide = "notification"            # buttons in the notification, no guided window

[routines]
every = "off"                     # one stretch at a time

[away]
natural_break = "{natural_break}"
idle = {"true" if idle else "false"}
{extra}"""


class TimeDaemon:
    """``deskbreak run -v`` on ``desktop`` under the wall-clock shim.

    ``system_bus`` is the address of the system bus it gets (a private one with a stand-in
    logind), or None for no system bus at all (no logind: the drift guard's case).
    """

    def __init__(
        self,
        desktop: Desktop,
        tmp_path: Path,
        config: str,
        *,
        shim: WallShim,
        system_bus: str | None,
    ) -> None:
        assert desktop.notifications is not None
        self.desktop = desktop
        self.shim = shim
        self.log = desktop.notifications
        own = Path(tempfile.mkdtemp(prefix="t-", dir=desktop.root))
        self.config = tmp_path / "config.toml"
        self.config.write_text(config)
        dirs = {
            "XDG_STATE_HOME": str(own / "state"),
            "XDG_DATA_HOME": str(own / "data"),
            "XDG_CACHE_HOME": str(own / "cache"),
            "XDG_RUNTIME_DIR": str(own / "run"),
        }
        for path in dirs.values():
            os.makedirs(path, mode=0o700)
        self.cli_env = {**desktop.env, **dirs}
        daemon_env = {
            **dirs,
            **shim.env(),
            "DBUS_SYSTEM_BUS_ADDRESS": system_bus or f"unix:path={own / 'no-system-bus'}",
            "XDG_SESSION_ID": "7",
        }
        desktop.reset_notifications()
        self.proc: Proc = desktop.spawn(
            APP,
            [sys.executable, "-m", APP, "run", "-v", "--config", str(self.config)],
            env=daemon_env,
        )
        wait_for(lambda: self._answers(), 20, "the daemon to answer on its socket")
        self.events = EventReader(self.cli_env, "--json")
        self.events.wait_for_event(lambda e: e["event"] == "status", "the first status")

    def _answers(self) -> bool:
        self.assert_alive()
        return self.cli("status").returncode == 0

    def assert_alive(self) -> None:
        assert self.proc.alive(), f"deskbreak exited:\n{self.proc.output()}"

    def output(self) -> str:
        return self.proc.output()

    def wait_log(self, text: str, times: int = 1) -> None:
        """Wait until ``text`` is in the log ``times`` times."""

        def seen() -> bool:
            self.assert_alive()
            return self.output().count(text) >= times

        wait_for(seen, 10, f"{text!r} {times} time(s) in the daemon's log")

    def close(self) -> None:
        self.events.close()
        self.proc.terminate()

    # -- the command line ------------------------------------------------------------------

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", APP, *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.cli_env,
            stdin=subprocess.DEVNULL,
        )

    def ok(self, *args: str) -> str:
        r = self.cli(*args)
        assert r.returncode == 0, f"deskbreak {' '.join(args)}: {r.stderr}"
        return r.stdout

    def status(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.ok("status", "--json"))
        return data

    def wait_status(
        self, pred: Callable[[dict[str, Any]], bool], what: str, timeout: float = 10
    ) -> dict[str, Any]:
        def check() -> dict[str, Any] | None:
            self.assert_alive()
            snap = self.status()
            return snap if pred(snap) else None

        return wait_for(check, timeout, what, interval=0.2)

    def restart_interval(self, interval: str) -> tuple[float, float]:
        """Set the interval and start it afresh (pause, interval, resume); the wall times
        just before and just after the resume: the reminder is due ``interval`` later."""
        self.ok("pause")
        mark = len(self.events.lines)
        self.ok("interval", interval)
        # The daemon saves it to the settings file and then reads its own save back: let
        # that happen now, not in the middle of the test.
        self.events.wait_for_event(
            lambda e: e["event"] == "settings", "the saved interval to be read back", start=mark
        )
        before = time.time()
        self.ok("resume")
        return before, time.time()

    def record(self, kind: str, timeout: float = 10, start: int = 0) -> dict[str, Any]:
        return self.events.wait_for_event(
            lambda e: e["event"] == "record" and e["kind"] == kind,
            f"a {kind!r} record",
            timeout,
            start,
        )[1]

    def records(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events.events if e["event"] == "record" and e["kind"] == kind]

    def settled(self) -> None:
        """Return once every event the daemon published so far has been read: a status
        request is answered after what came before it, and its ``seq`` counts them all."""
        seq = self.status()["seq"]
        wait_for(
            lambda: self.events.events and self.events.events[-1]["seq"] >= seq,
            5,
            f"event {seq} on the events stream",
        )

    # -- notifications ---------------------------------------------------------------------

    def notifies(self) -> list[NotifyRecord]:
        return [n for n in self.log.notifies if n.app_name == APP]

    def notify(self, index: int, timeout: float = 10.0) -> NotifyRecord:
        """Our Notify number ``index`` (0-based), once the server has answered it."""

        def find() -> NotifyRecord | None:
            ours = self.notifies()
            if len(ours) > index and ours[index].id is not None:
                return ours[index]
            self.assert_alive()
            return None

        return self.log.wait(find, timeout, f"deskbreak notification number {index + 1}")

    def quiet_for(self, seconds: float, count: int) -> None:
        """Watch the bus for ``seconds``: no Notify beyond the first ``count``."""

        def extra() -> NotifyRecord | None:
            ours = self.notifies()
            return ours[count] if len(ours) > count else None

        try:
            record = self.log.wait(extra, seconds, "no further notification")
        except AssertionError:
            self.assert_alive()
            return  # the time passed quietly
        raise AssertionError(
            f"unexpected notification {record.summary!r} at {record.time:.3f}; "
            f"log:\n{self.output()}"
        )


@pytest.fixture
def shim(tmp_path: Path) -> WallShim:
    return WallShim.build(tmp_path / "shim")


@pytest.fixture
def system_bus() -> Iterator[PrivateBus]:
    """A system bus of the test's own (the daemon gets its address)."""
    with PrivateBus("system") as bus:
        yield bus


@pytest.fixture
def logind(system_bus: PrivateBus) -> Iterator[FakeLogind]:
    """A stand-in logind on it, with the session the daemon belongs to."""
    fake = FakeLogind(system_bus.address, session_id="7")
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def run(desktop: Desktop, tmp_path: Path, shim: WallShim) -> Iterator[Callable[..., TimeDaemon]]:
    """``run(config, system_bus=...)`` starts a daemon on the shared desktop."""
    started: list[TimeDaemon] = []

    def start(config: str, *, system_bus: str | None = None, on: Desktop = desktop) -> TimeDaemon:
        d = TimeDaemon(on, tmp_path, config, shim=shim, system_bus=system_bus)
        started.append(d)
        return d

    yield start
    for d in started:
        d.close()


# ---------------------------------------------------------------- suspend, with logind


def test_a_short_suspend_shows_the_reminder_that_came_due_once_on_resume(
    run: Callable[..., TimeDaemon], shim: WallShim, logind: FakeLogind, system_bus: PrivateBus
) -> None:
    d = run(settings(natural_break="1m"), system_bus=system_bus.address)
    d.wait_log("suspend (logind)")
    _, resumed = d.restart_interval("20s")
    logind.prepare_for_sleep(True)
    d.wait_log("logind: going to sleep")
    shim.jump(40)  # asleep 40 s: the reminder came due meanwhile; less than natural_break
    woke = time.time()
    logind.prepare_for_sleep(False)
    shown = d.notify(0)
    assert woke <= shown.time < woke + ON_TIME
    assert shown.time < resumed + 20 - 1  # by the resume, not by the interval running out
    assert shown.summary == "Wall stretch"
    assert shown.action_keys == ["done", "snooze", "skip"]
    d.quiet_for(3, count=1)
    snap = d.status()
    assert (snap["state"], snap["exercise"]) == ("due", "wall-stretch")
    d.settled()
    assert d.records("natural-break") == []
    assert len(d.records("shown")) == 1


def test_a_long_suspend_is_a_natural_break_and_nothing_greets_the_user(
    run: Callable[..., TimeDaemon], shim: WallShim, logind: FakeLogind, system_bus: PrivateBus
) -> None:
    d = run(settings(natural_break="3s"), system_bus=system_bus.address)
    d.wait_log("suspend (logind)")
    d.restart_interval("20s")
    logind.prepare_for_sleep(True)
    d.wait_log("logind: going to sleep")
    shim.jump(90)  # asleep 90 s: past the due time and past natural_break
    woke = time.time()
    logind.prepare_for_sleep(False)
    rec = d.record("natural-break")
    assert rec["detail"] == "suspend 1m30s"
    assert rec["reminder"] is None  # nothing was on screen
    snap = d.status()
    assert snap["state"] == "waiting"
    assert 17 <= snap["next_in"] <= 20  # a fresh interval from the return
    d.quiet_for(woke + 5 - time.time(), count=0)

    # Away long enough with a reminder on screen: it goes, as a natural break.
    d.ok("now")
    on_screen = d.notify(0)
    logind.prepare_for_sleep(True)
    d.wait_log("logind: going to sleep", times=2)
    shim.jump(60)
    logind.prepare_for_sleep(False)
    closed = d.events.wait_for_event(
        lambda e: e["event"] == "record" and e["kind"] == "natural-break" and e["reminder"],
        "the reminder on screen to end as a natural break",
    )[1]
    assert closed["exercise"] == "wall-stretch" and closed["detail"] == "suspend 1m"
    d.log.wait(lambda: on_screen.id in d.log.close_calls, 5, "CloseNotification of it")
    assert 17 <= d.status()["next_in"] <= 20
    d.quiet_for(3, count=1)


# ---------------------------------------------------------------- clock changes, no logind


def test_a_big_wall_clock_jump_without_logind_never_gives_a_burst(
    run: Callable[..., TimeDaemon], shim: WallShim
) -> None:
    """No system bus: the jump is seen at the next tick. An hour of intervals that "passed"
    is one reminder, shown once (the absence is shorter than natural_break here)."""
    d = run(settings(natural_break="2h"))
    d.wait_log("not watched: suspend and session lock (no system bus")
    _, resumed = d.restart_interval("6s")
    shim.jump(3600)  # 600 intervals "pass" at once
    first = d.notify(0, timeout=6 + 60)
    # The tick that was due anyway finds the clocks an hour apart: one reminder, at once.
    assert first.time < resumed + 6 + ON_TIME
    d.quiet_for(5, count=1)
    d.settled()
    assert len(d.records("shown")) == 1
    assert d.status()["state"] == "due"
    assert "the wall clock moved 3600 s more than the monotonic clock" in d.output()


def test_the_drift_guard_notices_a_jump_within_a_minute_without_logind(
    run: Callable[..., TimeDaemon], shim: WallShim
) -> None:
    """Nothing is due for an hour; without logind the clocks are still compared at least once
    a minute, so a jump past natural_break is a natural break, noticed within a minute."""
    d = run(settings(natural_break="3s"))
    d.wait_log("not watched: suspend and session lock (no system bus")
    d.restart_interval("1h")
    shim.jump(7200)
    jumped = time.time()
    rec = d.record("natural-break", timeout=60 + 5)
    noticed = time.time()
    assert noticed - jumped <= 60 + ON_TIME
    assert rec["detail"] == "suspend 2h"
    assert d.status()["next_in"] >= 3600 - 5
    assert d.notifies() == []


def test_a_clock_set_back_loses_no_reminder_and_gives_no_burst(
    run: Callable[..., TimeDaemon], shim: WallShim
) -> None:
    d = run(settings(natural_break="3s"))
    _, resumed = d.restart_interval("6s")
    shim.jump(-600)  # the clock is set back ten minutes
    first = d.notify(0, timeout=6 + 10)
    assert first.time < resumed + 6 + ON_TIME  # on time, in real time
    d.quiet_for(3, count=1)
    d.ok("accept")
    done = time.time()
    second = d.notify(1, timeout=6 + 10)
    assert done + 6 - 0.5 <= second.time < done + 6 + ON_TIME
    d.settled()
    assert len(d.records("shown")) == 2
    assert d.records("natural-break") == []


# ---------------------------------------------------------------- the screen locked


def test_a_reminder_due_while_locked_waits_for_the_unlock(
    run: Callable[..., TimeDaemon], logind: FakeLogind, system_bus: PrivateBus
) -> None:
    d = run(settings(natural_break="8s"), system_bus=system_bus.address)
    d.wait_log("session lock (logind)")
    _, resumed = d.restart_interval("3s")
    logind.lock()
    d.wait_status(lambda s: s["away"], "the daemon to count the user away")
    # Due at +3 s: nothing shows while the screen is locked.
    d.quiet_for(resumed + 5 - time.time(), count=0)
    snap = d.status()
    assert (snap["state"], snap["away"]) == ("waiting", True)
    unlocked = time.time()
    logind.unlock()  # locked about 5 s: less than natural_break
    shown = d.notify(0)
    assert unlocked <= shown.time < unlocked + ON_TIME
    assert shown.summary == "Wall stretch"
    d.quiet_for(2, count=1)
    d.settled()
    assert d.records("natural-break") == []


def test_locked_longer_than_natural_break_is_a_natural_break(
    run: Callable[..., TimeDaemon], logind: FakeLogind, system_bus: PrivateBus
) -> None:
    d = run(settings(natural_break="4s"), system_bus=system_bus.address)
    d.wait_log("session lock (logind)")
    d.restart_interval("2s")
    locked = time.time()
    logind.lock()
    d.quiet_for(locked + 5 - time.time(), count=0)  # due at +2 s, locked: nothing shows
    logind.unlock()
    rec = d.record("natural-break")
    assert rec["detail"] in ("lock 5s", "lock 6s")
    d.quiet_for(1, count=0)  # nothing greets the user
    assert d.status()["next_in"] in (1, 2)  # a fresh interval from the unlock
    first = d.notify(0)  # and then, an interval later, the next reminder
    assert first.time - locked >= 5 + 2 - 0.5


def test_a_lock_set_to_pause_interval_stands_the_interval_still(
    run: Callable[..., TimeDaemon], logind: FakeLogind, system_bus: PrivateBus
) -> None:
    d = run(
        settings(natural_break="2s", extra='lock = "pause-interval"\n'),
        system_bus=system_bus.address,
    )
    d.wait_log("session lock (logind)")
    _, resumed = d.restart_interval("4s")
    logind.lock()
    d.wait_status(lambda s: s["away"], "the daemon to count the user away")
    lock_end = resumed + 3
    d.quiet_for(lock_end - time.time(), count=0)
    logind.unlock()  # about 3 s locked: longer than natural_break, but the interval stood still
    unlocked = time.time()
    shown = d.notify(0, timeout=10)
    # 4 s of interval, of which about 3 s passed while locked and do not count.
    assert shown.time >= resumed + 4 + 2.5
    assert shown.time < unlocked + 4 + ON_TIME
    d.settled()
    assert d.records("natural-break") == []


# ---------------------------------------------------------------- idle, on a real X server


def test_idle_on_the_x_server_is_time_away_and_input_brings_the_user_back(
    run: Callable[..., TimeDaemon], desktop_factory: Callable[..., Desktop]
) -> None:
    """An X server of this test's own: its idle counter grows because nobody touches it,
    and ``xdotool`` input resets it, as a user's would."""
    x = desktop_factory(dunst=True, sni=False)
    d = run(settings(natural_break="3s", idle=True), on=x)
    d.wait_log("idle detection: X screensaver extension")
    d.ok("pause")
    mark = len(d.events.lines)
    d.ok("interval", "5s")
    d.events.wait_for_event(lambda e: e["event"] == "settings", "the reload", start=mark)
    x.run(["xdotool", "mousemove", "10", "10"])
    last_input = time.time()
    d.wait_status(lambda s: not s["away"], "the user to be back after the input")
    mark = len(d.events.lines)
    d.ok("resume")  # the reminder is due 5 s later; the user leaves after 3 s of no input
    _, went = d.events.wait_for_event(
        lambda e: e["event"] == "status" and e["status"]["away"],
        "the daemon to count the user away",
        timeout=10,
        start=mark,
    )
    # Not before the idle time reached natural_break, and not much later either.
    assert last_input + 3 - 0.1 <= went["at"] < last_input + 3 + ON_TIME
    # The reminder came due at +5 s while the user was away: it is not shown.
    d.quiet_for(last_input + 8 - time.time(), count=0)
    snap = d.status()
    assert (snap["state"], snap["away"]) == ("waiting", True)

    mark = len(d.events.lines)
    x.run(["xdotool", "mousemove", "300", "200"])  # back
    back = time.time()
    rec = d.record("natural-break", start=mark)
    assert rec["detail"].startswith("idle ")
    snap = d.status()
    assert not snap["away"]
    assert snap["state"] == "waiting" and snap["next_in"] >= 4  # a fresh interval
    d.quiet_for(min(3.0, back + 4 - time.time()), count=0)  # nothing greets the user
    assert "idle detection is off" not in d.output()


# ---------------------------------------------------------------- do not disturb: fullscreen


@pytest.fixture
def fullscreen_desktop(
    desktop_factory: Callable[..., Desktop],
) -> Iterator[tuple[Desktop, Screen, Any]]:
    """A desktop of its own, with a fullscreen window that has the focus."""
    x = desktop_factory(dunst=True, sni=False)
    screen = Screen(x.display)
    video = screen.window("VideoPlayer")
    screen.activate(video)
    screen.set_fullscreen(video, True)
    yield x, screen, video
    screen.close()


HELD = "a fullscreen window (VideoPlayer) is active"


def test_a_fullscreen_window_holds_the_reminder_until_it_ends(
    run: Callable[..., TimeDaemon], fullscreen_desktop: tuple[Desktop, Screen, Any]
) -> None:
    x, screen, video = fullscreen_desktop
    d = run(settings(), on=x)
    _, resumed = d.restart_interval("2s")
    held = d.record("held")
    assert held["detail"] == HELD
    snap = d.wait_status(lambda s: s["held"], "the status to say why the reminder is held")
    assert snap["held"] == HELD
    assert snap["summary"] == f"Held: Wall stretch ({HELD})"
    d.quiet_for(resumed + 5 - time.time(), count=0)

    ended = time.time()
    screen.set_fullscreen(video, False)
    shown = d.notify(0)
    assert ended <= shown.time < ended + ON_TIME
    assert shown.summary == "Wall stretch"
    d.quiet_for(2, count=1)
    assert d.status()["held"] is None


def test_a_held_reminder_shows_after_max_defer_even_while_fullscreen(
    run: Callable[..., TimeDaemon], fullscreen_desktop: tuple[Desktop, Screen, Any]
) -> None:
    x, _screen, _video = fullscreen_desktop
    d = run(settings(extra='\n[dnd]\nmax_defer = "3s"\n'), on=x)
    _, resumed = d.restart_interval("2s")
    assert d.record("held")["detail"] == HELD
    shown = d.notify(0)
    # Due at +2 s, held for max_defer (3 s), then shown although still fullscreen.
    assert resumed + 2 + 3 - 0.5 <= shown.time < resumed + 2 + 3 + ON_TIME
    d.quiet_for(2, count=1)


# ---------------------------------------------------------------- work hours


def test_outside_work_hours_it_is_off_duty_until_the_day_starts(
    run: Callable[..., TimeDaemon],
    desktop: Desktop,
    shim: WallShim,
    logind: FakeLogind,
    system_bus: PrivateBus,
) -> None:
    now = datetime.now().astimezone()
    if now.hour < 22:  # the work day starts in an hour or so, today
        start = (now + timedelta(hours=1)).replace(second=0, microsecond=0)
        end = start + timedelta(minutes=30)
        until = f"Off duty until {start:%H:%M}"
    else:  # too late today: a work day in the small hours, tomorrow
        start = (now + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
        end = start + timedelta(minutes=30)
        until = f"Off duty until {start:%a %H:%M}"
    schedule = f'\n[schedule]\nstart = "{start:%H:%M}"\nend = "{end:%H:%M}"\n'
    d = run(settings(extra=schedule).replace('"1h"', '"3s"'), system_bus=system_bus.address)
    snap = d.status()
    assert snap["state"] == "off-duty"
    assert snap["summary"] == until
    assert snap["off_duty_until"] == start.timestamp()
    item = desktop.wait_for_sni_item(d.proc.pid)
    desktop.wait_for_menu(item, lambda m: m.labels()[:1] == [until], what=f"the header {until!r}")
    d.quiet_for(4, count=0)  # the 3 s interval does not run off duty

    # The machine sleeps until just after the work day has started.
    logind.prepare_for_sleep(True)
    d.wait_log("logind: going to sleep")
    shim.set_offset(start.timestamp() + 1 - time.time())
    woke = time.time()
    logind.prepare_for_sleep(False)
    snap = d.wait_status(lambda s: s["state"] == "waiting", "the work day to start")
    assert snap["next_in"] in (2, 3)  # a fresh interval from the start of the day
    first = d.notify(0)
    assert woke + 3 - 0.5 <= first.time < woke + 3 + ON_TIME

"""A clock set back, and the jumps the daemon must see before anything else, on fake clocks;
and the timer that waits on the clock that never jumps (real threads, short waits).

The real-process versions of these rules are in tests/test_e2e_time.py."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskbreak import cycle as c
from deskbreak.adapters.timer import FakeTimer, MonotonicTimer
from deskbreak.daemon import _Reload
from deskbreak.settings import Reminders, Routines, Schedule, Settings
from tests.cycle_driver import CycleDriver
from tests.desktop_harness import wait_for
from tests.test_daemon import Rig as DaemonRig

MIN = 60
HOUR = 3600
BERLIN = ZoneInfo("Europe/Berlin")
log = logging.getLogger("test-clock-changes")


def local(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN).timestamp()


def show(ts: float) -> str:
    return datetime.fromtimestamp(ts, BERLIN).strftime("%H:%M")


def settings(**parts: object) -> Settings:
    base = Settings(
        reminders=Reminders(interval=45 * MIN, snooze=10 * MIN, missed_after=5 * MIN),
        routines=Routines(every=0),
    )
    return replace(base, **parts)  # type: ignore[arg-type]


class Cycle(CycleDriver):
    def __init__(self, s: Settings | None = None, start: str = "2026-06-01T10:00") -> None:
        super().__init__(s or settings(), local(start), BERLIN)

    def set_clock_back(self, seconds: float) -> None:
        """The clock is set back: wall time jumps, and the daemon tells the cycle so."""
        self.clock.jump(-seconds)
        self.send(c.ClockChanged(-seconds))


# ---------------------------------------------------------------- the core


def test_a_clock_set_back_keeps_the_interval_its_real_length() -> None:
    r = Cycle()
    r.run_for(20 * MIN)
    r.set_clock_back(10 * MIN)
    st = r.cycle.status(r.now)
    assert st.next_at is not None and st.next_at - r.now == 25 * MIN
    assert r.notifies(r.run_for(25 * MIN - 1)) == []
    [shown] = r.notifies(r.run_for(1))
    assert shown.reminder.shown_at == r.now
    assert st.progress == pytest.approx(20 / 45)  # the tray's ring did not jump either


def test_a_clock_set_back_far_neither_loses_nor_repeats_a_reminder() -> None:
    r = Cycle()
    r.run_for(40 * MIN)
    r.set_clock_back(6 * HOUR)
    fired = r.run_for(7 * MIN)
    assert len(r.notifies(fired)) == 1  # due 5 min later, in real time: once
    assert r.cycle.phase is c.Phase.DUE


def test_a_reminder_on_screen_is_still_missed_after_its_real_time() -> None:
    r = Cycle()
    r.run_for(45 * MIN)
    assert r.cycle.phase is c.Phase.DUE
    r.run_for(1 * MIN)
    r.set_clock_back(HOUR)
    r.run_for(4 * MIN - 1)
    assert r.cycle.phase is c.Phase.DUE
    r.run_for(1)
    assert [x.detail for x in r.records("missed")] == ["no answer"]


def test_a_snooze_keeps_its_real_length() -> None:
    r = Cycle()
    r.run_for(45 * MIN)
    r.send(c.Snooze(10 * MIN))
    r.run_for(3 * MIN)
    r.set_clock_back(30 * MIN)
    assert r.notifies(r.run_for(7 * MIN - 1)) == []
    assert len(r.notifies(r.run_for(1))) == 1


def test_an_absence_keeps_its_real_length() -> None:
    r = Cycle()
    r.run_for(10 * MIN)
    r.send(c.AwayStarted("lock"))
    r.run_for(2 * MIN)
    r.set_clock_back(10 * MIN)
    r.run_for(4 * MIN)  # away 6 minutes in all: more than natural_break (5 min)
    r.send(c.AwayEnded())
    assert [x.detail for x in r.records("natural-break")] == ["lock 6m"]


def test_times_of_day_stay_where_they_are_on_the_clock() -> None:
    hourly = Reminders(interval=HOUR, snooze=10 * MIN, missed_after=5 * MIN)
    r = Cycle(settings(reminders=hourly, schedule=Schedule(breaks=(12 * 60,))), "2026-06-01T11:20")
    assert show(r.timer or 0) == "12:00"  # the fixed break comes before the interval ends
    r.run_for(10 * MIN)  # 11:30
    r.set_clock_back(10 * MIN)  # 11:20 again by the clock
    assert show(r.timer or 0) == "12:00"  # lunch is at noon by the (corrected) clock
    pause_end = r.now + HOUR
    r.send(c.Pause(pause_end))
    r.set_clock_back(5 * MIN)
    assert r.cycle.status(r.now).pause_until == pause_end  # "until 12:20" stays 12:20


def test_asleep_while_locked_is_one_absence_counted_once() -> None:
    r = Cycle()
    r.run_for(10 * MIN)
    r.send(c.AwayStarted("lock"))  # the lid closes: the screen locks...
    r.run_for(1 * MIN)
    r.clock.jump(HOUR)  # ...and the machine sleeps an hour
    r.send(c.Away(HOUR, "suspend"))  # told on waking, while still locked
    assert r.records("natural-break") == []
    r.run_for(2 * MIN)
    r.send(c.AwayEnded())  # unlocked
    assert [x.detail for x in r.records("natural-break")] == ["lock+suspend 1h3m"]
    st = r.cycle.status(r.now)
    assert st.next_at is not None and st.next_at - r.now == 45 * MIN


# ---------------------------------------------------------------- the daemon


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def test_the_daemon_tells_the_core_of_a_clock_set_back(tmp_path: Path) -> None:
    rig = DaemonRig(tmp_path)
    rig.wait(20 * MIN)
    rig.clock.jump(-10 * MIN)
    rig.d.post(c.Tick())  # the timer waits on the monotonic clock: it fires on time
    rig.d.run_pending()
    timer: FakeTimer = rig.d.timer
    assert timer.armed is not None and timer.armed - rig.clock.wall() <= 25 * MIN
    rig.wait(25 * MIN)
    assert rig.shown == ["Wall stretch"]


def test_a_suspend_is_seen_before_whatever_comes_first_after_it(tmp_path: Path) -> None:
    """No logind: the first thing after the resume is a settings reload (or a click). It
    must not take the sleep for time spent waiting and show the reminder."""
    rig = DaemonRig(tmp_path)
    assert rig.session is not None
    rig.session.watching = []
    rig.wait(20 * MIN)
    rig.clock.jump(40 * MIN)  # asleep: wall time moved, monotonic did not
    rig.d.post(_Reload("the settings file changed"))
    rig.d.run_pending()
    assert rig.shown == []
    assert rig.history.kinds == ["natural-break"]
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"


def test_while_the_user_is_away_the_tray_is_not_refreshed(tmp_path: Path) -> None:
    """The tray's "in 2 min" changes every minute, but nobody reads it while the screen is
    locked: with logind there is then nothing to wake up for at all."""
    rig = DaemonRig(tmp_path)
    rig.wait(43 * MIN)
    timer: FakeTimer = rig.d.timer
    redraw = rig.d.redraw_in()
    assert redraw is not None and 0 < redraw <= MIN  # the words
    assert timer.armed is not None  # the reminder
    assert rig.session is not None
    rig.session.lock()
    rig.d.run_pending()
    assert timer.armed is None
    assert rig.d.redraw_in() is None
    rig.clock.advance(30 * MIN)
    rig.session.unlock()
    rig.d.run_pending()
    assert rig.tray.model.tooltip == "Next: Wall stretch in about 45 min"  # fresh on return
    redraw = rig.d.redraw_in()
    assert redraw is not None and 0 < redraw <= 5 * MIN
    assert timer.armed is not None and timer.armed - rig.clock.wall() == 45 * MIN


def test_a_look_at_the_clocks_wakes_nothing_else(tmp_path: Path) -> None:
    """Without logind the clocks are compared every minute; when they agree and nothing is
    due, neither the core nor the tray hears of it."""
    rig = DaemonRig(tmp_path)
    assert rig.session is not None
    rig.session.watching = []
    rig.session.lock()  # away: no tray words to refresh either
    rig.d.run_pending()
    timer: FakeTimer = rig.d.timer
    for _ in range(5):
        assert timer.armed is not None and timer.armed - rig.clock.wall() == MIN
        updates, records = len(rig.tray.models), len(rig.history.kinds)
        rig.clock.advance(MIN)
        timer.fire()
        rig.d.run_pending()
        assert (len(rig.tray.models), len(rig.history.kinds)) == (updates, records)
    rig.clock.jump(10 * MIN)  # and when they disagree, it is seen at the next look:
    rig.clock.advance(MIN)
    timer.fire()
    rig.d.run_pending()
    rig.session.unlock()
    rig.d.run_pending()
    # Asleep while locked: one absence, counted once.
    assert [(k, d) for k, _at, _r, d in rig.history.records] == [
        ("natural-break", "lock+suspend 16m")
    ]


# ---------------------------------------------------------------- the timer


class Clocks:
    """Real monotonic time; a wall clock a test can set."""

    def __init__(self) -> None:
        self.offset = 0.0

    def wall(self) -> float:
        return time.time() + self.offset


class Fired:
    def __init__(self) -> None:
        self.at: list[float] = []
        self.threads: set[str] = set()

    def __call__(self) -> None:
        self.at.append(time.monotonic())
        self.threads.add(threading.current_thread().name)


@pytest.fixture
def timer() -> Iterator[tuple[MonotonicTimer, Clocks, Fired]]:
    clocks, fired = Clocks(), Fired()
    t = MonotonicTimer(fired, log, wall=clocks.wall)
    t.start()
    yield t, clocks, fired
    t.stop()
    assert not t.running


def nothing_for(fired: Fired, seconds: float, count: int = 0) -> None:
    end = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() >= end or len(fired.at) > count, seconds + 2, "quiet")
    assert len(fired.at) == count, fired.at


def test_the_timer_fires_once_at_the_moment(timer: tuple[MonotonicTimer, Clocks, Fired]) -> None:
    t, clocks, fired = timer
    start = time.monotonic()
    t.arm(clocks.wall() + 0.3)
    wait_for(lambda: fired.at, 3, "the tick")
    assert 0.29 <= fired.at[0] - start < 1.5
    assert fired.threads == {"deskbreak-timer"}
    nothing_for(fired, 0.5, count=1)
    t.arm(clocks.wall() + 0.2)
    t.arm(None)  # disarmed before it came
    nothing_for(fired, 0.6, count=1)


def test_a_clock_set_back_does_not_delay_the_tick(
    timer: tuple[MonotonicTimer, Clocks, Fired],
) -> None:
    t, clocks, fired = timer
    start = time.monotonic()
    t.arm(clocks.wall() + 0.3)
    clocks.offset -= 3600
    wait_for(lambda: fired.at, 3, "the tick, an hour 'early' by the wall clock")
    assert fired.at[0] - start < 1.5


def test_after_a_resume_a_passed_moment_fires_at_once(
    timer: tuple[MonotonicTimer, Clocks, Fired],
) -> None:
    t, clocks, fired = timer
    t.arm(clocks.wall() + 30)
    clocks.offset += 40  # the machine slept 40 s: the monotonic clock stood still
    nothing_for(fired, 0.3)
    woke = time.monotonic()
    t.wakeup()
    wait_for(lambda: fired.at, 2, "the tick after wakeup()")
    assert fired.at[0] - woke < 0.5
    nothing_for(fired, 0.3, count=1)  # once

    t.arm(clocks.wall() + 30)
    clocks.offset += 29.6  # not quite there yet: the rest of the wait is measured again
    t.wakeup()
    wait_for(lambda: len(fired.at) == 2, 3, "the tick after the rest of the wait")


def test_the_waiting_timer_does_not_wake_up(timer: tuple[MonotonicTimer, Clocks, Fired]) -> None:
    t, clocks, _fired = timer
    t.arm(clocks.wall() + 3600)
    thread = t._thread
    assert thread is not None and thread.native_id is not None

    def switches() -> int:
        total = 0
        with open(f"/proc/self/task/{thread.native_id}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        return total

    before = switches()
    end = time.monotonic() + 2
    wait_for(lambda: time.monotonic() >= end, 4, "two quiet seconds", interval=0.5)
    assert switches() - before <= 1


def test_a_look_that_finds_the_clocks_together_ticks_nothing(
    timer: tuple[MonotonicTimer, Clocks, Fired],
) -> None:
    t, clocks, fired = timer
    t.arm(clocks.wall() + 3600, look_at=clocks.wall() + 1)  # a look every second
    wait_for(lambda: t.looks >= 2, 4, "two looks at the clocks")
    assert fired.at == []


@pytest.mark.parametrize("moved", [600.0, -600.0])
def test_a_look_that_finds_the_clocks_apart_ticks_at_once(
    timer: tuple[MonotonicTimer, Clocks, Fired], moved: float
) -> None:
    """Forward (a suspend nobody announced) or back (a clock set back): the daemon must see
    it long before the hour is up."""
    t, clocks, fired = timer
    t.arm(clocks.wall() + 3600, look_at=clocks.wall() + 1)  # a look every second
    wait_for(lambda: t.looks >= 1, 3, "the first look")
    clocks.offset += moved
    moved_at = time.monotonic()
    wait_for(lambda: fired.at, 3, "the tick after the next look")
    assert fired.at[0] - moved_at < 1 + 0.5


def test_apscheduler_fires_the_tick_once_at_its_wall_time() -> None:
    import logging
    import threading
    import time

    from deskbreak.adapters.timer import SchedulerTimer

    fired: list[float] = []
    done = threading.Event()

    def on_fire() -> None:
        fired.append(time.time())
        done.set()

    t = SchedulerTimer(on_fire, logging.getLogger("test"))
    t.start()
    try:
        at = time.time() + 0.5
        t.arm(at)
        assert done.wait(5), "the scheduler never fired"
        assert fired[0] >= at - 0.05
        assert t._scheduler is not None and t._scheduler.get_job(t._JOB) is None  # one-shot
        t.arm(None)
    finally:
        t.stop()
    assert len(fired) == 1

"""The timer in use (``SchedulerTimer``, APScheduler 3) with real threads and short real
moments: it fires on time and once, it wakes no thread it need not wake, it does not load
OpenSSL, and it keeps its promises about clocks that jump.

Wake-ups are counted in /proc/self/task/<tid>/status of the threads the timer started:
each voluntary context switch is the thread going to sleep, so one wake-up. (Involuntary
ones are preemptions: another program's load makes them, and an idle machine has next to
none; the assertions leave them out so that a busy test machine cannot fail them.)

A clock that jumps is a real one: the timer runs in a child process under the wall-clock
shim (tests/wallshim.py), so APScheduler reads the moved clock too. Every wait has a
deadline; a "nothing comes" check is a bounded wait for a moment to pass.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from deskbreak.adapters.timer import MonotonicTimer, SchedulerTimer
from tests.desktop_harness import wait_for
from tests.wallshim import WallShim

log = logging.getLogger("test-timer")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers


def tasks() -> set[int]:
    return {int(tid) for tid in os.listdir("/proc/self/task")}


def switches(tid: int) -> int:
    """Voluntary context switches (sleeps) of one thread of this process so far (0 once it
    has ended)."""
    try:
        with open(f"/proc/self/task/{tid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


class Wakes:
    """Counts the wake-ups of the threads that appeared after ``Wakes()`` (the timer's,
    whatever they are: a scheduler, a pool, a watch) from ``mark()`` on."""

    def __init__(self) -> None:
        self.before = tasks()
        self.base: dict[int, int] = {}

    def threads(self) -> set[int]:
        return tasks() - self.before

    def mark(self) -> None:
        self.base = {tid: switches(tid) for tid in self.threads()}

    def count(self) -> int:
        return sum(switches(tid) - self.base.get(tid, 0) for tid in self.threads())


class Fired:
    def __init__(self) -> None:
        self.at: list[float] = []  # monotonic times
        self.threads: set[int] = set()

    def __call__(self) -> None:
        self.at.append(time.monotonic())
        self.threads.add(threading.get_native_id())


def nothing_for(fired: Fired, seconds: float, count: int) -> None:
    """No more than ``count`` ticks while ``seconds`` pass."""
    end = time.monotonic() + seconds
    wait_for(lambda: time.monotonic() >= end or len(fired.at) > count, seconds + 2, "quiet")
    assert len(fired.at) == count, fired.at


@pytest.fixture
def scheduler() -> Iterator[tuple[SchedulerTimer, Fired, Wakes]]:
    fired = Fired()
    wakes = Wakes()
    t = SchedulerTimer(fired, log)
    t.start()
    yield t, fired, wakes
    t.stop()
    assert not t.running


def quiet_thread(t: SchedulerTimer | MonotonicTimer) -> int:
    """Wait until the timer's thread sleeps (its count stops moving); its count then."""
    thread = t.thread
    assert thread is not None and thread.native_id is not None
    tid = thread.native_id
    seen = [switches(tid)]

    def still() -> bool:
        now = switches(tid)
        if now == seen[-1] and len(seen) > 1:
            return True
        seen.append(now)
        return False

    wait_for(still, 5, "the timer's thread asleep", interval=0.1)
    return seen[-1]


# ---------------------------------------------------------------- firing


def test_it_fires_once_at_the_moment_on_its_one_thread(
    scheduler: tuple[SchedulerTimer, Fired, Wakes],
) -> None:
    t, fired, wakes = scheduler
    start = time.monotonic()
    t.arm(time.time() + 0.2)
    wait_for(lambda: fired.at, 3, "the tick")
    assert 0.19 <= fired.at[0] - start < 1.0
    # APScheduler's own thread runs the job: no pool thread, no second thread to watch.
    assert t.thread is not None
    assert fired.threads == {t.thread.native_id}
    assert wakes.threads() == {t.thread.native_id}
    nothing_for(fired, 0.4, count=1)
    t.arm(time.time() + 0.2)
    t.arm(None)  # disarmed before it came
    nothing_for(fired, 0.5, count=1)


def test_a_moment_moved_later_fires_at_the_later_one_only(
    scheduler: tuple[SchedulerTimer, Fired, Wakes],
) -> None:
    t, fired, _ = scheduler
    start = time.monotonic()
    t.arm(time.time() + 0.2)
    t.arm(time.time() + 0.5)  # the thread wakes at 0.2 for nothing and waits on
    wait_for(lambda: fired.at, 3, "the tick")
    assert 0.49 <= fired.at[0] - start < 1.3
    nothing_for(fired, 0.3, count=1)


def test_a_failing_tick_is_logged_and_the_next_one_comes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fired = Fired()

    def on_fire() -> None:
        fired()
        if len(fired.at) == 1:
            raise RuntimeError("the queue is gone")

    t = SchedulerTimer(on_fire, log)
    t.start()
    try:
        t.arm(time.time() + 0.05)
        wait_for(lambda: fired.at, 3, "the first tick")
        t.arm(time.time() + 0.05)
        wait_for(lambda: len(fired.at) == 2, 3, "the second tick")
    finally:
        t.stop()
    assert "the timer's tick failed" in caplog.text


@pytest.mark.parametrize("kind", [SchedulerTimer, MonotonicTimer])
def test_it_can_be_stopped_from_a_tick(kind: type[Any]) -> None:
    stopped = threading.Event()
    t: Any

    def on_fire() -> None:
        t.stop()
        stopped.set()

    t = kind(on_fire, log)
    t.start()
    thread = t.thread
    assert thread is not None
    t.arm(time.time() + 0.05)
    assert stopped.wait(3)
    wait_for(lambda: not thread.is_alive(), 3, "the scheduler's thread to end")


# ---------------------------------------------------------------- wake-ups

MOMENTS = 20
GAP = 0.15  # between moments


@pytest.mark.parametrize("kind", [SchedulerTimer, MonotonicTimer])
def test_each_moment_wakes_the_timer_once(kind: type[Any]) -> None:
    """Like the daemon: the tick is posted to a queue, the daemon's thread takes it and
    arms the next moment, a fixed time after the last (the tray's words change on the
    minute). From the third moment on (the guess needs two), the timer wakes once a moment:
    one thread, and no wake to learn the next moment. The price: a tick comes a few
    hundredths of a second late. (The daemon's own thread wakes once a moment too on an
    idle machine; on a busy one it also waits for the interpreter lock now and then, so
    it is not counted here.)"""
    ticks: queue.SimpleQueue[float] = queue.SimpleQueue()
    wakes = Wakes()
    t = kind(lambda: ticks.put(time.monotonic()), log)
    t.start()
    wall, mono = time.time(), time.monotonic()
    late: list[float] = []
    try:
        t.arm(wall + GAP)
        for k in range(1, MOMENTS + 3):
            late.append(ticks.get(timeout=5) - (mono + k * GAP))
            if k == 2:
                wakes.mark()
            t.arm(wall + (k + 1) * GAP)
        timer_wakes = wakes.count()
    finally:
        t.stop()
    assert timer_wakes <= MOMENTS + 4, (timer_wakes, MOMENTS)
    assert min(late) >= -0.005, late  # never early
    assert max(late) < 0.3, late


@pytest.mark.parametrize("kind", [SchedulerTimer, MonotonicTimer])
@pytest.mark.parametrize("last", [0.5, 0.05])
def test_when_the_guess_is_wrong_the_tick_still_comes_at_its_moment(
    kind: type[Any], last: float
) -> None:
    """Moments 0.15 s apart, then one further off (the thread wakes at the guess and waits
    on) or sooner (arm() wakes it): every tick comes at its moment, never early."""
    ticks: queue.SimpleQueue[float] = queue.SimpleQueue()
    t = kind(lambda: ticks.put(time.monotonic()), log)
    t.start()
    wall, mono = time.time(), time.monotonic()
    moments = [GAP, 2 * GAP, 3 * GAP, 4 * GAP, 4 * GAP + last]
    late: list[float] = []
    try:
        t.arm(wall + moments[0])
        for k, moment in enumerate(moments):
            late.append(ticks.get(timeout=5) - (mono + moment))
            if k + 1 < len(moments):
                t.arm(wall + moments[k + 1])
    finally:
        t.stop()
    assert min(late) >= -0.005, late
    assert max(late) < 0.3, late
    assert late[-1] < 0.1, late  # the wrong guess did not make it late


@pytest.mark.parametrize("kind", [SchedulerTimer, MonotonicTimer])
def test_a_tick_that_arms_the_next_one_itself_costs_one_wake(kind: type[Any]) -> None:
    fired = Fired()
    done = threading.Event()
    wakes = Wakes()
    t: Any

    def on_fire() -> None:
        fired()
        if len(fired.at) == 2:
            wakes.mark()  # from the first moment on that the thread armed itself
        if len(fired.at) == MOMENTS + 2:
            done.set()
        else:
            t.arm(time.time() + 0.03)

    t = kind(on_fire, log)
    t.start()
    try:
        t.arm(time.time() + 0.03)
        assert done.wait(10), fired.at
        count = wakes.count()
    finally:
        t.stop()
    assert count <= MOMENTS + 4, (count, MOMENTS)


@pytest.mark.parametrize("kind", [SchedulerTimer, MonotonicTimer])
def test_arming_the_same_or_a_later_moment_does_not_wake_the_thread(kind: type[Any]) -> None:
    fired = Fired()
    t = kind(fired, log)
    t.start()
    try:
        at, look = time.time() + 30, time.time() + 20
        t.arm(at, look)
        before = quiet_thread(t)
        t.arm(at, look)  # the same
        t.arm(at + 5, look + 1)  # later: it wakes at the old look, finds nothing, waits on
        t.arm(None)  # nothing: it finds that out then too
        t.arm(at + 5, look + 1)
        assert quiet_thread(t) == before
        assert fired.at == []
        thread = t.thread
        assert thread is not None and thread.native_id is not None
        start = time.monotonic()
        t.arm(time.time() + 0.1)  # earlier: that one wakes it, and it fires then
        wait_for(lambda: fired.at, 3, "the earlier tick")
        assert 0.09 <= fired.at[0] - start < 1.0
        assert switches(thread.native_id) > before
    finally:
        t.stop()


# ---------------------------------------------------------------- what it loads

SSL_CHILD = """
import json, logging, sys, threading, time
from deskbreak.adapters.timer import SchedulerTimer

fired = threading.Event()
t = SchedulerTimer(fired.set, logging.getLogger("child"))
t.start()
t.arm(time.time() + 0.05)
report = {"fired": fired.wait(5), "asyncio": "asyncio" in sys.modules,
          "ssl": "ssl" in sys.modules,
          "libcrypto": "libcrypto" in open("/proc/self/maps").read()}
t.stop()
import ssl
ssl.create_default_context()
report["ssl_after"] = "libcrypto" in open("/proc/self/maps").read()
import asyncio
report["asyncio_after"] = asyncio.run(asyncio.sleep(0, "a real event loop"))
print(json.dumps(report))
"""


def test_starting_the_timer_loads_neither_asyncio_nor_openssl_yet_both_still_import() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SSL_CHILD],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report == {
        "fired": True,
        "asyncio": False,  # APScheduler was imported without asyncio...
        "ssl": False,  # ...and without ssl
        "libcrypto": False,  # so no OpenSSL in memory
        "ssl_after": True,  # and a later import ssl works as usual
        "asyncio_after": "a real event loop",  # and so does asyncio
    }


# ---------------------------------------------------------------- clocks that jump

CHILD = """
import json, logging, sys, threading, time
from deskbreak.adapters.timer import SchedulerTimer

lock = threading.Lock()

def say(**what):
    with lock:  # one whole line at a time, from either thread
        sys.stdout.write(json.dumps(what) + "\\n")
        sys.stdout.flush()

t = SchedulerTimer(lambda: say(fired=time.monotonic()), logging.getLogger("child"))
t.start()
say(ready=time.monotonic())
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["do"] == "arm":
        wall = time.time()
        look = cmd.get("look")
        t.arm(wall + cmd["in"], None if look is None else wall + look)
    elif cmd["do"] == "wakeup":
        t.wakeup()
    elif cmd["do"] == "stop":
        break
    say(done=cmd["do"], at=time.monotonic(), looks=t.looks)
t.stop()
"""


class Child:
    """A ``SchedulerTimer`` in a child process whose wall clock the test moves."""

    def __init__(self, shim: WallShim) -> None:
        self.shim = shim
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, **shim.env()},
        )
        self.lines: list[dict[str, Any]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.wait(lambda: any("ready" in x for x in self.lines), "the child to start")

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(json.loads(line))

    def wait(self, pred: Callable[[], Any], what: str, timeout: float = 10) -> Any:
        def check() -> Any:
            if self.proc.poll() is not None:
                assert self.proc.stderr is not None
                raise AssertionError(f"the child ended: {self.proc.stderr.read()}")
            return pred()

        return wait_for(check, timeout, what)

    @property
    def fired(self) -> list[float]:
        return [x["fired"] for x in self.lines if "fired" in x]

    def send(self, do: str, **args: float) -> dict[str, Any]:
        """Send a command; the child's answer (with its monotonic time after it)."""
        assert self.proc.stdin is not None
        count = sum("done" in x for x in self.lines)
        self.proc.stdin.write(json.dumps({"do": do, **args}) + "\n")
        self.proc.stdin.flush()
        return self.wait(
            lambda: [x for x in self.lines if "done" in x][count:][:1] or None, f"{do} done"
        )[0]

    def looks(self) -> int:
        return int(self.send("looks")["looks"])

    def nothing_for(self, seconds: float, count: int) -> None:
        end = time.monotonic() + seconds
        self.wait(lambda: time.monotonic() >= end or len(self.fired) > count, "quiet")
        assert len(self.fired) == count, self.fired

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write(json.dumps({"do": "stop"}) + "\n")
            self.proc.stdin.flush()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def shim_library(tmp_path_factory: pytest.TempPathFactory) -> WallShim:
    return WallShim.build(tmp_path_factory.mktemp("wallshim"))


@pytest.fixture
def child(shim_library: WallShim, tmp_path: Path) -> Iterator[Child]:
    shim = WallShim(shim_library.library, tmp_path / "wall-offset")  # its own clock
    c = Child(shim)
    yield c
    c.close()


def test_a_clock_set_back_does_not_delay_the_tick(child: Child) -> None:
    armed = child.send("arm", **{"in": 0.5})["at"]
    child.shim.jump(-3600)  # APScheduler alone would now wait an hour more
    child.wait(lambda: child.fired, "the tick, an hour 'early' by the wall clock")
    assert 0.45 <= child.fired[0] - armed < 1.5
    child.nothing_for(0.5, count=1)


def test_a_clock_set_forward_does_not_bring_the_tick_early(child: Child) -> None:
    """Right after a tick the thread reads the next moment once more (the settle): a clock
    moved forward by then must not make that read run the next tick."""
    child.send("arm", **{"in": 0.1})
    child.wait(lambda: child.fired, "the first tick")
    armed = child.send("arm", **{"in": 2.0})["at"]
    child.shim.jump(3600)
    child.wait(lambda: len(child.fired) >= 2, "the second tick")
    assert child.fired[1] - armed >= 1.95
    child.nothing_for(0.3, count=2)


def test_after_a_resume_a_passed_moment_fires_at_once_and_once(child: Child) -> None:
    child.send("arm", **{"in": 30})
    child.shim.jump(40)  # asleep 40 s: the monotonic clock stood still
    child.nothing_for(0.3, count=0)
    woke = child.send("wakeup")["at"]
    child.wait(lambda: child.fired, "the tick after wakeup()")
    assert child.fired[0] - woke < 0.5
    child.nothing_for(0.5, count=1)  # once
    child.send("wakeup")  # again: nothing is armed any more
    child.nothing_for(0.3, count=1)

    child.send("arm", **{"in": 30})
    child.shim.jump(29.5)  # not quite there yet: the rest of the wait is measured again
    woke = child.send("wakeup")["at"]
    child.wait(lambda: len(child.fired) == 2, "the tick after the rest of the wait")
    assert 0.45 <= child.fired[1] - woke < 1.5


def test_a_look_that_finds_the_clocks_together_ticks_nothing(child: Child) -> None:
    child.send("arm", **{"in": 3600, "look": 1})  # a look every second
    child.wait(lambda: child.looks() >= 2, "two looks at the clocks")
    assert child.fired == []


@pytest.mark.parametrize("moved", [600.0, -600.0])
def test_a_look_that_finds_the_clocks_apart_ticks_at_once(child: Child, moved: float) -> None:
    """Forward (a suspend nobody announced) or back (a clock set back): the daemon must see
    it long before the hour is up."""
    child.send("arm", **{"in": 3600, "look": 1})
    child.wait(lambda: child.looks() >= 1, "the first look")
    child.shim.jump(moved)
    moved_at = time.monotonic()
    child.wait(lambda: child.fired, "the tick after the next look")
    assert child.fired[0] - moved_at < 1 + 0.5
    child.nothing_for(0.5, count=1)

"""The daemon's timer: a tick at a wall-clock moment, waited for on the monotonic clock.
``SchedulerTimer`` is the one in use: APScheduler 3 fires each tick, on its own thread, and
that thread is the only one the timer has. ``MonotonicTimer`` keeps the same rules on a
thread of its own, without APScheduler (its tests can set the wall clock).

The daemon arms the timer with the next moment the break cycle needs a tick (a wall time).
Arming measures how far away that is on the wall clock *now*, and the timer's thread waits
that long on the monotonic clock, which never jumps. So:

- A clock set back (by hand, or an NTP step) does not delay the tick: it comes after the
  time that was left, and the daemon, comparing the two clocks then, sees the change.
  (A scheduler that waits for a wall time would wait out the whole step first: an hour set
  back would be an hour without a reminder, and without a look at the clocks.)
- A clock set forward, or a suspend, does not bring the tick early: the monotonic clock does
  not advance while the machine sleeps. After a resume the daemon calls ``wakeup()``: the
  wait is measured again on the wall clock, and a tick whose moment has passed comes at once,
  exactly once.
- Without word of resumes (no logind), the daemon also gives a moment to *look* at the
  clocks (``arm(at, look_at)``). Then the thread wakes that often by itself, compares the
  wall clock with the monotonic one, and ticks early only if they moved apart (a suspend or
  a clock change): a look that finds nothing wakes no other thread.

Between those moments the thread sleeps: no periodic wake-ups. And each moment wakes one
thread of the timer, once (the daemon re-arms after every tick; the tray's words are not
the timer's business: the daemon's own thread waits for them):

- The tick is posted by the thread that waited for it: APScheduler runs the job in its own
  thread (``DebugExecutor``), so no pool thread exists or wakes. The post is the thread's
  last act before it waits again, so the daemon's thread, woken by it, finds the
  interpreter lock free instead of waiting for it.
- There is no second thread watching the clocks. APScheduler's thread already waits with a
  timeout, and a timed wait in Python runs on the monotonic clock; after each round of jobs
  the timer shortens that wait to the monotonic moment of the tick (or of the next look),
  and when the thread wakes then, a tick whose time has passed on the monotonic clock is
  made due at once, whatever the wall clock says. (APScheduler alone would, after a clock
  set back, find the job not due and wait out the step.)
- ``arm()`` wakes the thread only if the thread would otherwise wake more than ``LATE``
  (a twentieth of a second) after the new moment. Same values, or a later moment: it wakes
  then anyway, finds the new moment not reached and waits on; waking it at once would
  only add a wake.
- After a tick the thread has nothing to wait for until the daemon names the next moment,
  a few milliseconds later, and only a wake can give a sleeping thread a new timeout; that
  wake would come while the daemon's thread holds the interpreter lock, so the woken
  thread would first wait for the lock, more switches for both. So the thread guesses: the
  next moment comes as long after this one as this one came after the last (reminders
  answered or missed in a steady rhythm come at steady intervals). It sleeps until then
  and ``LATE / 2`` more; the moment the daemon names in the meantime is within ``LATE`` of
  that, so ``arm()`` leaves it asleep, and the one wake brings the tick, some hundredths
  of a second late. A wrong guess costs one more
  wake: too early, the thread wakes, reads the moment and waits on; too late, ``arm()``
  wakes it. With no guess (the first tick, or one a look brought early) it reads after
  ``SETTLE`` (a second): the daemon has answered by then.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

# How late a tick may come so that arm() need not wake the timer's thread (seconds); and,
# after a tick with no guess at the next moment, how long the thread waits before it reads
# what the daemon armed. See the module's docstring.
LATE = 0.05
SETTLE = 1.0


class Timer(Protocol):
    def start(self) -> None: ...

    def arm(self, at: float | None, look_at: float | None = None) -> None: ...

    def wakeup(self) -> None: ...

    def stop(self) -> None: ...


class _ClockRules:
    """The rules of the module's docstring, shared by both timers. Everything here runs
    holding ``self._cond``; the timer's thread calls ``_check()`` whenever it wakes and then
    waits ``_wait_length()`` (or less); ``_wake()`` makes it look again."""

    def __init__(
        self,
        on_fire: Callable[[], None],
        log: logging.Logger,
        *,
        tolerance: float = 5.0,
        settle: float = SETTLE,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_fire = on_fire
        self._log = log
        self._tolerance = tolerance
        self._settle = settle
        self._wall = wall
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._armed: tuple[float | None, float | None] = (None, None)  # (at, look_at)
        self._version = 0  # counts arm() and wakeup() calls that changed something
        self._deadline: float | None = None  # when to tick, on the monotonic clock
        self._look_every: float | None = None
        self._next_look: float | None = None  # when to look, on the monotonic clock
        self._offset = 0.0  # wall minus monotonic time at the last measure
        self._last_deadline: float | None = None  # the deadline of the last tick
        self._read_at: float | None = None  # after a tick: when to read the state again
        # The thread is running (not waiting): it reads the state again before it waits, so
        # nobody needs to wake it. Until it first waits, it is as good as running.
        self._busy = True
        self._wake_at: float | None = None  # when the waiting thread wakes by itself
        self._stopping = False
        self.looks = 0  # looks that found the clocks together (for tests)

    def arm(self, at: float | None, look_at: float | None = None) -> None:
        """Tick at wall time ``at``; until then, look at the clocks by ``look_at`` and then
        as often again. None: no tick, no looks."""
        with self._cond:
            if (at, look_at) == self._armed:
                return
            self._armed = (at, look_at)
            self._measure()
            if self._must_wake():
                self._wake()

    def wakeup(self) -> None:
        """The wall clock may have moved on (a resume): measure the wait again."""
        with self._cond:
            self._measure()
            if self._must_wake():
                self._wake()

    def _measure(self) -> None:
        at, look_at = self._armed
        wall, mono = self._wall(), self._monotonic()
        self._deadline = None if at is None else mono + max(0.0, at - wall)
        self._look_every = None if look_at is None else max(1.0, look_at - wall)
        self._next_look = None if self._look_every is None else mono + self._look_every
        self._offset = wall - mono
        self._version += 1

    def _must_wake(self) -> bool:
        """Whether the waiting thread must wake now to meet the armed moments: only if it
        would wake more than ``LATE`` after the sooner of them. Waking up then, it finds a
        later moment not reached and waits on; with nothing armed it finds nothing."""
        if self._busy:
            return False
        moments = [t for t in (self._deadline, self._next_look) if t is not None]
        if not moments:
            return False
        return self._wake_at is None or min(moments) + LATE < self._wake_at

    def _wake(self) -> None:
        raise NotImplementedError

    def _check(self) -> bool:
        """Whether the tick is due now (else: wait). A look that finds the clocks together
        only schedules the next look."""
        mono = self._monotonic()
        if self._read_at is not None and mono >= self._read_at:
            self._read_at = None
        if self._deadline is not None and mono >= self._deadline:
            return True
        if self._next_look is None or mono < self._next_look:
            return False
        assert self._look_every is not None
        drift = (self._wall() - mono) - self._offset
        if abs(drift) > self._tolerance:
            return True  # a suspend or a clock change: the daemon must see it
        self.looks += 1
        self._next_look = mono + self._look_every
        return False

    def _ticked(self) -> None:
        """The tick is being handed over: disarm, and choose when to read what the daemon
        arms next: at the next moment as guessed (as long after this one as this one came
        after the last, a little past it), or, with no guess, after the settle."""
        mono = self._monotonic()
        deadline, last = self._deadline, self._last_deadline
        # At its moment (APScheduler may run it a hair before the monotonic one), not early
        # because a look found the clocks apart.
        on_time = deadline is not None and mono >= deadline - LATE
        self._last_deadline = deadline if on_time else None
        if on_time and deadline is not None and last is not None and deadline > last:
            self._read_at = deadline + (deadline - last) + LATE / 2
        else:
            self._read_at = mono + self._settle
        self._armed = (None, None)
        self._deadline = self._next_look = self._look_every = None

    def _wait_length(self) -> float | None:
        moments = [t for t in (self._deadline, self._next_look, self._read_at) if t is not None]
        return None if not moments else max(0.0, min(moments) - self._monotonic())

    def _waiting(self, wait: float | None) -> None:
        """The thread is about to wait ``wait`` seconds (None: until woken)."""
        self._wake_at = None if wait is None else self._monotonic() + wait
        self._busy = False

    def _fire(self) -> None:
        """Hand the tick to the daemon; never raises."""
        try:
            self._on_fire()
        except Exception:
            self._log.exception("the timer's tick failed")


class MonotonicTimer(_ClockRules):
    """See the module's docstring: the rules on a thread of the timer's own. ``on_fire``
    runs on that thread, holding the timer's lock: it should only hand a tick to the daemon
    (or arm or stop the timer). ``tolerance``: how far the clocks may drift apart before a
    look ticks (seconds)."""

    def __init__(self, on_fire: Callable[[], None], log: logging.Logger, **kw: Any) -> None:
        super().__init__(on_fire, log, **kw)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deskbreak-timer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        """The one thread the timer owns (for tests and measurements)."""
        return self._thread

    def _wake(self) -> None:
        self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                due = self._check()
                if due:
                    self._ticked()
                wait = self._wait_length()
                self._waiting(wait)
                if due:
                    # Posted last, just before the thread waits (see SchedulerTimer._round);
                    # if ``on_fire`` armed the timer itself, that is read before any wait.
                    version = self._version
                    self._fire()
                    if self._version != version or self._stopping:
                        self._busy = True
                        continue
                self._cond.wait(wait)
                self._busy = True


def _import_apscheduler() -> Any:
    """The APScheduler classes the timer uses, imported without asyncio and ssl.

    APScheduler 3 imports asyncio only for ``iscoroutinefunction`` (from Python 3.14 on it
    takes ``inspect``'s), and asyncio, 29 modules, imports ssl, which maps OpenSSL's
    libcrypto: together some 5 MiB in a daemon that never runs an event loop or speaks TLS.
    While APScheduler is imported, ``sys.modules`` holds a stand-in "asyncio" that offers
    ``inspect.iscoroutinefunction`` (the same answer for every function the daemon hands
    APScheduler), and None for "ssl" (``import ssl`` then raises ImportError). Both are
    taken out right after, so a later ``import asyncio`` or ``import ssl`` anywhere else
    gets the real module.
    """
    import inspect
    import types

    stand_ins: dict[str, Any] = {}
    if "asyncio" not in sys.modules:
        asyncio = types.ModuleType("asyncio", "deskbreak's stand-in while APScheduler imports")
        asyncio.iscoroutinefunction = inspect.iscoroutinefunction  # type: ignore[attr-defined]
        stand_ins["asyncio"] = asyncio
    if "ssl" not in sys.modules:
        stand_ins["ssl"] = None
    sys.modules.update(stand_ins)
    try:
        from apscheduler.executors.debug import DebugExecutor
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.schedulers.blocking import BlockingScheduler
        from apscheduler.triggers.date import DateTrigger
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name, module) is module:
                sys.modules.pop(name, None)
    return types.SimpleNamespace(
        DebugExecutor=DebugExecutor,
        BackgroundScheduler=BackgroundScheduler,
        BlockingScheduler=BlockingScheduler,
        DateTrigger=DateTrigger,
    )


class SchedulerTimer(_ClockRules):
    """APScheduler 3 fires the ticks, on its own thread; see the module's docstring.

    The job is added with ``misfire_grace_time=None`` and ``coalesce=True`` (its defaults
    would silently drop a tick that came due while the machine slept), runs in the
    scheduler's thread (``DebugExecutor``), and is put in the job store, changed or taken
    out only by that thread, at the start of each of its rounds (``_round``), so a tick just
    run can never take a newer one with it. APScheduler reads the system clock, so this
    timer has no ``wall``/``monotonic`` to set.
    """

    _JOB = "deskbreak-tick"

    def __init__(
        self,
        on_fire: Callable[[], None],
        log: logging.Logger,
        *,
        tolerance: float = 5.0,
        settle: float = SETTLE,
    ) -> None:
        super().__init__(on_fire, log, tolerance=tolerance, settle=settle)
        self._scheduler: Any = None
        self._date_trigger: Any = None
        self._job: tuple[float, int] | None = None  # (run time, version) of the job stored
        self._storing = False  # the scheduler's thread is storing the job
        self._tick_due = False  # the job ran this round: the tick is to be posted

    def start(self) -> None:
        aps = _import_apscheduler()
        timer = self

        class Scheduler(aps.BackgroundScheduler):  # type: ignore[misc,name-defined]
            def _process_jobs(self) -> float | None:
                return timer._round(super()._process_jobs)

            def wakeup(self) -> None:
                # Storing the job in ``_round`` needs no wake: the round works out the wait
                # after that.
                if not timer._storing:
                    super().wakeup()

            def shutdown(self, wait: bool = True) -> None:
                if self.on_own_thread():  # from a tick: it cannot wait for itself to end
                    aps.BlockingScheduler.shutdown(self, wait)  # it ends after this round
                else:
                    super().shutdown(wait)

            def on_own_thread(self) -> bool:
                return threading.current_thread() is getattr(self, "_thread", None)

        self._date_trigger = aps.DateTrigger
        self._scheduler = Scheduler(
            timezone=UTC,
            executors={"default": aps.DebugExecutor()},
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        # APScheduler logs every run at INFO; keep the log about deskbreak.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
        sched = self._scheduler
        if sched is not None and sched.running:
            sched.shutdown(wait=False)
        self._scheduler = None

    @property
    def running(self) -> bool:
        thread = self.thread
        return thread is not None and thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        """The one thread the timer owns: APScheduler's (for tests and measurements)."""
        thread = getattr(self._scheduler, "_thread", None)
        return thread if isinstance(thread, threading.Thread) else None

    def _wake(self) -> None:
        if self._scheduler is not None:
            self._scheduler.wakeup()

    def _round(self, process_jobs: Callable[[], float | None]) -> float | None:
        """One round of the scheduler's thread, each time it wakes: bring the job in line
        with what is armed (due at once if the tick's time has passed on the monotonic
        clock, or a look found the clocks apart), let APScheduler run what is due, and wait
        no longer than to the next monotonic moment."""
        with self._cond:
            self._busy = True
            due = self._check()
            version = self._version
            run_at = self._run_at(due)
        self._storing = True
        try:
            self._put_job(run_at, version)
            stored = True
        except Exception:
            self._log.exception("could not store the timer's job")
            stored = False
        finally:
            self._storing = False
        wait = process_jobs()
        with self._cond:
            ticked, self._tick_due = self._tick_due, False
            if self._stopping:
                wait = None
            elif self._version != version:
                wait = 0.0  # armed again meanwhile: another round at once, without a wait
            else:
                bound = self._wait_length()
                if bound is not None and (wait is None or bound < wait):
                    wait = bound
                if not stored and wait is not None:
                    wait = max(wait, 1.0)  # try again in a second, not in a busy loop
                self._waiting(wait)
        if ticked:
            # Posted last, just before the thread waits: the daemon's thread, woken by it,
            # then finds the interpreter free instead of waiting for this thread.
            self._fire()
        return wait

    def _run_at(self, due: bool) -> float | None:
        """The wall time to store the job for. Due (its monotonic moment has passed, or a
        look found the clocks apart): the armed time if the wall clock has passed it too,
        else now. Not due: the armed time; but if the clocks moved apart since it was armed
        (a clock set forward, say), the tick's monotonic moment as the clocks stand now, so
        that a round for another reason (a look, a read after a tick) does not run it early
        on the moved wall clock."""
        at = self._armed[0]
        wall = self._wall()
        if due:
            return wall if at is None else min(at, wall)
        if at is None or self._deadline is None:
            return at
        mono = self._monotonic()
        if abs((wall - mono) - self._offset) <= self._tolerance:
            return at
        return wall + max(0.0, self._deadline - mono)

    def _put_job(self, run_at: float | None, version: int) -> None:
        """On the scheduler's thread: make the job store hold the tick for ``run_at``."""
        job = None if run_at is None else (run_at, version)
        if job == self._job:
            return
        if run_at is None:
            if self._scheduler.get_job(self._JOB) is not None:
                self._scheduler.remove_job(self._JOB)
        else:
            when = datetime.fromtimestamp(run_at, tz=UTC)
            self._scheduler.add_job(
                self._tick,
                self._date_trigger(run_date=when, timezone=UTC),
                args=(version,),
                id=self._JOB,
                replace_existing=True,
            )
        self._job = job

    def _tick(self, version: int) -> None:
        """The job, on the scheduler's thread. It disarms the timer unless it was armed
        again since the job was stored (then the newer moment stays armed); the round
        posts the tick at its end."""
        with self._cond:
            self._job = None  # a date job runs once: APScheduler drops it now
            self._tick_due = True
            if version == self._version:
                self._ticked()


class FakeTimer:
    """Records what was armed; tests fire it by hand."""

    def __init__(self, on_fire: Callable[[], None]) -> None:
        self._on_fire = on_fire
        self.armed: float | None = None
        self.look_at: float | None = None
        self.history: list[float | None] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def arm(self, at: float | None, look_at: float | None = None) -> None:
        """``armed`` is when it should fire next: the tick, or the look if sooner."""
        with self._lock:
            moments = [t for t in (at, look_at) if t is not None]
            self.armed = min(moments) if moments else None
            self.look_at = look_at
            self.history.append(self.armed)

    def fire(self) -> None:
        self._on_fire()

    def wakeup(self) -> None:
        pass

    def stop(self) -> None:
        pass

"""The daemon's timer. ``SchedulerTimer`` (the one in use) lets APScheduler 3 fire each tick
and keeps ``MonotonicTimer`` underneath as a watch on the clocks, as described here.

``MonotonicTimer``: a tick at a wall-clock moment, waited for on the monotonic clock.

The daemon arms it with the next moment the break cycle needs a tick (a wall time). Arming
measures how far away that is on the wall clock *now*, and one thread waits that long on
the monotonic clock, which never jumps. So:

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

Between those moments the thread sleeps: no periodic wake-ups.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol


class Timer(Protocol):
    def start(self) -> None: ...

    def arm(self, at: float | None, look_at: float | None = None) -> None: ...

    def wakeup(self) -> None: ...

    def stop(self) -> None: ...


class MonotonicTimer:
    """See the module's docstring. ``on_fire`` runs on the timer's thread: it should only
    hand a tick to the daemon. ``tolerance``: how far the clocks may drift apart before a
    look ticks (seconds)."""

    def __init__(
        self,
        on_fire: Callable[[], None],
        log: logging.Logger,
        *,
        tolerance: float = 5.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_fire = on_fire
        self._log = log
        self._tolerance = tolerance
        self._wall = wall
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._armed: tuple[float | None, float | None] = (None, None)  # (at, look_at)
        self._deadline: float | None = None  # when to tick, on the monotonic clock
        self._look_every: float | None = None
        self._next_look: float | None = None  # when to look, on the monotonic clock
        self._offset = 0.0  # wall minus monotonic time at the last look
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.looks = 0  # looks that found the clocks together (for tests)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deskbreak-timer", daemon=True)
        self._thread.start()

    def arm(self, at: float | None, look_at: float | None = None) -> None:
        """Tick at wall time ``at``; until then, look at the clocks by ``look_at`` and then
        as often again. None: no tick, no looks."""
        with self._cond:
            if (at, look_at) == self._armed:
                return
            self._armed = (at, look_at)
            self._measure()
            self._cond.notify()

    def wakeup(self) -> None:
        """The wall clock may have moved on (a resume): measure the wait again."""
        with self._cond:
            self._measure()
            self._cond.notify()

    def _measure(self) -> None:
        at, look_at = self._armed
        wall, mono = self._wall(), self._monotonic()
        self._deadline = None if at is None else mono + max(0.0, at - wall)
        self._look_every = None if look_at is None else max(1.0, look_at - wall)
        self._next_look = None if self._look_every is None else mono + self._look_every
        self._offset = wall - mono

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

    def _due(self) -> bool:
        """On the timer's thread, holding the lock: whether to tick now (else: wait)."""
        mono = self._monotonic()
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

    def _wait_length(self) -> float | None:
        moments = [t for t in (self._deadline, self._next_look) if t is not None]
        return None if not moments else max(0.0, min(moments) - self._monotonic())

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                if not self._due():
                    self._cond.wait(self._wait_length())
                    continue
                self._armed = (None, None)
                self._deadline = self._next_look = self._look_every = None
                self._cond.release()
                try:
                    self._on_fire()
                except Exception:
                    self._log.exception("the timer's tick failed")
                finally:
                    self._cond.acquire()


class SchedulerTimer(MonotonicTimer):
    """APScheduler 3 fires the ticks; the monotonic thread only watches the clocks.

    The job is added with ``misfire_grace_time=None`` and ``coalesce=True`` (its defaults
    would silently drop a tick that came due while the machine slept) and ``wakeup()`` makes
    the scheduler look at the wall clock again after a resume. APScheduler waits for a wall
    time, so a clock set back would delay its tick by the whole step: the monotonic thread
    waits for the same moment measured on the monotonic clock and, only if the clocks moved
    apart by then, ticks itself, so the daemon sees the change and re-arms the job.
    """

    _JOB = "deskbreak-tick"

    def __init__(self, on_fire: Callable[[], None], log: logging.Logger, **kw: Any) -> None:
        super().__init__(on_fire, log, **kw)
        self._scheduler: Any = None

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        # APScheduler logs every run at INFO; keep the log about deskbreak.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler.start()
        super().start()

    def arm(self, at: float | None, look_at: float | None = None) -> None:
        with self._cond:
            if (at, look_at) == self._armed:
                return
        super().arm(at, look_at)
        sched = self._scheduler
        if sched is None:
            return
        if at is None:
            if sched.get_job(self._JOB) is not None:
                sched.remove_job(self._JOB)
            return
        from apscheduler.triggers.date import DateTrigger

        when = datetime.fromtimestamp(at, tz=UTC)
        sched.add_job(
            self._on_fire,
            DateTrigger(run_date=when, timezone=UTC),
            id=self._JOB,
            replace_existing=True,
        )

    def wakeup(self) -> None:
        super().wakeup()
        if self._scheduler is not None:
            self._scheduler.wakeup()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        super().stop()

    def _due(self) -> bool:
        mono = self._monotonic()
        if self._deadline is not None and mono >= self._deadline:
            drift = (self._wall() - mono) - self._offset
            if abs(drift) > self._tolerance:
                return True  # the clock moved: tick, so the daemon sees it and re-arms
            self._deadline = None  # the scheduler fires this one
        return super()._due()


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

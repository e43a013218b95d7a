"""One timer: a tick at a wall-clock moment, waited for on the monotonic clock.

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
  exactly once. Without word of the resume, the daemon arms the timer at most a minute ahead,
  so the tick that looks at the clocks is at most a minute of waking time late.

While nothing is armed, or until the armed moment, the thread sleeps: no periodic wake-ups.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def start(self) -> None: ...

    def arm(self, at: float | None) -> None: ...

    def wakeup(self) -> None: ...

    def stop(self) -> None: ...


class MonotonicTimer:
    """See the module's docstring. ``on_fire`` runs on the timer's thread: it should only
    hand a tick to the daemon."""

    def __init__(
        self,
        on_fire: Callable[[], None],
        log: logging.Logger,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_fire = on_fire
        self._log = log
        self._wall = wall
        self._monotonic = monotonic
        self._cond = threading.Condition()
        self._armed: float | None = None  # the wall time asked for
        self._deadline: float | None = None  # when to fire, on the monotonic clock
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deskbreak-timer", daemon=True)
        self._thread.start()

    def arm(self, at: float | None) -> None:
        with self._cond:
            if at == self._armed:
                return
            self._armed = at
            self._measure()
            self._cond.notify()

    def wakeup(self) -> None:
        """The wall clock may have moved on (a resume): measure the wait again."""
        with self._cond:
            self._measure()
            self._cond.notify()

    def _measure(self) -> None:
        at = self._armed
        self._deadline = None if at is None else self._monotonic() + max(0.0, at - self._wall())

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

    def _run(self) -> None:
        with self._cond:
            while not self._stopping:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                remaining = self._deadline - self._monotonic()
                if remaining > 0:
                    self._cond.wait(remaining)
                    continue
                self._armed = self._deadline = None
                self._cond.release()
                try:
                    self._on_fire()
                except Exception:
                    self._log.exception("the timer's tick failed")
                finally:
                    self._cond.acquire()


class FakeTimer:
    """Records what was armed; tests fire it by hand."""

    def __init__(self, on_fire: Callable[[], None]) -> None:
        self._on_fire = on_fire
        self.armed: float | None = None
        self.history: list[float | None] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        pass

    def arm(self, at: float | None) -> None:
        with self._lock:
            self.armed = at
            self.history.append(at)

    def fire(self) -> None:
        self._on_fire()

    def wakeup(self) -> None:
        pass

    def stop(self) -> None:
        pass

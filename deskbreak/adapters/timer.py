"""One wall-clock timer, backed by APScheduler 3's BackgroundScheduler.

The daemon arms it with the next moment the break cycle needs a tick. APScheduler's default
``misfire_grace_time=1`` silently drops a job that came due while the machine slept, so the
job is added with ``misfire_grace_time=None`` and ``coalesce=True``: a late job still runs,
exactly once. APScheduler sleeps on a clock that stops during suspend, so after a resume the
daemon calls ``wakeup()`` to make it look at the wall clock again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

_JOB_ID = "deskbreak-tick"


class Timer(Protocol):
    def start(self) -> None: ...

    def arm(self, at: float | None) -> None: ...

    def wakeup(self) -> None: ...

    def stop(self) -> None: ...


class SchedulerTimer:
    def __init__(self, on_fire: Callable[[], None], log: logging.Logger) -> None:
        self._on_fire = on_fire
        self._log = log
        self._scheduler: Any = None
        self._armed: float | None = None

    def start(self) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self._scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        # APScheduler logs every job run at INFO; keep our log about deskbreak.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self._scheduler.start()

    def arm(self, at: float | None) -> None:
        if at == self._armed:
            return
        self._armed = at
        sched = self._scheduler
        if sched is None:
            return
        if at is None:
            if sched.get_job(_JOB_ID) is not None:
                sched.remove_job(_JOB_ID)
            return
        from apscheduler.triggers.date import DateTrigger

        when = datetime.fromtimestamp(at, tz=UTC)
        sched.add_job(
            self._fire, DateTrigger(run_date=when, timezone=UTC), id=_JOB_ID, replace_existing=True
        )

    def _fire(self) -> None:
        self._armed = None
        self._on_fire()

    def wakeup(self) -> None:
        if self._scheduler is not None:
            self._scheduler.wakeup()

    def stop(self) -> None:
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None


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

"""A real ``deskbreak run`` on a test desktop, and how end-to-end tests watch it.

Everything a test asserts is read from the outside: ``Notify`` calls and signals off the
bus (``Desktop.notifications``), the tray item through the StatusNotifierWatcher and its
menu over dbusmenu, the settings file on disk, the exit code, and the daemon's log (the
one place that says why, e.g. the warning when notifications don't work).

Each daemon gets its own state, data, cache and runtime directories, so what one test
leaves behind (history, the "welcomed" marker, a control socket) cannot change another.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.desktop_harness import Desktop, MenuItem, NotifyRecord, Proc

APP = "deskbreak"
ACTION_KEYS = ["done", "snooze", "skip"]  # the notification's buttons (guide = "notification")
_LOG_TIME = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) ")


def settings_text(
    interval: str = "2s",
    snooze: str = "3s",
    missed_after: str = "1m",
    exercises: Sequence[str] | None = None,
) -> str:
    """A settings file with second-scale durations and comments (to check they survive)."""
    lines = [
        "# deskbreak settings for an end-to-end test",
        "[reminders]",
        "# how often",
        f'interval = "{interval}"   # short, so the test runs in seconds',
        f'snooze = "{snooze}"',
        f'missed_after = "{missed_after}"',
        'guide = "notification"  # buttons in the notification, no guided window',
    ]
    if exercises is not None:
        lines.append("exercises = [" + ", ".join(f'"{e}"' for e in exercises) + "]")
    lines += ["", "# one stretch at a time, never a routine", "[routines]", "every = 0"]
    # Nobody touches the test desktop's keyboard or mouse: without this, once the X server
    # has run longer than the idle threshold, deskbreak would rightly take the user for away.
    lines += ["", "[away]", "idle = false", ""]
    return "\n".join(lines)


class RunningDaemon:
    """``deskbreak run -v --config FILE`` started on ``desktop``."""

    def __init__(
        self,
        desktop: Desktop,
        config: Path,
        *,
        env: dict[str, str] | None = None,
        wait_for_item: bool = True,
        name: str = "deskbreak",
    ) -> None:
        assert desktop.notifications is not None
        self.desktop = desktop
        self.config = config
        self.log = desktop.notifications
        own = Path(tempfile.mkdtemp(prefix="d-", dir=desktop.root))
        extra = {
            "XDG_STATE_HOME": str(own / "state"),
            "XDG_DATA_HOME": str(own / "data"),
            "XDG_CACHE_HOME": str(own / "cache"),
            "XDG_RUNTIME_DIR": str(own / "run"),
        }
        for path in extra.values():
            os.makedirs(path, mode=0o700)
        extra.update(env or {})
        self.spawned_at = time.time()
        self.proc: Proc = desktop.spawn(
            name,
            [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(config)],
            env=extra,
        )
        self.item = ""
        if wait_for_item:
            self.item = self.wait_for_item()

    @property
    def pid(self) -> int:
        return self.proc.pid

    # -- the process ------------------------------------------------------------------------

    def output(self) -> str:
        return self.proc.output()

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        return self.proc.wait_for_output(text, timeout)

    def log_count(self, text: str) -> int:
        return sum(1 for line in self.output().splitlines() if text in line)

    def logged_at(self, text: str) -> float:
        """The wall time of the first log line containing ``text`` (waits for it)."""
        for line in self.wait_for_log(text).splitlines():
            m = _LOG_TIME.match(line)
            if m and text in line:
                return dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
        raise AssertionError(f"no log line with {text!r}:\n{self.output()}")

    def assert_alive(self) -> None:
        assert self.proc.alive(), f"deskbreak exited with {self.proc.popen.returncode}:\n" + (
            self.output()
        )

    def signal(self, sig: signal.Signals) -> None:
        os.kill(self.proc.pid, sig)

    def wait_exit(self, timeout: float = 15.0) -> int:
        return self.proc.popen.wait(timeout=timeout)

    def stop(self) -> None:
        self.proc.terminate()

    # -- notifications ----------------------------------------------------------------------

    def notifies(self) -> list[NotifyRecord]:
        return [n for n in self.log.notifies if n.app_name == APP]

    def notify(self, index: int, timeout: float = 10.0) -> NotifyRecord:
        """Our Notify number ``index`` (0-based), once the server has answered it."""

        def find() -> NotifyRecord | None:
            ours = self.notifies()
            if len(ours) > index and ours[index].id is not None:
                return ours[index]
            if not self.proc.alive():
                raise AssertionError(f"deskbreak exited:\n{self.output()}")
            return None

        return self.log.wait(find, timeout, f"deskbreak notification number {index + 1}")

    def assert_no_notify_until(self, deadline: float, count: int) -> None:
        """Watch the bus until wall time ``deadline``: no Notify beyond the first ``count``."""

        def extra() -> NotifyRecord | None:
            ours = self.notifies()
            return ours[count] if len(ours) > count else None

        remaining = deadline - time.time()
        if remaining <= 0:
            return
        try:
            record = self.log.wait(extra, remaining, "no further notification")
        except AssertionError:
            return  # the window passed quietly
        raise AssertionError(f"unexpected notification {record.summary!r} at {record.time:.3f}")

    # -- the tray ---------------------------------------------------------------------------

    def wait_for_item(self, timeout: float = 20.0) -> str:
        def registered() -> str | None:
            if not self.proc.alive():
                raise AssertionError(f"deskbreak exited:\n{self.output()}")
            return self.desktop.sni_item_of(self.proc.pid)

        self.item = self.desktop.wait_for(
            registered, timeout, "deskbreak's tray item to register with the watcher"
        )
        return self.item

    @staticmethod
    def entries(menu: MenuItem) -> list[str]:
        """The labels of the entries that can be clicked (not the lines that only inform)."""
        return [c.label for c in menu.children if c.visible and c.type != "separator" and c.enabled]

    def menu(self) -> MenuItem:
        return self.desktop.menu_layout(self.item)

    def wait_for_menu(
        self, predicate: Callable[[MenuItem], bool], what: str, timeout: float = 10.0
    ) -> MenuItem:
        return self.desktop.wait_for_menu(self.item, predicate, timeout, what)

    def wait_for_header(self, prefix: str, timeout: float = 10.0) -> MenuItem:
        """Wait until the menu's first line starts with ``prefix`` ("Now: ", "Next: ")."""
        return self.wait_for_menu(
            lambda m: bool(m.labels()) and m.labels()[0].startswith(prefix),
            f"the tray menu to begin with {prefix!r}",
            timeout,
        )

    def click(self, *labels: str) -> tuple[float, float]:
        """Click a menu entry; returns the wall times just before and just after the click."""
        before = time.time()
        self.desktop.menu_click(self.item, labels)
        return before, time.time()

    def properties(self) -> dict[str, Any]:
        return self.desktop.sni_properties(self.item)

"""Terminal mode: with no graphical session, reminders print to the terminal and single keys
answer them. It stands in for both the tray and the notifier."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO

from deskbreak.durations import format_duration
from deskbreak.wallclock import clock_label

KEYS = {
    "a": ("accept", "done"),
    "\n": ("accept", "done"),
    "\r": ("accept", "done"),
    "s": ("snooze", "snooze"),
    "k": ("skip", "skip"),
    "n": ("now", "stretch now"),
    "p": ("pause", "pause 30 min"),
    "r": ("resume", "resume"),
    "q": ("quit", "quit"),
}
HELP = (
    "keys: [a/Enter] done  [s] snooze  [k] skip  [n] stretch now  "
    "[p] pause 30 min  [r] resume  [q] quit"
)


class TerminalUI:
    backend = "terminal"
    supports_actions = True

    def __init__(
        self,
        on_command: Callable[[str, int | None], None],
        log: logging.Logger,
        stdin: Any = None,
        out: TextIO | None = None,
    ) -> None:
        self._on_command = on_command
        self._log = log
        self._in = stdin if stdin is not None else sys.stdin
        self._out = out if out is not None else sys.stdout
        self._saved_tty: Any = None
        self._thread: threading.Thread | None = None
        self._last_line = ""

    # -- tray side

    def start(self) -> None:
        self._say(f"deskbreak is running in this terminal. {HELP}")
        try:
            fd = self._in.fileno()
        except (AttributeError, OSError, ValueError):
            return
        if os.isatty(fd):
            import termios
            import tty

            self._saved_tty = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        self._thread = threading.Thread(target=self._read_keys, args=(fd,), daemon=True)
        self._thread.start()

    def lost_features(self) -> list[str]:
        return []

    def update_status(self, status: Any) -> None:
        now = status.now
        if status.state == "waiting" and status.next_at is not None:
            line = f"Next: {status.exercise_name} at {clock_label(status.next_at, now)}"
        elif status.state == "snoozed" and status.next_at is not None:
            line = f"Snoozed: {status.exercise_name} until {clock_label(status.next_at, now)}"
        elif status.state == "paused":
            until = status.pause_until
            line = "Paused" + (f" until {clock_label(until, now)}" if until else "")
        else:
            return
        if line != self._last_line:
            self._last_line = line
            self._say(line)

    def update(self, _model: Any) -> None:
        pass

    def stop(self) -> None:
        if self._saved_tty is not None:
            import termios

            with contextlib.suppress(OSError, ValueError):
                termios.tcsetattr(self._in.fileno(), termios.TCSADRAIN, self._saved_tty)
            self._saved_tty = None

    # -- notifier side

    def show_reminder(self, notify: Any, note: str = "") -> None:
        self._last_line = ""
        routine = getattr(notify, "routine", None)
        if routine is not None:
            exercises = notify.exercises
            total = format_duration(notify.total)
            lines = [f"Time for a routine: {routine.name} ({total}, {len(exercises)} exercises)"]
            for n, ex in enumerate(exercises, 1):
                lines.append(
                    f"  {n} of {len(exercises)}: {ex.name} ({format_duration(ex.duration)})"
                )
                lines += [f"      {i}. {step}" for i, step in enumerate(ex.steps, 1)]
        else:
            ex = notify.exercise
            lines = [f"Time to stretch: {ex.name} ({format_duration(ex.duration)})"]
            lines += [f"  {i}. {step}" for i, step in enumerate(ex.steps, 1)]
            if ex.equipment:
                lines.append(f"  You need: {', '.join(ex.equipment)}")
        if note:
            lines.append(f"  {note}")
        lines.append("  [a/Enter] done  [s] snooze  [k] skip")
        self._say("\n".join(lines))

    def show(self, notice: Any) -> None:
        """A message that is not a reminder (a settings error, say)."""
        self._last_line = ""
        self._say(f"{notice.title}: {notice.body}")

    def close(self) -> None:
        pass

    # -- plumbing

    def _say(self, text: str) -> None:
        try:
            self._out.write(text + "\n")
            self._out.flush()
        except (OSError, ValueError):
            pass

    def _read_keys(self, fd: int) -> None:
        while True:
            try:
                data = os.read(fd, 1)
            except OSError:
                return
            if not data:
                return  # end of input: keep running, reminders still print
            key = data.decode("utf-8", "replace").lower()
            if key in KEYS:
                command, label = KEYS[key]
                arg = 30 * 60 if command == "pause" else None
                self._say(f"> {label}")
                self._on_command(command, arg)
            elif key == "?":
                self._say(HELP)

"""The guided window, seen from the daemon: a child process that shows it and reports back.

How it works:

- ``open()`` starts ``python -m deskbreak.guide`` (deskbreak/guide.py), writes the exercises
  to its stdin as one JSON object and returns at once. The daemon never imports Tk: the
  window lives in its own short-lived process, away from the tray's GTK thread.
- One reader thread per window blocks on the child's stdout (no polling). It turns each
  ``started``/``step`` line into ``on_step(index)`` and the child's final answer into one
  ``on_outcome(outcome)`` call. Both callbacks run on that thread: they should only enqueue.
- ``outcome`` is the child's dict, ``{"outcome": "done" | "snoozed" | "skipped", "finished":
  bool, "completed": [exercise ids], "index": i}``, or, when the window could not give an
  answer, ``{"outcome": "failed", "reason": "...", "finished": False, "completed": [],
  "index": i}``: the daemon should then fall back to a notification.
- ``close()`` ends a window whose reminder was answered elsewhere: no callback follows it,
  even if the user clicked at the same moment. Opening a new window closes the old one the
  same way.
- If Tk cannot start (no tkinter module, no ``DISPLAY``, or the child exits with code 3) the
  adapter logs it once, ``available()`` turns False for good, and ``open()`` returns False
  from then on.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from deskbreak.exercises import Exercise

EXIT_NO_TK = 3  # deskbreak.guide's exit code when Tk cannot start

StepCallback = Callable[[int], None]
OutcomeCallback = Callable[[dict[str, Any]], None]


class Guide(Protocol):
    def available(self) -> bool: ...

    def open(
        self, title: str | None, exercises: Sequence[Exercise], start_index: int = 0
    ) -> bool: ...

    def close(self) -> None: ...

    def is_open(self) -> bool: ...


def payload(
    title: str | None, exercises: Sequence[Exercise], start_index: int = 0
) -> dict[str, Any]:
    """The JSON object deskbreak.guide reads on stdin."""
    return {
        "title": title,
        "exercises": [
            {
                "id": e.id,
                "name": e.name,
                "steps": list(e.steps),
                "equipment": list(e.equipment),
                "duration": e.duration,
            }
            for e in exercises
        ],
        "start_index": start_index,
    }


def failed(reason: str, index: int = 0) -> dict[str, Any]:
    return {
        "outcome": "failed",
        "reason": reason,
        "finished": False,
        "completed": [],
        "index": index,
    }


class _Run:
    """One window process and what is known about it."""

    def __init__(self, proc: subprocess.Popen[bytes], stderr: IO[bytes], start_index: int) -> None:
        self.proc = proc
        self.stderr = stderr
        self.index = start_index
        self.cancelled = False  # close() was called: report nothing more
        self.answered = False

    def stderr_text(self) -> str:
        try:
            self.stderr.seek(0)
            return self.stderr.read().decode(errors="replace").strip()
        except (OSError, ValueError):
            return ""


class GuideWindow:
    """Opens the guided window in a child process; see the module docstring."""

    def __init__(
        self,
        on_step: StepCallback,
        on_outcome: OutcomeCallback,
        log: logging.Logger,
        *,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
    ) -> None:
        self._on_step = on_step
        self._on_outcome = on_outcome
        self._log = log
        self._env = dict(env) if env is not None else None
        self._python = python
        self._lock = threading.RLock()
        self._run: _Run | None = None
        self._unavailable: str | None = None
        self._said_unavailable = False
        # The open window's "started" message: where it and its buttons are on screen.
        self.layout: dict[str, Any] | None = None

    # -- queries

    def available(self) -> bool:
        """Whether a window can be tried: tkinter installed, a display to show it on."""
        if self._unavailable is None:
            self._unavailable = self._why_unavailable()
        return self._unavailable == ""

    def _why_unavailable(self) -> str:
        if importlib.util.find_spec("_tkinter") is None:
            return "Python has no tkinter (on Debian: apt install python3-tk)"
        env = self._env if self._env is not None else os.environ
        if sys.platform.startswith("linux") and not env.get("DISPLAY"):
            return "there is no X display (DISPLAY is not set)"
        return ""

    def is_open(self) -> bool:
        with self._lock:
            run = self._run
            return run is not None and not run.answered and run.proc.poll() is None

    # -- commands

    def open(self, title: str | None, exercises: Sequence[Exercise], start_index: int = 0) -> bool:
        """Show the window for ``exercises`` (a routine when ``title`` is given).

        Returns False, without opening anything, when the window is unavailable (said once
        in the log). Any window still open is closed first, silently.
        """
        if not self.available():
            self._say_unavailable()
            return False
        self.close()
        data = json.dumps(payload(title, exercises, start_index)).encode()
        stderr = tempfile.TemporaryFile()  # noqa: SIM115 (the reader thread closes it)
        try:
            proc = subprocess.Popen(
                [self._python, "-m", "deskbreak.guide"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                env=self._env,
                start_new_session=True,  # a Ctrl-C in the daemon's terminal is not for it
                close_fds=True,
            )
        except OSError as exc:
            stderr.close()
            self._log.warning("could not start the guided window: %s", exc)
            return False
        run = _Run(proc, stderr, start_index)
        with self._lock:
            self._run = run
            self.layout = None
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            proc.stdin.write(data)  # small: fits in the pipe's buffer
        with contextlib.suppress(OSError):
            proc.stdin.close()
        threading.Thread(
            target=self._read, args=(run,), name="deskbreak-guide", daemon=True
        ).start()
        return True

    def close(self) -> None:
        """Close the window if one is open; no callback follows."""
        with self._lock:
            run, self._run = self._run, None
            if run is None:
                return
            run.cancelled = True
        if run.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, OSError):
                run.proc.terminate()

    stop = close

    # -- the reader thread

    def _read(self, run: _Run) -> None:
        outcome: dict[str, Any] | None = None
        assert run.proc.stdout is not None
        with run.proc.stdout as out:
            for raw in out:
                try:
                    message = json.loads(raw)
                except ValueError:
                    self._log.warning("the guided window said %r", raw[:200])
                    continue
                if not isinstance(message, dict):
                    continue
                if "outcome" in message:
                    outcome = message
                elif message.get("event") in ("started", "step"):
                    index = message.get("index")
                    if isinstance(index, int):
                        run.index = index
                    with self._lock:
                        if run.cancelled:
                            continue
                        if message["event"] == "started":
                            self.layout = message
                        if isinstance(index, int):
                            self._on_step(index)
        code = run.proc.wait()
        text = run.stderr_text()
        run.stderr.close()
        with self._lock:
            if run.cancelled:
                return
        if outcome is None:
            outcome = self._failure(run, code, text)
        with self._lock:
            if self._run is run:
                self._run = None
            if run.cancelled:
                return
            run.answered = True
            self._on_outcome(outcome)

    def _failure(self, run: _Run, code: int, text: str) -> dict[str, Any]:
        last = text.splitlines()[-1] if text else ""
        if code == EXIT_NO_TK:
            reason = last or "Tk could not start"
            self._unavailable = reason
            self._say_unavailable()
            return failed(reason, run.index)
        reason = f"the guided window ended without an answer (exit {code})"
        self._log.warning("%s%s", reason, f": {text[-2000:]}" if text else "")
        return failed(reason, run.index)

    def _say_unavailable(self) -> None:
        if not self._said_unavailable:
            self._said_unavailable = True
            self._log.warning(
                "no guided window (%s); reminders stay notifications only", self._unavailable
            )


@dataclass
class FakeGuideWindow:
    """A guide for tests of the daemon: records what it was asked; a test plays the user.

    ``step(i)`` and ``answer(...)`` call the callbacks the way the real reader thread would
    (here on the calling thread).
    """

    on_step: StepCallback = lambda index: None
    on_outcome: OutcomeCallback = lambda outcome: None
    is_available: bool = True
    opened: list[tuple[str | None, tuple[Exercise, ...], int]] = field(default_factory=list)
    closed: int = 0
    current: tuple[str | None, tuple[Exercise, ...], int] | None = None

    def available(self) -> bool:
        return self.is_available

    def open(self, title: str | None, exercises: Sequence[Exercise], start_index: int = 0) -> bool:
        if not self.is_available:
            return False
        if self.current is not None:
            self.close()
        self.current = (title, tuple(exercises), start_index)
        self.opened.append(self.current)
        self.on_step(start_index)
        return True

    def close(self) -> None:
        if self.current is not None:
            self.closed += 1
            self.current = None

    stop = close

    def is_open(self) -> bool:
        return self.current is not None

    def step(self, index: int) -> None:
        self._require_open()
        self.on_step(index)

    def answer(
        self,
        outcome: str,
        *,
        finished: bool = False,
        completed: Sequence[str] | None = None,
        index: int | None = None,
    ) -> None:
        """The user answered: done, snoozed or skipped (or "failed": the window broke)."""
        _title, exercises, start = self._require_open()
        if completed is None:
            completed = [e.id for e in exercises[start:]] if outcome == "done" else []
        self.current = None
        if outcome == "failed":
            self.on_outcome(failed("the window broke", start if index is None else index))
            return
        self.on_outcome(
            {
                "outcome": outcome,
                "finished": finished,
                "completed": list(completed),
                "index": len(exercises) - 1 if index is None else index,
            }
        )

    def _require_open(self) -> tuple[str | None, tuple[Exercise, ...], int]:
        if self.current is None:
            raise AssertionError("no guided window is open")
        return self.current

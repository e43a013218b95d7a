"""Real ``deskbreak run`` processes without a desktop (terminal mode), and the real CLI.

Each ``DaemonHome`` is a throwaway user: its own HOME, XDG folders and runtime folder (short,
so the socket path fits the system's limit), no DISPLAY and no session bus. Waiting is for a
condition with a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.desktop_harness import wait_for

CONFIG = """\
# deskbreak settings for the control tests
[reminders]
interval = "1h"   # long: reminders come when a test asks for them
snooze = "2s"
"""


class DaemonHome:
    def __init__(self, config: str | None = CONFIG) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="dbk-"))
        self.runtime = self.root / "run"
        self.runtime.mkdir(mode=0o700)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.pop("DESKBREAK_CONFIG", None)
        for name in ("home", "config", "state", "data", "cache"):
            (self.root / name).mkdir()
        self.config = self.root / "config" / "deskbreak" / "config.toml"
        if config is not None:
            self.config.parent.mkdir()
            self.config.write_text(config)
        env.update(
            HOME=str(self.root / "home"),
            XDG_CONFIG_HOME=str(self.root / "config"),
            XDG_STATE_HOME=str(self.root / "state"),
            XDG_DATA_HOME=str(self.root / "data"),
            XDG_CACHE_HOME=str(self.root / "cache"),
            XDG_RUNTIME_DIR=str(self.runtime),
            PYTHONUNBUFFERED="1",
            TERM="dumb",
        )
        self.env = env
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []

    @property
    def socket(self) -> Path:
        return self.runtime / "deskbreak" / "deskbreak.sock"

    # -- the command line

    def cli(
        self, *args: str, timeout: float = 20, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deskbreak", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env or self.env,
            stdin=subprocess.DEVNULL,
        )

    def status(self) -> dict[str, Any]:
        r = self.cli("status", "--json")
        assert r.returncode == 0, r.stderr
        data: dict[str, Any] = json.loads(r.stdout)
        return data

    # -- daemons

    def spawn(
        self, *extra: str, wrapper: Sequence[str] = (), **popen: Any
    ) -> subprocess.Popen[bytes]:
        """``deskbreak run`` (after ``wrapper``, e.g. a command that switches user)."""
        log = self.root / f"daemon-{len(self.logs) + 1}.log"
        self.logs.append(log)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*wrapper, sys.executable, "-m", "deskbreak", "run", *extra],
                env=popen.pop("env", self.env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **popen,
            )
        self.procs.append(proc)
        return proc

    def output(self, proc: subprocess.Popen[bytes]) -> str:
        return self.logs[self.procs.index(proc)].read_text(errors="replace")

    def start(self, *extra: str, **popen: Any) -> subprocess.Popen[bytes]:
        """Start a daemon and wait until it answers on its socket."""
        proc = self.spawn(*extra, **popen)
        self.wait_answering(proc)
        return proc

    def wait_answering(self, proc: subprocess.Popen[bytes], timeout: float = 15) -> None:
        from deskbreak.adapters import ipc

        def answers() -> bool:
            if proc.poll() is not None:
                raise AssertionError(
                    f"the daemon exited with {proc.returncode}:\n" + self.output(proc)
                )
            try:
                ipc.request("status", directory=self.socket.parent, timeout=2)
            except Exception:
                return False
            return True

        wait_for(answers, timeout, "the daemon to answer on its socket")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


class EventReader:
    """``deskbreak events --json`` in the background; its lines parsed as they come."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "deskbreak", "events", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.times: list[float] = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.times.append(time.monotonic())
            self.lines.append(line.rstrip("\n"))

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in list(self.lines)]

    def wait_for_event(
        self, pred: Callable[[dict[str, Any]], bool], what: str, timeout: float = 10, start: int = 0
    ) -> tuple[int, dict[str, Any]]:
        """The index and content of the first event from ``start`` on that ``pred`` accepts."""

        def find() -> tuple[int, dict[str, Any]] | None:
            for i, event in enumerate(self.events[start:], start):
                if pred(event):
                    return i, event
            if self.proc.poll() is not None and not self._thread.is_alive():
                raise AssertionError(
                    f"events ended ({self.proc.returncode}) before {what}: {self.lines}"
                )
            return None

        return wait_for(find, timeout, what)

    def wait_for_line(self, pred: Callable[[str], bool], what: str, timeout: float = 10) -> str:
        def find() -> str | None:
            return next((line for line in list(self.lines) if pred(line)), None)

        return wait_for(find, timeout, what)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
        self.proc.wait(timeout=10)


def daemon_home(config: str | None = CONFIG) -> Iterator[DaemonHome]:
    """The body of a ``home`` fixture: a DaemonHome, cleaned up (daemons killed) after."""
    h = DaemonHome(config)
    try:
        yield h
    finally:
        h.stop()

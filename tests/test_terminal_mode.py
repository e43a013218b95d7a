"""With no graphical session, ``deskbreak run`` works in the terminal: driven through a pty."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest


class PtyProcess:
    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self.output = ""

    def read_until(self, pattern: str, timeout: float = 10.0, start: int = 0) -> re.Match[str]:
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.output, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"waited {timeout}s for {pattern!r}; output:\n{self.output}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    if self.proc.poll() is not None:
                        raise AssertionError(f"exited waiting for {pattern!r}:\n{self.output}")
                    continue
                self.output += chunk.decode("utf-8", "replace")

    def send(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def term_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        d = tmp_path / name.lower()
        d.mkdir()
        env[name] = str(d)
    env["TERM"] = "dumb"
    return env


def test_terminal_mode_prints_reminders_and_keys_answer_them(
    tmp_path: Path, term_env: dict[str, str]
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[reminders]\ninterval = "2s"\nsnooze = "3s"\n')
    p = PtyProcess([sys.executable, "-m", "deskbreak", "run", "--config", str(cfg)], term_env)
    try:
        p.read_until(r"running in this terminal")
        first = p.read_until(r"Time to stretch: Wall stretch")
        # The steps are printed so the stretch can be followed without looking anything up,
        # and the first reminder of a new install carries the safety advice.
        p.read_until(r"1\. \w", start=first.end())
        p.read_until(r"Warm up before you stretch.*doctor", start=first.end())
        snoozed_at = time.monotonic()
        p.send("s")
        m = p.read_until(r"> snooze", start=first.end())
        again = p.read_until(r"Time to stretch: Wall stretch", start=m.end())
        assert time.monotonic() - snoozed_at >= 2.5  # the snooze length, not the interval
        p.send("a")
        m = p.read_until(r"> done", start=again.end())
        nxt = p.read_until(r"Time to stretch: Neck flexion", start=m.end())
        p.read_until(r"\[a/Enter\] done", start=nxt.end())
        assert "doctor" not in p.output[again.start() :]  # once per install, not every time
        p.send("k")
        m = p.read_until(r"> skip", start=nxt.end())
        p.read_until(r"Time to stretch: Shoulder roll", start=m.end())
        p.send("q")
        assert p.proc.wait(timeout=10) == 0
    finally:
        p.close()


def test_a_routine_prints_every_exercise_in_order(tmp_path: Path, term_env: dict[str, str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        '[reminders]\ninterval = "2s"\n'
        '[routines]\nevery = 1\nroutine = "loosen"\n'
        '[routine.loosen]\nname = "Loosen up"\n'
        'exercises = ["march-in-place", "neck-flexion"]\n'
    )
    p = PtyProcess([sys.executable, "-m", "deskbreak", "run", "--config", str(cfg)], term_env)
    try:
        head = p.read_until(r"Time for a routine: Loosen up \(2m, 2 exercises\)")
        first = p.read_until(r"1 of 2: Marching in place", start=head.end())
        p.read_until(r"2 of 2: Neck flexion", start=first.end())
        p.send("a")
        p.read_until(r"> done", start=first.end())
        p.send("q")
        assert p.proc.wait(timeout=10) == 0
    finally:
        p.close()

"""The wall-clock shim the suspend and clock-change tests rely on: a child process sees its
wall clock jump when the offset file changes, while its monotonic clock, sleeps and timed
waits carry on as before."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.wallshim import WallShim

# The child prints its clocks whenever asked (a line on stdin), and measures a sleep and an
# Event.wait on request.
CHILD = r"""
import datetime, json, sys, threading, time
for line in sys.stdin:
    if line.strip() == "sleep":
        t = time.monotonic(); time.sleep(0.2); threading.Event().wait(0.2)
        print(json.dumps({"slept": time.monotonic() - t}), flush=True)
        continue
    print(json.dumps({
        "wall": time.time(),
        "mono": time.monotonic(),
        "date": datetime.datetime.now().timestamp(),
    }), flush=True)
"""


@pytest.fixture
def shim(tmp_path: Path) -> WallShim:
    return WallShim.build(tmp_path / "shim")


class Child:
    def __init__(self, shim: WallShim) -> None:
        import os

        self.proc = subprocess.Popen(
            [sys.executable, "-c", CHILD],
            env={**os.environ, **shim.env()},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, what: str = "clocks") -> dict[str, float]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        assert line, f"the child under the shim died (exit {self.proc.poll()})"
        return dict(json.loads(line))

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(10)


def test_wall_time_jumps_and_monotonic_time_does_not(shim: WallShim) -> None:
    import time

    child = Child(shim)
    try:
        before = child.ask()
        # Unshifted, the child's wall clock is this process's wall clock.
        assert abs(before["wall"] - time.time()) < 5

        shim.jump(3600)
        after = child.ask()
        assert 3600 <= after["wall"] - before["wall"] < 3610
        assert 3600 <= after["date"] - before["date"] < 3610  # datetime.now() too
        assert 0 <= after["mono"] - before["mono"] < 5

        shim.jump(-7200)  # and back, past where it started (a clock set back)
        back = child.ask()
        assert -3600 <= back["wall"] - before["wall"] < -3590
        assert back["mono"] >= after["mono"]
    finally:
        child.close()


def test_sleep_and_timed_waits_work_under_the_shim(shim: WallShim) -> None:
    child = Child(shim)
    try:
        shim.jump(10_000)
        slept = child.ask("sleep")["slept"]
        assert 0.39 <= slept < 3
    finally:
        child.close()


def test_a_jump_is_seen_by_a_process_that_is_already_running(shim: WallShim) -> None:
    """The offset file is read on every clock read, so a running program sees each jump."""
    child = Child(shim)
    try:
        first = child.ask()["wall"]
        for step in (600, 1200, 1800):
            shim.set_offset(step)
            ahead = child.ask()["wall"] - first
            assert step <= ahead < step + 5, (step, ahead)
    finally:
        child.close()

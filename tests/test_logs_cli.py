"""``deskbreak logs``: where the daemon's log is, its last lines, and following it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.desktop_harness import wait_for

SCRIPT = Path(sys.executable).with_name("deskbreak")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    e.update(HOME=str(tmp_path / "home"), XDG_STATE_HOME=str(tmp_path / "state"))
    return e


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "deskbreak" / "log" / "deskbreak.log"


def logs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "logs", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )


def daemon_logs(env: dict[str, str], *messages: str) -> None:
    """Write log lines the way the daemon does: its own logging set-up, in another process."""
    code = (
        "import logging, sys\n"
        "from deskbreak import daemon\n"
        "daemon.setup_logging(False)\n"
        "for m in sys.argv[1:]:\n"
        "    logging.getLogger('deskbreak').info(m)\n"
    )
    subprocess.run([sys.executable, "-c", code, *messages], env=env, check=True, timeout=30)


def test_no_log_yet(env: dict[str, str], log_path: Path) -> None:
    r = logs(env)
    assert r.returncode == 0
    assert r.stdout == f"{log_path}\n"
    assert "no log yet" in r.stderr


def test_path_and_last_lines_of_the_daemons_log(env: dict[str, str], log_path: Path) -> None:
    daemon_logs(env, *(f"message {i}" for i in range(30)))
    r = logs(env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == str(log_path)
    assert len(lines) == 1 + 20
    assert lines[1].endswith("INFO message 10") and lines[-1].endswith("INFO message 29")

    r = logs(env, "-n", "3")
    assert [line.split(" INFO ")[1] for line in r.stdout.splitlines()[1:]] == [
        "message 27",
        "message 28",
        "message 29",
    ]
    assert logs(env, "-n", "0").stdout == f"{log_path}\n"
    assert logs(env, "-n", "-1").returncode == 2


def test_last_lines_reach_into_the_rotated_log(env: dict[str, str], log_path: Path) -> None:
    log_path.parent.mkdir(parents=True)
    Path(f"{log_path}.2").write_text("a1\na2\n")
    Path(f"{log_path}.1").write_text("b1\nb2\n")
    log_path.write_text("c1\n")
    assert logs(env, "-n", "4").stdout.splitlines()[1:] == ["a2", "b1", "b2", "c1"]


def test_follow_prints_new_lines_through_a_rotation_and_ctrl_c_ends_it(
    env: dict[str, str], log_path: Path
) -> None:
    log_path.parent.mkdir(parents=True)
    log_path.write_text("old 1\nold 2\n")
    proc = subprocess.Popen(
        [str(SCRIPT), "logs", "-f", "-n", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out: list[str] = []
    reader = threading.Thread(
        target=lambda: out.extend(iter(proc.stdout.readline, "")),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    try:
        wait_for(lambda: "old 2\n" in out, 10, "the last line")
        with open(log_path, "a") as f:
            f.write("new 1\n")
        wait_for(lambda: "new 1\n" in out, 10, "an appended line")
        # Rotation as RotatingFileHandler does it: rename, then a fresh file.
        with open(log_path, "a") as f:
            f.write("new 2\n")
        os.replace(log_path, f"{log_path}.1")
        log_path.write_text("after rotation\n")
        wait_for(lambda: "after rotation\n" in out, 10, "the line of the new file")
        assert out == [f"{log_path}\n", "old 2\n", "new 1\n", "new 2\n", "after rotation\n"]
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code: int | None = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
            proc.kill()  # so that a failure here cannot hold up the rest of the run
            proc.wait()
        reader.join(timeout=10)
        stderr = proc.stderr.read() if proc.stderr else ""  # type: ignore[union-attr]
    assert code == 0, "deskbreak logs -f did not end within 10 s of Ctrl-C (SIGINT)"
    assert "Traceback" not in stderr

"""One daemon per user session: real ``deskbreak run`` processes racing, killed, restarted."""

from __future__ import annotations

import os
import re
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_proc import DaemonHome, daemon_home
from tests.desktop_harness import wait_for


@pytest.fixture
def home() -> Iterator[DaemonHome]:
    yield from daemon_home()


def test_a_second_daemon_says_who_runs_and_exits_1(home: DaemonHome) -> None:
    first = home.start()
    second = home.spawn()
    assert second.wait(timeout=20) == 1
    assert home.output(second).strip() == f"deskbreak is already running (pid {first.pid})"
    assert first.poll() is None
    assert home.status()["pid"] == first.pid


@pytest.mark.parametrize("round_", range(3))
def test_two_daemons_started_at_once_leave_exactly_one(home: DaemonHome, round_: int) -> None:
    a, b = home.spawn(), home.spawn()

    def one_left() -> subprocess.Popen[bytes] | None:
        done = [p for p in (a, b) if p.poll() is not None]
        return done[0] if done else None

    loser = wait_for(one_left, 20, "one of the two daemons to give up")
    winner = b if loser is a else a
    assert loser.returncode == 1, home.output(loser)
    m = re.fullmatch(r"deskbreak is already running \(pid (\d+)\)\n", home.output(loser))
    assert m, home.output(loser)
    assert int(m.group(1)) == winner.pid
    home.wait_answering(winner)
    assert home.status()["pid"] == winner.pid
    assert winner.poll() is None
    # Exactly one of them ever fired: only the winner printed its start-up line.
    assert "running in this terminal" in home.output(winner)
    assert "running in this terminal" not in home.output(loser)


def test_after_kill_9_the_next_daemon_starts_cleanly(home: DaemonHome) -> None:
    first = home.start()
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    # The killed daemon left its socket file behind; nothing answers on it.
    assert stat.S_ISSOCK(os.lstat(home.socket).st_mode)
    r = home.cli("status")
    assert r.returncode == 1 and "deskbreak is not running" in r.stderr

    second = home.start()
    assert home.status()["pid"] == second.pid
    assert home.cli("quit").returncode == 0
    assert second.wait(timeout=10) == 0
    assert not home.socket.exists()


def test_something_else_in_the_way_of_the_socket_is_not_deleted(home: DaemonHome) -> None:
    home.socket.parent.mkdir(mode=0o700)
    home.socket.write_text("not a socket\n")
    proc = home.spawn()
    assert proc.wait(timeout=20) != 0
    assert "not a socket" in home.output(proc) and "Traceback" not in home.output(proc)
    assert home.socket.read_text() == "not a socket\n"


def test_a_runtime_folder_open_to_others_is_refused(home: DaemonHome) -> None:
    home.socket.parent.mkdir()
    os.chmod(home.socket.parent, 0o755)
    proc = home.spawn()
    assert proc.wait(timeout=20) != 0
    out = home.output(proc)
    assert "open to other users (mode 0755)" in out and "chmod 700" in out
    r = home.cli("status")  # the client does not trust it either
    assert r.returncode != 0 and "open to other users" in r.stderr


def test_without_xdg_runtime_dir_a_private_folder_in_tmp_is_used(home: DaemonHome) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dbk-tmp-", dir=home.root))
    env = dict(home.env)
    del env["XDG_RUNTIME_DIR"]
    env["TMPDIR"] = str(tmp)
    home.runtime = tmp  # socket: <tmp>/deskbreak-UID/... (set for the helpers below)
    proc = home.spawn(env=env)
    folder = tmp / f"deskbreak-{os.getuid()}"
    sock = folder / "deskbreak.sock"
    wait_for(sock.exists, 15, "the socket in the fallback folder")
    assert stat.S_IMODE(os.lstat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.lstat(sock).st_mode) == 0o600
    r = home.cli("status", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert f'"pid": {proc.pid}' in r.stdout

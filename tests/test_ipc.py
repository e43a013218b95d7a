"""The control socket of a real daemon process, spoken to raw: what a broken or hostile
client can do, and what it cannot."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deskbreak import protocol as p
from deskbreak.adapters import ipc
from tests.daemon_proc import CONFIG, DaemonHome, daemon_home
from tests.desktop_harness import wait_for


@pytest.fixture
def home() -> Iterator[DaemonHome]:
    yield from daemon_home()


@pytest.fixture(scope="module")
def running() -> Iterator[DaemonHome]:
    """One daemon for the tests that only talk to it (and must leave it as it was)."""
    gen = daemon_home()
    h = next(gen)
    h.start()
    yield h
    gen.close()


def raw(home: DaemonHome, data: bytes, *, close_write: bool = True, timeout: float = 10) -> bytes:
    """Send bytes as they are; return everything the daemon sends back before it closes."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(str(home.socket))

        def send() -> None:
            try:
                s.sendall(data)
                if close_write:
                    s.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the daemon may stop reading (too large) and close

        writer = threading.Thread(target=send)
        writer.start()
        got = b""
        try:
            while chunk := s.recv(65536):
                got += chunk
        except ConnectionResetError:
            pass
        writer.join(timeout)
        return got


def reply_of(data: bytes) -> dict[str, Any]:
    assert data.endswith(b"\n") and data.count(b"\n") == 1, data
    obj: dict[str, Any] = json.loads(data)
    assert obj["v"] == 1
    return obj


def still_answers(home: DaemonHome) -> None:
    assert ipc.request("status", directory=home.socket.parent)["state"] in ("waiting", "due")


def test_the_socket_is_private_and_local(running: DaemonHome) -> None:
    st_sock = os.lstat(running.socket)
    assert stat.S_ISSOCK(st_sock.st_mode)
    assert stat.S_IMODE(st_sock.st_mode) == 0o600
    assert st_sock.st_uid == os.getuid()
    folder = os.lstat(running.socket.parent)
    assert stat.S_IMODE(folder.st_mode) == 0o700
    assert running.socket.parent == running.runtime / "deskbreak"

    # No network port: none of the daemon's sockets is a TCP or UDP one.
    pid = running.status()["pid"]
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with_target = os.readlink(f"/proc/{pid}/fd/{fd}")
        if with_target.startswith("socket:["):
            inodes.add(with_target[8:-1])
    assert inodes
    for table in ("tcp", "tcp6", "udp", "udp6"):
        with open(f"/proc/{pid}/net/{table}") as f:
            rows = [line.split() for line in f.readlines()[1:]]
        assert not inodes & {row[9] for row in rows}, table


def test_a_well_formed_raw_request_is_answered(running: DaemonHome) -> None:
    reply = reply_of(raw(running, b'{"v": 1, "cmd": "status"}\n'))
    assert reply["ok"] is True and reply["result"]["state"] == "waiting"


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        (b"\x00\x01\x02 garbage \xff\n", p.E_MALFORMED, "not UTF-8"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", p.E_MALFORMED, "not JSON"),
        (b'{"v": 1, "cmd": "sta', p.E_MALFORMED, "incomplete message"),
        (b'{"v": 9, "cmd": "status"}\n', p.E_VERSION, "protocol version 9 is not supported"),
        (b'{"v": 1, "cmd": "self-destruct"}\n', p.E_UNKNOWN_COMMAND, "unknown command"),
        (b'{"v": 1, "cmd": "interval", "args": {"seconds": -5}}\n', p.E_BAD_ARGS, "from 1"),
    ],
)
def test_broken_input_gets_an_error_reply_and_the_daemon_keeps_running(
    running: DaemonHome, data: bytes, code: int, fragment: str
) -> None:
    reply = reply_of(raw(running, data))
    assert reply["ok"] is False
    assert reply["code"] == code
    assert fragment in reply["error"]
    still_answers(running)


def test_a_huge_message_is_cut_off_at_the_cap(running: DaemonHome) -> None:
    started = time.monotonic()
    reply = reply_of(raw(running, b"x" * (8 * 1024 * 1024)))  # 8 MB, no newline
    assert (reply["ok"], reply["code"]) == (False, p.E_TOO_LARGE)
    assert str(p.MAX_MESSAGE) in reply["error"]
    assert time.monotonic() - started < 5  # it did not read 8 MB to say so
    # One line just over the cap, newline included, too.
    reply = reply_of(raw(running, b'{"v":1,"cmd":"status","x":"' + b"a" * p.MAX_MESSAGE + b'"}\n'))
    assert reply["code"] == p.E_TOO_LARGE
    still_answers(running)


def test_empty_connections_are_closed_without_a_word(running: DaemonHome) -> None:
    assert raw(running, b"") == b""
    still_answers(running)


def test_a_stalled_client_times_out_and_blocks_nobody(running: DaemonHome) -> None:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(str(running.socket))
        s.sendall(b'{"v": 1, "cmd": "status"')  # and then nothing, connection kept open
        started = time.monotonic()
        # Others are answered meanwhile.
        for _ in range(3):
            still_answers(running)
        assert time.monotonic() - started < ipc.READ_TIMEOUT
        reply = reply_of(s.recv(65536))
        waited = time.monotonic() - started
    assert (reply["ok"], reply["code"]) == (False, p.E_MALFORMED)
    assert "no complete request within" in reply["error"]
    assert ipc.READ_TIMEOUT - 0.5 <= waited <= ipc.READ_TIMEOUT + 3


def test_many_clients_at_once_are_all_answered(running: DaemonHome) -> None:
    results: list[Any] = []

    def ask() -> None:
        results.append(ipc.request("status", directory=running.socket.parent))

    threads = [threading.Thread(target=ask) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert len(results) == 30 and all(r["state"] == "waiting" for r in results)


json_leaf = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=30,
)
# Never a real command: a fuzzed "quit" or "now" would be a valid request, not garbage.
fake_command = st.text(max_size=30).filter(lambda s: s not in p.COMMANDS)
requestish = st.fixed_dictionaries(
    {},
    optional={
        "v": st.one_of(st.just(1), json_value),
        "cmd": st.one_of(fake_command, json_value),
        "args": json_value,
    },
)
garbage = st.one_of(
    st.binary(max_size=4096),
    st.binary(min_size=1, max_size=200).map(lambda b: b + b"\n"),
    json_value.map(lambda v: json.dumps(v).encode() + b"\n"),
    requestish.map(lambda v: json.dumps(v).encode() + b"\n"),
    requestish.map(lambda v: json.dumps(v).encode()[:-1]),  # cut short
    st.integers(p.MAX_MESSAGE - 10, p.MAX_MESSAGE * 3).map(lambda n: b"{" * n),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=garbage)
def test_fuzzed_input_never_hurts_the_daemon(running: DaemonHome, data: bytes) -> None:
    got = raw(running, data)
    if data.strip(b" \t\r") == b"":
        assert got == b"" or reply_of(got)["ok"] is False
    else:
        reply = reply_of(got)
        assert reply["ok"] is False
        assert isinstance(reply["error"], str) and reply["error"]
        assert reply["code"] in (
            p.E_MALFORMED,
            p.E_TOO_LARGE,
            p.E_VERSION,
            p.E_UNKNOWN_COMMAND,
            p.E_BAD_ARGS,
        )
    still_answers(running)


# ------------------------------------------------------------------- other users


NOBODY = pwd.getpwnam("nobody")


# util-linux's setpriv switches user for the command it runs (subprocess's user= fails to
# exec the venv's interpreter here when it lives in root's home).
AS_NOBODY = [
    "setpriv",
    f"--reuid={NOBODY.pw_uid}",
    f"--regid={NOBODY.pw_gid}",
    "--clear-groups",
]

needs_root = pytest.mark.skipif(os.getuid() != 0, reason="needs root to switch users")


@contextlib.contextmanager
def reachable_by_others(*paths: Path) -> Iterator[None]:
    """Let another user reach ``paths`` (the checkout, the venv) for the duration: a folder
    above them without search permission for others (a private temporary folder holding
    the clone) gets it, and its mode is restored afterwards."""
    changed: dict[Path, int] = {}
    for path in paths:
        for folder in [path.resolve(), *path.resolve().parents]:
            mode = folder.stat().st_mode
            if folder not in changed and not mode & stat.S_IXOTH:
                changed[folder] = stat.S_IMODE(mode)
                os.chmod(folder, stat.S_IMODE(mode) | stat.S_IXOTH)
    try:
        yield
    finally:
        for folder, mode in changed.items():
            os.chmod(folder, mode)


@needs_root
def test_another_user_cannot_even_reach_the_socket(running: DaemonHome) -> None:
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n"
        f"    s.connect({str(running.socket)!r})\n"
        "except PermissionError:\n"
        "    print('refused')\n"
        "else:\n"
        "    print('connected')\n"
    )
    r = subprocess.run(
        [*AS_NOBODY, sys.executable, "-c", code], capture_output=True, text=True, timeout=20
    )
    assert r.stdout.strip() == "refused", r
    still_answers(running)


@needs_root
def test_the_daemon_refuses_a_peer_of_another_uid() -> None:
    """A daemon run by ``nobody``; root can open its socket (root passes file modes), so
    only the daemon's own check of the peer's uid (SO_PEERCRED) stands in the way."""
    root = Path(tempfile.mkdtemp(prefix="dbk-"))
    try:
        for name in ("home", "run", "config", "state"):
            (root / name).mkdir(mode=0o700)
        (root / "config" / "config.toml").write_text(CONFIG)
        os.chmod(root, 0o755)
        for path in [root / n for n in ("home", "run", "config", "state")]:
            for sub in [path, *path.rglob("*")]:
                os.chown(sub, NOBODY.pw_uid, NOBODY.pw_gid)
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
        }
        env.update(
            HOME=str(root / "home"),
            XDG_RUNTIME_DIR=str(root / "run"),
            XDG_STATE_HOME=str(root / "state"),
            DESKBREAK_CONFIG=str(root / "config" / "config.toml"),
            PYTHONUNBUFFERED="1",
        )
        home = DaemonHome(config=None)
        home.runtime = root / "run"
        home.env = env
        reach = reachable_by_others(Path(__file__).resolve().parent.parent, Path(sys.prefix))
        try:
            reach.__enter__()
            daemon = home.spawn("-v", wrapper=AS_NOBODY)

            def listening() -> bool:
                assert daemon.poll() is None, home.output(daemon)
                return home.socket.exists()

            wait_for(listening, 15, "the socket of nobody's daemon")
            sock_stat = os.lstat(home.socket)
            assert sock_stat.st_uid == NOBODY.pw_uid
            assert stat.S_IMODE(sock_stat.st_mode) == 0o600

            # Root's own command line does not even trust a folder of another user.
            r = home.cli("status")
            assert r.returncode != 0 and "belongs to another user" in r.stderr, r
            # Spoken to directly, the daemon refuses root, and says why.
            with pytest.raises(p.ProtocolError) as refused:
                ipc.request("status", directory=home.socket.parent)
            assert refused.value.code == p.E_REFUSED
            assert refused.value.exit_code == 1
            assert str(refused.value) == f"refused: this daemon serves only uid {NOBODY.pw_uid}"
            reply = reply_of(raw(home, b'{"v": 1, "cmd": "quit"}\n'))
            assert (reply["ok"], reply["code"]) == (False, p.E_REFUSED)
            assert daemon.poll() is None  # the quit was not obeyed

            # Its own user is served.
            r = subprocess.run(
                [*AS_NOBODY, sys.executable, "-m", "deskbreak", "status", "--json"],
                capture_output=True,
                text=True,
                env=env,
                timeout=20,
            )
            assert r.returncode == 0, r.stderr
            assert json.loads(r.stdout)["pid"] == daemon.pid
            assert "refused a control connection from uid 0" in home.output(daemon)
        finally:
            home.stop()
            reach.__exit__(None, None, None)
    finally:
        shutil.rmtree(root, ignore_errors=True)

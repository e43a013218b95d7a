"""The control socket: the daemon's server and the ``deskbreak`` command's client.

How it works:

- The daemon listens on a Unix stream socket, ``deskbreak.sock`` in the private runtime
  folder (see ``instance.runtime_dir``), with mode 0600. It opens no network port. On Linux
  it also asks the kernel who connected (``SO_PEERCRED``) and refuses any other user, even
  root; elsewhere the private folder and the socket's mode keep other users out.
- One thread blocks in ``accept()``; it wakes only for a connection. Each connection gets a
  thread of its own that reads one request line (at most ``protocol.MAX_MESSAGE`` bytes,
  within ``READ_TIMEOUT`` seconds), hands the decoded request to ``handler(request)`` and
  writes the reply. A broken request gets an error reply; nothing a client sends can stop
  the server. ``handler`` runs on the connection's thread: the daemon's handler passes
  the request to the thread that owns the break cycle and waits for the answer.
- ``events`` connections stay open. The daemon calls ``publish(event)`` on every change;
  each line is written without blocking (a subscriber that stops reading is dropped), and
  the connection's thread waits in ``recv()`` to notice the client going away.
- The client (``request``) is what the command line uses: connect, send one line, read one
  line, with a short timeout. No socket means no daemon: ``NotRunning``. This mirrors the
  thin client of mypy's daemon: one request function, errors turned into one line at the
  edge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from deskbreak import protocol as p
from deskbreak.adapters.instance import remove_stale, runtime_dir
from deskbreak.errors import DeskbreakError, NotRunning

SOCKET_NAME = "deskbreak.sock"
READ_TIMEOUT = 2.0  # seconds a client has to send its request
WRITE_TIMEOUT = 2.0  # seconds a reply may take to write
CLIENT_TIMEOUT = 5.0  # seconds the command line waits for an answer
STOP_TIMEOUT = 15.0  # seconds ``quit`` waits for the daemon to be gone
MAX_CONNECTIONS = 64  # open at once, events streams included
NOT_RUNNING = "deskbreak is not running; start it with: deskbreak run"

Handler = Callable[[p.Request], Any]


class NotAnswering(DeskbreakError):
    """The daemon's socket is there, but no answer came."""

    exit_code = 1


def socket_path(directory: Path | None = None) -> Path:
    return (directory if directory is not None else runtime_dir(create=False)) / SOCKET_NAME


def peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end (Linux), or None where unknown."""
    opt = getattr(socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    size = struct.calcsize("3i")
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, opt, size))
    return int(uid)


def read_line(conn: socket.socket, limit: int = p.MAX_MESSAGE) -> bytes:
    """Bytes up to and including the first newline; fewer if the peer stops first.

    Raises ProtocolError(E_TOO_LARGE) as soon as more than ``limit`` bytes came without a
    newline, without reading the rest. ``socket.timeout`` propagates.
    """
    buf = bytearray()
    while True:
        chunk = conn.recv(min(65536, limit + 1 - len(buf)))
        if not chunk:
            return bytes(buf)
        end = chunk.find(b"\n")
        if end >= 0:
            buf += chunk[: end + 1]
            if len(buf) > limit:
                break
            return bytes(buf)
        buf += chunk
        if len(buf) > limit:
            break
    raise p.ProtocolError(p.E_TOO_LARGE, f"message longer than {limit} bytes")


# ---------------------------------------------------------------- server


class _Subscriber:
    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.live = False  # false until the reply to "events" is written
        self.pending: list[tuple[int, bytes]] = []
        self.after = -1  # events up to this sequence number are in the reply already


class ControlServer:
    """The daemon's side of the control socket."""

    def __init__(
        self,
        handler: Handler,
        log: logging.Logger,
        *,
        directory: Path | None = None,
        read_timeout: float = READ_TIMEOUT,
    ) -> None:
        self._handler = handler
        self._log = log
        self.directory = directory if directory is not None else runtime_dir()
        self.path = socket_path(self.directory)
        self._read_timeout = read_timeout
        self._sock: socket.socket | None = None
        self._ino: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        self._subscribers: list[_Subscriber] = []
        self._lingering: list[socket.socket] = []
        self._active: set[threading.Thread] = set()
        self._closing = False
        self._uid = os.getuid() if hasattr(os, "getuid") else None

    # -- life cycle

    def start(self) -> None:
        """Bind and listen. Call while holding the instance lock: a leftover socket goes."""
        if len(os.fsencode(self.path)) >= 104:
            raise DeskbreakError(
                f"{self.path}: the path of the control socket is too long for the system; "
                "set XDG_RUNTIME_DIR to a shorter folder"
            )
        remove_stale(self.path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(os.fspath(self.path))
            os.chmod(self.path, 0o600)  # the folder is 0700 already; no window for others
            sock.listen(MAX_CONNECTIONS)
        except BaseException:
            sock.close()
            raise
        st = os.stat(self.path)
        self._ino = (st.st_dev, st.st_ino)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept_loop, name="ipc-accept", daemon=True)
        self._thread.start()
        self._log.debug("control socket %s", self.path)

    def stop_listening(self) -> None:
        """Take no more connections and remove the socket file (if it is still ours)."""
        sock, self._sock = self._sock, None
        self._closing = True
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            sock.close()
        if self._ino is not None:
            with contextlib.suppress(OSError):
                st = os.lstat(self.path)
                if (st.st_dev, st.st_ino) == self._ino and stat.S_ISSOCK(st.st_mode):
                    os.unlink(self.path)
            self._ino = None
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None

    def close(self, timeout: float = 2.0) -> None:
        """Stop listening, end the ``events`` streams, let requests in progress finish, then
        close the connections kept open until now (``quit`` waits for that)."""
        self.stop_listening()
        with self._lock:
            subs, self._subscribers = self._subscribers, []
        for sub in subs:
            with contextlib.suppress(OSError):
                sub.conn.shutdown(socket.SHUT_RDWR)
        with self._lock:
            active = list(self._active)
        for t in active:
            if t is not threading.current_thread():
                t.join(timeout=timeout)
        with self._lock:
            lingering, self._lingering = self._lingering, []
        for conn in lingering:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    # -- events

    def publish(self, seq: int, event: dict[str, Any]) -> None:
        """Send an event line to every ``events`` client, never blocking the caller."""
        with self._lock:
            if not self._subscribers:
                return
            line = p.encode_event({"event": event["event"], "seq": seq, **event})
            dead = []
            for sub in self._subscribers:
                if not sub.live:
                    sub.pending.append((seq, line))
                elif not _send_now(sub.conn, line):
                    dead.append(sub)
            for sub in dead:
                self._drop(sub)

    def _drop(self, sub: _Subscriber) -> None:
        """Under the lock: forget a subscriber and wake its thread."""
        if sub in self._subscribers:
            self._subscribers.remove(sub)
        with contextlib.suppress(OSError):
            sub.conn.shutdown(socket.SHUT_RDWR)

    # -- connections

    def _accept_loop(self) -> None:
        while not self._closing:
            sock = self._sock
            if sock is None:
                return
            try:
                conn, _ = sock.accept()
            except OSError as e:
                if self._closing:
                    return
                # Out of file descriptors, say: say so, and give the system a moment.
                self._log.warning("control socket: cannot accept a connection: %s", e)
                time.sleep(0.5)
                continue
            if not self._slots.acquire(blocking=False):
                _reply_and_close(conn, p.encode_error(p.E_BUSY, "too many connections; try again"))
                continue
            t = threading.Thread(target=self._serve, args=(conn,), name="ipc-conn", daemon=True)
            with self._lock:
                self._active.add(t)
            t.start()

    def _serve(self, conn: socket.socket) -> None:
        keep = False
        try:
            keep = self._serve_one(conn)
        except Exception:  # a connection's trouble never reaches the accept loop
            self._log.exception("control connection failed")
        finally:
            if not keep:
                conn.close()
            with self._lock:
                self._active.discard(threading.current_thread())
            self._slots.release()

    def _serve_one(self, conn: socket.socket) -> bool:
        """Answer one connection; True if it stays open (kept by ``close()``)."""
        conn.settimeout(self._read_timeout)
        if self._uid is not None:
            uid = peer_uid(conn)
            if uid is not None and uid != self._uid:
                self._log.warning("refused a control connection from uid %d", uid)
                refusal = f"refused: this daemon serves only uid {self._uid}"
                _send(conn, p.encode_error(p.E_REFUSED, refusal))
                return False
        try:
            data = read_line(conn)
            if not data:
                return False  # connected and said nothing: nothing to answer
            request = p.decode_request(data)
        except p.ProtocolError as e:
            _send(conn, p.encode_error(e.code, e.message))
            return False
        except TimeoutError:
            _send(
                conn,
                p.encode_error(
                    p.E_MALFORMED,
                    f"no complete request within {self._read_timeout:g} s; "
                    "a request is one line ending in a newline",
                ),
            )
            return False
        except OSError:
            return False
        if request.command.stream:
            self._stream(conn, request)
            return False
        _send(conn, self._answer(request))
        if request.command.linger:
            with self._lock:
                self._lingering.append(conn)
            return True
        return False

    def _answer(self, request: p.Request) -> bytes:
        return self._call(request)[2]

    def _call(self, request: p.Request) -> tuple[bool, Any, bytes]:
        """Whether the handler succeeded, its result, and the reply line to send."""
        try:
            result = self._handler(request)
            return True, result, p.encode_result(result)
        except p.ProtocolError as e:
            return False, None, p.encode_error(e.code, e.message)
        except Exception as e:
            self._log.exception("control request %r failed", request.cmd)
            return False, None, p.encode_error(p.E_INTERNAL, f"internal error: {e}; see the log")

    def _stream(self, conn: socket.socket, request: p.Request) -> None:
        sub = _Subscriber(conn)
        with self._lock:
            self._subscribers.append(sub)
        try:
            ok, result, reply = self._call(request)
            conn.settimeout(WRITE_TIMEOUT)
            conn.sendall(reply)
            if not ok:
                return
            with self._lock:
                after = result.get("seq", -1) if isinstance(result, dict) else -1
                for seq, line in sub.pending:
                    if seq > after and not _send_now(conn, line):
                        self._drop(sub)
                        return
                sub.pending.clear()
                sub.live = True
            # Wait for the client to hang up (or for close()/a failed write to shut us down).
            conn.settimeout(None)
            while conn.recv(4096):
                pass
        except OSError:
            pass
        finally:
            with self._lock:
                if sub in self._subscribers:
                    self._subscribers.remove(sub)


def _send_now(conn: socket.socket, line: bytes) -> bool:
    """Write a whole line without waiting; False if it cannot go out in full right now."""
    try:
        sent = conn.send(line, getattr(socket, "MSG_DONTWAIT", 0))
    except OSError:
        return False
    return sent == len(line)


def _send(conn: socket.socket, data: bytes) -> None:
    with contextlib.suppress(OSError):
        conn.settimeout(WRITE_TIMEOUT)
        conn.sendall(data)


def _reply_and_close(conn: socket.socket, data: bytes) -> None:
    _send(conn, data)
    conn.close()


# ---------------------------------------------------------------- client


def connect(timeout: float = CLIENT_TIMEOUT, directory: Path | None = None) -> socket.socket:
    """A connection to the running daemon; NotRunning if there is none."""
    if not hasattr(socket, "AF_UNIX"):  # pragma: no cover - Windows
        raise DeskbreakError("controlling a running deskbreak is not supported on this system")
    path = socket_path(directory)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                sock.connect(os.fspath(path))
                break
            except BlockingIOError:
                # The daemon's queue of new connections is full (a burst of clients): a Unix
                # socket says so at once instead of waiting. Try again shortly.
                if time.monotonic() >= deadline:
                    raise TimeoutError from None
                time.sleep(0.01)
    except (FileNotFoundError, ConnectionRefusedError):
        sock.close()
        raise NotRunning(NOT_RUNNING) from None
    except TimeoutError:
        sock.close()
        raise NotAnswering(f"deskbreak did not answer within {timeout:g} s") from None
    except OSError as e:
        sock.close()
        raise NotAnswering(f"cannot connect to deskbreak at {path}: {e.strerror or e}") from None
    return sock


def _exchange(sock: socket.socket, line: bytes, timeout: float) -> Any:
    try:
        sock.sendall(line)
        reply = read_line(sock)
    except TimeoutError:
        raise NotAnswering(f"deskbreak did not answer within {timeout:g} s") from None
    except OSError as e:
        raise NotAnswering(f"the connection to deskbreak broke: {e.strerror or e}") from None
    if not reply:
        raise NotAnswering("deskbreak closed the connection without answering")
    return p.decode_reply(reply)


def request(
    cmd: str, *, timeout: float = CLIENT_TIMEOUT, directory: Path | None = None, **args: Any
) -> Any:
    """Send one command to the daemon and return its result.

    Raises NotRunning (no daemon), NotAnswering, or ProtocolError for the daemon's error
    reply (its ``exit_code`` says how the command line should end).
    """
    line = p.encode_request(cmd, args)
    with connect(timeout, directory) as sock:
        return _exchange(sock, line, timeout)


def request_and_wait(
    cmd: str, *, timeout: float = CLIENT_TIMEOUT, directory: Path | None = None, **args: Any
) -> Any:
    """As ``request``, then wait until the daemon closes the connection (``quit``)."""
    line = p.encode_request(cmd, args)
    with connect(timeout, directory) as sock:
        result = _exchange(sock, line, timeout)
        sock.settimeout(STOP_TIMEOUT)
        with contextlib.suppress(OSError):
            while sock.recv(4096):
                pass
    return result


def subscribe(
    *, timeout: float = CLIENT_TIMEOUT, directory: Path | None = None
) -> tuple[Any, Iterator[dict[str, Any]]]:
    """Start an ``events`` stream: the daemon's first answer, and the events after it.

    The iterator ends when the daemon stops.
    """
    sock = connect(timeout, directory)
    try:
        result = _exchange(sock, p.encode_request("events"), timeout)
    except BaseException:
        sock.close()
        raise

    def events() -> Iterator[dict[str, Any]]:
        with sock:
            sock.settimeout(None)
            rest = b""
            while True:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                rest += chunk
                while b"\n" in rest:
                    line, rest = rest.split(b"\n", 1)
                    yield p.decode_event(line + b"\n")
                if len(rest) > p.MAX_MESSAGE:
                    raise p.ProtocolError(p.E_TOO_LARGE, "event line too long")

    return result, events()


def is_supported() -> bool:
    return hasattr(socket, "AF_UNIX") and sys.platform != "win32"

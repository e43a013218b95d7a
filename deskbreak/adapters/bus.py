"""Small D-Bus plumbing for the watchers (session, idle, do-not-disturb), over jeepney.

How it works:

- ``BusConnection`` is one blocking jeepney connection that two kinds of threads may share:
  one *listener* that blocks until signals arrive (``wait``) and any number of *callers*
  that make method calls (``call``). A lock keeps their reads apart. Whatever a caller
  reads that is not its reply (a signal) is kept in a backlog for the listener, and the
  listener is woken to take it, so no signal is lost and nobody polls.
- ``Wakeup`` is a pipe: ``set()`` from any thread makes a blocked ``select`` return. It is
  how a listener is stopped (or told to look again) without a timeout loop.
- ``wait_any`` blocks on several connections and a ``Wakeup`` at once: a thread that listens
  to the system bus and the session bus wakes only when one of them has something.
- Nothing here logs; errors are ``BusError`` (the bus said no) or ``OSError`` /
  ``TimeoutError`` (the bus is unreachable or gone).
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from collections import deque
from collections.abc import Iterable
from typing import Any

CALL_TIMEOUT = 5.0
DBUS_NAME = "org.freedesktop.DBus"
DBUS_PATH = "/org/freedesktop/DBus"
PROPERTIES = "org.freedesktop.DBus.Properties"


class BusError(Exception):
    """The bus or a service answered a call with an error."""

    def __init__(self, name: str, text: str) -> None:
        super().__init__(f"{name}: {text}" if text else name)
        self.name = name


class Wakeup:
    """A pipe whose read end becomes readable when ``set()`` is called (from any thread)."""

    def __init__(self) -> None:
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        self._closed = False

    def fileno(self) -> int:
        return self._r

    def set(self) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(self._w, b"x")

    def clear(self) -> bool:
        """Empty the pipe; True if it had been set."""
        seen = False
        while True:
            try:
                data = os.read(self._r, 64)
            except (BlockingIOError, OSError):
                return seen
            if not data:
                return seen
            seen = True

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            for fd in (self._r, self._w):
                with contextlib.suppress(OSError):
                    os.close(fd)


def system_bus_address() -> str:
    """The system bus: ``DBUS_SYSTEM_BUS_ADDRESS`` or the standard socket."""
    return (
        os.environ.get("DBUS_SYSTEM_BUS_ADDRESS", "").strip()
        or "unix:path=/var/run/dbus/system_bus_socket"
    )


def session_bus_address() -> str | None:
    """The session bus from the environment, or the usual socket in the runtime dir."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and os.path.exists(os.path.join(runtime, "bus")):
        return f"unix:path={os.path.join(runtime, 'bus')}"
    return None


def match_rule(**fields: str) -> str:
    """A match rule string: match_rule(type="signal", member="Lock") -> "type='signal',..."."""
    return ",".join(f"{key}='{value}'" for key, value in fields.items())


class BusConnection:
    """A jeepney connection shared by one listening thread and any calling threads."""

    def __init__(self, address: str, timeout: float = CALL_TIMEOUT) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self.address = address
        self._conn = open_dbus_connection(bus=address, auth_timeout=timeout)
        self._lock = threading.Lock()
        self._backlog: deque[Any] = deque(maxlen=1000)  # bounded if nobody listens
        self._wakeup = Wakeup()  # set when the backlog got something while nobody listened
        self._closed = False

    @property
    def unique_name(self) -> str:
        return str(self._conn.unique_name)

    def fileno(self) -> int:
        return int(self._conn.sock.fileno())

    def wakeup_fileno(self) -> int:
        return self._wakeup.fileno()

    # calls -------------------------------------------------------------------------------

    def call(
        self,
        dest: str,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
        timeout: float = CALL_TIMEOUT,
    ) -> tuple[Any, ...]:
        """Call a method and return the reply's body. Signals read meanwhile are kept."""
        from jeepney import DBusAddress, HeaderFields, MessageType, new_method_call
        from jeepney.io.blocking import deadline_to_timeout, timeout_to_deadline

        msg = new_method_call(
            DBusAddress(path, bus_name=dest, interface=interface), member, sig, body
        )
        deadline = timeout_to_deadline(timeout)
        with self._lock:
            serial = next(self._conn.outgoing_serial)
            self._conn.send(msg, serial=serial)
            kept = False
            try:
                while True:
                    reply = self._conn.receive(timeout=deadline_to_timeout(deadline))
                    if reply.header.fields.get(HeaderFields.reply_serial, -1) == serial:
                        break
                    if reply.header.message_type is MessageType.signal:
                        self._backlog.append(reply)
                        kept = True
            finally:
                if kept:
                    self._wakeup.set()
        if reply.header.message_type is MessageType.error:
            name = str(reply.header.fields.get(HeaderFields.error_name, "error"))
            text = str(reply.body[0]) if reply.body else ""
            raise BusError(name, text)
        return tuple(reply.body)

    def bus_call(self, member: str, sig: str | None = None, body: tuple[Any, ...] = ()) -> Any:
        """A call to the bus itself (AddMatch, NameHasOwner, ...); returns the first value."""
        out = self.call(DBUS_NAME, DBUS_PATH, DBUS_NAME, member, sig, body)
        return out[0] if out else None

    def add_match(self, **fields: str) -> None:
        self.bus_call("AddMatch", "s", (match_rule(**fields),))

    def name_has_owner(self, name: str) -> bool:
        return bool(self.bus_call("NameHasOwner", "s", (name,)))

    def get_property(self, dest: str, path: str, interface: str, name: str) -> Any:
        """A property's value (the variant unwrapped)."""
        (value,) = self.call(dest, path, PROPERTIES, "Get", "ss", (interface, name))
        return value[1] if isinstance(value, tuple) and len(value) == 2 else value

    # listening ---------------------------------------------------------------------------

    def take(self) -> list[Any]:
        """Every message already received: the backlog and whatever is readable now.

        Raises OSError (ConnectionResetError) when the connection is gone.
        """
        out: list[Any] = []
        with self._lock:
            self._wakeup.clear()
            out.extend(self._backlog)
            self._backlog.clear()
            while True:
                try:
                    out.append(self._conn.receive(timeout=0))
                except TimeoutError:
                    break
        return out

    def wait(self, timeout: float | None = None, wakeup: Wakeup | None = None) -> list[Any]:
        """Block until messages arrive (returned), ``wakeup`` is set or ``timeout`` passes."""
        return [msg for _conn, msg in wait_any([self], timeout, wakeup)]

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(OSError):
            import socket

            self._conn.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._conn.close()
        self._wakeup.close()


def wait_any(
    conns: Iterable[BusConnection], timeout: float | None = None, wakeup: Wakeup | None = None
) -> list[tuple[BusConnection, Any]]:
    """Block until one of ``conns`` has messages (all of them are returned, with their
    connection), ``wakeup`` is set (returns [] and leaves it set) or ``timeout`` passes
    (returns []).

    A connection that is gone raises its OSError here.
    """
    conns = list(conns)
    deadline = None if timeout is None else time.monotonic() + timeout
    fds: list[int] = []
    for conn in conns:
        fds += [conn.fileno(), conn.wakeup_fileno()]
    if wakeup is not None:
        fds.append(wakeup.fileno())
    while True:
        out: list[tuple[BusConnection, Any]] = []
        for conn in conns:
            out.extend((conn, msg) for msg in conn.take())
        if out:
            return out
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select(fds, [], [], remaining)
        if not ready or (wakeup is not None and wakeup.fileno() in ready):
            return []
        # Data (maybe only part of a message) or a backlog: take and look again.

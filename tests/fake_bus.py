"""Private D-Bus buses and stand-in services for tests of the session, idle and
do-not-disturb watchers.

- ``PrivateBus(kind)`` starts a ``dbus-daemon`` of its own (``kind`` "system" or "session")
  with a permissive configuration and no service activation; ``address`` is what a program
  gets as ``DBUS_SYSTEM_BUS_ADDRESS`` or ``DBUS_SESSION_BUS_ADDRESS``.
- ``StubService`` owns a well-known name on such a bus, answers method calls from a table
  of handlers, serves properties (``Get``/``GetAll``), records every call, and ``emit()``s
  signals, the way logind, a screensaver, Mutter or a notification server would.
- ``FakeLogind`` is a ``StubService`` shaped like logind: one session, ``GetSession`` and
  ``GetSessionByPID``, and helpers to emit ``PrepareForSleep`` and ``Lock``/``Unlock``.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>{kind}</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class PrivateBus:
    """A dbus-daemon of the test's own. Use as a context manager."""

    def __init__(self, kind: str = "system") -> None:
        if shutil.which("dbus-daemon") is None:
            raise AssertionError("dbus-daemon is not installed (scripts/setup --test)")
        self.kind = kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"deskbreak-{kind}-bus-"))
        self.socket = self.dir / "bus"
        config = self.dir / "bus.conf"
        config.write_text(CONFIG.format(kind=kind, socket=self.socket))
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [
                "dbus-daemon",
                "--nofork",
                "--nopidfile",
                f"--config-file={config}",
                f"--print-address={write_fd}",
            ],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        os.close(write_fd)
        try:
            self.address = self._read_address(read_fd)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(read_fd)

    def _read_address(self, fd: int, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("dbus-daemon gave no address in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 256)
                if not chunk:
                    raise AssertionError(f"dbus-daemon exited with {self.proc.poll()}")
                data += chunk
        return data.decode().strip()

    def close(self) -> None:
        if self.proc.poll() is not None and not self.dir.exists():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, 15)
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> PrivateBus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StubError(Exception):
    """Raised by a handler: the caller gets this D-Bus error."""

    def __init__(self, name: str, text: str = "") -> None:
        super().__init__(text)
        self.name = name
        self.text = text


Handler = Callable[[tuple[Any, ...]], tuple[str | None, tuple[Any, ...]]]


class StubService:
    """A service on a bus: handlers[(interface, member)](body) -> (signature, reply body).

    ``properties[(path, interface)]`` is a dict name -> (signature, value) served by
    org.freedesktop.DBus.Properties. ``calls`` lists (interface, member, body, sender).
    """

    def __init__(
        self,
        address: str,
        name: str | None,
        handlers: dict[tuple[str, str], Handler] | None = None,
        properties: dict[tuple[str, str], dict[str, tuple[str, Any]]] | None = None,
    ) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        self.handlers = dict(handlers or {})
        self.properties = {k: dict(v) for k, v in (properties or {}).items()}
        self.calls: list[tuple[str, str, tuple[Any, ...], str]] = []
        self._cond = threading.Condition()
        self._send_lock = threading.Lock()
        self._conn = open_dbus_connection(bus=address, auth_timeout=5.0)
        self.unique_name = self._conn.unique_name
        if name is not None:
            reply = self._conn.send_and_get_reply(message_bus.RequestName(name, 4), timeout=5)
            (result,) = unwrap_msg(reply)
            assert result == 1, f"could not own {name} (RequestName gave {result})"
        self._thread = threading.Thread(target=self._run, name=f"stub-{name}", daemon=True)
        self._thread.start()

    def _send(self, msg: Any) -> None:
        with self._send_lock:
            self._conn.send(msg)

    def _run(self) -> None:
        from jeepney import HeaderFields, MessageType

        while True:
            try:
                msg = self._conn.receive()
            except (OSError, ValueError):
                return
            if msg.header.message_type is not MessageType.method_call:
                continue
            fields = msg.header.fields
            interface = str(fields.get(HeaderFields.interface, ""))
            member = str(fields.get(HeaderFields.member, ""))
            path = str(fields.get(HeaderFields.path, ""))
            with self._cond:
                self.calls.append(
                    (interface, member, tuple(msg.body), str(fields.get(HeaderFields.sender)))
                )
                self._cond.notify_all()
            try:
                self._answer(msg, path, interface, member)
            except OSError:
                return

    def _answer(self, msg: Any, path: str, interface: str, member: str) -> None:
        from jeepney import new_error, new_method_return

        if interface == "org.freedesktop.DBus.Properties" and member in ("Get", "GetAll"):
            props = self.properties.get((path, str(msg.body[0])))
            if props is None:
                self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownInterface"))
            elif member == "GetAll":
                self._send(new_method_return(msg, "a{sv}", (dict(props),)))
            elif msg.body[1] in props:
                self._send(new_method_return(msg, "v", (props[msg.body[1]],)))
            else:
                self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty"))
            return
        handler = self.handlers.get((interface, member))
        if handler is None:
            self._send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))
            return
        try:
            sig, body = handler(tuple(msg.body))
        except StubError as e:
            self._send(new_error(msg, e.name, "s", (e.text,)))
            return
        self._send(new_method_return(msg, sig, body))

    def emit(
        self,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
        destination: str | None = None,
    ) -> None:
        from jeepney import DBusAddress, new_signal

        msg = new_signal(DBusAddress(path, interface=interface), member, sig, body)
        if destination is not None:
            from jeepney import HeaderFields

            msg.header.fields[HeaderFields.destination] = destination
        self._send(msg)

    def set_property(self, path: str, interface: str, name: str, sig: str, value: Any) -> None:
        """Change a property and emit PropertiesChanged for it."""
        self.properties.setdefault((path, interface), {})[name] = (sig, value)
        self.emit(
            path,
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            "sa{sv}as",
            (interface, {name: (sig, value)}, []),
        )

    def wait_for_call(self, member: str, timeout: float = 10.0) -> tuple[Any, ...]:
        """The body of the first recorded call of ``member`` (waiting for it)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for _iface, m, body, _sender in self.calls:
                    if m == member:
                        return body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {member} call within {timeout:g} s: {self.calls}")
                self._cond.wait(remaining)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        with contextlib.suppress(OSError):
            self._conn.close()


LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"


class FakeLogind(StubService):
    """logind with one session (``session_id``) that every process belongs to."""

    def __init__(self, address: str, session_id: str = "7") -> None:
        self.session_id = session_id
        self.session_path = f"{LOGIN1_PATH}/session/_3{session_id}"
        super().__init__(
            address,
            LOGIN1,
            handlers={
                (MANAGER, "GetSession"): self._get_session,
                (MANAGER, "GetSessionByPID"): lambda body: ("o", (self.session_path,)),
            },
            properties={(self.session_path, SESSION): {"LockedHint": ("b", False)}},
        )

    def _get_session(self, body: tuple[Any, ...]) -> tuple[str | None, tuple[Any, ...]]:
        if body[0] != self.session_id:
            raise StubError(f"{LOGIN1}.NoSuchSession", f"No session '{body[0]}' known")
        return "o", (self.session_path,)

    def prepare_for_sleep(self, going: bool) -> None:
        self.emit(LOGIN1_PATH, MANAGER, "PrepareForSleep", "b", (going,))

    def lock(self) -> None:
        self.emit(self.session_path, SESSION, "Lock")

    def unlock(self) -> None:
        self.emit(self.session_path, SESSION, "Unlock")

    def set_locked_hint(self, locked: bool) -> None:
        self.set_property(self.session_path, SESSION, "LockedHint", "b", locked)

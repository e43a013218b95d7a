"""Suspend, resume, lock and unlock, as the session's services announce them on D-Bus.

How it works:

- On the *system* bus (``DBUS_SYSTEM_BUS_ADDRESS`` when set): logind's
  ``org.freedesktop.login1.Manager.PrepareForSleep(true)`` just before a suspend and
  ``(false)`` right after the resume give ``on_sleep()`` and ``on_wake()``. The session this
  process belongs to (``XDG_SESSION_ID``, else ``GetSessionByPID``) gives ``Lock`` and
  ``Unlock`` signals and its ``LockedHint`` property changes.
- On the *session* bus: ``ActiveChanged(b)`` of ``org.freedesktop.ScreenSaver`` and of
  the desktops' own screensavers (GNOME, MATE, Cinnamon).
- Every lock source gives ``on_lock()`` / ``on_unlock()``, once per change: a lock that is
  announced three ways is reported once.
- One thread blocks on both connections (``select``): no wake-up while nothing happens.
- A missing bus or service is logged once and the rest carries on; nothing retries.
  ``watching`` and ``missing`` say what works, for ``status`` and ``doctor``. Without
  logind, the daemon's wall-versus-monotonic check still notices a suspend.
- The callbacks run on this module's thread: they should only hand an event to the daemon.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

LOGIN1 = "org.freedesktop.login1"
LOGIN1_PATH = "/org/freedesktop/login1"
MANAGER = "org.freedesktop.login1.Manager"
SESSION = "org.freedesktop.login1.Session"
PROPERTIES = "org.freedesktop.DBus.Properties"
SCREENSAVERS = (
    "org.freedesktop.ScreenSaver",
    "org.gnome.ScreenSaver",
    "org.mate.ScreenSaver",
    "org.cinnamon.ScreenSaver",
)

Callback = Callable[[], None]


class SessionWatcher:
    """Listens for suspend/resume and lock/unlock; see the module's docstring."""

    def __init__(
        self,
        *,
        on_sleep: Callback,
        on_wake: Callback,
        on_lock: Callback,
        on_unlock: Callback,
        log: logging.Logger,
        system_bus: str | None = None,
        session_bus: str | None = None,
        pid: int | None = None,
        session_id: str | None = None,
    ) -> None:
        self._callbacks = {
            "sleep": on_sleep,
            "wake": on_wake,
            "lock": on_lock,
            "unlock": on_unlock,
        }
        self._log = log
        self._system_address = system_bus
        self._session_address = session_bus
        self._pid = os.getpid() if pid is None else pid
        self._session_id = (
            os.environ.get("XDG_SESSION_ID", "") if session_id is None else session_id
        )
        self._system: Any = None
        self._session: Any = None
        self._session_path: str | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._wakeup: Any = None
        self.locked = False
        self.sleeping = False
        self.watching: list[str] = []  # what is listened to, for status/doctor
        self.missing: list[str] = []  # what could not be, and why

    # life cycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Connect, subscribe and start the listening thread. Never raises."""
        from deskbreak.adapters.bus import Wakeup

        self._wakeup = Wakeup()
        self._connect_system()
        self._connect_session()
        for what in self.missing:
            self._log.info("not watched: %s", what)
        if self.watching:
            self._log.info("watching %s", ", ".join(self.watching))
        if self._system is None and self._session is None:
            return
        self._thread = threading.Thread(target=self._run, name="deskbreak-session", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        if self._wakeup is not None:
            self._wakeup.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        for conn in (self._system, self._session):
            if conn is not None:
                conn.close()
        self._system = self._session = None
        if self._wakeup is not None:
            self._wakeup.close()
            self._wakeup = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # connecting -------------------------------------------------------------------------

    def _connect_system(self) -> None:
        from deskbreak.adapters.bus import BusConnection, system_bus_address

        address = self._system_address or system_bus_address()
        try:
            conn = BusConnection(address)
        except Exception as e:
            self.missing.append(f"suspend and session lock (no system bus at {address}: {e})")
            return
        try:
            if not conn.name_has_owner(LOGIN1):
                self.missing.append(f"suspend and session lock ({LOGIN1} is not running)")
                conn.close()
                return
            conn.add_match(
                type="signal",
                sender=LOGIN1,
                interface=MANAGER,
                member="PrepareForSleep",
                path=LOGIN1_PATH,
            )
            self.watching.append("suspend (logind)")
            self._system = conn
            path = self._find_session(conn)
            if path is None:
                return
            self._session_path = path
            for member in ("Lock", "Unlock"):
                conn.add_match(
                    type="signal", sender=LOGIN1, interface=SESSION, member=member, path=path
                )
            conn.add_match(
                type="signal",
                sender=LOGIN1,
                interface=PROPERTIES,
                member="PropertiesChanged",
                path=path,
            )
            self.watching.append("session lock (logind)")
        except Exception as e:
            self.missing.append(f"suspend and session lock (logind: {e})")
            if self._system is None:
                conn.close()

    def _find_session(self, conn: Any) -> str | None:
        from deskbreak.adapters.bus import BusError

        errors = []
        if self._session_id:
            try:
                (path,) = conn.call(
                    LOGIN1, LOGIN1_PATH, MANAGER, "GetSession", "s", (self._session_id,)
                )
                return str(path)
            except BusError as e:
                errors.append(f"session {self._session_id}: {e}")
        try:
            (path,) = conn.call(LOGIN1, LOGIN1_PATH, MANAGER, "GetSessionByPID", "u", (self._pid,))
            return str(path)
        except BusError as e:
            errors.append(f"pid {self._pid}: {e}")
        self.missing.append(
            "session lock (logind knows no session for this process: " + "; ".join(errors) + ")"
        )
        return None

    def _connect_session(self) -> None:
        from deskbreak.adapters.bus import BusConnection, session_bus_address

        address = self._session_address or session_bus_address()
        if not address:
            self.missing.append("screensaver (no session bus)")
            return
        try:
            conn = BusConnection(address)
            for interface in SCREENSAVERS:
                conn.add_match(type="signal", interface=interface, member="ActiveChanged")
        except Exception as e:
            self.missing.append(f"screensaver (session bus: {e})")
            return
        self._session = conn
        self.watching.append("screensaver")

    # listening --------------------------------------------------------------------------

    def _run(self) -> None:
        from deskbreak.adapters.bus import wait_any

        while not self._stopping:
            conns = [c for c in (self._system, self._session) if c is not None]
            if not conns:
                return
            try:
                got = wait_any(conns, None, self._wakeup)
            except (OSError, ValueError) as e:
                if self._stopping:
                    return
                self._drop_dead(e)
                continue
            for _conn, msg in got:
                try:
                    self._handle(msg)
                except Exception:
                    self._log.exception("could not handle a session signal")

    def _drop_dead(self, error: Exception) -> None:
        """A bus went away: log once, keep listening to the other one."""
        for name in ("_system", "_session"):
            conn = getattr(self, name)
            if conn is None:
                continue
            try:
                conn.take()
            except (OSError, ValueError):
                which = "system" if name == "_system" else "session"
                self._log.warning("lost the %s bus (%s); not watching it any more", which, error)
                conn.close()
                setattr(self, name, None)

    def _handle(self, msg: Any) -> None:
        from jeepney import HeaderFields, MessageType

        if msg.header.message_type is not MessageType.signal:
            return
        fields = msg.header.fields
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        path = fields.get(HeaderFields.path)
        body = msg.body
        if interface == MANAGER and member == "PrepareForSleep" and body:
            self._sleep(bool(body[0]))
        elif interface == SESSION and path == self._session_path:
            if member == "Lock":
                self._lock(True, "logind Lock")
            elif member == "Unlock":
                self._lock(False, "logind Unlock")
        elif (
            interface == PROPERTIES
            and member == "PropertiesChanged"
            and path == self._session_path
            and body
            and body[0] == SESSION
        ):
            changed = body[1]
            if "LockedHint" in changed:
                value = changed["LockedHint"]
                hint = value[1] if isinstance(value, tuple) else value
                self._lock(bool(hint), "logind LockedHint")
        elif interface in SCREENSAVERS and member == "ActiveChanged" and body:
            self._lock(bool(body[0]), f"{interface}.ActiveChanged")

    def _sleep(self, going: bool) -> None:
        if going == self.sleeping:
            return
        self.sleeping = going
        self._log.info("logind: %s", "going to sleep" if going else "woke up")
        self._callbacks["sleep" if going else "wake"]()

    def _lock(self, locked: bool, source: str) -> None:
        if locked == self.locked:
            return
        self.locked = locked
        self._log.info("screen %s (%s)", "locked" if locked else "unlocked", source)
        self._callbacks["lock" if locked else "unlock"]()


class FakeSessionWatcher:
    """For tests of the daemon: a test plays logind and the screensaver.

    Built like ``SessionWatcher`` (keyword callbacks and ``log``); ``sleep()``, ``wake()``,
    ``lock()`` and ``unlock()`` call the callbacks on the calling thread.
    """

    def __init__(
        self,
        *,
        on_sleep: Callback,
        on_wake: Callback,
        on_lock: Callback,
        on_unlock: Callback,
        log: logging.Logger | None = None,
        hears_sleep: bool = True,
    ) -> None:
        self._on = {"sleep": on_sleep, "wake": on_wake, "lock": on_lock, "unlock": on_unlock}
        self.watching = ["suspend (fake)", "session lock (fake)"] if hears_sleep else []
        self.missing: list[str] = []
        self.locked = False
        self.started = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def sleep(self) -> None:
        self._on["sleep"]()

    def wake(self) -> None:
        self._on["wake"]()

    def lock(self) -> None:
        self.locked = True
        self._on["lock"]()

    def unlock(self) -> None:
        self.locked = False
        self._on["unlock"]()

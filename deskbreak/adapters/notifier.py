"""Desktop notifications: freedesktop D-Bus with action buttons, or plyer as a fallback.

How it works:

- ``create_notifier()`` picks the backend. On Linux with a reachable session bus it is
  ``FreedesktopNotifier``: the org.freedesktop.Notifications interface spoken directly with
  jeepney, so reminders get action buttons (Done / Snooze / Skip) when the server lists
  the "actions" capability. Anywhere else it is ``PlyerNotifier``: plain text, no buttons.
- deskbreak shows at most one notification. Each ``show()`` passes the id of the previous
  one as ``replaces_id``, so reminders replace each other instead of piling up.
- One receiver thread per bus connection blocks on the socket (no polling, no wake-ups while
  idle). It matches replies to calls and turns the server's ``ActionInvoked`` and
  ``NotificationClosed`` signals for *our* notification into ``on_action(key)`` and
  ``on_closed(reason)``. The callbacks run on that thread: they should only enqueue.
  Closing or replacing our own notification never calls ``on_closed``. After a button was
  pressed the notification is closed (some servers leave it on screen) and only
  ``on_action`` is called.
- Nothing here raises to the caller. Without a notification server, or after the bus went
  away, ``show()`` logs one warning (not one per reminder) and returns; the next ``show()``
  tries again: it reconnects to the bus if needed and, when the server changed (restarted,
  replaced), asks it again for its capabilities.
- jeepney and plyer are imported lazily, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

APP_NAME = "deskbreak"
DESKTOP_ENTRY = "deskbreak"
BUS_NAME = "org.freedesktop.Notifications"
OBJECT_PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"
CALL_TIMEOUT = 5.0
URGENCY_NORMAL = 1

# NotificationClosed reason codes of the freedesktop specification.
CLOSE_REASONS = {1: "expired", 2: "dismissed", 3: "closed", 4: "undefined"}


@dataclass(frozen=True)
class Notice:
    """What to show. ``actions`` are (key, label) pairs; the key comes back in on_action."""

    title: str
    body: str
    actions: tuple[tuple[str, str], ...] = ()
    timeout: int | None = None  # seconds until the server may expire it; None: its default
    icon: str = ""  # icon name or absolute path


class Notifier(Protocol):
    @property
    def supports_actions(self) -> bool:
        """Whether to give notices action buttons: False once they are known not to show
        (a server without the "actions" capability, or no buttons at all)."""
        ...

    def show(self, notice: Notice) -> None:
        """Show ``notice`` in place of the previous deskbreak notification."""
        ...

    def close(self) -> None:
        """Close the notification on screen, if any. No on_closed callback follows."""
        ...

    def stop(self) -> None:
        """Close the notification and release the connection; the notifier is done."""
        ...


ActionCallback = Callable[[str], None]
ClosedCallback = Callable[[str], None]


class _Availability:
    """Logs one warning when notifications stop working and one line when they're back."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._down = False

    def failed(self, why: str) -> None:
        if self._down:
            self._log.debug("notification still not shown: %s", why)
            return
        self._down = True
        self._log.warning(
            "Cannot show desktop notifications: %s. deskbreak keeps running and tries "
            "again at the next reminder.",
            why,
        )

    def ok(self) -> None:
        if self._down:
            self._down = False
            self._log.info("Desktop notifications work again.")


def session_bus_address() -> str | None:
    """The session bus address from the environment, or the usual socket in the runtime dir."""
    address = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={Path(runtime, 'bus')}"
    return None


class BusGone(ConnectionError):
    """The session bus connection was lost."""


class _BusLink:
    """One connection to the session bus and the thread that receives on it."""

    def __init__(self, address: str, on_signal: Callable[[Any], None], log: logging.Logger) -> None:
        from jeepney.io.threading import open_dbus_connection

        self._conn = open_dbus_connection(bus=address, auth_timeout=CALL_TIMEOUT)
        self._on_signal = on_signal
        self._log = log
        self._lock = threading.Lock()
        self._pending: dict[int, Future[Any]] = {}
        self._dead = False
        self._thread = threading.Thread(
            target=self._receive_loop, name="deskbreak-notifier", daemon=True
        )
        self._thread.start()

    @property
    def alive(self) -> bool:
        return not self._dead

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def call(
        self,
        msg: Any,
        timeout: float = CALL_TIMEOUT,
        on_reply: Callable[[Future[Any]], None] | None = None,
    ) -> Any:
        """Send a method call and return the reply message (method return or error).

        ``on_reply`` runs on the receiver thread as soon as the reply arrives, before any
        later message is handled.
        """
        serial = next(self._conn.outgoing_serial)
        future: Future[Any] = Future()
        if on_reply is not None:
            future.add_done_callback(on_reply)
        with self._lock:
            if self._dead:
                raise BusGone("the session bus connection is closed")
            self._pending[serial] = future
        try:
            self._conn.send(msg, serial=serial)
            return future.result(timeout)
        finally:
            with self._lock:
                self._pending.pop(serial, None)

    def send(self, msg: Any) -> None:
        """Send without waiting for a reply (safe on the receiver thread)."""
        self._conn.send(msg)

    def _receive_loop(self) -> None:
        from jeepney import HeaderFields, MessageType
        from jeepney.io.threading import ReceiveStopped

        error: BaseException | None = None
        try:
            while True:
                msg = self._conn.receive()
                mtype = msg.header.message_type
                if mtype in (MessageType.method_return, MessageType.error):
                    serial = msg.header.fields.get(HeaderFields.reply_serial)
                    with self._lock:
                        future = self._pending.pop(serial, None)
                    if future is not None and not future.done():
                        future.set_result(msg)
                elif mtype is MessageType.signal:
                    self._on_signal(msg)
        except ReceiveStopped:
            pass
        except Exception as exc:  # the socket broke: the bus went away
            error = exc
            self._log.debug("session bus connection lost: %r", exc)
        finally:
            with self._lock:
                self._dead = True
                pending = list(self._pending.values())
                self._pending.clear()
            for future in pending:
                if not future.done():
                    future.set_exception(BusGone(f"session bus connection lost: {error!r}"))

    def close(self) -> None:
        with self._lock:
            self._dead = True
        with contextlib.suppress(OSError):
            self._conn.interrupt()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout=CALL_TIMEOUT)
        with contextlib.suppress(OSError):
            self._conn.close()


def _notifications_call(
    member: str, signature: str | None = None, body: tuple[Any, ...] = ()
) -> Any:
    from jeepney import DBusAddress, new_method_call

    address = DBusAddress(OBJECT_PATH, bus_name=BUS_NAME, interface=INTERFACE)
    return new_method_call(address, member, signature, body)


def _describe(exc: BaseException) -> str:
    from jeepney.wrappers import DBusErrorResponse

    if isinstance(exc, DBusErrorResponse):
        if exc.name in (
            "org.freedesktop.DBus.Error.ServiceUnknown",
            "org.freedesktop.DBus.Error.NameHasNoOwner",
        ):
            return "no notification server is running on the session bus"
        detail = f": {exc.data[0]}" if exc.data else ""
        return f"the notification server answered {exc.name}{detail}"
    if isinstance(exc, TimeoutError):
        return "the notification server did not answer in time"
    if isinstance(exc, BusGone | OSError):
        return f"the session bus is not reachable ({exc})"
    return f"{type(exc).__name__}: {exc}"


def _icon_argument(icon: str) -> str:
    if icon and os.path.isabs(icon):
        return Path(icon).as_uri()
    return icon


class FreedesktopNotifier:
    """Notifications over org.freedesktop.Notifications, with action buttons."""

    def __init__(
        self,
        on_action: ActionCallback,
        on_closed: ClosedCallback,
        log: logging.Logger,
        *,
        bus_address: str | None = None,
    ) -> None:
        """Connect to the session bus; raises OSError/ValueError when it is unreachable."""
        address = bus_address or session_bus_address()
        if not address:
            raise OSError("no session bus address (DBUS_SESSION_BUS_ADDRESS is not set)")
        self._address = address
        self._on_action = on_action
        self._on_closed = on_closed
        self._log = log
        self._availability = _Availability(log)
        self._calls = threading.Lock()  # one show/close at a time
        self._state = threading.Lock()  # guards the fields below; shared with the receiver
        self._server: str | None = None  # unique bus name of the server we talk to
        self._caps: frozenset[str] = frozenset()
        self._id = 0  # our notification on screen, 0 if none
        self._stopped = False
        self._link: _BusLink | None = self._connect()
        with self._calls:
            try:
                self._ensure_server(self._link)
            except Exception as exc:
                self._failed(exc)

    # public ---------------------------------------------------------------------------

    @property
    def supports_actions(self) -> bool:
        """What the current server said; True while no server is known yet.

        Callers build a notice with buttons only when this is True, and ``show()`` finds
        the server first and leaves the buttons out if it has no "actions" capability.
        So while no server answers, offer them: a server that starts later and has the
        capability then shows the buttons of the very next reminder.
        """
        with self._state:
            return self._server is None or "actions" in self._caps

    @property
    def receiver_thread(self) -> threading.Thread | None:
        link = self._link
        return link.thread if link is not None else None

    def show(self, notice: Notice) -> None:
        with self._calls:
            if self._stopped:
                return
            try:
                link = self._ensure_link()
                caps = self._ensure_server(link)
                self._notify(link, notice, caps)
            except Exception as exc:
                self._failed(exc)
                return
            self._availability.ok()

    def close(self) -> None:
        with self._calls:
            self._close_current()

    def flush(self, timeout: float = CALL_TIMEOUT) -> bool:
        """Wait until what the bus sent before now is handled, callbacks included.

        True if connected. Must not be called from a callback.
        """
        from jeepney.bus_messages import message_bus

        link = self._link
        if link is None or not link.alive:
            return False
        try:
            link.call(message_bus.GetId(), timeout=timeout)
        except Exception:
            return False
        return True

    def stop(self) -> None:
        with self._calls:
            if self._stopped:
                return
            self._close_current()
            self._stopped = True
            if self._link is not None:
                self._link.close()
                self._link = None

    # internals ------------------------------------------------------------------------

    def _connect(self) -> _BusLink:
        from jeepney.bus_messages import MatchRule, message_bus
        from jeepney.wrappers import unwrap_msg

        link = _BusLink(self._address, self._handle_signal, self._log)
        try:
            rule = MatchRule(type="signal", interface=INTERFACE, path=OBJECT_PATH)
            unwrap_msg(link.call(message_bus.AddMatch(rule)))
        except BaseException:
            link.close()
            raise
        return link

    def _ensure_link(self) -> _BusLink:
        if self._link is not None and self._link.alive:
            return self._link
        if self._link is not None:
            self._link.close()
            self._link = None
        with self._state:
            self._server = None
            self._id = 0
        self._link = self._connect()
        return self._link

    def _ensure_server(self, link: _BusLink) -> frozenset[str]:
        """Make sure we know the current server and its capabilities; return them."""
        from jeepney import HeaderFields, MessageType
        from jeepney.bus_messages import message_bus
        from jeepney.wrappers import unwrap_msg

        reply = link.call(message_bus.GetNameOwner(BUS_NAME))
        owner = reply.body[0] if reply.header.message_type is MessageType.method_return else None
        with self._state:
            if owner is not None and owner == self._server:
                return self._caps
        # A new server (or none yet: asking may start one by D-Bus activation).
        reply = link.call(_notifications_call("GetCapabilities"))
        caps = frozenset(str(c) for c in unwrap_msg(reply)[0])
        server = reply.header.fields.get(HeaderFields.sender)
        with self._state:
            if server != self._server:
                self._id = 0
            self._server = server
            self._caps = caps
        self._log.debug("notification server %s, capabilities %s", server, sorted(caps))
        return caps

    def _notify(self, link: _BusLink, notice: Notice, caps: frozenset[str]) -> None:
        from jeepney import HeaderFields, MessageType
        from jeepney.wrappers import unwrap_msg

        actions: list[str] = []
        if "actions" in caps:
            for key, label in notice.actions:
                actions += [key, label]
        body = _escape_markup(notice.body) if "body-markup" in caps else notice.body
        hints = {"desktop-entry": ("s", DESKTOP_ENTRY), "urgency": ("y", URGENCY_NORMAL)}
        expire_ms = -1 if notice.timeout is None else max(0, int(notice.timeout * 1000))
        with self._state:
            replaces = self._id
        msg = _notifications_call(
            "Notify",
            "susssasa{sv}i",
            (
                APP_NAME,
                replaces,
                _icon_argument(notice.icon),
                notice.title,
                body,
                actions,
                hints,
                expire_ms,
            ),
        )

        def on_reply(future: Future[Any]) -> None:
            # Runs on the receiver thread, before any signal about the new id is handled.
            if future.cancelled() or future.exception() is not None:
                return
            reply = future.result()
            if reply.header.message_type is MessageType.method_return:
                with self._state:
                    self._id = int(reply.body[0])
                    self._server = reply.header.fields.get(HeaderFields.sender, self._server)

        unwrap_msg(link.call(msg, on_reply=on_reply))

    def _close_current(self) -> None:
        with self._state:
            nid, self._id = self._id, 0
        link = self._link
        if not nid or link is None or not link.alive:
            return
        try:
            link.call(_notifications_call("CloseNotification", "u", (nid,)))
        except Exception as exc:
            self._log.debug("could not close notification %s: %s", nid, _describe(exc))

    def _send_close(self, nid: int) -> None:
        """CloseNotification without waiting for the answer (fine on any thread)."""
        from jeepney import MessageFlag

        link = self._link
        if link is None or not link.alive:
            return
        msg = _notifications_call("CloseNotification", "u", (nid,))
        msg.header.flags |= MessageFlag.no_reply_expected
        try:
            link.send(msg)
        except Exception as exc:
            self._log.debug("could not close notification %s: %s", nid, _describe(exc))

    def _failed(self, exc: BaseException) -> None:
        from jeepney.wrappers import DBusErrorResponse

        link = self._link
        broken = link is None or not link.alive
        if isinstance(exc, OSError) and not isinstance(exc, TimeoutError):
            broken = True
        if broken and not isinstance(exc, DBusErrorResponse):
            # The bus itself is in trouble: start with a fresh connection next time.
            self._link = None
            if link is not None:
                link.close()
        with self._state:
            self._server = None
            self._id = 0
        self._availability.failed(_describe(exc))

    def _handle_signal(self, msg: Any) -> None:
        """On the receiver thread: turn signals about our notification into callbacks."""
        from jeepney import HeaderFields

        fields = msg.header.fields
        if fields.get(HeaderFields.interface) != INTERFACE:
            return
        member = fields.get(HeaderFields.member)
        sender = fields.get(HeaderFields.sender)
        callback: Callable[[], None] | None = None
        with self._state:
            nid = self._id
            if not nid or sender != self._server or not msg.body or int(msg.body[0]) != nid:
                return
            if member == "ActionInvoked":
                # Answered: take it off the screen (some servers, dunst among them, leave it
                # there). Don't wait for the reply here, on the thread that receives it.
                self._id = 0
                key = str(msg.body[1])
                self._send_close(nid)

                def callback() -> None:
                    self._on_action(key)

            elif member == "NotificationClosed":
                self._id = 0
                reason = CLOSE_REASONS.get(int(msg.body[1]), "undefined")

                def callback() -> None:
                    self._on_closed(reason)

        if callback is not None:
            try:
                callback()
            except Exception:
                self._log.exception("notification callback failed")


class PlyerNotifier:
    """Plain notifications through plyer (no buttons), for systems without D-Bus."""

    supports_actions = False

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._availability = _Availability(log)

    def show(self, notice: Notice) -> None:
        try:
            from plyer import notification

            with warnings.catch_warnings():
                # plyer warns that dbus-python is missing, then uses notify-send: fine.
                warnings.simplefilter("ignore")
                notification.notify(
                    app_name=APP_NAME,
                    title=notice.title,
                    message=notice.body,
                    app_icon=notice.icon,
                    timeout=notice.timeout if notice.timeout is not None else 10,
                )
        except Exception as exc:
            self._availability.failed(f"{type(exc).__name__}: {exc}")
            return
        self._availability.ok()

    def close(self) -> None:
        pass

    def stop(self) -> None:
        pass


def create_notifier(
    on_action: ActionCallback,
    on_closed: ClosedCallback,
    log: logging.Logger,
    *,
    bus_address: str | None = None,
) -> Notifier:
    """The best notifier for this system (see the module docstring)."""
    if sys.platform.startswith("linux"):
        address = bus_address or session_bus_address()
        if address:
            try:
                return FreedesktopNotifier(on_action, on_closed, log, bus_address=address)
            except Exception as exc:
                log.info("session bus not reachable (%s); notifications without buttons", exc)
    return PlyerNotifier(log)


@dataclass
class FakeNotifier:
    """A notifier for tests of the daemon: records notices; a test plays the user.

    ``press(key)`` and ``expire()`` / ``dismiss()`` call the callbacks the way the real
    notifier's receiver thread would (here on the calling thread).
    """

    on_action: ActionCallback = lambda key: None
    on_closed: ClosedCallback = lambda reason: None
    supports_actions: bool = True
    shown: list[Notice] = field(default_factory=list)
    closed: list[Notice] = field(default_factory=list)
    current: Notice | None = None
    stopped: bool = False

    def show(self, notice: Notice) -> None:
        self.shown.append(notice)
        self.current = notice

    def close(self) -> None:
        if self.current is not None:
            self.closed.append(self.current)
            self.current = None

    def stop(self) -> None:
        self.close()
        self.stopped = True

    def press(self, key: str) -> None:
        notice = self._require_current()
        if not self.supports_actions or key not in {k for k, _ in notice.actions}:
            raise AssertionError(f"the notice on screen has no {key!r} button: {notice}")
        self.current = None
        self.on_action(key)

    def expire(self) -> None:
        self._require_current()
        self.current = None
        self.on_closed("expired")

    def dismiss(self) -> None:
        self._require_current()
        self.current = None
        self.on_closed("dismissed")

    def _require_current(self) -> Notice:
        if self.current is None:
            raise AssertionError("no notification is on screen")
        return self.current


def _escape_markup(text: str) -> str:
    """``text`` shown as itself by a server that reads body markup (&, < and > escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

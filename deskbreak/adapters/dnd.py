"""Do-not-disturb: whether a reminder should be held because the user must not be disturbed.

How it works:

- Each *source* answers ``check() -> (busy, reason)``:
  ``FullscreenSource`` (X11: the root's ``_NET_ACTIVE_WINDOW`` has
  ``_NET_WM_STATE_FULLSCREEN`` in its ``_NET_WM_STATE``), ``InhibitedSource`` (the
  notification server's freedesktop ``Inhibited`` property where offered, and dunst's
  ``paused``), ``GnomeBannersSource`` (GNOME's ``show-banners`` is off, read with
  ``gsettings`` only on GNOME). A source that cannot tell says "not busy".
- ``DndMonitor.busy()`` asks the enabled sources *now* (the daemon calls it when a reminder
  comes due) and returns the first reason, or None.
- ``DndMonitor.watch()`` is for while a reminder is held: each source listens for its own
  changes (X ``PropertyNotify``, D-Bus ``PropertiesChanged``, ``gsettings monitor``) and the
  monitor checks again when one fires, and every ``RECHECK`` seconds in case a source cannot
  listen. ``on_change(reason)`` is called on every change of the answer; after it reported
  None (free) the watching ends by itself. Nothing watches while no reminder is held, so
  do-not-disturb costs no wake-ups the rest of the time.
- Callbacks run on the monitor's thread: they should only hand an event to the daemon.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

RECHECK = 30.0  # while held, with a source that cannot listen for changes
RECHECK_EVENTS = 300.0  # while held, when every source listens (a safety net)

NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
DUNST_INTERFACE = "org.dunstproject.cmd0"
BANNERS_SCHEMA = "org.gnome.desktop.notifications"
BANNERS_KEY = "show-banners"

Poke = Callable[[], None]


class DndSource(Protocol):
    name: str  # "fullscreen", "inhibited", "gnome-banners"
    reason: str  # why it cannot tell, or "" when it can

    def available(self) -> bool: ...

    def check(self) -> tuple[bool, str]:
        """(busy, reason) now. Never raises: a source that cannot tell says not busy."""
        ...

    def watch(self, poke: Poke) -> bool:
        """Start calling ``poke()`` when the answer may have changed; False if it cannot."""
        ...

    def unwatch(self) -> None: ...

    def close(self) -> None: ...


# --------------------------------------------------------------------------- fullscreen


class FullscreenSource:
    """X11: the active window (EWMH ``_NET_ACTIVE_WINDOW``) is fullscreen."""

    name = "fullscreen"

    def __init__(self, display_name: str | None = None) -> None:
        self._name = display_name or os.environ.get("DISPLAY", "")
        self.reason = ""
        self._display: Any = None
        self._lock = threading.Lock()
        self._watch_thread: threading.Thread | None = None
        self._watch_stop: Any = None
        try:
            from deskbreak.adapters.xdisplay import open_display

            self._display = open_display(self._name or None)
        except Exception as e:
            self.reason = f"cannot open the X display {self._name!r}: {e}"

    def available(self) -> bool:
        return self._display is not None

    def check(self) -> tuple[bool, str]:
        if self._display is None:
            return False, ""
        with self._lock:
            try:
                return _fullscreen_active(self._display)
            except Exception:  # a window that vanished, a display that went away
                return False, ""

    def watch(self, poke: Poke) -> bool:
        if self._display is None:
            return False
        self.unwatch()
        from deskbreak.adapters.bus import Wakeup

        try:
            watcher = _FullscreenWatch(self._name)
        except Exception:
            return False
        stop = Wakeup()
        self._watch_stop = stop
        self._watch_thread = threading.Thread(
            target=watcher.run, args=(stop, poke), name="deskbreak-dnd-x", daemon=True
        )
        self._watch_thread.start()
        return True

    def unwatch(self) -> None:
        stop, thread = self._watch_stop, self._watch_thread
        self._watch_stop = self._watch_thread = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        if stop is not None:
            stop.close()

    def close(self) -> None:
        self.unwatch()
        d, self._display = self._display, None
        if d is not None:
            with self._lock, contextlib.suppress(Exception):
                d.close()


def _active_window(d: Any) -> Any:
    from Xlib import X

    prop = d.screen().root.get_full_property(d.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
    if prop is None or not prop.value or not prop.value[0]:
        return None
    return d.create_resource_object("window", int(prop.value[0]))


def _fullscreen_active(d: Any) -> tuple[bool, str]:
    from Xlib import Xatom

    window = _active_window(d)
    if window is None:
        return False, ""
    state = window.get_full_property(d.intern_atom("_NET_WM_STATE"), Xatom.ATOM)
    if state is None or d.intern_atom("_NET_WM_STATE_FULLSCREEN") not in list(state.value):
        return False, ""
    what = ""
    with contextlib.suppress(Exception):
        wm_class = window.get_wm_class()
        if wm_class:
            what = f" ({wm_class[-1]})"
    return True, f"a fullscreen window{what} is active"


class _FullscreenWatch:
    """Its own display connection, listening for a change of the active window or of its
    state. Subscribed when created (so no change after that is missed); ``run`` pokes on
    each change until ``stop`` is set."""

    def __init__(self, display_name: str) -> None:
        from Xlib import X

        from deskbreak.adapters.xdisplay import open_display

        self.d = open_display(display_name or None)
        try:
            self.root = self.d.screen().root
            self.active_atom = self.d.intern_atom("_NET_ACTIVE_WINDOW")
            self.state_atom = self.d.intern_atom("_NET_WM_STATE")
            self.root.change_attributes(event_mask=X.PropertyChangeMask)
            self.active = self._follow()
        except Exception:
            self.d.close()
            raise

    def _follow(self) -> Any:
        from Xlib import X

        window = _active_window(self.d)
        if window is not None:
            window.change_attributes(event_mask=X.PropertyChangeMask)
        self.d.sync()
        return window

    def run(self, stop: Any, poke: Poke) -> None:
        from Xlib import X

        d = self.d
        try:
            while True:
                changed = False
                while d.pending_events():
                    event = d.next_event()
                    if event.type != X.PropertyNotify:
                        continue
                    if event.window == self.root and event.atom == self.active_atom:
                        self.active = self._follow()
                        changed = True
                    elif (
                        self.active is not None
                        and event.window == self.active
                        and event.atom == self.state_atom
                    ):
                        changed = True
                if changed:
                    poke()
                ready, _, _ = select.select([d.fileno(), stop.fileno()], [], [])
                if stop.fileno() in ready:
                    return
        except Exception:
            return  # the monitor's periodic re-check still covers this source
        finally:
            with contextlib.suppress(Exception):
                d.close()


# --------------------------------------------------------------------------- notification server


class InhibitedSource:
    """The notification server is in do-not-disturb mode: the freedesktop ``Inhibited``
    property (where the server offers it) or dunst's ``paused``."""

    name = "inhibited"

    def __init__(self, address: str | None = None) -> None:
        from deskbreak.adapters.bus import session_bus_address

        self._address = address or session_bus_address()
        self.reason = "" if self._address else "no session bus"
        self._conn: Any = None
        self._lock = threading.Lock()  # the daemon and the watching thread both ask
        self._watch_conn: Any = None
        self._watch_stop: Any = None
        self._watch_thread: threading.Thread | None = None

    def available(self) -> bool:
        return bool(self._address)

    def _connection(self) -> Any:
        from deskbreak.adapters.bus import BusConnection

        if self._conn is None:
            self._conn = BusConnection(self._address or "")
        return self._conn

    def check(self) -> tuple[bool, str]:
        if not self._address:
            return False, ""
        with self._lock:
            return self._check()

    def _check(self) -> tuple[bool, str]:
        from deskbreak.adapters.bus import BusError

        for interface, prop, reason in (
            (NOTIFICATIONS, "Inhibited", "notifications are inhibited (do not disturb)"),
            (DUNST_INTERFACE, "paused", "notifications are paused (do not disturb)"),
        ):
            try:
                value = self._connection().get_property(
                    NOTIFICATIONS, NOTIFICATIONS_PATH, interface, prop
                )
            except BusError:
                continue  # not offered by this server
            except Exception:
                self._drop_connection()
                return False, ""
            if value is True:
                return True, reason
        return False, ""

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def watch(self, poke: Poke) -> bool:
        if not self._address:
            return False
        self.unwatch()
        from deskbreak.adapters.bus import BusConnection, Wakeup

        try:
            conn = BusConnection(self._address)
            conn.add_match(
                type="signal",
                interface="org.freedesktop.DBus.Properties",
                member="PropertiesChanged",
                path=NOTIFICATIONS_PATH,
            )
        except Exception:
            return False
        stop = Wakeup()
        self._watch_conn, self._watch_stop = conn, stop

        def run() -> None:
            while True:
                try:
                    got = conn.wait(None, stop)
                except (OSError, ValueError):
                    return
                if not got:
                    return  # stopped
                poke()

        self._watch_thread = threading.Thread(target=run, name="deskbreak-dnd-bus", daemon=True)
        self._watch_thread.start()
        return True

    def unwatch(self) -> None:
        stop, thread, conn = self._watch_stop, self._watch_thread, self._watch_conn
        self._watch_stop = self._watch_thread = self._watch_conn = None
        if stop is not None:
            stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        if conn is not None:
            conn.close()
        if stop is not None:
            stop.close()

    def close(self) -> None:
        self.unwatch()
        with self._lock:
            self._drop_connection()


# --------------------------------------------------------------------------- GNOME


def is_gnome(env: Mapping[str, str]) -> bool:
    desktops = env.get("XDG_CURRENT_DESKTOP", "").lower().split(":")
    return any("gnome" in d for d in desktops)


class GnomeBannersSource:
    """GNOME's "show banners" (do not disturb in GNOME's notification settings) is off."""

    name = "gnome-banners"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._gsettings = shutil.which("gsettings", path=self._env.get("PATH"))
        self.reason = ""
        if not is_gnome(self._env):
            self.reason = "not a GNOME session"
        elif self._gsettings is None:
            self.reason = "gsettings is not installed"
        self._monitor: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def available(self) -> bool:
        return not self.reason

    def check(self) -> tuple[bool, str]:
        if not self.available():
            return False, ""
        try:
            out = subprocess.run(
                [self._gsettings or "gsettings", "get", BANNERS_SCHEMA, BANNERS_KEY],
                env=self._env,
                capture_output=True,
                text=True,
                timeout=5,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False, ""
        if out.returncode == 0 and out.stdout.strip() == "false":
            return True, "GNOME's do-not-disturb is on (notification banners are off)"
        return False, ""

    def watch(self, poke: Poke) -> bool:
        if not self.available():
            return False
        self.unwatch()
        try:
            proc = subprocess.Popen(
                [self._gsettings or "gsettings", "monitor", BANNERS_SCHEMA, BANNERS_KEY],
                env=self._env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
        except OSError:
            return False
        self._monitor = proc

        def run() -> None:
            assert proc.stdout is not None
            for _line in proc.stdout:
                poke()

        self._reader = threading.Thread(target=run, name="deskbreak-dnd-gsettings", daemon=True)
        self._reader.start()
        return True

    def unwatch(self) -> None:
        proc, reader = self._monitor, self._reader
        self._monitor = self._reader = None
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if reader is not None and reader is not threading.current_thread():
            reader.join(5)

    def close(self) -> None:
        self.unwatch()


# --------------------------------------------------------------------------- the monitor


class DndMonitor:
    """Asks the enabled sources whether the user must not be disturbed; watches while held."""

    def __init__(
        self,
        sources: Sequence[DndSource],
        log: logging.Logger,
        on_change: Callable[[str | None], None] | None = None,
        *,
        recheck: float = RECHECK,
        recheck_events: float = RECHECK_EVENTS,
    ) -> None:
        self.sources = list(sources)
        self._log = log
        self._on_change = on_change
        self._recheck = recheck
        self._recheck_events = recheck_events
        self._poke = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._done = False
        self.last: str | None = None

    def describe(self) -> list[str]:
        """One line per source, for ``status`` and ``doctor``."""
        return [
            f"{s.name}: " + ("on" if s.available() else f"off ({s.reason})") for s in self.sources
        ]

    def busy(self) -> str | None:
        """Why the user must not be disturbed now, or None. Any thread."""
        for source in self.sources:
            if not source.available():
                continue
            try:
                is_busy, reason = source.check()
            except Exception:
                self._log.exception("do-not-disturb source %s failed", source.name)
                continue
            if is_busy:
                return reason or source.name
        return None

    @property
    def watching(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._done

    def watch(self) -> None:
        """Watch until free: ``on_change`` gets every new answer, None last. Idempotent."""
        with self._lock:
            if self.watching:
                return
            old = self._thread
            if old is not None and old is not threading.current_thread():
                old.join(5)  # it has reported "free" and is only finishing
            self._stopping = False
            self._done = False
            self._poke.clear()
            # Listen first, then look: a change in between still pokes.
            listening = [s.watch(self._poke.set) for s in self.sources if s.available()]
            self.last = self.busy()
            period = self._recheck_events if listening and all(listening) else self._recheck
            if self.last is None:
                self._poke.set()  # already free: report it at once
            self._thread = threading.Thread(
                target=self._run, args=(period,), name="deskbreak-dnd", daemon=True
            )
            self._thread.start()

    def _unwatch_sources(self) -> None:
        for source in self.sources:
            with contextlib.suppress(Exception):
                source.unwatch()

    def _report(self, reason: str | None) -> None:
        self._log.info("do not disturb: %s", reason or "free again")
        if self._on_change is not None:
            try:
                self._on_change(reason)
            except Exception:
                self._log.exception("the do-not-disturb callback failed")

    def _run(self, period: float) -> None:
        try:
            while not self._stopping:
                if self._poke.wait(period):
                    self._poke.clear()
                if self._stopping:
                    return
                reason = self.busy()
                if reason is None:
                    self._unwatch_sources()
                    self._done = True
                    self.last = None
                    self._report(None)
                    return
                if reason != self.last:
                    self.last = reason
                    self._report(reason)
        finally:
            if not self._done:
                self._unwatch_sources()

    def unwatch(self) -> None:
        self._stopping = True
        self._poke.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        self._thread = None

    def close(self) -> None:
        self.unwatch()
        for source in self.sources:
            with contextlib.suppress(Exception):
                source.close()


def create_dnd_monitor(
    log: logging.Logger,
    on_change: Callable[[str | None], None] | None = None,
    *,
    fullscreen: bool = True,
    inhibited: bool = True,
    gnome_banners: bool = True,
    env: Mapping[str, str] | None = None,
) -> DndMonitor:
    """The sources the settings enable and this session offers; logs which ones work."""
    env = os.environ if env is None else env
    sources: list[DndSource] = []
    if fullscreen:
        if env.get("WAYLAND_DISPLAY"):
            log.info("do not disturb: fullscreen windows cannot be seen under Wayland")
        elif env.get("DISPLAY"):
            sources.append(FullscreenSource(env.get("DISPLAY")))
    if inhibited:
        sources.append(InhibitedSource())
    if gnome_banners and is_gnome(env):
        sources.append(GnomeBannersSource(env))
    monitor = DndMonitor(sources, log, on_change)
    for line in monitor.describe():
        log.info("do not disturb, %s", line)
    return monitor


class FakeDnd:
    """For tests of the daemon: ``reason`` is what ``busy()`` says; ``free()`` ends it the way
    a watched source would (``on_change(None)`` when watching)."""

    def __init__(
        self, on_change: Callable[[str | None], None] | None = None, reason: str | None = None
    ) -> None:
        self.on_change = on_change
        self.reason = reason
        self.watching = False
        self.watch_calls = 0

    def describe(self) -> list[str]:
        return ["fake: on"]

    def busy(self) -> str | None:
        return self.reason

    def watch(self) -> None:
        self.watching = True
        self.watch_calls += 1

    def free(self) -> None:
        self.reason = None
        if self.watching:
            self.watching = False
            if self.on_change is not None:
                self.on_change(None)

    def unwatch(self) -> None:
        self.watching = False

    def close(self) -> None:
        self.watching = False

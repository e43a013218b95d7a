"""Idle time (how long since the last keyboard or mouse input) and the watcher that turns it
into "the user left" and "the user is back", with as few wake-ups as possible.

How it works:

- An ``IdleMonitor`` reads the idle time of one platform: the XScreenSaver extension on X11
  (python-xlib, in process), Mutter's ``org.gnome.Mutter.IdleMonitor`` on GNOME under
  Wayland (jeepney), ``GetLastInputInfo`` on Windows and the HID system's ``HIDIdleTime``
  on macOS (both ctypes). ``create_idle_monitor()`` picks one; where none works it returns
  ``NoIdle`` whose ``reason`` says why, for the log, ``status`` and ``doctor``.
- Some monitors can also *wait* for a change without polling (``events`` is True): on X11
  an X SYNC alarm on the server's IDLETIME counter (see xsync.py), on GNOME an idle watch
  and a user-active watch. The others wait on a timer.
- ``IdleTracker`` is the decision, pure: given an idle reading and the monotonic time of it,
  it says whether the user just left (idle reached the threshold, the natural-break length)
  or just came back (the idle time went down), and what to wait for next. While the user is
  active it waits until the idle time could first reach the threshold (never less than
  ``MIN_WAIT``); while they are away it waits for input: on an event monitor that costs no
  wake-up, otherwise it looks every ``AWAY_POLL`` seconds (3 wake-ups a minute).
- ``IdleWatcher`` runs the tracker on its own thread and calls ``on_away_started(idle_for)``
  and ``on_away_ended(away_seconds)``. The absence is measured from the last input, not from
  when it was noticed: ``idle_for`` is how long the user had already been idle, and
  ``away_seconds`` the whole absence. Callbacks run on the watcher's thread: they should
  only hand an event to the daemon.

No ``time.sleep`` anywhere: waits are ``threading.Event.wait`` or ``select`` with a timeout,
which behave when the wall clock jumps.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import select
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

MIN_WAIT = 15.0  # while active: never look again sooner than this
AWAY_POLL = 20.0  # while away, without events: look for the user's return this often
SAFETY_WAIT = 600.0  # with events: look anyway after this long (a lost alarm, a restart)

MUTTER_NAME = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
MUTTER_INTERFACE = "org.gnome.Mutter.IdleMonitor"


class IdleError(Exception):
    """The idle time could not be read (the display or the bus went away)."""


class IdleMonitor(Protocol):
    name: str  # "xscreensaver", "mutter", "windows", "macos" or "none"
    reason: str  # why it is not available; how it works when it is
    events: bool  # wait_idle/wait_active block until the change, not just for the timeout

    def available(self) -> bool: ...

    def idle_seconds(self) -> float:
        """Seconds since the last input. Raises IdleError."""
        ...

    def wait_idle(self, seconds: float, timeout: float) -> None:
        """Return when the idle time reaches ``seconds``, after ``timeout`` at the latest,
        or at once after ``interrupt()``."""
        ...

    def wait_active(self, timeout: float) -> None:
        """Return at the next input, after ``timeout`` at the latest, or on ``interrupt()``."""
        ...

    def interrupt(self) -> None:
        """Make a running (or the next) wait return now. Any thread."""
        ...

    def close(self) -> None: ...


class _TimerWaits:
    """Waits that only time out (or are interrupted): for monitors without change events."""

    events = False

    def __init__(self) -> None:
        self._poke = threading.Event()

    def _wait(self, timeout: float) -> None:
        if self._poke.wait(max(0.0, timeout)):
            self._poke.clear()

    def wait_idle(self, seconds: float, timeout: float) -> None:
        self._wait(timeout)

    def wait_active(self, timeout: float) -> None:
        self._wait(timeout)

    def interrupt(self) -> None:
        self._poke.set()


class NoIdle(_TimerWaits):
    """No idle detection here; ``reason`` says why."""

    name = "none"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def available(self) -> bool:
        return False

    def idle_seconds(self) -> float:
        raise IdleError(self.reason)

    def close(self) -> None:
        pass


class FakeIdle(_TimerWaits):
    """An idle source for tests of the daemon: ``idle`` is whatever the test sets."""

    name = "fake"
    reason = "a fake idle source"

    def __init__(self, idle: float = 0.0) -> None:
        super().__init__()
        self.idle = idle

    def available(self) -> bool:
        return True

    def idle_seconds(self) -> float:
        return self.idle

    def close(self) -> None:
        self.interrupt()


# --------------------------------------------------------------------------- X11


class XScreenSaverIdle:
    """X11: the MIT-SCREEN-SAVER extension's idle time, on one display connection kept open.

    Waits use an X SYNC alarm on the IDLETIME counter when the server offers it (no polling:
    the thread blocks on the X connection); otherwise they are timer waits.
    """

    name = "xscreensaver"

    def __init__(self, display_name: str | None = None) -> None:
        self.events = False
        self.reason = ""
        self._display: Any = None
        self._alarm: Any = None
        self._lock = threading.Lock()
        self._poke = threading.Event()
        self._wakeup: Any = None
        name = display_name or os.environ.get("DISPLAY", "")
        try:
            from deskbreak.adapters.xdisplay import open_display

            d = open_display(name or None, ("MIT-SCREEN-SAVER",))
        except Exception as e:  # python-xlib raises many kinds when the display is unusable
            self.reason = f"cannot open the X display {name!r}: {e}"
            return
        try:
            if not d.has_extension("MIT-SCREEN-SAVER"):
                self.reason = f"the X server of {name} has no MIT-SCREEN-SAVER extension"
                d.close()
                return
            self._root = d.screen().root
            self._root.screensaver_query_info()
        except Exception as e:
            self.reason = f"cannot read the idle time from the X server: {e}"
            d.close()
            return
        self._display = d
        try:
            from deskbreak.adapters.bus import Wakeup
            from deskbreak.adapters.xsync import IdleAlarm

            self._alarm = IdleAlarm(d)
            self._wakeup = Wakeup()
            self.events = True
            self.reason = f"X screensaver extension on {name}, with SYNC idle alarms"
        except Exception as e:
            self._alarm = None
            self.reason = f"X screensaver extension on {name}, polling (no SYNC alarms: {e})"

    def available(self) -> bool:
        return self._display is not None

    def idle_seconds(self) -> float:
        if self._display is None:
            raise IdleError(self.reason)
        try:
            with self._lock:
                ms = int(self._root.screensaver_query_info().idle)
                # An alarm event read along with that reply must still wake the waiter.
                if self._wakeup is not None and self._display.pending_events():
                    self._wakeup.set()
        except Exception as e:
            raise IdleError(f"lost the X display: {e}") from e
        return ms / 1000.0

    def wait_idle(self, seconds: float, timeout: float) -> None:
        from deskbreak.adapters.xsync import POSITIVE_COMPARISON

        self._wait(lambda: (POSITIVE_COMPARISON, int(seconds * 1000)), timeout)

    def wait_active(self, timeout: float) -> None:
        from deskbreak.adapters.xsync import NEGATIVE_COMPARISON

        # Fires when the counter drops below where it is now: input reset it.
        self._wait(lambda: (NEGATIVE_COMPARISON, self._alarm.idle_ms() - 1), timeout)

    def _wait(self, trigger: Callable[[], tuple[int, int]], timeout: float) -> None:
        if self._alarm is None:
            if self._poke.wait(max(0.0, timeout)):
                self._poke.clear()
            return
        if self._display is None:
            raise IdleError(self.reason)
        deadline = time.monotonic() + timeout
        try:
            with self._lock:
                test, value = trigger()
                self._alarm.arm(test, value)
            while True:
                with self._lock:
                    fired = False
                    while self._display.pending_events():
                        if self._alarm.is_ours(self._display.next_event()):
                            fired = True
                if fired:
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                fds = [self._display.fileno(), self._wakeup.fileno()]
                ready, _, _ = select.select(fds, [], [], remaining)
                if self._wakeup.fileno() in ready:
                    self._wakeup.clear()
                    if self._poke.is_set():
                        self._poke.clear()
                        return
                elif not ready:
                    return
        except IdleError:
            raise
        except Exception as e:
            raise IdleError(f"lost the X display: {e}") from e

    def interrupt(self) -> None:
        self._poke.set()
        if self._wakeup is not None:
            self._wakeup.set()

    def close(self) -> None:
        self.interrupt()
        d, self._display = self._display, None
        if d is not None:
            with self._lock:
                try:
                    if self._alarm is not None:
                        self._alarm.destroy()
                    d.close()
                except Exception:
                    pass


# --------------------------------------------------------------------------- GNOME (Wayland)


class MutterIdle:
    """GNOME: ``org.gnome.Mutter.IdleMonitor`` on the session bus.

    Waits use Mutter's own watches (``AddIdleWatch``, ``AddUserActiveWatch``): the
    ``WatchFired`` signal wakes the thread, nothing polls.
    """

    name = "mutter"

    def __init__(self, address: str | None = None) -> None:
        from deskbreak.adapters.bus import Wakeup, session_bus_address

        self.events = True
        self.reason = ""
        self._conn: Any = None
        self._wakeup = Wakeup()
        address = address or session_bus_address()
        if not address:
            self.reason = "no session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
            return
        try:
            from deskbreak.adapters.bus import BusConnection

            conn = BusConnection(address)
        except Exception as e:
            self.reason = f"cannot connect to the session bus: {e}"
            return
        try:
            if not conn.name_has_owner(MUTTER_NAME):
                self.reason = f"{MUTTER_NAME} is not on the session bus (not GNOME?)"
                conn.close()
                return
            self._conn = conn
            self._call("GetIdletime")
            conn.add_match(
                type="signal", interface=MUTTER_INTERFACE, member="WatchFired", path=MUTTER_PATH
            )
        except Exception as e:
            self.reason = f"{MUTTER_NAME} does not answer: {e}"
            self._conn = None
            conn.close()
            return
        self.reason = f"{MUTTER_NAME}, with idle watches"

    def _call(self, member: str, sig: str | None = None, body: tuple[Any, ...] = ()) -> Any:
        if self._conn is None:
            raise IdleError(self.reason)
        try:
            out = self._conn.call(MUTTER_NAME, MUTTER_PATH, MUTTER_INTERFACE, member, sig, body)
        except Exception as e:
            raise IdleError(f"{MUTTER_NAME}.{member} failed: {e}") from e
        return out[0] if out else None

    def available(self) -> bool:
        return self._conn is not None

    def idle_seconds(self) -> float:
        return int(self._call("GetIdletime")) / 1000.0

    def wait_idle(self, seconds: float, timeout: float) -> None:
        watch = int(self._call("AddIdleWatch", "t", (max(1, int(seconds * 1000)),)))
        try:
            # A watch only fires when the idle time *crosses* its interval.
            if self.idle_seconds() >= seconds:
                return
            self._wait_fired(watch, timeout)
        finally:
            with contextlib.suppress(IdleError):
                self._call("RemoveWatch", "u", (watch,))

    def wait_active(self, timeout: float) -> None:
        before = self.idle_seconds()
        watch = int(self._call("AddUserActiveWatch"))
        try:
            if self.idle_seconds() < before:
                return  # input came while the watch was being added
            self._wait_fired(watch, timeout)
        finally:
            with contextlib.suppress(IdleError):
                self._call("RemoveWatch", "u", (watch,))  # fired watches are gone already

    def _wait_fired(self, watch: int, timeout: float) -> None:
        from deskbreak.adapters.bus import wait_any

        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._conn is None:
                return
            try:
                got = wait_any([self._conn], remaining, self._wakeup)
            except (OSError, ValueError) as e:
                raise IdleError(f"lost the session bus: {e}") from e
            if not got:
                self._wakeup.clear()
                return  # interrupted or timed out
            for _conn, msg in got:
                if _member(msg) == "WatchFired" and msg.body and int(msg.body[0]) == watch:
                    return

    def interrupt(self) -> None:
        self._wakeup.set()

    def close(self) -> None:
        self.interrupt()
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()


def _member(msg: Any) -> str | None:
    from jeepney import HeaderFields

    member = msg.header.fields.get(HeaderFields.member)
    return None if member is None else str(member)


# --------------------------------------------------------------------------- Windows


class WindowsIdle(_TimerWaits):
    """Windows: ``GetLastInputInfo`` (milliseconds of the tick count at the last input)."""

    name = "windows"

    def __init__(self) -> None:
        super().__init__()
        self.reason = "GetLastInputInfo"
        self._ok = False
        try:
            windll = ctypes.windll  # type: ignore[attr-defined]
            self._user32 = windll.user32
            self._kernel32 = windll.kernel32
            self._kernel32.GetTickCount.restype = ctypes.c_uint32

            class LastInputInfo(ctypes.Structure):
                _fields_ = (("cbSize", ctypes.c_uint), ("dwTime", ctypes.c_uint32))

            self._info = LastInputInfo()
            self._info.cbSize = ctypes.sizeof(LastInputInfo)
            self.idle_seconds()
            self._ok = True
        except Exception as e:
            self.reason = f"GetLastInputInfo is not usable: {e}"

    def available(self) -> bool:
        return self._ok

    def idle_seconds(self) -> float:
        if not self._user32.GetLastInputInfo(ctypes.byref(self._info)):
            raise IdleError("GetLastInputInfo failed")
        # Both are 32-bit millisecond tick counts; the mask survives the wrap after 49 days.
        ms = (int(self._kernel32.GetTickCount()) - int(self._info.dwTime)) & 0xFFFFFFFF
        return ms / 1000.0

    def close(self) -> None:
        self.interrupt()


# --------------------------------------------------------------------------- macOS


class MacIdle(_TimerWaits):
    """macOS: the ``HIDIdleTime`` property (nanoseconds) of the IOHIDSystem service, read
    in process through IOKit and CoreFoundation with ctypes."""

    name = "macos"
    _IOKIT = "/System/Library/Frameworks/IOKit.framework/IOKit"
    _CF = "/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation"
    _UTF8 = 0x08000100  # kCFStringEncodingUTF8
    _SINT64 = 4  # kCFNumberSInt64Type

    def __init__(self) -> None:
        super().__init__()
        self.reason = "IOKit HIDIdleTime"
        self._service = 0
        try:
            iokit = ctypes.cdll.LoadLibrary(self._IOKIT)
            cf = ctypes.cdll.LoadLibrary(self._CF)
            vp, u32 = ctypes.c_void_p, ctypes.c_uint32
            iokit.IOServiceMatching.restype = vp
            iokit.IOServiceMatching.argtypes = [ctypes.c_char_p]
            iokit.IOServiceGetMatchingService.restype = u32
            iokit.IOServiceGetMatchingService.argtypes = [u32, vp]
            iokit.IORegistryEntryCreateCFProperty.restype = vp
            iokit.IORegistryEntryCreateCFProperty.argtypes = [u32, vp, vp, u32]
            iokit.IOObjectRelease.argtypes = [u32]
            cf.CFStringCreateWithCString.restype = vp
            cf.CFStringCreateWithCString.argtypes = [vp, ctypes.c_char_p, u32]
            cf.CFGetTypeID.restype = ctypes.c_ulong
            cf.CFGetTypeID.argtypes = [vp]
            cf.CFNumberGetTypeID.restype = ctypes.c_ulong
            cf.CFNumberGetValue.restype = ctypes.c_bool
            cf.CFNumberGetValue.argtypes = [vp, ctypes.c_int, vp]
            cf.CFRelease.argtypes = [vp]
            self._iokit, self._cf = iokit, cf
            # The matching dictionary is consumed by IOServiceGetMatchingService.
            self._service = iokit.IOServiceGetMatchingService(
                0, iokit.IOServiceMatching(b"IOHIDSystem")
            )
            if not self._service:
                raise OSError("no IOHIDSystem service")
            self._key = cf.CFStringCreateWithCString(None, b"HIDIdleTime", self._UTF8)
            self.idle_seconds()
        except Exception as e:
            self._service = 0
            self.reason = f"HIDIdleTime is not readable: {e}"

    def available(self) -> bool:
        return bool(self._service)

    def idle_seconds(self) -> float:
        if not self._service:
            raise IdleError(self.reason)
        cf = self._cf
        prop = self._iokit.IORegistryEntryCreateCFProperty(self._service, self._key, None, 0)
        if not prop:
            raise IdleError("IOHIDSystem has no HIDIdleTime")
        try:
            if cf.CFGetTypeID(prop) != cf.CFNumberGetTypeID():
                raise IdleError("HIDIdleTime is not a number")
            ns = ctypes.c_int64()
            if not cf.CFNumberGetValue(prop, self._SINT64, ctypes.byref(ns)):
                raise IdleError("HIDIdleTime does not fit 64 bits")
        finally:
            cf.CFRelease(prop)
        return ns.value / 1e9

    def close(self) -> None:
        self.interrupt()
        if self._service:
            self._iokit.IOObjectRelease(self._service)
            self._cf.CFRelease(self._key)
            self._service = 0


# --------------------------------------------------------------------------- choosing one


def create_idle_monitor(
    log: logging.Logger,
    env: Mapping[str, str] | None = None,
    platform: str | None = None,
) -> IdleMonitor:
    """The idle monitor for this platform and session; ``NoIdle`` (with a reason) if none.

    Logs one line either way.
    """
    env = os.environ if env is None else env
    platform = platform or sys.platform
    monitor: IdleMonitor
    if platform == "win32":
        monitor = WindowsIdle()
    elif platform == "darwin":
        monitor = MacIdle()
    elif env.get("WAYLAND_DISPLAY"):
        # Under Wayland, XScreenSaver (through Xwayland) sees only X clients' input: wrong.
        monitor = MutterIdle()
        if not monitor.available():
            desktop = env.get("XDG_CURRENT_DESKTOP") or "this desktop"
            monitor = NoIdle(
                f"no idle time source on Wayland for {desktop} ({monitor.reason}); "
                "only GNOME's is supported"
            )
    elif env.get("DISPLAY"):
        monitor = XScreenSaverIdle(env.get("DISPLAY"))
    else:
        monitor = NoIdle("no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set)")
    if monitor.available():
        log.info("idle detection: %s", monitor.reason)
    else:
        log.warning("idle detection is off: %s", monitor.reason)
        monitor = monitor if isinstance(monitor, NoIdle) else NoIdle(monitor.reason)
    return monitor


# --------------------------------------------------------------------------- the decision


@dataclass(frozen=True)
class IdleChange:
    """``away``: the user left, idle for ``seconds`` already; else: back after ``seconds``."""

    away: bool
    seconds: float


@dataclass(frozen=True)
class Wait:
    """What to wait for next: the idle time to reach ``until_idle`` (None: the next input),
    for ``timeout`` seconds at most."""

    until_idle: float | None
    timeout: float


class IdleTracker:
    """Idle readings in, changes and waits out. Pure: it is handed the monotonic time."""

    def __init__(
        self,
        threshold: float,
        *,
        events: bool,
        min_wait: float = MIN_WAIT,
        away_poll: float = AWAY_POLL,
        safety_wait: float = SAFETY_WAIT,
    ) -> None:
        self.threshold = float(threshold)
        self.events = events
        self.min_wait = min_wait
        self.away_poll = away_poll
        self.safety_wait = safety_wait
        self.away = False
        self.left_at: float | None = None  # monotonic time of the last input before leaving
        self._last_idle = 0.0

    def observe(self, idle: float, mono: float) -> tuple[IdleChange | None, Wait]:
        change: IdleChange | None = None
        if self.away:
            if idle < self._last_idle:  # input since the last look
                assert self.left_at is not None
                change = IdleChange(False, max(0.0, (mono - idle) - self.left_at))
                self.away = False
                self.left_at = None
            else:
                self._last_idle = idle
        elif idle >= self.threshold:
            self.away = True
            self.left_at = mono - idle
            self._last_idle = idle
            change = IdleChange(True, idle)
        if self.away:
            return change, Wait(None, self.safety_wait if self.events else self.away_poll)
        if self.events:
            return change, Wait(self.threshold, self.safety_wait)
        return change, Wait(self.threshold, max(self.threshold - idle, self.min_wait))


class IdleWatcher:
    """Runs an ``IdleTracker`` over an ``IdleMonitor`` on its own thread."""

    def __init__(
        self,
        monitor: IdleMonitor,
        threshold: float,
        on_away_started: Callable[[float], None],
        on_away_ended: Callable[[float], None],
        log: logging.Logger,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        min_wait: float = MIN_WAIT,
        away_poll: float = AWAY_POLL,
    ) -> None:
        self.monitor = monitor
        self.tracker = IdleTracker(
            threshold, events=monitor.events, min_wait=min_wait, away_poll=away_poll
        )
        self._on_away_started = on_away_started
        self._on_away_ended = on_away_ended
        self._log = log
        self._monotonic = monotonic
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.failure: str | None = None

    @property
    def away(self) -> bool:
        return self.tracker.away

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def describe(self) -> str:
        """One line for ``status`` and ``doctor``."""
        if self.failure:
            return f"off: {self.failure}"
        if not self.monitor.available():
            return f"off: {self.monitor.reason}"
        return f"on ({self.monitor.reason})"

    def idle_seconds(self) -> float | None:
        """The idle time now, or None when it cannot be read. Any thread."""
        if self.failure or not self.monitor.available():
            return None
        try:
            return self.monitor.idle_seconds()
        except IdleError:
            return None

    def set_threshold(self, seconds: float) -> None:
        """A new natural-break length (settings reloaded); takes effect at once."""
        self.tracker.threshold = float(seconds)
        self.monitor.interrupt()

    def start(self) -> None:
        if not self.monitor.available() or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="deskbreak-idle", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping = True
        self.monitor.interrupt()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self.monitor.close()

    # one round -------------------------------------------------------------------------

    def check(self) -> Wait:
        """Read the idle time, report a change, return what to wait for. Raises IdleError."""
        idle = self.monitor.idle_seconds()
        change, wait = self.tracker.observe(idle, self._monotonic())
        if change is not None:
            callback = self._on_away_started if change.away else self._on_away_ended
            self._log.debug("idle: %s (%.0f s)", "away" if change.away else "back", change.seconds)
            try:
                callback(change.seconds)
            except Exception:
                self._log.exception("the idle callback failed")
        return wait

    def step(self) -> Wait:
        """One look and one wait (what the thread does in a loop)."""
        wait = self.check()
        if not self._stopping:
            if wait.until_idle is None:
                self.monitor.wait_active(wait.timeout)
            else:
                self.monitor.wait_idle(wait.until_idle, wait.timeout)
        return wait

    def _run(self) -> None:
        while not self._stopping:
            try:
                self.step()
            except IdleError as e:
                if self._stopping:
                    return
                self.failure = str(e)
                self._log.warning("idle detection stopped: %s", e)
                return
            except Exception as e:
                self.failure = f"unexpected error: {e}"
                self._log.exception("idle detection stopped")
                return


class FakeIdleWatcher:
    """For tests of the daemon: built like ``IdleWatcher`` minus the monitor
    (``FakeIdleWatcher(threshold, on_away_started, on_away_ended, log)``); a test says when
    the user left and came back."""

    def __init__(
        self,
        threshold: float,
        on_away_started: Callable[[float], None],
        on_away_ended: Callable[[float], None],
        log: logging.Logger | None = None,
    ) -> None:
        self.threshold = threshold
        self._left = on_away_started
        self._back = on_away_ended
        self.running = False
        self.away = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def set_threshold(self, seconds: float) -> None:
        self.threshold = seconds

    def describe(self) -> str:
        return "on (fake)"

    def leave(self, idle_for: float) -> None:
        """No input for ``idle_for`` seconds: the threshold was crossed."""
        self.away = True
        self._left(idle_for)

    def come_back(self, away_seconds: float) -> None:
        self.away = False
        self._back(away_seconds)

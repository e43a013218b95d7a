"""``deskbreak doctor``: check what deskbreak needs on this desktop and say what to fix.

How it works:

- Each check looks at the real thing, not at what deskbreak believes: the session bus for
  a StatusNotifierItem host and the notification server, the X server for an XEmbed tray
  and idle detection, the settings file, the autostart entries, and the control socket of
  a running deskbreak. Each gives one ``Check``: a level and one line, which on trouble
  says what to do ("GNOME has no tray: install the AppIndicator extension ...").
- Levels: ``ok``; ``warn`` (deskbreak works, with less: no buttons on notifications, not
  started at login, not running now); ``fail`` (something a user notices is broken: no
  tray, no notifications, invalid settings, an autostart entry running a program that is
  gone); ``info`` (not checked on this system). ``deskbreak doctor`` exits 1 if any check
  failed, else 0.
- Nothing here hangs: D-Bus calls and the X connection have short timeouts, and a missing
  bus or display is itself the answer. jeepney and python-xlib are imported lazily.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OK = "ok"
WARN = "warn"
FAIL = "fail"
INFO = "info"

TIMEOUT = 2.0  # seconds for any one D-Bus call or connection

WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
NOTIFICATIONS = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"


@dataclass(frozen=True)
class Check:
    name: str  # "tray", "notifications", "idle", "settings", "autostart", "daemon"
    level: str  # OK, WARN, FAIL, INFO
    message: str

    def line(self) -> str:
        return f"{self.level:<4}  {self.name}: {self.message}"


# -- D-Bus and X, briefly ------------------------------------------------------------------


class _Bus:
    """A blocking jeepney connection for a few calls, each with a short timeout."""

    def __init__(self, address: str) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self._conn = open_dbus_connection(bus=address, auth_timeout=TIMEOUT)

    def call(
        self,
        dest: str,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
    ) -> tuple[Any, ...]:
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        msg = new_method_call(
            DBusAddress(path, bus_name=dest, interface=interface), member, sig, body
        )
        return tuple(unwrap_msg(self._conn.send_and_get_reply(msg, timeout=TIMEOUT)))

    def bus(self, member: str, sig: str | None = None, body: tuple[Any, ...] = ()) -> Any:
        return self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            member,
            sig,
            body,
        )[0]

    def has_owner(self, name: str) -> bool:
        return bool(self.bus("NameHasOwner", "s", (name,)))

    def activatable(self, name: str) -> bool:
        return name in self.bus("ListActivatableNames")

    def owner_program(self, name: str) -> str:
        """The program name of the process owning ``name`` ("" if unknown)."""
        try:
            pid = int(self.bus("GetConnectionUnixProcessID", "s", (name,)))
        except Exception:
            return ""
        return _program_of(pid)

    def get_property(self, dest: str, path: str, interface: str, name: str) -> Any:
        value = self.call(
            dest, path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, name)
        )[0]
        return value[1] if isinstance(value, tuple) and len(value) == 2 else value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.close()


def _program_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    argv0 = raw.split(b"\0", 1)[0].decode(errors="replace")
    return os.path.basename(argv0)


def _session_bus_address(env: Mapping[str, str]) -> str | None:
    address = env.get("DBUS_SESSION_BUS_ADDRESS", "").strip()
    if address:
        return address
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and Path(runtime, "bus").exists():
        return f"unix:path={Path(runtime, 'bus')}"
    return None


@contextlib.contextmanager
def _session_bus(env: Mapping[str, str]) -> Iterator[_Bus | str]:
    """The session bus, or a sentence saying why there is none."""
    address = _session_bus_address(env)
    if address is None:
        yield "no session bus (DBUS_SESSION_BUS_ADDRESS is not set)"
        return
    try:
        bus = _Bus(address)
    except Exception as exc:
        yield f"the session bus at {address} is not reachable ({exc})"
        return
    try:
        yield bus
    finally:
        bus.close()


@contextlib.contextmanager
def _x_display(env: Mapping[str, str]) -> Iterator[Any | str]:
    """An X connection, or a sentence saying why there is none."""
    name = env.get("DISPLAY", "")
    if not name:
        yield "no X display (DISPLAY is not set)"
        return
    try:
        from Xlib import display as xdisplay

        with _quiet_stderr():
            x = xdisplay.Display(name)
    except Exception as exc:
        yield f"cannot open the X display {name} ({exc})"
        return
    try:
        yield x
    finally:
        with contextlib.suppress(Exception):
            x.close()


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """python-xlib prints authentication warnings itself; doctor reports the failure."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _xembed_tray(x: Any) -> str | None:
    """The XEmbed system tray of the default screen: its program or class, "" if unknown.

    None when no client owns the ``_NET_SYSTEM_TRAY_Sn`` selection.
    """
    screen = x.get_default_screen()
    owner = x.get_selection_owner(x.intern_atom(f"_NET_SYSTEM_TRAY_S{screen}"))
    owner_id = int(getattr(owner, "id", owner) or 0)
    if not owner_id:
        return None
    window = x.create_resource_object("window", owner_id)
    with contextlib.suppress(Exception):
        wm_class = window.get_wm_class()
        if wm_class:
            return str(wm_class[-1])
    with contextlib.suppress(Exception):
        prop = window.get_full_property(x.intern_atom("_NET_WM_PID"), 0)
        if prop is not None and len(prop.value):
            return _program_of(int(prop.value[0]))
    return ""


def _desktop_name(env: Mapping[str, str]) -> str:
    """The first name of XDG_CURRENT_DESKTOP ("GNOME" of "ubuntu:GNOME" is found too)."""
    names = [n for n in env.get("XDG_CURRENT_DESKTOP", "").split(":") if n]
    for known in ("GNOME", "KDE", "XFCE", "Cinnamon", "MATE", "LXQt", "Budgie", "Unity"):
        if any(n.lower() == known.lower() for n in names):
            return known
    return names[0] if names else ""


def _tray_backends() -> list[str]:
    """The pystray backends that could run here, best first (judged without pystray)."""
    from deskbreak.adapters import tray

    return tray._available_backends()


_TERMINAL = "not checked without a graphical session (reminders print in the terminal)"


def _graphical(env: Mapping[str, str]) -> bool:
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


# -- the checks ----------------------------------------------------------------------------


def _no_tray_advice(env: Mapping[str, str]) -> str:
    desktop = _desktop_name(env)
    wayland_only = bool(env.get("WAYLAND_DISPLAY")) and not env.get("DISPLAY")
    if desktop == "GNOME":
        return (
            "GNOME has no tray: install the AppIndicator extension "
            "(gnome-shell-extension-appindicator) and turn it on"
        )
    if desktop == "KDE":
        return "KDE Plasma shows no system tray: add the System Tray widget to a panel"
    if desktop == "XFCE":
        return "XFCE shows no tray: add the Status Tray plugin to a panel"
    if desktop in ("Cinnamon", "MATE", "Budgie", "LXQt"):
        return f"{desktop} shows no tray: add the system tray (notification area) to a panel"
    if wayland_only:
        return (
            "no StatusNotifierItem host: your panel needs a tray module "
            "(e.g. waybar's tray); until then deskbreak runs without an icon"
        )
    return (
        "no tray host (neither a StatusNotifierItem host nor an XEmbed system tray): add a "
        "system tray to your panel; until then deskbreak runs without an icon"
    )


def check_tray(env: Mapping[str, str], backends: Callable[[], list[str]] | None = None) -> Check:
    """Is there a tray that shows deskbreak's icon and menu, and of which kind?"""
    if sys.platform == "win32" or sys.platform == "darwin":
        return Check("tray", INFO, "not checked on this system (its own tray is always there)")
    if not _graphical(env):
        return Check(
            "tray",
            WARN,
            "no graphical session (neither DISPLAY nor WAYLAND_DISPLAY is set): "
            "`deskbreak run` works in the terminal here",
        )
    usable = backends() if backends is not None else _tray_backends()

    sni: str | None = None  # the watcher's program when a StatusNotifierItem host runs
    with _session_bus(env) as bus:
        if isinstance(bus, _Bus):
            with contextlib.suppress(Exception):
                if bus.has_owner(WATCHER) and bus.get_property(
                    WATCHER, WATCHER_PATH, WATCHER, "IsStatusNotifierHostRegistered"
                ):
                    sni = bus.owner_program(WATCHER) or "a StatusNotifier watcher"
    xembed: str | None = None
    with _x_display(env) as x:
        if not isinstance(x, str):
            with contextlib.suppress(Exception):
                xembed = _xembed_tray(x)

    if sni is not None:
        # deskbreak's own StatusNotifierItem needs nothing but the bus (jeepney).
        return Check("tray", OK, f"StatusNotifierItem host ({sni}): the icon shows with its menu")
    if xembed is not None:
        kind = f"XEmbed system tray ({xembed})" if xembed else "XEmbed system tray"
        if "appindicator" in usable or "gtk" in usable:
            return Check("tray", OK, f"{kind}: the icon shows with its menu")
        return Check(
            "tray",
            WARN,
            f"{kind}, but without PyGObject and GTK the icon has no menu: install "
            "gir1.2-ayatanaappindicator3-0.1 and PyGObject (see the README)",
        )
    return Check("tray", FAIL, _no_tray_advice(env))


def check_notifications(env: Mapping[str, str]) -> Check:
    """Is there a notification server, which one, and does it show buttons?"""
    if sys.platform == "win32" or sys.platform == "darwin":
        return Check("notifications", INFO, "not checked on this system")
    if not _graphical(env):
        return Check("notifications", INFO, _TERMINAL)
    with _session_bus(env) as bus:
        if isinstance(bus, str):
            return Check(
                "notifications",
                FAIL,
                f"{bus}: reminders cannot be shown; run deskbreak inside your desktop session",
            )
        try:
            if not bus.has_owner(NOTIFICATIONS) and not bus.activatable(NOTIFICATIONS):
                return Check(
                    "notifications",
                    FAIL,
                    "no notification server on the session bus: reminders cannot be shown; "
                    "install one (dunst, mako, xfce4-notifyd) or start your desktop's",
                )
            name, vendor, version, _spec = bus.call(
                NOTIFICATIONS, NOTIFICATIONS_PATH, NOTIFICATIONS, "GetServerInformation"
            )
            caps = set(
                bus.call(NOTIFICATIONS, NOTIFICATIONS_PATH, NOTIFICATIONS, "GetCapabilities")[0]
            )
        except Exception as exc:
            return Check(
                "notifications",
                FAIL,
                f"the notification server did not answer ({_short(exc)}): restart it",
            )
    server = " ".join(str(p) for p in (name or vendor, version) if p) or "an unnamed server"
    if "actions" in caps:
        return Check("notifications", OK, f"{server}, with action buttons")
    return Check(
        "notifications",
        WARN,
        f"{server} shows no buttons on notifications: answer reminders from the tray menu",
    )


def check_idle(env: Mapping[str, str]) -> Check:
    """Can deskbreak tell when the user is away from the keyboard? (The daemon's own way.)"""
    from deskbreak.adapters import idle

    if not _graphical(env) and sys.platform not in ("win32", "darwin"):
        return Check("idle", INFO, _TERMINAL)
    log = logging.getLogger("deskbreak.doctor")
    log.propagate = False  # the check's line says it; nothing else is printed
    if not log.handlers:
        log.addHandler(logging.NullHandler())
    with _quiet_stderr():
        monitor = idle.create_idle_monitor(log, env)
    try:
        if monitor.available():
            return Check("idle", OK, f"time away from the keyboard is seen: {monitor.reason}")
        return Check(
            "idle",
            WARN,
            f"cannot tell when you are away from the keyboard ({monitor.reason}): a break "
            "you take away from the desk does not reset the reminder",
        )
    finally:
        monitor.close()


def check_settings(path: Path) -> Check:
    """Is the settings file valid?"""
    from deskbreak.adapters import settings_file
    from deskbreak.errors import DeskbreakError

    if not path.exists():
        return Check("settings", OK, f"no settings file at {path}: the defaults apply")
    try:
        settings_file.load(path)
    except DeskbreakError as exc:
        return Check("settings", FAIL, f"{exc} (fix it, then `deskbreak config check`)")
    except OSError as exc:
        return Check("settings", FAIL, f"{path}: cannot be read ({exc.strerror or exc})")
    return Check("settings", OK, f"{path} is valid")


def check_autostart() -> Check:
    """Is deskbreak started at login, and does that still run something that exists?"""
    from deskbreak.adapters.autostart import Autostart

    entries = Autostart().status()
    active = [e for e in entries if e.enabled]
    if not active:
        return Check(
            "autostart", WARN, "deskbreak does not start at login: `deskbreak autostart enable`"
        )
    for entry in active:
        problem = entry.problem()
        if problem:
            return Check(
                "autostart",
                FAIL,
                f"the {entry.method_name} {entry.location}: {problem}; "
                "run `deskbreak autostart enable` again",
            )
    if len(active) > 1:
        where = " and ".join(e.location for e in active)
        return Check(
            "autostart",
            WARN,
            f"deskbreak is started twice at login ({where}): `deskbreak autostart disable`, "
            "then enable one",
        )
    entry = active[0]
    return Check(
        "autostart", OK, f"{entry.method_name} {entry.location} runs {' '.join(entry.command)}"
    )


def check_daemon() -> Check:
    """Does a running deskbreak answer on its control socket?"""
    from deskbreak.adapters import instance, ipc
    from deskbreak.errors import DeskbreakError, NotRunning

    if not ipc.is_supported():
        return Check("daemon", INFO, "not checked on this system (no control socket)")
    try:
        ipc.request("status", timeout=TIMEOUT)
    except NotRunning:
        return Check(
            "daemon",
            WARN,
            "deskbreak is not running: start it with `deskbreak run` "
            "(or at login: `deskbreak autostart enable`)",
        )
    except DeskbreakError as exc:
        return Check(
            "daemon", FAIL, f"{exc}; if it stays so, quit or kill deskbreak and start it again"
        )
    pid = None
    with contextlib.suppress(Exception):
        pid = instance.read_pid()
    where = ipc.socket_path()
    who = f" (pid {pid})" if pid else ""
    return Check("daemon", OK, f"deskbreak is running{who} and answers on {where}")


def run_checks(config_path: Path, env: Mapping[str, str] | None = None) -> list[Check]:
    """Every check, in the order ``deskbreak doctor`` prints them."""
    env = os.environ if env is None else env
    checks: list[Callable[[], Check]] = [
        lambda: check_tray(env),
        lambda: check_notifications(env),
        lambda: check_idle(env),
        lambda: check_settings(config_path),
        check_autostart,
        check_daemon,
    ]
    names = ["tray", "notifications", "idle", "settings", "autostart", "daemon"]
    results = []
    for name, check in zip(names, checks, strict=True):
        try:
            results.append(check())
        except Exception as exc:  # a check that broke must not hide the others
            results.append(Check(name, FAIL, f"the check itself failed: {_short(exc)}"))
    return results


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__

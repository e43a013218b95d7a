"""A throwaway desktop for tests: X server, session bus, notification server and tray host.

How it works:

- ``Desktop.start()`` brings up, in this order, each in its own process group with its log
  file in a temporary directory:
  Xvfb (display number read from ``-displayfd``), a private ``dbus-daemon`` (its own
  configuration: no service activation, so nothing is started behind the test's back),
  a monitor connection recording notification traffic (``NotificationLog``), dunst (its own
  dunstrc, whose ``dmenu`` is a small script that picks the action a test asked for),
  ``status-notifier-watcher`` and then ``gtk-sni-tray-standalone`` (StatusNotifierItem host),
  and optionally trayer (XEmbed host).
- ``Desktop.env`` is the environment a program under test must get: throwaway HOME and XDG
  directories, DISPLAY, DBUS_SESSION_BUS_ADDRESS, NO_AT_BRIDGE=1, GDK_BACKEND=x11.
- Observation goes through D-Bus and X, never through the program's own word: every
  ``Notify`` call on the bus, the tray items registered with the watcher, their exported
  menus (which tests can click through ``com.canonical.dbusmenu``), and screenshots.
- Waiting is always for a condition with a deadline (``wait_for``), never a fixed sleep.
- ``Desktop.stop()`` kills and reaps every process group it started, even after a start that
  failed halfway. It removes the temporary directory unless the start failed, a test using
  the desktop failed (see tests/conftest.py) or DESKBREAK_KEEP_DESKTOP=1 is set.

Run ``python -m tests.desktop_harness`` (or ``scripts/desktop``) to get one by hand.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

NOTIFICATIONS_NAME = "org.freedesktop.Notifications"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
WATCHER_NAME = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
ITEM_INTERFACE = "org.kde.StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
SYSTEM_TRAY_SELECTION = "_NET_SYSTEM_TRAY_S0"

# Program -> Debian package that provides it.
PROGRAMS = {
    "Xvfb": "xvfb",
    "dbus-daemon": "dbus-daemon",
    "dunst": "dunst",
    "dunstctl": "dunst",
    "status-notifier-watcher": "haskell-status-notifier-item-utils",
    "gtk-sni-tray-standalone": "haskell-gtk-sni-tray-utils",
    "trayer": "trayer",
    "xdotool": "xdotool",
    "xwininfo": "x11-utils",
    "import": "imagemagick",
    "notify-send": "libnotify-bin",
}

SCREEN_SIZE = (800, 600)
START_TIMEOUT = 20.0
DEFAULT_TIMEOUT = 10.0


class DesktopError(AssertionError):
    """The throwaway desktop could not be started or did not behave."""


def missing_programs() -> list[str]:
    """The programs the desktop needs that are not on PATH, with their Debian package."""
    return [f"{prog} ({pkg})" for prog, pkg in PROGRAMS.items() if shutil.which(prog) is None]


def wait_for(
    predicate: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    what: str = "a condition",
    interval: float = 0.02,
) -> T:
    """Call ``predicate`` until it returns something truthy and return that.

    Raises AssertionError naming ``what`` when ``timeout`` seconds pass first. Exceptions
    raised by the predicate propagate (an AssertionError from a dead component, say).
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


# --------------------------------------------------------------------------- processes


class Proc:
    """A process of the desktop (or of a test) in its own process group, logging to a file."""

    def __init__(self, name: str, popen: subprocess.Popen[bytes], log_path: Path) -> None:
        self.name = name
        self.popen = popen
        self.log_path = log_path
        self._terminated = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def wait_for_output(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait until ``text`` appears in the output; fail early if the process ends."""

        def seen() -> bool:
            if text in self.output():
                return True
            if not self.alive() and text not in self.output():
                raise AssertionError(
                    f"{self.name} exited with {self.popen.returncode} before printing "
                    f"{text!r}; output:\n{_tail(self.log_path)}"
                )
            return False

        wait_for(seen, timeout, f"{text!r} in the output of {self.name}")
        return self.output()

    def terminate(self, timeout: float = 5.0) -> int | None:
        """SIGTERM the whole process group, SIGKILL it if needed, reap the leader.

        Only once: later the group's number may belong to somebody else.
        """
        if self._terminated:
            return self.popen.poll()
        self._terminated = True
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.popen.pid, sig)
            try:
                return self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                continue
        return self.popen.poll()


# --------------------------------------------------------------------------- D-Bus helpers


def _unwrap_variant(value: Any) -> Any:
    """jeepney gives variants as (signature, value); turn them (recursively) into values."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        sig, inner = value
        if sig.startswith("a{") and isinstance(inner, dict):
            return {k: _unwrap_variant(v) if sig[3] == "v" else v for k, v in inner.items()}
        if sig == "v":
            return _unwrap_variant(inner)
        return inner
    return value


def _connect(address: str) -> Any:
    from jeepney.io.blocking import open_dbus_connection

    return open_dbus_connection(bus=address, auth_timeout=5.0)


def _method(
    dest: str,
    path: str,
    interface: str,
    member: str,
    sig: str | None = None,
    body: tuple[Any, ...] = (),
) -> Any:
    from jeepney import DBusAddress, new_method_call

    return new_method_call(DBusAddress(path, bus_name=dest, interface=interface), member, sig, body)


@dataclasses.dataclass
class NotifyRecord:
    """One ``Notify`` call seen on the bus."""

    app_name: str
    replaces_id: int
    app_icon: str
    summary: str
    body: str
    actions: list[str]
    hints: dict[str, Any]
    expire_timeout: int
    time: float
    sender: str
    id: int | None = None  # filled in when the server's reply is seen

    @property
    def action_pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.actions[0::2], self.actions[1::2], strict=False))

    @property
    def action_keys(self) -> list[str]:
        return self.actions[0::2]


@dataclasses.dataclass(frozen=True)
class SignalRecord:
    """ActionInvoked (arg = action key) or NotificationClosed (arg = reason code)."""

    member: str
    id: int
    arg: Any
    time: float


class NotificationLog:
    """Records all ``org.freedesktop.Notifications`` traffic through a monitor connection.

    A monitor sees the messages the bus routes, so what it records is what really reached
    (or came from) the notification server, whatever the client believes it sent.
    """

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import Monitoring

        self._cond = threading.Condition()
        self.notifies: list[NotifyRecord] = []
        self.close_calls: list[int] = []
        self.close_call_times: list[tuple[int, float]] = []  # (id, when seen)
        self.signals: list[SignalRecord] = []
        self._pending: dict[tuple[str, int], NotifyRecord] = {}
        self._barriers: set[str] = set()
        self._error: BaseException | None = None
        self._conn = _connect(address)
        rules = [
            f"interface='{NOTIFICATIONS_NAME}'",
            "type='method_return'",
        ]
        reply = self._conn.send_and_get_reply(Monitoring().BecomeMonitor(rules), timeout=5)
        from jeepney.wrappers import unwrap_msg

        unwrap_msg(reply)
        self._thread = threading.Thread(target=self._run, name="notification-log", daemon=True)
        self._thread.start()

    # receiving ------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while True:
                self._handle(self._conn.receive())
        except (OSError, ValueError) as exc:  # connection shut down or bus gone
            self._error = exc
        finally:
            with self._cond:
                self._cond.notify_all()

    def _handle(self, msg: Any) -> None:
        from jeepney import HeaderFields, MessageType

        fields = msg.header.fields
        mtype = msg.header.message_type
        now = time.time()
        with self._cond:
            if mtype is MessageType.method_return:
                key = (
                    fields.get(HeaderFields.destination, ""),
                    fields.get(HeaderFields.reply_serial, -1),
                )
                record = self._pending.pop(key, None)
                if record is not None and msg.body:
                    record.id = int(msg.body[0])
            elif mtype is MessageType.method_call:
                member = fields.get(HeaderFields.member)
                if member == "Notify":
                    app, replaces, icon, summary, body, actions, hints, expire = msg.body
                    record = NotifyRecord(
                        app_name=app,
                        replaces_id=replaces,
                        app_icon=icon,
                        summary=summary,
                        body=body,
                        actions=list(actions),
                        hints={k: _unwrap_variant(v) for k, v in hints.items()},
                        expire_timeout=expire,
                        time=now,
                        sender=fields.get(HeaderFields.sender, ""),
                    )
                    self.notifies.append(record)
                    self._pending[(record.sender, msg.header.serial)] = record
                elif member == "CloseNotification":
                    self.close_calls.append(int(msg.body[0]))
                    self.close_call_times.append((int(msg.body[0]), now))
                elif member == "GetServerInformation":
                    self._barriers.add(f"{fields.get(HeaderFields.sender)}/{msg.header.serial}")
            elif mtype is MessageType.signal:
                member = fields.get(HeaderFields.member)
                if member in ("ActionInvoked", "NotificationClosed"):
                    self.signals.append(SignalRecord(member, int(msg.body[0]), msg.body[1], now))
            self._cond.notify_all()

    # waiting --------------------------------------------------------------------------

    def wait(
        self,
        predicate: Callable[[], T],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "a notification event",
    ) -> T:
        """Wait (woken by each recorded message) until ``predicate()`` is truthy."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"timed out after {timeout:g} s waiting for {what}; seen: {self.describe()}"
                    )
                if self._error is not None:
                    raise AssertionError(f"notification monitor stopped: {self._error!r}")
                self._cond.wait(remaining)

    def wait_for_notify(
        self,
        predicate: Callable[[NotifyRecord], bool] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        *,
        with_id: bool = True,
        what: str = "",
    ) -> NotifyRecord:
        """The first recorded Notify matching ``predicate`` (and answered, if ``with_id``)."""

        def find() -> NotifyRecord | None:
            for record in self.notifies:
                if (predicate is None or predicate(record)) and (
                    not with_id or record.id is not None
                ):
                    return record
            return None

        return self.wait(find, timeout, what or "a matching Notify call")

    def wait_for_signal(
        self, member: str, id: int | None = None, arg: Any = None, timeout: float = DEFAULT_TIMEOUT
    ) -> SignalRecord:
        def find() -> SignalRecord | None:
            for sig in self.signals:
                if (
                    sig.member == member
                    and (id is None or sig.id == id)
                    and (arg is None or sig.arg == arg)
                ):
                    return sig
            return None

        return self.wait(find, timeout, f"signal {member} id={id} arg={arg!r}")

    def action_invoked(self, id: int | None = None) -> list[SignalRecord]:
        with self._cond:
            return [
                s
                for s in self.signals
                if s.member == "ActionInvoked" and (id is None or s.id == id)
            ]

    def closed(self, id: int | None = None) -> list[SignalRecord]:
        with self._cond:
            return [
                s
                for s in self.signals
                if s.member == "NotificationClosed" and (id is None or s.id == id)
            ]

    def sync(self, address: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Return once everything sent on the bus before this call has been recorded.

        Sends a harmless call through the bus and waits for the monitor to see it.
        """
        with contextlib.closing(_connect(address)) as conn:
            msg = _method(
                NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, NOTIFICATIONS_NAME, "GetServerInformation"
            )
            serial = 1_000_000 + len(self.notifies)
            conn.send(msg, serial=serial)
            token = f"{conn.unique_name}/{serial}"
            self.wait(lambda: token in self._barriers, timeout, "the monitor to catch up")

    def clear(self) -> None:
        with self._cond:
            self.notifies.clear()
            self.close_calls.clear()
            self.close_call_times.clear()
            self.signals.clear()
            self._pending.clear()

    def describe(self) -> str:
        parts = [
            f"Notify(app={n.app_name!r}, summary={n.summary!r}, id={n.id})" for n in self.notifies
        ]
        parts += [f"{s.member}({s.id}, {s.arg!r})" for s in self.signals]
        parts += [f"CloseNotification({i})" for i in self.close_calls]
        return ", ".join(parts) or "nothing"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        with contextlib.suppress(OSError):
            self._conn.close()


# --------------------------------------------------------------------------- dbusmenu


@dataclasses.dataclass
class MenuItem:
    id: int
    label: str
    enabled: bool
    visible: bool
    type: str
    toggle_type: str
    toggle_state: int
    children_display: str
    children: list[MenuItem]

    def find(self, label: str) -> MenuItem | None:
        for child in self.children:
            if child.visible and child.label == label:
                return child
        return None

    def labels(self) -> list[str]:
        return [c.label for c in self.children if c.visible and c.type != "separator"]

    def dump(self, indent: int = 0) -> str:
        lines = []
        for c in self.children:
            flags = "" if c.enabled else " (disabled)"
            if c.toggle_type:
                flags += f" [{c.toggle_type}={c.toggle_state}]"
            if not c.visible:
                flags += " (hidden)"
            lines.append("  " * indent + (c.label if c.type != "separator" else "---") + flags)
            if c.children:
                lines.append(c.dump(indent + 1))
        return "\n".join(lines)


def strip_mnemonic(label: str) -> str:
    """'_Snooze' -> 'Snooze', '__' -> '_' (GTK/dbusmenu mnemonic underscores)."""
    out = []
    i = 0
    while i < len(label):
        ch = label[i]
        if ch == "_":
            if i + 1 < len(label) and label[i + 1] == "_":
                out.append("_")
                i += 2
                continue
            i += 1
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _parse_layout(node: Any) -> MenuItem:
    item_id, props, children = node
    props = {k: _unwrap_variant(v) for k, v in props.items()}
    return MenuItem(
        id=int(item_id),
        label=strip_mnemonic(str(props.get("label", ""))),
        enabled=bool(props.get("enabled", True)),
        visible=bool(props.get("visible", True)),
        type=str(props.get("type", "standard")),
        toggle_type=str(props.get("toggle-type", "")),
        toggle_state=int(props.get("toggle-state", -1)),
        children_display=str(props.get("children-display", "")),
        children=[_parse_layout(_unwrap_variant(child)) for child in children],
    )


def sni_icon(props: dict[str, Any]) -> Any:
    """The picture a StatusNotifierItem shows, as a PIL RGBA image: its largest
    ``IconPixmap`` (ARGB32, network byte order), or else the file its ``IconName`` names
    (pystray's AppIndicator backend writes its icon to a file)."""
    from PIL import Image

    pixmaps = list(props.get("IconPixmap") or [])
    if pixmaps:
        width, height, data = max(pixmaps, key=lambda p: p[0] * p[1])
        a, r, g, b = Image.frombytes("RGBA", (width, height), bytes(data)).split()
        return Image.merge("RGBA", (r, g, b, a))
    name = str(props.get("IconName") or "")
    if not name:
        raise AssertionError("the item shows no icon (no IconPixmap and no IconName)")
    with Image.open(name) as im:
        return im.convert("RGBA")


def sni_tooltip(props: dict[str, Any]) -> str:
    """The words a tray host shows over a StatusNotifierItem: its ``ToolTip`` text, or
    else its ``Title`` (pystray's AppIndicator backend sets only the title)."""
    tooltip = props.get("ToolTip")
    if tooltip and tooltip[3]:
        return str(tooltip[3])
    return str(props.get("Title", ""))


def sni_has_icon(props: dict[str, Any]) -> bool:
    """Whether the item shows a picture yet (deskbreak's first start draws its icons into
    the cache in a moment, and says NewIcon then)."""
    return bool(props.get("IconPixmap") or props.get("IconName"))


def sni_icon_id(props: dict[str, Any]) -> object:
    """What tells two of an item's pictures apart: the pixmaps' bytes, or the icon name."""
    pixmaps = props.get("IconPixmap") or []
    if pixmaps:
        return tuple((w, h, bytes(d)) for w, h, d in pixmaps)
    return props.get("IconName")


def split_item(item: str) -> tuple[str, str]:
    """A RegisteredStatusNotifierItems entry -> (bus name, object path)."""
    if "/" in item:
        name, _, path = item.partition("/")
        return name, "/" + path
    return item, "/StatusNotifierItem"


# --------------------------------------------------------------------------- the desktop

DMENU_SCRIPT = """#!/bin/sh
# dunst's context menu: pick the line of the action a test asked for.
here=$(dirname "$0")
cat > "$here/dmenu-input.txt"
want=$(cat "$here/dmenu-choice.txt" 2>/dev/null)
[ -n "$want" ] || exit 1
grep -F -e "$want" "$here/dmenu-input.txt" | head -n 1
"""

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""

DUNSTRC = """[global]
    # Xvfb never sees input, so never consider the user idle (idle freezes expiry).
    idle_threshold = 0
    dmenu = {dmenu}
    browser = /bin/true
    show_indicators = yes
"""

# Variables of the outer session that must not leak into the throwaway one.
_DROP_ENV = (
    "DISPLAY",
    "WAYLAND_DISPLAY",
    "DBUS_SESSION_BUS_ADDRESS",
    "XAUTHORITY",
    "XDG_SESSION_TYPE",
    "XDG_SESSION_DESKTOP",
    "XDG_CURRENT_DESKTOP",
    "DESKTOP_SESSION",
    "SESSION_MANAGER",
    "XDG_SESSION_ID",
    "XDG_SEAT",
    "XDG_VTNR",
    "GNOME_DESKTOP_SESSION_ID",
    "KDE_FULL_SESSION",
    "GTK_MODULES",
    "PYSTRAY_BACKEND",
)


class Desktop:
    """A throwaway X + D-Bus desktop. Use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *,
        dunst: bool = True,
        sni: bool = True,
        trayer: bool = False,
        screen: tuple[int, int] = SCREEN_SIZE,
    ) -> None:
        self.want_dunst = dunst
        self.want_sni = sni
        self.want_trayer = trayer
        self.screen = screen
        self.root = Path(tempfile.mkdtemp(prefix="deskbreak-desktop-"))
        self.procs: list[Proc] = []
        self.components: dict[str, Proc] = {}
        self.display = ""
        self.bus_address = ""
        self.env: dict[str, str] = {}
        self.notifications: NotificationLog | None = None
        self._conn: Any = None
        self._keep = os.environ.get("DESKBREAK_KEEP_DESKTOP") == "1"

    # life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Desktop:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> Desktop:
        missing = missing_programs()
        if missing:
            raise DesktopError(
                "the test desktop needs programs that are not installed: "
                + ", ".join(missing)
                + ". Run scripts/setup --test (as root) to install them."
            )
        try:
            self._prepare_dirs()
            self._start_x()
            self._start_bus()
            self.notifications = NotificationLog(self.bus_address)
            if self.want_dunst:
                self.start_dunst()
            if self.want_sni:
                self._start_sni_host()
            if self.want_trayer:
                self._start_trayer()
        except BaseException as exc:
            logs = self.log_tails()
            self.stop(keep=True)
            if isinstance(exc, AssertionError):
                raise DesktopError(f"{exc}\nlogs in {self.root}\n{logs}") from exc
            raise
        return self

    def stop(self, keep: bool | None = None) -> None:
        """Kill and reap everything started, in reverse order. Safe to call twice."""
        if self.notifications is not None:
            self.notifications.close()
        if self._conn is not None:
            with contextlib.suppress(OSError):
                self._conn.close()
            self._conn = None
        for proc in reversed(self.procs):
            proc.terminate()
        self.procs.clear()
        if not (self._keep if keep is None else keep or self._keep):
            shutil.rmtree(self.root, ignore_errors=True)

    def keep_logs(self) -> None:
        """Keep the temporary directory (logs, screenshots) after stop()."""
        self._keep = True

    def log_tails(self, lines: int = 20) -> str:
        parts = []
        for path in sorted(self.root.glob("*.log")):
            parts.append(f"--- {path.name}\n{_tail(path, lines)}")
        return "\n".join(parts)

    def _prepare_dirs(self) -> None:
        dirs = {
            name: self.root / name
            for name in ("home", "config", "data", "state", "cache", "runtime")
        }
        for path in dirs.values():
            path.mkdir(mode=0o700)
        os.chmod(dirs["runtime"], 0o700)
        env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
        env.update(
            HOME=str(dirs["home"]),
            XDG_CONFIG_HOME=str(dirs["config"]),
            XDG_DATA_HOME=str(dirs["data"]),
            XDG_STATE_HOME=str(dirs["state"]),
            XDG_CACHE_HOME=str(dirs["cache"]),
            XDG_RUNTIME_DIR=str(dirs["runtime"]),
            NO_AT_BRIDGE="1",
            GDK_BACKEND="x11",
            GSETTINGS_BACKEND="memory",
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        dmenu = self.root / "dmenu.sh"
        dmenu.write_text(DMENU_SCRIPT)
        dmenu.chmod(0o755)
        (dirs["config"] / "dunst").mkdir()
        (dirs["config"] / "dunst" / "dunstrc").write_text(DUNSTRC.format(dmenu=dmenu))
        (self.root / "bus.conf").write_text(BUS_CONFIG.format(socket=dirs["runtime"] / "bus"))

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str] | None = None,
        pass_fds: Iterable[int] = (),
    ) -> Proc:
        """Start a program in its own process group with the desktop's environment.

        It is killed on stop(). Its stdout and stderr go to ``<name>.log``.
        """
        log_path = self.root / f"{name}.log"
        n = 1
        while log_path.exists():
            n += 1
            log_path = self.root / f"{name}-{n}.log"
        full_env = dict(self.env)
        if env:
            full_env.update(env)
        with open(log_path, "wb") as log:
            popen = subprocess.Popen(
                list(argv),
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                pass_fds=tuple(pass_fds),
                cwd=self.root,
            )
        proc = Proc(name, popen, log_path)
        self.procs.append(proc)
        return proc

    def _read_line_from(self, fd: int, proc: Proc, timeout: float, what: str) -> str:
        """Read one line from a pipe written by ``proc``; it may arrive in several writes."""
        deadline = time.monotonic() + timeout
        data = b""
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise DesktopError(f"timed out after {timeout:g} s waiting for {what}")
            ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(fd, 256)
                if not chunk:
                    raise DesktopError(
                        f"{proc.name} closed the pipe before giving {what} "
                        f"(exit {proc.popen.poll()}):\n{_tail(proc.log_path)}"
                    )
                data += chunk
            elif not proc.alive():
                raise DesktopError(
                    f"{proc.name} exited with {proc.popen.returncode} before giving {what}:\n"
                    f"{_tail(proc.log_path)}"
                )
        return data.decode().strip()

    def _start_x(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            w, h = self.screen
            proc = self.spawn(
                "xvfb",
                [
                    "Xvfb",
                    "-displayfd",
                    str(write_fd),
                    "-screen",
                    "0",
                    f"{w}x{h}x24",
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ],
                pass_fds=[write_fd],
            )
            os.close(write_fd)
            write_fd = -1
            number = self._read_line_from(read_fd, proc, START_TIMEOUT, "the display number")
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            os.close(read_fd)
        self.display = f":{number}"
        self.env["DISPLAY"] = self.display
        self.components["xvfb"] = proc

    def _start_bus(self) -> None:
        read_fd, write_fd = os.pipe()
        try:
            proc = self.spawn(
                "dbus-daemon",
                [
                    "dbus-daemon",
                    "--nofork",
                    "--nopidfile",
                    f"--config-file={self.root / 'bus.conf'}",
                    f"--print-address={write_fd}",
                ],
                pass_fds=[write_fd],
            )
            os.close(write_fd)
            write_fd = -1
            address = self._read_line_from(read_fd, proc, START_TIMEOUT, "the bus address")
        finally:
            if write_fd >= 0:
                os.close(write_fd)
            os.close(read_fd)
        self.bus_address = address
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.components["dbus-daemon"] = proc

    def start_dunst(self) -> Proc:
        """Start (or restart) the notification server and wait until it owns its name."""
        proc = self.spawn("dunst", ["dunst", "-verbosity", "info"])
        self.components["dunst"] = proc
        self.wait_for_name(NOTIFICATIONS_NAME, proc)
        return proc

    def stop_dunst(self) -> None:
        """Kill the notification server and wait until its bus name is gone."""
        proc = self.components.pop("dunst")
        proc.terminate()
        self.procs.remove(proc)
        self.wait_for(
            lambda: not self.name_has_owner(NOTIFICATIONS_NAME),
            what=f"{NOTIFICATIONS_NAME} to lose its owner",
        )

    def start_sni_host(self) -> None:
        """Start the StatusNotifierItem watcher and host (for a desktop made with sni=False)."""
        if "status-notifier-watcher" in self.components:
            raise DesktopError("the StatusNotifierItem host already runs")
        self._start_sni_host()

    def _start_sni_host(self) -> None:
        watcher = self.spawn("status-notifier-watcher", ["status-notifier-watcher"])
        self.components["status-notifier-watcher"] = watcher
        self.wait_for_name(WATCHER_NAME, watcher)
        tray = self.spawn(
            "gtk-sni-tray-standalone", ["gtk-sni-tray-standalone", "--bottom", "--size", "32"]
        )
        self.components["gtk-sni-tray-standalone"] = tray
        self.wait_for(
            lambda: self.watcher_property("IsStatusNotifierHostRegistered"),
            what="gtk-sni-tray-standalone to register as a StatusNotifierHost",
        )
        self.wait_for(
            lambda: self.find_windows(pid=tray.pid, visible=True),
            what="the gtk-sni-tray-standalone window",
        )

    def _start_trayer(self) -> None:
        proc = self.spawn(
            "trayer",
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "left",
                "--widthtype",
                "request",
                "--height",
                "32",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
            ],
        )
        self.components["trayer"] = proc
        self.wait_for(
            lambda: self.selection_owner(SYSTEM_TRAY_SELECTION),
            what=f"trayer to own the {SYSTEM_TRAY_SELECTION} selection",
        )

    # waiting ----------------------------------------------------------------------------

    def check_alive(self) -> None:
        """Fail with the component's log if a desktop component has died."""
        for name, proc in self.components.items():
            if not proc.alive():
                raise DesktopError(
                    f"desktop component {name} exited with {proc.popen.returncode}:\n"
                    f"{_tail(proc.log_path)}"
                )

    def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "a condition",
    ) -> T:
        """wait_for(), also failing at once if a component of the desktop dies."""

        def check() -> T:
            self.check_alive()
            return predicate()

        return wait_for(check, timeout, what)

    # D-Bus ------------------------------------------------------------------------------

    @property
    def conn(self) -> Any:
        """A blocking jeepney connection to the desktop's bus (for the test thread only)."""
        if self._conn is None:
            self._conn = _connect(self.bus_address)
        return self._conn

    def call(
        self,
        dest: str,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
        timeout: float = 5.0,
    ) -> tuple[Any, ...]:
        from jeepney.wrappers import unwrap_msg

        msg = _method(dest, path, interface, member, sig, body)
        return tuple(unwrap_msg(self.conn.send_and_get_reply(msg, timeout=timeout)))

    def bus_call(
        self, member: str, sig: str | None = None, body: tuple[Any, ...] = ()
    ) -> tuple[Any, ...]:
        return self.call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            member,
            sig,
            body,
        )

    def name_has_owner(self, name: str) -> bool:
        return bool(self.bus_call("NameHasOwner", "s", (name,))[0])

    def name_pid(self, name: str) -> int:
        return int(self.bus_call("GetConnectionUnixProcessID", "s", (name,))[0])

    def wait_for_name(
        self, name: str, proc: Proc | None = None, timeout: float = START_TIMEOUT
    ) -> None:
        def owned() -> bool:
            if proc is not None and not proc.alive():
                raise DesktopError(
                    f"{proc.name} exited with {proc.popen.returncode} before "
                    f"owning {name}:\n{_tail(proc.log_path)}"
                )
            return self.name_has_owner(name)

        self.wait_for(owned, timeout, f"{name} to be owned on the bus")

    def get_property(self, dest: str, path: str, interface: str, name: str) -> Any:
        return _unwrap_variant(
            self.call(
                dest, path, "org.freedesktop.DBus.Properties", "Get", "ss", (interface, name)
            )[0]
        )

    def get_all_properties(self, dest: str, path: str, interface: str) -> dict[str, Any]:
        raw = self.call(dest, path, "org.freedesktop.DBus.Properties", "GetAll", "s", (interface,))[
            0
        ]
        return {k: _unwrap_variant(v) for k, v in raw.items()}

    def watcher_property(self, name: str) -> Any:
        return self.get_property(WATCHER_NAME, WATCHER_PATH, WATCHER_NAME, name)

    # StatusNotifierItem -----------------------------------------------------------------

    def sni_items(self) -> list[str]:
        """RegisteredStatusNotifierItems of the watcher ("busname/path" or "busname")."""
        return list(self.watcher_property("RegisteredStatusNotifierItems"))

    def sni_item_of(self, pid: int) -> str | None:
        """The registered item owned by the process ``pid``, if any."""
        for item in self.sni_items():
            with contextlib.suppress(Exception):
                if self.name_pid(split_item(item)[0]) == pid:
                    return item
        return None

    def wait_for_sni_item(self, pid: int, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.wait_for(
            lambda: self.sni_item_of(pid),
            timeout,
            f"a StatusNotifierItem of pid {pid} to register with the watcher",
        )

    def item_address(self, item: str) -> tuple[str, str]:
        """(bus name, object path) of a registered item.

        Watchers list items as "busname/path" or, like status-notifier-watcher, as a bare
        bus name whose path they give through GetObjectPathForItemName.
        """
        if "/" in item:
            return split_item(item)
        with contextlib.suppress(Exception):
            path = self.call(
                WATCHER_NAME, WATCHER_PATH, WATCHER_NAME, "GetObjectPathForItemName", "s", (item,)
            )[0]
            if path:
                return item, str(path)
        return split_item(item)

    def sni_properties(self, item: str) -> dict[str, Any]:
        """All org.kde.StatusNotifierItem properties (Title, Status, IconName, Menu, ...)."""
        name, path = self.item_address(item)
        return self.get_all_properties(name, path, ITEM_INTERFACE)

    # dbusmenu ---------------------------------------------------------------------------

    def _menu_address(self, item: str) -> tuple[str, str]:
        name, path = self.item_address(item)
        menu_path = self.get_property(name, path, ITEM_INTERFACE, "Menu")
        if not menu_path or menu_path == "/":
            raise AssertionError(f"tray item {item} exports no menu")
        return name, str(menu_path)

    def menu_layout(self, item: str) -> MenuItem:
        """The whole menu of a tray item as exported over com.canonical.dbusmenu."""
        name, menu_path = self._menu_address(item)
        _revision, layout = self.call(
            name, menu_path, MENU_INTERFACE, "GetLayout", "iias", (0, -1, [])
        )
        return _parse_layout(layout)

    def wait_for_menu(
        self,
        item: str,
        predicate: Callable[[MenuItem], bool],
        timeout: float = DEFAULT_TIMEOUT,
        what: str = "the tray menu to change",
    ) -> MenuItem:
        """The item's menu once ``predicate(menu)`` holds.

        A program rebuilds its menu some time after its state changed (pystray does it on
        its GLib loop); a test that clicks must first wait until the menu it means is there.
        """
        found: list[MenuItem] = []

        def check() -> bool:
            layout = self.menu_layout(item)
            if predicate(layout):
                found.append(layout)
                return True
            return False

        try:
            self.wait_for(check, timeout, what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the menu is:\n{self.menu_layout(item).dump()}") from None
        return found[0]

    def menu_click(self, item: str, labels: Sequence[str]) -> None:
        """Click the menu entry at ``labels`` (e.g. ("Snooze", "10 min")) via dbusmenu."""
        name, menu_path = self._menu_address(item)
        node = self.menu_layout(item)
        for depth, label in enumerate(labels):
            child = node.find(label)
            if child is None:
                raise AssertionError(
                    f"no menu entry {label!r} under {list(labels[:depth]) or 'the top'}; "
                    f"entries: {node.labels()}"
                )
            if depth < len(labels) - 1:
                need_update = self.call(
                    name, menu_path, MENU_INTERFACE, "AboutToShow", "i", (child.id,)
                )
                if need_update and need_update[0]:
                    refreshed = self.menu_layout(item)
                    child = _find_by_id(refreshed, child.id) or child
            node = child
        if not node.enabled:
            raise AssertionError(f"menu entry {list(labels)} is disabled")
        self.call(
            name, menu_path, MENU_INTERFACE, "Event", "isvu", (node.id, "clicked", ("i", 0), 0)
        )

    # X ----------------------------------------------------------------------------------

    def run(
        self, argv: Sequence[str], timeout: float = 20.0, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a short command in the desktop's environment and return its result."""
        result = subprocess.run(
            list(argv),
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} failed with {result.returncode}: "
                f"{result.stderr.strip() or result.stdout.strip()}"
            )
        return result

    def find_windows(
        self,
        *,
        pid: int | None = None,
        name: str | None = None,
        wm_class: str | None = None,
        visible: bool = False,
    ) -> list[int]:
        argv = ["xdotool", "search"]
        if visible:
            argv.append("--onlyvisible")
        if pid is not None:
            argv += ["--pid", str(pid)]
        elif name is not None:
            argv += ["--name", f"^{name}$"]
        elif wm_class is not None:
            argv += ["--class", wm_class]
        else:
            argv += ["--name", "."]
        result = self.run(argv, check=False)
        return [int(w) for w in result.stdout.split()]

    def selection_owner(self, selection: str) -> int:
        """The X window owning a selection (e.g. the XEmbed tray's), or 0."""
        from Xlib import display as xdisplay

        x = xdisplay.Display(self.display)
        try:
            owner = x.get_selection_owner(x.intern_atom(selection))
            return int(getattr(owner, "id", owner) or 0)
        finally:
            x.close()

    def window_geometry(self, window: int) -> tuple[int, int, int, int]:
        """(x, y, width, height) of a window in root coordinates."""
        out = self.run(["xwininfo", "-id", str(window)]).stdout
        values = {}
        for line in out.splitlines():
            key, _, value = line.strip().partition(":")
            values[key] = value.strip()
        return (
            int(values["Absolute upper-left X"]),
            int(values["Absolute upper-left Y"]),
            int(values["Width"]),
            int(values["Height"]),
        )

    def tray_window_box(self) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of the gtk-sni-tray-standalone window."""
        tray = self.components["gtk-sni-tray-standalone"]
        windows = self.find_windows(pid=tray.pid, visible=True)
        if not windows:
            raise AssertionError("gtk-sni-tray-standalone has no visible window")
        boxes = [self.window_geometry(w) for w in windows]
        x, y, w, h = max(boxes, key=lambda b: b[2] * b[3])
        return (x, y, x + w, y + h)

    def screenshot(self, path: Path | str | None = None) -> Path:
        """Save the whole screen as PNG (ImageMagick ``import -window root``)."""
        target = Path(path) if path is not None else self.root / f"shot-{time.time_ns()}.png"
        self.run(["import", "-window", "root", str(target)])
        return target

    # notifications ----------------------------------------------------------------------

    def dunstctl(self, *args: str) -> str:
        return self.run(["dunstctl", *args]).stdout.strip()

    def dunst_history(self) -> list[dict[str, Any]]:
        """Notifications dunst closed, newest first, as dicts of plain values."""
        import json

        data = json.loads(self.dunstctl("history"))["data"][0]
        return [{k: v["data"] for k, v in entry.items()} for entry in data]

    def displayed_count(self) -> int:
        return int(self.dunstctl("count", "displayed"))

    def press_notification_action(self, key: str, notification_id: int | None = None) -> None:
        """Press an action button of a shown notification through dunst's context menu.

        The dmenu script picks the line ``[ID,key]`` (any id unless one is given).
        """
        wanted = f"[{notification_id},{key}]" if notification_id is not None else f",{key}]"
        (self.root / "dmenu-choice.txt").write_text(wanted)
        self.dunstctl("context")

    def invoke_default_action(self) -> None:
        self.dunstctl("action", "0")

    def close_notification(self) -> None:
        """Close the newest notification as a user would (reason 2, dismissed)."""
        self.dunstctl("close")

    def reset_notifications(self) -> None:
        """Close everything on screen and forget what the log recorded so far."""
        assert self.notifications is not None
        if "dunst" in self.components:
            self.dunstctl("close-all")
            self.wait_for(lambda: self.displayed_count() == 0, what="dunst to show no notification")
        self.notifications.sync(self.bus_address)
        self.notifications.clear()


def _find_by_id(node: MenuItem, item_id: int) -> MenuItem | None:
    if node.id == item_id:
        return node
    for child in node.children:
        found = _find_by_id(child, item_id)
        if found is not None:
            return found
    return None


def count_pixels(
    image_path: Path | str,
    box: tuple[int, int, int, int],
    color: tuple[int, int, int] | None = None,
    tolerance: int = 40,
) -> int:
    """Pixels in ``box`` (left, top, right, bottom) that are near ``color``.

    Without ``color``: pixels that differ from the most common colour of the box (its
    background).
    """
    from PIL import Image

    with Image.open(image_path) as image:
        region = image.convert("RGB").crop(box)
        raw = region.tobytes()
    pixels = [(raw[i], raw[i + 1], raw[i + 2]) for i in range(0, len(raw), 3)]
    if not pixels:
        return 0
    if color is None:
        background = collections.Counter(pixels).most_common(1)[0][0]
        return sum(1 for p in pixels if _distance(p, background) > tolerance)
    return sum(1 for p in pixels if _distance(p, color) <= tolerance)


def _distance(a: tuple[int, int, int], b: tuple[int, int, int]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


@contextlib.contextmanager
def desktop(**kwargs: Any) -> Iterator[Desktop]:
    with Desktop(**kwargs) as d:
        yield d


class _StopRequested(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    """Start a throwaway desktop, print how to use it, wait for Ctrl-C, clean up."""
    import argparse
    import shlex

    parser = argparse.ArgumentParser(
        prog="scripts/desktop",
        description="Start a throwaway desktop (Xvfb, session bus, dunst, tray host).",
    )
    parser.add_argument("--no-dunst", action="store_true", help="no notification server")
    parser.add_argument("--no-sni", action="store_true", help="no StatusNotifierItem host")
    parser.add_argument("--trayer", action="store_true", help="also start trayer (XEmbed)")
    parser.add_argument("--keep", action="store_true", help="keep the logs after stopping")
    args = parser.parse_args(argv)

    # Handlers, not a blocked signal mask: children would inherit the mask and ignore the
    # SIGTERM that stops them.
    def request_stop(signum: int, frame: object) -> None:
        raise _StopRequested

    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    for sig in stop_signals:
        signal.signal(sig, request_stop)
    d = Desktop(dunst=not args.no_dunst, sni=not args.no_sni, trayer=args.trayer)
    if args.keep:
        d.keep_logs()
    try:
        d.start()
        names = [
            "DISPLAY",
            "DBUS_SESSION_BUS_ADDRESS",
            "HOME",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "XDG_STATE_HOME",
            "XDG_CACHE_HOME",
            "XDG_RUNTIME_DIR",
            "NO_AT_BRIDGE",
            "GDK_BACKEND",
            "GSETTINGS_BACKEND",
        ]
        exports = " ".join(f"{n}={shlex.quote(d.env[n])}" for n in names)
        print(
            f"Desktop ready; logs in {d.root}\n\nexport {exports}\n\nPress Ctrl-C to stop it.",
            flush=True,
        )
        while True:
            signal.pause()
    except _StopRequested:
        pass
    except DesktopError as exc:
        print(f"desktop: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig in stop_signals:
            signal.signal(sig, signal.SIG_IGN)  # let the clean-up finish
        d.stop()
        print("Desktop stopped." + (f" Logs kept in {d.root}" if args.keep else ""), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""A prototype: deskbreak's tray as a StatusNotifierItem over jeepney, without GTK.

Not part of deskbreak: ``scripts/bench`` runs it to measure what a GTK-free tray would
save. ``python scripts/sni_prototype.py [--config PATH] [-v]`` runs the real daemon
(``deskbreak.daemon.Daemon``, every adapter as in ``deskbreak run``) with this tray in place
of pystray's AppIndicator backend.

How it works:

- One jeepney connection to the session bus. It takes a name
  ``org.kde.StatusNotifierItem-PID-1``, serves ``org.kde.StatusNotifierItem`` at
  ``/StatusNotifierItem`` and ``com.canonical.dbusmenu`` at ``/MenuBar``, and registers the
  name with the StatusNotifierWatcher (again whenever a watcher appears).
- One thread blocks reading the connection and answers the tray host's calls: properties,
  ``GetLayout`` and the other dbusmenu calls, ``Event`` (a click, handed to the daemon as a
  command). It wakes only when the host asks something.
- ``update(model)`` runs on the daemon's thread: it compares the model with the last one
  and sends only what changed (``NewIcon``, ``NewTitle`` and ``NewToolTip``,
  ``LayoutUpdated``), with no thread in between.
- The icon is deskbreak's own drawing (``deskbreak.icon.draw_icon``) as ARGB32 pixmaps.
- Only what the host needs for the icon, its tooltip and its menu; no XEmbed fallback, no
  attention icon, no scrolling.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deskbreak.adapters.tray import MenuEntry, OnCommand, TrayModel, menu_spec  # noqa: E402
from deskbreak.icon import draw_icon, progress_steps  # noqa: E402

ITEM = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
MENU = "com.canonical.dbusmenu"
MENU_PATH = "/MenuBar"
WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
ICON_SIZES = (22, 32, 48)

INTROSPECTION = {
    ITEM_PATH: f"""<node><interface name="{ITEM}">
<property name="Category" type="s" access="read"/><property name="Id" type="s" access="read"/>
<property name="Title" type="s" access="read"/><property name="Status" type="s" access="read"/>
<property name="WindowId" type="i" access="read"/>
<property name="IconName" type="s" access="read"/>
<property name="IconPixmap" type="a(iiay)" access="read"/>
<property name="ToolTip" type="(sa(iiay)ss)" access="read"/>
<property name="ItemIsMenu" type="b" access="read"/><property name="Menu" type="o" access="read"/>
<method name="Activate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="SecondaryActivate"><arg type="i" direction="in"/><arg type="i" direction="in"/>
</method>
<method name="ContextMenu"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="Scroll"><arg type="i" direction="in"/><arg type="s" direction="in"/></method>
<signal name="NewTitle"/><signal name="NewIcon"/><signal name="NewToolTip"/>
<signal name="NewStatus"><arg type="s"/></signal></interface></node>""",
    MENU_PATH: f"""<node><interface name="{MENU}">
<property name="Version" type="u" access="read"/>
<property name="TextDirection" type="s" access="read"/>
<property name="Status" type="s" access="read"/>
<property name="IconThemePath" type="as" access="read"/>
<method name="GetLayout"><arg type="i" direction="in"/><arg type="i" direction="in"/>
<arg type="as" direction="in"/><arg type="u" direction="out"/>
<arg type="(ia{{sv}}av)" direction="out"/></method>
<method name="GetGroupProperties"><arg type="ai" direction="in"/><arg type="as" direction="in"/>
<arg type="a(ia{{sv}})" direction="out"/></method>
<method name="GetProperty"><arg type="i" direction="in"/><arg type="s" direction="in"/>
<arg type="v" direction="out"/></method>
<method name="Event"><arg type="i" direction="in"/><arg type="s" direction="in"/>
<arg type="v" direction="in"/><arg type="u" direction="in"/></method>
<method name="EventGroup"><arg type="a(isvu)" direction="in"/><arg type="ai" direction="out"/>
</method>
<method name="AboutToShow"><arg type="i" direction="in"/><arg type="b" direction="out"/></method>
<method name="AboutToShowGroup"><arg type="ai" direction="in"/><arg type="ai" direction="out"/>
<arg type="ai" direction="out"/></method>
<signal name="ItemsPropertiesUpdated"><arg type="a(ia{{sv}})"/><arg type="a(ias)"/></signal>
<signal name="LayoutUpdated"><arg type="u"/><arg type="i"/></signal></interface></node>""",
}


def pixmaps(state: str, progress: float) -> list[tuple[int, int, bytes]]:
    """The icon at a few sizes as (width, height, ARGB32 in network byte order)."""
    from PIL import Image

    out = []
    for size in ICON_SIZES:
        r, g, b, a = draw_icon(state, progress, size).split()
        out.append((size, size, Image.merge("RGBA", (a, r, g, b)).tobytes()))
    return out


class _Node:
    """One dbusmenu item: its id, properties, children, and the command a click sends."""

    def __init__(self, item_id: int, props: dict[str, tuple[str, Any]]) -> None:
        self.id = item_id
        self.props = props
        self.children: list[_Node] = []
        self.command: tuple[str, int | None] | None = None

    def layout(self, depth: int) -> tuple[int, dict[str, tuple[str, Any]], list[Any]]:
        kids = [] if depth == 0 else [("(ia{sv}av)", c.layout(depth - 1)) for c in self.children]
        return (self.id, self.props, kids)


def build_menu(spec: Sequence[MenuEntry]) -> tuple[_Node, dict[int, _Node]]:
    """The dbusmenu tree for a menu spec; items are numbered in order (the root is 0)."""
    root = _Node(0, {"children-display": ("s", "submenu")})
    nodes = {0: root}

    def add(parent: _Node, entries: Sequence[MenuEntry]) -> None:
        for entry in entries:
            node_id = len(nodes)
            if entry.separator:
                node = _Node(node_id, {"type": ("s", "separator")})
            else:
                props: dict[str, tuple[str, Any]] = {
                    "label": ("s", entry.label.replace("_", "__")),
                    "enabled": ("b", entry.enabled),
                }
                if entry.checked is not None:
                    props["toggle-type"] = ("s", "radio" if entry.radio else "checkmark")
                    props["toggle-state"] = ("i", 1 if entry.checked else 0)
                if entry.submenu:
                    props["children-display"] = ("s", "submenu")
                node = _Node(node_id, props)
                node.command = entry.command
            nodes[node_id] = node
            parent.children.append(node)
            if entry.submenu:
                add(node, entry.submenu)

    add(root, spec)
    return root, nodes


class SniTray:
    """The ``Tray`` interface of deskbreak.adapters.tray, as a jeepney StatusNotifierItem."""

    backend = "jeepney-sni"

    def __init__(self, on_command: OnCommand, model: TrayModel, log: logging.Logger) -> None:
        from jeepney.io.blocking import open_dbus_connection

        self._on_command = on_command
        self._log = log
        self._lock = threading.RLock()  # guards the state below and every send
        self._conn = open_dbus_connection(bus="SESSION")
        self._name = f"{ITEM}-{os.getpid()}-1"
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._revision = 1
        self._key: tuple[str, float] | None = None
        self._pixmaps: list[tuple[int, int, bytes]] | None = None
        self._spec: list[MenuEntry] = []
        self._set_model(model)

    # -- Tray -------------------------------------------------------------------------------

    def start(self) -> None:
        from jeepney import MatchRule, message_bus

        self._call(message_bus.RequestName(self._name, 4))  # 4: do not queue
        rule = MatchRule(type="signal", interface="org.freedesktop.DBus", member="NameOwnerChanged")
        rule.add_arg_condition(0, WATCHER)
        self._call(message_bus.AddMatch(rule))
        self._thread = threading.Thread(target=self._serve, name="deskbreak-sni", daemon=True)
        self._thread.start()
        self._register()

    def update(self, model: TrayModel) -> None:
        with self._lock:
            if self._stopped:
                return
            old_key, old_title, old_spec = self._key, self._title, self._spec
            self._set_model(model)
            if self._key != old_key:
                self._signal(ITEM_PATH, ITEM, "NewIcon")
            if self._title != old_title:
                self._signal(ITEM_PATH, ITEM, "NewTitle")
                self._signal(ITEM_PATH, ITEM, "NewToolTip")
            if self._spec != old_spec:
                self._revision += 1
                self._signal(MENU_PATH, MENU, "LayoutUpdated", "ui", (self._revision, 0))

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        with contextlib.suppress(OSError):
            self._conn.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        with contextlib.suppress(OSError):
            self._conn.close()

    def lost_features(self) -> list[str]:
        return []

    # -- state ------------------------------------------------------------------------------

    def _set_model(self, model: TrayModel) -> None:
        key = (model.state, progress_steps(model.progress))
        if key != self._key:
            self._key = key
            self._pixmaps = None  # drawn when the host asks for them
        self._title = model.tooltip
        spec = menu_spec(model)
        if spec != self._spec:
            self._spec = spec
            self._root, self._nodes = build_menu(spec)

    def _item_properties(self) -> dict[str, tuple[str, Any]]:
        if self._pixmaps is None and self._key is not None:
            self._pixmaps = pixmaps(*self._key)
        return {
            "Category": ("s", "ApplicationStatus"),
            "Id": ("s", "deskbreak"),
            "Title": ("s", self._title),
            "Status": ("s", "Active"),
            "WindowId": ("i", 0),
            "IconName": ("s", ""),
            "IconPixmap": ("a(iiay)", self._pixmaps or []),
            "ToolTip": ("(sa(iiay)ss)", ("", [], "deskbreak", self._title)),
            "ItemIsMenu": ("b", True),
            "Menu": ("o", MENU_PATH),
        }

    @staticmethod
    def _menu_properties() -> dict[str, tuple[str, Any]]:
        return {
            "Version": ("u", 3),
            "TextDirection": ("s", "ltr"),
            "Status": ("s", "normal"),
            "IconThemePath": ("as", []),
        }

    # -- the bus ----------------------------------------------------------------------------

    def _call(self, msg: Any) -> Any:
        """A method call made before the serving thread runs."""
        from jeepney.wrappers import unwrap_msg

        return unwrap_msg(self._conn.send_and_get_reply(msg, timeout=5))

    def _send(self, msg: Any) -> None:
        with self._lock:
            self._conn.send(msg)

    def _signal(
        self,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
    ) -> None:
        from jeepney import DBusAddress, new_signal

        self._send(new_signal(DBusAddress(path, interface=interface), member, sig, body))

    def _register(self) -> None:
        from jeepney import DBusAddress, new_method_call

        watcher = DBusAddress(WATCHER_PATH, bus_name=WATCHER, interface=WATCHER)
        # The reply (or the error when no watcher runs) is read and dropped by _serve.
        self._send(new_method_call(watcher, "RegisterStatusNotifierItem", "s", (self._name,)))

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType

        while True:
            try:
                msg = self._conn.receive()
            except (OSError, ValueError):
                return  # stopped, or the bus went away
            header = msg.header
            handle: Callable[[], None] | None = None  # replies to our registrations: dropped
            if header.message_type is MessageType.signal:
                # NameOwnerChanged(WATCHER, old, new): a watcher appeared; register with it.
                is_new_owner = header.fields.get(HeaderFields.member) == "NameOwnerChanged"
                if is_new_owner and msg.body[2]:
                    handle = self._register
            elif header.message_type is MessageType.method_call:
                handle = functools.partial(self._answer, msg)
            if handle is None:
                continue
            try:
                handle()
            except OSError:
                return
            except Exception:
                self._log.warning("tray: could not answer the tray host", exc_info=True)

    def _answer(self, msg: Any) -> None:
        from jeepney import HeaderFields, new_error, new_method_return

        fields = msg.header.fields
        path = fields.get(HeaderFields.path)
        interface = fields.get(HeaderFields.interface)
        member = fields.get(HeaderFields.member)
        with self._lock:
            if interface == PROPERTIES and member in ("Get", "GetAll"):
                props = {ITEM: self._item_properties, MENU: self._menu_properties}.get(msg.body[0])
                if props is None:
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownInterface")
                elif member == "GetAll":
                    reply = new_method_return(msg, "a{sv}", (props(),))
                elif msg.body[1] in props():
                    reply = new_method_return(msg, "v", (props()[msg.body[1]],))
                else:
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty")
            elif interface == INTROSPECTABLE and member == "Introspect":
                xml = INTROSPECTION.get(path, "<node/>")
                reply = new_method_return(msg, "s", (xml,))
            elif path == MENU_PATH:
                reply = self._menu_call(msg, member)
            elif path == ITEM_PATH and member in (
                "Activate",
                "SecondaryActivate",
                "ContextMenu",
                "Scroll",
            ):
                reply = new_method_return(msg)  # the host shows the menu (ItemIsMenu)
            else:
                reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")
            self._conn.send(reply)

    def _menu_call(self, msg: Any, member: str) -> Any:
        from jeepney import new_error, new_method_return

        body = msg.body
        if member == "GetLayout":
            parent, depth = body[0], body[1]
            node = self._nodes.get(parent)
            if node is None:
                return new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs")
            layout = node.layout(depth if depth >= 0 else 1_000)
            return new_method_return(msg, "u(ia{sv}av)", (self._revision, layout))
        if member == "GetGroupProperties":
            ids = body[0] or list(self._nodes)
            found = [(i, self._nodes[i].props) for i in ids if i in self._nodes]
            return new_method_return(msg, "a(ia{sv})", (found,))
        if member == "GetProperty":
            node = self._nodes.get(body[0])
            if node is None or body[1] not in node.props:
                return new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs")
            return new_method_return(msg, "v", (node.props[body[1]],))
        if member == "Event":
            self._event(body[0], body[1])
            return new_method_return(msg)
        if member == "EventGroup":
            errors = [i for i, _e, _d, _t in body[0] if i not in self._nodes]
            for item_id, event, _data, _time in body[0]:
                self._event(item_id, event)
            return new_method_return(msg, "ai", (errors,))
        if member == "AboutToShow":
            return new_method_return(msg, "b", (False,))
        if member == "AboutToShowGroup":
            return new_method_return(msg, "aiai", ([], []))
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")

    def _event(self, item_id: int, event: str) -> None:
        node = self._nodes.get(item_id)
        if event != "clicked" or node is None or node.command is None:
            return
        if not node.props.get("enabled", ("b", True))[1]:
            return
        name, arg = node.command
        self._on_command(name, arg)  # the daemon only queues it


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/sni_prototype.py",
        description="Run deskbreak with the GTK-free StatusNotifierItem tray prototype.",
    )
    parser.add_argument("--config", help="the settings file (default: deskbreak's own)")
    parser.add_argument("-v", "--verbose", action="store_true", help="also log to stderr")
    args = parser.parse_args(argv)

    from deskbreak import daemon
    from deskbreak.adapters import settings_file

    path = Path(args.config) if args.config else settings_file.default_path()
    settings = settings_file.load(path)
    daemon.setup_logging(args.verbose)
    return daemon.Daemon(path, settings, make_tray=SniTray).run()


if __name__ == "__main__":
    raise SystemExit(main())

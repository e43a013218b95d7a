"""The tray icon as a StatusNotifierItem over jeepney: no GTK, no GLib loop.

This is the tray deskbreak uses on Linux whenever a StatusNotifierItem host (KDE, XFCE,
Cinnamon, MATE, GNOME with the AppIndicator extension, waybar, ...) can show it. pystray's
AppIndicator backend draws the same item through GTK 3, GDK, Pango and PyGObject, which cost
about 12 MiB of memory for one icon and its menu; this one speaks the two D-Bus interfaces
itself. pystray stays the tray for XEmbed-only trays and other systems (``create_tray`` in
``deskbreak.adapters.tray`` chooses).

How it works:

- One jeepney connection to the session bus. It serves ``org.kde.StatusNotifierItem`` at
  ``/StatusNotifierItem`` and ``com.canonical.dbusmenu`` at ``/MenuBar``, and registers
  that object path with the StatusNotifierWatcher (as libappindicator does: the host then
  talks to the connection itself, with no name to look up before each call). It registers
  again whenever a watcher appears (a tray host started or restarted later) and, when a
  watcher refuses (one that owns its name a moment before it serves), again after 0.25,
  0.5, 1, 2 and 4 s.
- One thread blocks reading the connection and answers the host: properties, the dbusmenu
  calls, ``Event`` (a click: handed to the daemon as a command; the daemon only queues it).
  It wakes only when the host asks something.
- ``update(model)`` runs on the daemon's thread. It compares with what is shown and sends
  only what changed: ``NewIcon``, ``NewToolTip``, ``LayoutUpdated``. Each makes the host
  ask for the property again (some hosts ask for three), so it says nothing that did not
  change. ``Title`` is the application's name and never changes.
- Menu items keep their ids while their place and command stay the same, so a click on a
  menu the host drew before a change still does what its label said, and a click on an
  item that is gone does nothing.
- The pictures are deskbreak's own drawing, read from the pixmap cache
  (``deskbreak.adapters.icon_cache``) so that Pillow is not loaded into the daemon.
- ``stop`` says ``NewStatus("Passive")`` (hosts hide the item at once) and closes the
  connection, which takes the item off the watcher.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from deskbreak.adapters.tray import Command, MenuEntry, OnCommand, TrayModel, menu_spec

ITEM = "org.kde.StatusNotifierItem"
ITEM_PATH = "/StatusNotifierItem"
MENU = "com.canonical.dbusmenu"
MENU_PATH = "/MenuBar"
WATCHER = "org.kde.StatusNotifierWatcher"
WATCHER_PATH = "/StatusNotifierWatcher"
PROPERTIES = "org.freedesktop.DBus.Properties"
INTROSPECTABLE = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"
APP_ID = "deskbreak"
APP_NAME = "deskbreak"
CALL_TIMEOUT = 5.0
RETRIES = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds before registering again after a refusal
STOP_TIMEOUT = 5.0

_ITEM_XML = f"""<node><interface name="{ITEM}">
<property name="Category" type="s" access="read"/>
<property name="Id" type="s" access="read"/>
<property name="Title" type="s" access="read"/>
<property name="Status" type="s" access="read"/>
<property name="WindowId" type="i" access="read"/>
<property name="IconName" type="s" access="read"/>
<property name="IconPixmap" type="a(iiay)" access="read"/>
<property name="IconThemePath" type="s" access="read"/>
<property name="ToolTip" type="(sa(iiay)ss)" access="read"/>
<property name="ItemIsMenu" type="b" access="read"/>
<property name="Menu" type="o" access="read"/>
<method name="Activate"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="SecondaryActivate"><arg type="i" direction="in"/><arg type="i" direction="in"/>
</method>
<method name="ContextMenu"><arg type="i" direction="in"/><arg type="i" direction="in"/></method>
<method name="Scroll"><arg type="i" direction="in"/><arg type="s" direction="in"/></method>
<signal name="NewTitle"/><signal name="NewIcon"/><signal name="NewToolTip"/>
<signal name="NewStatus"><arg type="s"/></signal>
</interface></node>"""

_MENU_XML = f"""<node><interface name="{MENU}">
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
<signal name="LayoutUpdated"><arg type="u"/><arg type="i"/></signal>
</interface></node>"""

_ROOT_XML = """<node><node name="StatusNotifierItem"/><node name="MenuBar"/></node>"""

Props = dict[str, tuple[str, Any]]


# -- the menu as dbusmenu sees it (pure) -----------------------------------------------------


class MenuNode:
    """One dbusmenu item: id, properties, children and the command a click sends."""

    __slots__ = ("children", "command", "id", "props")

    def __init__(self, item_id: int, props: Props, command: Command | None = None) -> None:
        self.id = item_id
        self.props = props
        self.children: list[MenuNode] = []
        self.command = command

    def layout(self, depth: int) -> tuple[int, Props, list[tuple[str, Any]]]:
        """(id, properties, children) for ``GetLayout``; ``depth`` < 0 means all levels."""
        if depth == 0:
            kids: list[tuple[str, Any]] = []
        else:
            kids = [("(ia{sv}av)", child.layout(depth - 1)) for child in self.children]
        return (self.id, self.props, kids)


def _props(entry: MenuEntry) -> Props:
    if entry.separator:
        return {"type": ("s", "separator")}
    props: Props = {
        # dbusmenu reads "_" as a mnemonic marker; "__" is a plain underscore.
        "label": ("s", entry.label.replace("_", "__")),
        "enabled": ("b", entry.enabled),
    }
    if entry.checked is not None:
        props["toggle-type"] = ("s", "radio" if entry.radio else "checkmark")
        props["toggle-state"] = ("i", 1 if entry.checked else 0)
    if entry.submenu:
        props["children-display"] = ("s", "submenu")
    return props


class MenuTree:
    """The dbusmenu tree of a menu spec, with ids that stay put across rebuilds.

    An item's id is kept while the same labels lead to it and it sends the same command;
    anything else gets a new id, never one used before. Ids of items that went away are
    forgotten, so the table holds only what is shown.
    """

    def __init__(self) -> None:
        self.revision = 0
        self.root = MenuNode(0, {"children-display": ("s", "submenu")})
        self.nodes: dict[int, MenuNode] = {0: self.root}
        self._ids: dict[tuple[Any, ...], int] = {}
        self._next_id = 1

    def build(self, spec: Sequence[MenuEntry]) -> None:
        """Show ``spec`` from now on (the revision goes up)."""
        ids: dict[tuple[Any, ...], int] = {}
        nodes: dict[int, MenuNode] = {}
        root = MenuNode(0, {"children-display": ("s", "submenu")})
        nodes[0] = root

        def add(parent: MenuNode, entries: Sequence[MenuEntry], path: tuple[str, ...]) -> None:
            separators = 0
            for entry in entries:
                if entry.separator:
                    separators += 1
                    key: tuple[Any, ...] = (*path, f"--{separators}")
                else:
                    key = (*path, entry.label, entry.command)
                while key in ids:  # two items alike at one level: tell them apart
                    key = (*key, "again")
                item_id = self._ids.get(key)
                if item_id is None:
                    item_id = self._next_id
                    self._next_id += 1
                ids[key] = item_id
                node = MenuNode(item_id, _props(entry), entry.command)
                nodes[item_id] = node
                parent.children.append(node)
                if entry.submenu:
                    add(node, entry.submenu, (*path, entry.label))

        add(root, spec, ())
        self._ids, self.nodes, self.root = ids, nodes, root
        self.revision += 1

    def click(self, item_id: int) -> Command | None:
        """The command a click on ``item_id`` sends now (None: not clickable, or gone)."""
        node = self.nodes.get(item_id)
        if node is None or node.command is None:
            return None
        if not node.props.get("enabled", ("b", True))[1]:
            return None
        return node.command


# -- the tray --------------------------------------------------------------------------------


class SniTray:
    """The ``Tray`` of ``deskbreak.adapters.tray`` as a StatusNotifierItem over jeepney.

    Construction connects to the session bus (raises OSError or similar when there is none);
    ``start`` takes the bus name and registers with the watcher.
    """

    backend = "sni"

    def __init__(
        self,
        on_command: OnCommand,
        model: TrayModel,
        log: logging.Logger,
        icons: Any = None,
        bus: str = "SESSION",
    ) -> None:
        from jeepney.io.blocking import open_dbus_connection

        if icons is None:
            from deskbreak.adapters.icon_cache import TrayIcons

            icons = TrayIcons(log)
        self._icons = icons
        self._on_command = on_command
        self._log = log
        self._lock = threading.RLock()  # the state below, and every send
        self._conn = open_dbus_connection(bus=bus, auth_timeout=CALL_TIMEOUT)
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._status = "Active"
        self._register_serial = -1
        self._attempt = 0
        self._retry: threading.Timer | None = None
        self._warned_send = False
        self._menu = MenuTree()
        self._spec: list[MenuEntry] = []
        self._key: tuple[str, float] | None = None
        self._pixmaps: list[tuple[int, int, bytes]] | None = None
        self._tooltip = ""
        self._set_model(model)

    # -- Tray -------------------------------------------------------------------------------

    def start(self) -> None:
        from jeepney import MatchRule, message_bus

        with self._lock:
            if self._thread is not None or self._stopped:
                return
            rule = MatchRule(
                type="signal",
                sender="org.freedesktop.DBus",
                interface="org.freedesktop.DBus",
                member="NameOwnerChanged",
            )
            rule.add_arg_condition(0, WATCHER)
            self._call(message_bus.AddMatch(rule))
            self._thread = threading.Thread(target=self._serve, name="deskbreak-tray", daemon=True)
            self._thread.start()
        if not self._icons.prepare(self._icons_ready):
            self._log.debug("tray: drawing the icons into the cache")
        self._register()

    def update(self, model: TrayModel) -> None:
        with self._lock:
            if self._stopped:
                return
            old_key, old_tooltip, old_revision = self._key, self._tooltip, self._menu.revision
            self._set_model(model)
            # Each signal makes the host ask for that property again: only what changed.
            if self._key != old_key:
                self._signal(ITEM_PATH, ITEM, "NewIcon")
            if self._tooltip != old_tooltip:
                self._signal(ITEM_PATH, ITEM, "NewToolTip")
            if self._menu.revision != old_revision:
                self._signal(MENU_PATH, MENU, "LayoutUpdated", "ui", (self._menu.revision, 0))

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            if self._retry is not None:
                self._retry.cancel()
            self._status = "Passive"
            with contextlib.suppress(Exception):
                self._signal(ITEM_PATH, ITEM, "NewStatus", "s", ("Passive",))
            with contextlib.suppress(OSError):
                self._conn.sock.shutdown(socket.SHUT_RDWR)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                self._log.warning("tray: its thread did not end within %s s", STOP_TIMEOUT)
        with contextlib.suppress(OSError):
            self._conn.close()

    def lost_features(self) -> list[str]:
        return []

    # -- what is shown ----------------------------------------------------------------------

    def _set_model(self, model: TrayModel) -> None:
        from deskbreak.adapters.icon_cache import key

        picture = key(model.state, model.progress)
        if picture != self._key:
            self._key = picture
            self._pixmaps = None  # read when the host asks for them
        self._tooltip = model.tooltip
        spec = menu_spec(model)
        if spec != self._spec:
            self._spec = spec
            self._menu.build(spec)

    def _icons_ready(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._pixmaps = None
            with contextlib.suppress(OSError):
                self._signal(ITEM_PATH, ITEM, "NewIcon")

    def _item_properties(self) -> Props:
        if self._pixmaps is None and self._key is not None:
            self._pixmaps = self._icons.get(*self._key)
        return {
            "Category": ("s", "ApplicationStatus"),
            "Id": ("s", APP_ID),
            "Title": ("s", APP_NAME),  # names the application; the words are the tooltip's
            "Status": ("s", self._status),
            "WindowId": ("i", 0),
            "IconName": ("s", ""),
            "IconPixmap": ("a(iiay)", self._pixmaps or []),
            "IconThemePath": ("s", ""),
            "ToolTip": ("(sa(iiay)ss)", ("", [], APP_NAME, self._tooltip)),
            "ItemIsMenu": ("b", True),
            "Menu": ("o", MENU_PATH),
        }

    @staticmethod
    def _menu_properties() -> Props:
        return {
            "Version": ("u", 3),
            "TextDirection": ("s", "ltr"),
            "Status": ("s", "normal"),
            "IconThemePath": ("as", []),
        }

    # -- the bus ----------------------------------------------------------------------------

    def _call(self, msg: Any) -> Any:
        """A method call made before the serving thread runs: wait for its reply here."""
        from jeepney.wrappers import unwrap_msg

        return unwrap_msg(self._conn.send_and_get_reply(msg, timeout=CALL_TIMEOUT))

    def _send(self, msg: Any, serial: int | None = None) -> None:
        with self._lock:
            try:
                self._conn.send(msg, serial=serial)
            except OSError:
                if not self._warned_send and not self._stopped:
                    self._warned_send = True
                    self._log.warning("tray: the session bus is gone; the icon cannot change")
                raise

    def _signal(
        self,
        path: str,
        interface: str,
        member: str,
        sig: str | None = None,
        body: tuple[Any, ...] = (),
    ) -> None:
        from jeepney import DBusAddress, new_signal

        with contextlib.suppress(OSError):
            self._send(new_signal(DBusAddress(path, interface=interface), member, sig, body))

    def _register(self) -> None:
        """Ask the watcher to list the item; its answer arrives on the serving thread."""
        from jeepney import DBusAddress, new_method_call

        watcher = DBusAddress(WATCHER_PATH, bus_name=WATCHER, interface=WATCHER)
        msg = new_method_call(watcher, "RegisterStatusNotifierItem", "s", (ITEM_PATH,))
        with self._lock:
            if self._stopped:
                return
            serial = next(self._conn.outgoing_serial)
            self._register_serial = serial
            with contextlib.suppress(OSError):
                self._send(msg, serial=serial)

    def _registered(self, ok: bool, error: str) -> None:
        with self._lock:
            if ok:
                self._attempt = 0
                self._log.debug("tray: registered with the StatusNotifierWatcher")
                return
            if error == "org.freedesktop.DBus.Error.ServiceUnknown":
                # No watcher (no tray host yet): register when one appears.
                self._log.info("tray: no tray host yet; the icon shows when one starts")
                return
            if self._attempt >= len(RETRIES) or self._stopped:
                self._log.warning(
                    "tray: the tray host does not take the icon (%s); it shows when the tray "
                    "host restarts",
                    error,
                )
                return
            delay = RETRIES[self._attempt]
            self._attempt += 1
            self._log.debug("tray: the watcher refused (%s); again in %s s", error, delay)
            self._retry = threading.Timer(delay, self._register)
            self._retry.daemon = True
            self._retry.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType

        while True:
            try:
                msg = self._conn.receive()
            except (OSError, ValueError):
                if not self._stopped:
                    self._log.warning("tray: lost the session bus; no icon from now on")
                return
            header = msg.header
            kind = header.message_type
            try:
                if kind is MessageType.method_call:
                    self._answer(msg)
                elif kind in (MessageType.method_return, MessageType.error):
                    if header.fields.get(HeaderFields.reply_serial) == self._register_serial:
                        error = str(header.fields.get(HeaderFields.error_name, ""))
                        self._registered(kind is MessageType.method_return, error)
                elif kind is MessageType.signal:
                    member = header.fields.get(HeaderFields.member)
                    if member == "NameOwnerChanged" and msg.body[0] == WATCHER and msg.body[2]:
                        self._log.info("tray: a tray host appeared; showing the icon there")
                        with self._lock:
                            self._attempt = 0
                        self._register()
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
        no_reply = bool(msg.header.flags & 1)  # NO_REPLY_EXPECTED: act, do not answer
        with self._lock:
            if interface == PROPERTIES and member in ("Get", "GetAll"):
                reply = self._properties(msg, path, member)
            elif interface == INTROSPECTABLE and member == "Introspect":
                xml = {ITEM_PATH: _ITEM_XML, MENU_PATH: _MENU_XML, "/": _ROOT_XML}.get(
                    path, "<node/>"
                )
                reply = new_method_return(msg, "s", (xml,))
            elif interface == PEER and member == "Ping":
                reply = new_method_return(msg)
            elif path == MENU_PATH and interface in (MENU, None):
                reply = self._menu_call(msg, member)
            elif path == ITEM_PATH and member in (
                "Activate",
                "SecondaryActivate",
                "ContextMenu",
                "Scroll",
            ):
                reply = new_method_return(msg)  # the host shows the menu (ItemIsMenu)
            else:
                text = f"no method {interface}.{member} at {path}"
                reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod", "s", (text,))
            if not no_reply:
                self._send(reply)

    def _properties(self, msg: Any, path: str, member: str) -> Any:
        from jeepney import new_error, new_method_return

        getter: Callable[[], Props] | None = {
            (ITEM_PATH, ITEM): self._item_properties,
            (MENU_PATH, MENU): self._menu_properties,
        }.get((path, msg.body[0]))
        if getter is None:
            return new_error(msg, "org.freedesktop.DBus.Error.UnknownInterface")
        props = getter()
        if member == "GetAll":
            return new_method_return(msg, "a{sv}", (props,))
        if len(msg.body) > 1 and msg.body[1] in props:
            return new_method_return(msg, "v", (props[msg.body[1]],))
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownProperty")

    def _menu_call(self, msg: Any, member: str) -> Any:
        from jeepney import new_error, new_method_return

        body = msg.body
        tree = self._menu
        if member == "GetLayout":
            node = tree.nodes.get(body[0])
            if node is None:
                return new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs")
            depth = body[1] if body[1] >= 0 else 1_000
            return new_method_return(msg, "u(ia{sv}av)", (tree.revision, node.layout(depth)))
        if member == "GetGroupProperties":
            ids = body[0] or list(tree.nodes)
            found = [(i, tree.nodes[i].props) for i in ids if i in tree.nodes]
            return new_method_return(msg, "a(ia{sv})", (found,))
        if member == "GetProperty":
            node = tree.nodes.get(body[0])
            if node is None or body[1] not in node.props:
                return new_error(msg, "org.freedesktop.DBus.Error.InvalidArgs")
            return new_method_return(msg, "v", (node.props[body[1]],))
        if member == "Event":
            self._event(body[0], body[1])
            return new_method_return(msg)
        if member == "EventGroup":
            missing = [i for i, _e, _d, _t in body[0] if i not in tree.nodes]
            for item_id, event, _data, _time in body[0]:
                self._event(item_id, event)
            return new_method_return(msg, "ai", (missing,))
        if member == "AboutToShow":
            return new_method_return(msg, "b", (False,))
        if member == "AboutToShowGroup":
            return new_method_return(msg, "aiai", ([], []))
        return new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")

    def _event(self, item_id: int, event: str) -> None:
        if event != "clicked":
            return
        command = self._menu.click(item_id)
        if command is None:
            self._log.debug("tray: a click on menu item %s, which does nothing now", item_id)
            return
        try:
            self._on_command(*command)  # the daemon only queues it
        except Exception:
            self._log.error("tray: handling %s failed", command, exc_info=True)


def watcher_present(bus: str = "SESSION") -> bool:
    """Whether a StatusNotifierWatcher owns its name on the bus (False if no bus)."""
    try:
        from jeepney import message_bus
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        with open_dbus_connection(bus=bus, auth_timeout=CALL_TIMEOUT) as conn:
            reply = conn.send_and_get_reply(message_bus.NameHasOwner(WATCHER), timeout=2)
            return bool(unwrap_msg(reply)[0])
    except Exception:
        return False

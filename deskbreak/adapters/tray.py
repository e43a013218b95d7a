"""The system-tray icon: a thin wrapper around pystray, with its fake next to it.

How it works:

- The daemon describes what the tray should show in a frozen ``TrayModel``. ``menu_spec``
  turns a model into a plain list of ``MenuEntry`` (labels, enabled, radio, submenus and the
  command each item sends). It is pure, so the menu is tested without a display.
- ``create_tray`` picks the tray. On Linux that is ``deskbreak.adapters.sni.SniTray``, a
  StatusNotifierItem over jeepney without GTK, whenever a StatusNotifierWatcher runs or no
  XEmbed tray does (the item then registers when a tray host starts). Only with an XEmbed
  tray and no watcher, with ``PYSTRAY_BACKEND`` set, or on other systems is it pystray: its
  backend is picked here, and pystray is imported only then (it connects to the display
  when imported). If nothing works it returns a ``NullTray`` and logs why: the reminders
  keep running without an icon.
- ``Tray.start`` runs pystray's loop on its own daemon thread. ``Tray.update`` may be
  called from any thread; it redraws the icon only when the state or the quantised
  progress changed, and rebuilds the menu only when its description changed.
- Menu clicks arrive on the tray thread and call ``on_command(name, arg)`` directly; the
  daemon's ``on_command`` only puts an event on its queue.

Commands: ("now", None), ("accept", None), ("snooze", seconds), ("skip", None),
("pause", seconds), ("pause-tomorrow", None), ("resume", None), ("interval", seconds),
("open-settings", None), ("quit", None).

pystray's backends on Linux, in order of preference:

- "appindicator": a StatusNotifierItem with its menu exported over D-Bus (or an XEmbed icon
  when no StatusNotifier host runs). Clicking the icon opens the menu.
- "gtk": an XEmbed icon with a real menu on right-click; left-click is "Stretch now".
- "xorg": an XEmbed icon without any menu (``lost_features() == ["menu"]``). Left-click is
  the only thing it can do, and it sends "Stretch now": it is harmless in every state (the
  stretch arrives as a notification that can still be snoozed or skipped), while "Done",
  "Skip" or "Resume" would change the user's day without them seeing what they chose.
  pystray 0.19.5 needs two work-arounds there (clicks never arrive; updates from another
  thread can deadlock python-xlib); ``_XorgBridge`` applies them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from deskbreak.icon import draw_icon, progress_steps

Command = tuple[str, int | None]
OnCommand = Callable[[str, int | None], None]

DEFAULT_INTERVALS: tuple[int, ...] = (1200, 1800, 2700, 3600, 5400)
DEFAULT_SNOOZES: tuple[int, ...] = (300, 600, 900)
PAUSES: tuple[int, ...] = (1800, 3600, 7200)

ICON_SIZE = 64
STOP_TIMEOUT = 5.0
BACKENDS = ("sni", "appindicator", "gtk", "xorg")


# -- the model and the menu it describes -----------------------------------------------------


@dataclass(frozen=True)
class TrayModel:
    """Everything the tray shows, as the daemon sees it."""

    state: str  # "waiting" | "due" | "snoozed" | "paused" | "off-duty"
    progress: float  # 0..1 of the interval elapsed
    tooltip: str  # e.g. "Next: Neck flexion in 23 min"; also the icon's title
    header: str  # first menu line, not clickable
    due: bool  # a stretch is showing now: Done / Snooze / Skip are offered
    paused: bool  # "Resume" replaces "Pause"
    interval: int  # seconds; the checked Frequency item
    interval_choices: tuple[int, ...]  # seconds
    snooze_choices: tuple[int, ...]  # seconds
    snooze_enabled: bool = True
    snooze_note: str = ""  # shown, disabled, instead of "Snooze" when snoozing is not allowed
    skip_enabled: bool = True
    skip_note: str = ""
    extra_header: str = ""  # optional second line, not clickable; omitted when empty


@dataclass(frozen=True)
class MenuEntry:
    """One line of the tray menu. A separator has ``separator=True`` and nothing else."""

    label: str = ""
    command: Command | None = None
    enabled: bool = True
    checked: bool | None = None  # None: not a check or radio item
    radio: bool = False
    submenu: tuple[MenuEntry, ...] = field(default=())
    separator: bool = False


SEPARATOR = MenuEntry(separator=True)


def with_choice(defaults: Sequence[int], configured: int) -> tuple[int, ...]:
    """The default choices plus the configured value when it is not one of them, sorted."""
    return tuple(sorted({*defaults, configured}))


def duration_label(seconds: int) -> str:
    """A menu label for a duration: "5 min", "1 hour", "2 hours", "1 h 30 min", "1 min 30 s".

    Exact (never rounded), so two different durations never share a label.
    """
    h, rest = divmod(max(0, int(seconds)), 3600)
    m, s = divmod(rest, 60)
    if not m and not s and h:
        return "1 hour" if h == 1 else f"{h} hours"
    parts = []
    if h:
        parts.append(f"{h} h")
    if m:
        parts.append(f"{m} min")
    if s or not parts:
        parts.append(f"{s} s")
    return " ".join(parts)


def menu_spec(model: TrayModel) -> list[MenuEntry]:
    """The tray menu for ``model``, top to bottom."""
    entries = [MenuEntry(model.header, enabled=False)]
    if model.extra_header:
        entries.append(MenuEntry(model.extra_header, enabled=False))
    entries += [SEPARATOR, MenuEntry("Stretch now", ("now", None))]
    if model.due:
        entries.append(MenuEntry("Done", ("accept", None)))
        if model.snooze_enabled:
            snoozes = tuple(
                MenuEntry(duration_label(secs), ("snooze", secs))
                for secs in sorted(set(model.snooze_choices))
            )
            entries.append(MenuEntry("Snooze", submenu=snoozes))
        else:
            entries.append(MenuEntry(model.snooze_note or "Snooze", enabled=False))
        if model.skip_enabled:
            entries.append(MenuEntry("Skip", ("skip", None)))
        else:
            entries.append(MenuEntry(model.skip_note or "Skip", enabled=False))
    entries.append(SEPARATOR)
    if model.paused:
        entries.append(MenuEntry("Resume", ("resume", None)))
    else:
        pauses = tuple(MenuEntry(duration_label(secs), ("pause", secs)) for secs in PAUSES)
        pauses += (MenuEntry("Until tomorrow", ("pause-tomorrow", None)),)
        entries.append(MenuEntry("Pause", submenu=pauses))
    intervals = tuple(
        MenuEntry(
            f"Every {duration_label(secs)}",
            ("interval", secs),
            checked=secs == model.interval,
            radio=True,
        )
        for secs in with_choice(model.interval_choices, model.interval)
    )
    entries += [
        MenuEntry("Frequency", submenu=intervals),
        SEPARATOR,
        MenuEntry("Open settings file", ("open-settings", None)),
        MenuEntry("Quit", ("quit", None)),
    ]
    return entries


def find_entry(entries: Sequence[MenuEntry], *path: str) -> MenuEntry:
    """The entry reached by following labels, e.g. ``find_entry(spec, "Snooze", "10 min")``."""
    if not path:
        raise ValueError("give at least one label")
    current: Sequence[MenuEntry] = entries
    found: MenuEntry | None = None
    for label in path:
        found = next((e for e in current if not e.separator and e.label == label), None)
        if found is None:
            have = [e.label for e in current if not e.separator]
            raise LookupError(f"no menu item {label!r} (have {have})")
        current = found.submenu
    assert found is not None
    return found


def commands(entries: Sequence[MenuEntry]) -> list[Command]:
    """Every command reachable through enabled items, depth first."""
    out: list[Command] = []
    for e in entries:
        if not e.enabled:
            continue
        if e.command is not None:
            out.append(e.command)
        out += commands(e.submenu)
    return out


# -- the interface, its fakes and the real thing --------------------------------------------


class Tray(Protocol):
    backend: str  # "sni" | "appindicator" | "gtk" | "xorg" | "none" (or "fake")

    def start(self) -> None: ...

    def update(self, model: TrayModel) -> None: ...

    def stop(self) -> None: ...

    def lost_features(self) -> list[str]: ...


class NullTray:
    """No icon at all: what the daemon gets when no tray backend works."""

    backend = "none"

    def __init__(self, reason: str = "") -> None:
        self.reason = reason

    def start(self) -> None:
        pass

    def update(self, model: TrayModel) -> None:
        pass

    def stop(self) -> None:
        pass

    def lost_features(self) -> list[str]:
        return ["icon", "menu"]


class FakeTray:
    """Records what the daemon shows and lets a test click the menu.

    Built like ``create_tray`` so it can stand in for it:
    ``FakeTray(on_command, model, log)``.
    """

    backend = "fake"

    def __init__(
        self,
        on_command: OnCommand,
        model: TrayModel,
        log: logging.Logger | None = None,
        backend: str | None = None,
    ) -> None:
        self._on_command = on_command
        self.models: list[TrayModel] = [model]
        self.started = False
        self.stopped = False
        self.lost: list[str] = []

    @property
    def model(self) -> TrayModel:
        return self.models[-1]

    def menu(self) -> list[MenuEntry]:
        return menu_spec(self.model)

    def start(self) -> None:
        self.started = True

    def update(self, model: TrayModel) -> None:
        self.models.append(model)

    def stop(self) -> None:
        self.stopped = True

    def lost_features(self) -> list[str]:
        return list(self.lost)

    def click(self, name: str, arg: int | None = None) -> None:
        """Send a command the current menu offers; raise LookupError if it offers no such item."""
        if (name, arg) not in commands(self.menu()):
            raise LookupError(f"the tray menu offers no enabled item for {(name, arg)!r} now")
        self._on_command(name, arg)

    def click_label(self, *path: str) -> None:
        """Click by labels, e.g. ``click_label("Snooze", "10 min")``."""
        entry = find_entry(self.menu(), *path)
        if not entry.enabled or entry.command is None:
            raise LookupError(f"menu item {path!r} cannot be clicked")
        self._on_command(*entry.command)


def _available_backends() -> list[str]:
    """Which pystray backends could work here, best first, judged without importing pystray."""
    found: list[str] = []
    try:
        import gi

        repo = gi.Repository.get_default()
        has_gtk = "3.0" in repo.enumerate_versions("Gtk")
        has_indicator = bool(
            repo.enumerate_versions("AyatanaAppIndicator3")
            or repo.enumerate_versions("AppIndicator3")
        )
        if has_gtk and has_indicator:
            found.append("appindicator")
        if has_gtk:
            found.append("gtk")
    except Exception:  # no PyGObject, or no introspection data
        pass
    found.append("xorg")
    return found


def _import_pystray(backend: str | None) -> Any:
    """Import pystray with ``backend`` chosen (None: pystray's own choice)."""
    if "pystray" in sys.modules:
        return sys.modules["pystray"]
    before = os.environ.get("PYSTRAY_BACKEND")
    if backend is not None:
        os.environ["PYSTRAY_BACKEND"] = backend
    try:
        import pystray

        return pystray
    finally:
        if before is None:
            os.environ.pop("PYSTRAY_BACKEND", None)
        else:
            os.environ["PYSTRAY_BACKEND"] = before


def _backend_of(pystray: Any) -> str:
    return str(pystray.Icon.__module__).rsplit(".", 1)[-1].lstrip("_")


def create_tray(
    on_command: OnCommand,
    model: TrayModel,
    log: logging.Logger,
    backend: str | None = None,
) -> Tray:
    """A tray icon showing ``model``, not started yet; a ``NullTray`` if none can be shown.

    ``backend`` forces one of "sni", "appindicator", "gtk", "xorg"; otherwise the environment
    variable PYSTRAY_BACKEND, when set, picks pystray's; otherwise see the module doc.
    """
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"unknown tray backend {backend!r}; expected one of {BACKENDS}")
    linux = sys.platform.startswith("linux")
    failures: list[str] = []
    if backend == "sni" or (
        backend is None and linux and not os.environ.get("PYSTRAY_BACKEND") and _sni_wanted()
    ):
        try:
            from deskbreak.adapters.sni import SniTray

            return SniTray(on_command, model, log)
        except Exception as exc:
            failures.append(f"sni: {type(exc).__name__}: {exc}")
            log.debug("tray backend sni failed", exc_info=True)
            if backend == "sni":
                log.warning("no tray icon can be shown, reminders continue without it (%s)", exc)
                return NullTray(failures[0])

    candidates: list[str | None]
    if not linux:
        candidates = [None]
    elif backend is not None:
        candidates = [backend]
    elif os.environ.get("PYSTRAY_BACKEND"):
        candidates = [None]
    else:
        candidates = list(_available_backends())

    for name in candidates:
        try:
            pystray = _import_pystray(name)
            actual = _backend_of(pystray)
            if name is not None and actual != name:
                log.warning("tray: pystray already uses the %s backend, not %s", actual, name)
            return PystrayTray(pystray, actual, on_command, model, log)
        except Exception as exc:
            failures.append(f"{name or 'default'}: {type(exc).__name__}: {exc}")
            log.debug("tray backend %s failed", name, exc_info=True)
    reason = "; ".join(failures)
    log.warning("no tray icon can be shown, reminders continue without it (%s)", reason)
    return NullTray(reason)


def _sni_wanted() -> bool:
    """Whether the jeepney StatusNotifierItem is the tray to use here: a watcher runs, or no
    XEmbed tray does (then a tray host that starts later is most likely a StatusNotifier one,
    and the item registers with it)."""
    from deskbreak.adapters.sni import watcher_present

    if watcher_present():
        return True
    return not _xembed_tray_present()


def _xembed_tray_present() -> bool:
    """Whether an XEmbed system tray owns ``_NET_SYSTEM_TRAY_Sn`` on the default screen."""
    if not os.environ.get("DISPLAY"):
        return False
    try:
        from Xlib import display as xdisplay

        x = xdisplay.Display()
    except Exception:
        return False
    try:
        screen = x.get_default_screen()
        owner = x.get_selection_owner(x.intern_atom(f"_NET_SYSTEM_TRAY_S{screen}"))
        return bool(int(getattr(owner, "id", owner) or 0))
    except Exception:
        return False
    finally:
        with contextlib.suppress(Exception):
            x.close()


class PystrayTray:
    """The real tray icon. Build it with ``create_tray``."""

    def __init__(
        self,
        pystray: Any,
        backend: str,
        on_command: OnCommand,
        model: TrayModel,
        log: logging.Logger,
    ) -> None:
        self.backend = backend
        self._pystray = pystray
        self._on_command = on_command
        self._log = log
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._failed = False
        self._model = model
        self._icon_key = (model.state, progress_steps(model.progress))
        self._spec = menu_spec(model)
        self._icon = pystray.Icon(
            "deskbreak",
            icon=self._picture(*self._icon_key),
            title=model.tooltip,
            menu=self._build_menu(self._spec),
        )
        self._xorg = _XorgBridge(self._icon, log) if backend == "xorg" else None
        self._sni = _SniRegistration(self._icon, log) if backend == "appindicator" else None

    # -- Tray -------------------------------------------------------------------------------

    def start(self) -> None:
        with self._lock:
            if self._thread is not None or self._stopped:
                return
            self._thread = threading.Thread(target=self._run, name="deskbreak-tray", daemon=True)
            self._thread.start()

    def update(self, model: TrayModel) -> None:
        with self._lock:
            if self._stopped or not self._loop_alive():
                return
            self._model = model
            try:
                key = (model.state, progress_steps(model.progress))
                if key != self._icon_key:
                    self._icon_key = key
                    self._icon.icon = self._picture(*key)
                if model.tooltip != self._icon.title:
                    self._icon.title = model.tooltip
                spec = menu_spec(model)
                if spec != self._spec:
                    self._spec = spec
                    # pystray rebuilds the native menu on its own loop (GLib idle callback
                    # on appindicator and gtk; xorg has no menu, only the default action).
                    self._icon.menu = self._build_menu(spec)
            except Exception:
                self._log.warning("tray: could not update the icon", exc_info=True)

    def stop(self) -> None:
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            thread = self._thread
        if thread is None:
            return
        if not self._ready.wait(STOP_TIMEOUT):
            self._log.warning("tray: the icon never became ready; leaving its thread behind")
            return
        if thread.is_alive():
            try:
                self._icon.visible = False
                self._icon.stop()
            except Exception:
                self._log.warning("tray: could not remove the icon cleanly", exc_info=True)
        if thread is not threading.current_thread():
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                self._log.warning("tray: its thread did not end within %s s", STOP_TIMEOUT)
        if self._xorg is not None:
            self._xorg.close()

    def lost_features(self) -> list[str]:
        return [] if self._icon.HAS_MENU else ["menu"]

    # -- inside -----------------------------------------------------------------------------

    def _loop_alive(self) -> bool:
        # Before start() the icon only stores changes; after its loop died, pystray's xorg
        # backend would wait for it, so nothing is sent.
        return self._thread is None or self._thread.is_alive()

    def _picture(self, state: str, progress: float) -> Any:
        image = draw_icon(state, progress, ICON_SIZE)
        if self.backend == "xorg":
            # pystray's xorg backend drops the alpha channel after scaling, which leaves
            # coloured specks where the icon is transparent; give it the icon on black,
            # the background it paints anyway.
            from PIL import Image

            black = Image.new("RGBA", image.size, (0, 0, 0, 255))
            image = Image.alpha_composite(black, image).convert("RGB")
        return image

    def _run(self) -> None:
        if self._xorg is not None:
            self._xorg.loop_runs_here()
        try:
            self._icon.run(setup=self._setup)
        except Exception:
            if self._stopped:
                # pystray's clean-up after the loop ended, e.g. closing a notification it
                # never showed when no notification server runs: nothing the user sees.
                self._log.debug("tray: pystray's clean-up failed", exc_info=True)
            else:
                self._log.error("tray: the icon's loop failed; no icon from now on", exc_info=True)
        finally:
            if self.backend in ("gtk", "appindicator"):
                self._flush_gdk()
            if not self._ready.is_set():
                # The loop failed before it was ready: pystray's setup thread (not a daemon
                # thread) still waits for that signal and would keep the process alive.
                self._failed = True
                with contextlib.suppress(Exception):
                    self._icon._Icon__queue.put(False)
                self._ready.set()

    def _setup(self, icon: Any) -> None:
        if self._failed:
            return
        try:
            icon.visible = True
            if self._sni is not None:
                self._sni.start()
        except Exception:
            self._log.error("tray: could not show the icon", exc_info=True)
        finally:
            self._ready.set()

    def _flush_gdk(self) -> None:
        # The loop has ended, so GDK will not send its last requests (hiding an XEmbed icon)
        # by itself; without this a hidden icon stays on the panel until the process exits.
        try:
            import gi

            gi.require_version("Gdk", "3.0")
            from gi.repository import Gdk

            display = Gdk.Display.get_default()
            if display is not None:
                display.flush()
        except Exception:
            self._log.debug("tray: could not flush the display", exc_info=True)

    def _build_menu(self, spec: Sequence[MenuEntry]) -> Any:
        pystray = self._pystray
        items: list[Any] = []
        for entry in spec:
            if entry.separator:
                items.append(pystray.Menu.SEPARATOR)
            elif entry.submenu:
                items.append(
                    pystray.MenuItem(
                        entry.label, self._build_menu(entry.submenu), enabled=entry.enabled
                    )
                )
            else:
                items.append(
                    pystray.MenuItem(
                        entry.label,
                        self._action(entry.command),
                        checked=_constant(entry.checked) if entry.checked is not None else None,
                        radio=entry.radio,
                        enabled=entry.enabled,
                        # Left-click on backends that have one (gtk, xorg); see the module doc.
                        default=self.backend != "appindicator" and entry.command == ("now", None),
                    )
                )
        return pystray.Menu(*items)

    def _action(self, command: Command | None) -> Callable[[Any, Any], None] | None:
        if command is None:
            return None
        name, arg = command
        log = self._log

        def act(icon: Any, item: Any) -> None:
            try:
                self._on_command(name, arg)
            except Exception:
                log.error("tray: handling %s failed", command, exc_info=True)

        return act


def _constant(value: bool) -> Callable[[Any], bool]:
    return lambda _item: value


class _SniRegistration:
    """Makes sure the appindicator item registers with a StatusNotifierWatcher that appears.

    libayatana-appindicator registers its item the moment the watcher's bus name appears,
    and does not retry when that call fails. A watcher may own its name a moment before it
    serves its object (status-notifier-watcher does); the call then fails with
    UnknownObject and the icon stays missing until the menu next changes, which can be a
    whole interval later. So, each time a watcher appears, check (a few times, waiting
    longer each time) that the watcher lists the item, and if not, register it again by
    handing the indicator its menu (``app_indicator_set_menu`` registers the item).

    Runs on pystray's GLib loop; ``start`` may be called from any thread.
    """

    WATCHER = "org.kde.StatusNotifierWatcher"
    WATCHER_PATH = "/StatusNotifierWatcher"
    CHECKS_MS = (250, 500, 1000, 2000, 4000)

    def __init__(self, icon: Any, log: logging.Logger) -> None:
        self._icon = icon
        self._log = log
        self._watch = 0
        self._generation = 0  # bumped when a watcher appears; stale checks stop

    def start(self) -> None:
        from gi.repository import GLib

        GLib.idle_add(self._watch_watcher)

    def _watch_watcher(self) -> bool:
        from gi.repository import Gio

        self._watch = Gio.bus_watch_name(
            Gio.BusType.SESSION,
            self.WATCHER,
            Gio.BusNameWatcherFlags.NONE,
            self._appeared,
            None,
        )
        return False  # run once

    def _appeared(self, conn: Any, name: str, owner: str) -> None:
        self._generation += 1
        self._schedule(conn, self._generation, 0)

    def _schedule(self, conn: Any, generation: int, attempt: int) -> None:
        from gi.repository import GLib

        def check() -> bool:
            if generation == self._generation:
                self._check(conn, generation, attempt)
            return False

        GLib.timeout_add(self.CHECKS_MS[attempt], check)

    def _check(self, conn: Any, generation: int, attempt: int) -> None:
        from gi.repository import Gio, GLib

        def answered(source: Any, result: Any) -> None:
            try:
                items = source.call_finish(result).unpack()[0]
            except Exception as exc:  # the watcher is not serving (yet)
                self._log.debug("tray: the StatusNotifierWatcher did not answer: %s", exc)
                items = []
            if generation != self._generation:
                return
            me = conn.get_unique_name() or ""
            if any(item == me or item.startswith(me + "/") for item in items):
                return
            if attempt + 1 >= len(self.CHECKS_MS):
                self._log.warning(
                    "tray: the tray host does not list the icon; it may not be shown until "
                    "the tray host restarts"
                )
                return
            self._log.debug("tray: the icon is not registered with the tray host; registering")
            try:
                # The same menu: nothing changes for the user (same dbusmenu item ids).
                indicator = self._icon._appindicator
                indicator.set_menu(self._icon._menu_handle or indicator.get_menu())
            except Exception:
                self._log.warning("tray: could not register the icon again", exc_info=True)
                return
            self._schedule(conn, generation, attempt + 1)

        conn.call(
            self.WATCHER,
            self.WATCHER_PATH,
            "org.freedesktop.DBus.Properties",
            "Get",
            GLib.Variant("(ss)", (self.WATCHER, "RegisteredStatusNotifierItems")),
            GLib.VariantType("(v)"),
            Gio.DBusCallFlags.NONE,
            2000,
            None,
            answered,
        )


class _XorgBridge:
    """Work-arounds for pystray's xorg backend (0.19.5), which uses its X connection from
    several threads.

    - Its icon window does not select button presses, so the left-click never arrives:
      add ButtonPressMask to the window's event mask.
    - Changes from other threads (icon, title, show, hide, stop) reach its loop as X client
      messages sent over that same connection, and python-xlib can then deadlock: the
      loop waits forever for a reply (seen within the first few hundred updates). Here those
      messages go over a second, private connection instead, so only the loop's thread ever
      uses pystray's connection, and a caller waits at most ``CALL_TIMEOUT`` seconds.
    - It sends the tray a new dock request at every show and icon change, and a tray can
      lose an icon it is asked to dock twice: ask each tray once (``_dock_once``).

    It relies on pystray's private names (``_window``, ``_display``, ``_queue``,
    ``_dock_window``, ``_systray_manager``, the ``_PYSTRAY_<METHOD>`` atoms); if those are
    missing, construction fails and ``create_tray`` falls back to the next backend or to
    no icon.
    """

    CALLS = ("_show", "_hide", "_update_icon", "_update_title", "_stop")
    CALL_TIMEOUT = 5.0

    def __init__(self, icon: Any, log: logging.Logger) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._icon = icon
        self._log = log
        self._lock = threading.Lock()
        self._loop_thread: threading.Thread | None = None
        self._broken = False
        icon._window.change_attributes(
            event_mask=X.ExposureMask | X.StructureNotifyMask | X.ButtonPressMask
        )
        icon._display.flush()
        self._conn = xdisplay.Display()
        self._window = self._conn.create_resource_object("window", icon._window.id)
        for name in self.CALLS:
            original = getattr(type(icon), name).__get__(icon)
            atom = self._conn.intern_atom(f"_PYSTRAY_{name.upper()}")
            setattr(icon, name, self._dispatcher(name, original, atom))
        icon._dock_window = self._dock_once(type(icon)._dock_window.__get__(icon))

    def _dock_once(self, original: Callable[[], None]) -> Callable[[], None]:
        """pystray asks the tray to dock the icon again on every show and every icon change.

        A tray that gets a second request for an icon it is still embedding can lose it:
        trayer then left the icon as a 1x1 window on the root, in about one start in six
        (showing sends two requests at once). Ask once per tray; pystray forgets the tray
        when it goes away (and when the icon is hidden), and then asks the new one.
        """
        icon = self._icon

        def dock() -> None:
            manager = icon._systray_manager
            if manager is not None:
                owner = icon._display.get_selection_owner(icon._net_system_tray_sx)
                if getattr(owner, "id", owner) == manager.id:
                    return  # already asked this tray
            original()

        return dock

    def loop_runs_here(self) -> None:
        """Called on the thread that is about to run pystray's loop."""
        self._loop_thread = threading.current_thread()
        # pystray sets this only after letting its setup thread run, which needs it.
        self._icon._thread = self._loop_thread

    def close(self) -> None:
        with self._lock:
            self._broken = True
            with contextlib.suppress(Exception):
                self._conn.close()

    def _dispatcher(self, name: str, original: Callable[[], None], atom: int) -> Callable[[], None]:
        def call() -> None:
            if threading.current_thread() is self._loop_thread:
                original()
                return
            with self._lock:
                if self._broken:
                    raise RuntimeError(f"the tray icon's loop no longer answers ({name})")
                self._send(atom)
                try:
                    result = self._icon._queue.get(timeout=self.CALL_TIMEOUT)
                except queue.Empty:
                    self._broken = True
                    raise TimeoutError(
                        f"the tray icon's loop did not answer {name} within {self.CALL_TIMEOUT} s"
                    ) from None
            if result is not True:
                raise result[1]

        return call

    def _send(self, atom: int) -> None:
        from Xlib import X
        from Xlib.protocol import event

        message = event.ClientMessage(
            window=self._window, client_type=atom, data=(32, [X.CurrentTime, 0, 0, 0, 0])
        )
        self._window.send_event(message, event_mask=X.NoEventMask)
        self._conn.flush()

"""The composition root: wires the adapters to the break cycle and runs it.

One thread owns the core. Everything else (the tray's menu callbacks, the notification
server's button presses, the timer, signals, the settings-file watcher, requests on the
control socket) only puts an item on ``self._queue``; the owning thread (the one that called
``run()``) takes items off one at a time, hands events to the core with the time read here,
and carries out the actions the core returns. A control request carries a Future: the
socket's thread waits on it for the answer the owning thread gives.

``run()`` first takes the single-instance lock and opens the control socket, so a second
daemon stops before it shows anything.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import os
import queue
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskbreak import __version__
from deskbreak import cycle as c
from deskbreak import protocol as p
from deskbreak.clock import Clock, DriftGuard, SystemClock
from deskbreak.durations import format_duration
from deskbreak.errors import IllegalEvent, SettingsError
from deskbreak.exercises import SAFETY_NOTE
from deskbreak.settings import Settings
from deskbreak.views import next_refresh, reminder_text, status_summary, tray_model
from deskbreak.wallclock import next_clock_time, parse_clock, start_of_tomorrow

log = logging.getLogger("deskbreak")

ACTIONS = (("done", "Done"), ("snooze", "Snooze"), ("skip", "Skip"))
START = ("start", "Start")
# The guard that notices a suspend or a clock change looks at most this often.
DRIFT_CHECK = 60.0
DRIFT_TOLERANCE = 5.0
# While a reminder is held for do-not-disturb, look again this often (the sources also call).
DND_RECHECK = 30.0
# How long a control request may wait for the owning thread (the client waits a little longer).
REQUEST_TIMEOUT = 4.0


@dataclass(frozen=True)
class _Command:
    name: str
    arg: int | None = None


@dataclass(frozen=True)
class _Stop:
    reason: str


@dataclass(frozen=True)
class _Request:
    """A control-socket request; the answer (or a ProtocolError) goes into ``reply``."""

    cmd: str
    args: Mapping[str, Any]
    reply: Future[Any]


@dataclass(frozen=True)
class _Reload:
    """Re-read the settings file."""

    reason: str


@dataclass(frozen=True)
class _GuideOutcome:
    """The guided window closed with this outcome (see deskbreak.guide)."""

    outcome: Mapping[str, Any]


@dataclass(frozen=True)
class _Woke:
    """The machine woke from a suspend (logind said so)."""


@dataclass(frozen=True)
class _DndChanged:
    """A do-not-disturb source changed: the reason to hold reminders, or None."""

    reason: str | None


@dataclass(frozen=True)
class Redraw:
    """The tray's words are due to change ("in 5 min" becomes "in 4 min")."""


_Item = (
    c.Event | _Command | _Stop | _Request | _Reload | _GuideOutcome | _Woke | _DndChanged | Redraw
)


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _plain(value: Any) -> Any:
    """A value of the core's Status as JSON data."""
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


class Daemon:
    def __init__(
        self,
        config_path: Path,
        settings: Settings,
        *,
        clock: Clock | None = None,
        make_tray: Callable[..., Any] | None = None,
        make_notifier: Callable[..., Any] | None = None,
        make_timer: Callable[..., Any] | None = None,
        terminal: bool | None = None,
        state_dir: Path | None = None,
        runtime_dir: Path | None = None,
        make_history: Callable[..., Any] | None = None,
        make_guide: Callable[..., Any] | None = None,
        make_dnd: Callable[..., Any] | None = None,
        make_idle: Callable[..., Any] | None = None,
        make_session: Callable[..., Any] | None = None,
    ) -> None:
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self.terminal = (not has_display()) if terminal is None else terminal
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._make_tray = make_tray
        self._make_notifier = make_notifier
        self._make_timer = make_timer
        self._state_dir = state_dir
        self._make_history = make_history
        self._make_guide = make_guide
        self._make_dnd = make_dnd
        self._make_idle = make_idle
        self._make_session = make_session
        self.core = c.BreakCycle(settings, self.clock.wall())
        self.history: Any = None
        self.guide: Any = None
        self.dnd: Any = None
        self.idle: Any = None
        self.session: Any = None
        self._icon = ""
        self._last_notify: c.Notify | None = None
        self.tray: Any = None
        self.notifier: Any = None
        self.timer: Any = None
        self._tray_module: Any = None
        self._drift = DriftGuard(self.clock.wall(), self.clock.monotonic())
        self._last_drift_check = self.clock.monotonic()
        self._core_deadline: float | None = None
        self._refresh_mono: float | None = None  # when the tray's words next change
        self.exit_code = 0
        self._stopping = False
        # Control: the socket, the single-instance lock, the settings watcher, live reload.
        self._runtime_dir = runtime_dir
        self._server: Any = None
        self._instance: Any = None
        self._watcher: Any = None
        self.settings_error: SettingsError | None = None  # the file is invalid; last good runs
        self._error_on_screen = False  # the settings-error notice is the one showing
        self._deferred_error: SettingsError | None = None  # told once the reminder is answered
        self._persist_error: str | None = None
        self._seq = 0  # events published so far
        self._last_status_key: tuple[Any, ...] | None = None

    # ------------------------------------------------------------ entry points for adapters

    def post(self, item: _Item) -> None:
        """Thread-safe (and safe from a signal handler): hand an item to the owning thread."""
        self._queue.put(item)

    def on_tray_command(self, name: str, arg: int | None) -> None:
        self.post(_Command(name, arg))

    def on_notification_action(self, key: str) -> None:
        self.post(_Command({"done": "accept"}.get(key, key)))

    def on_notification_closed(self, reason: str) -> None:
        # Expiry is the server's business (some expire after a few seconds); the core's
        # missed rule decides. A user closing it on purpose is an answer: missed. Closing
        # the settings-error notice answers nothing.
        if reason == "dismissed" and not self._error_on_screen:
            self.post(c.Dismissed(reason))

    def on_control_request(self, request: p.Request) -> Any:
        """On a control-socket thread: have the owning thread answer, and wait for it."""
        reply: Future[Any] = Future()
        self.post(_Request(request.cmd, dict(request.args), reply))
        try:
            return reply.result(timeout=REQUEST_TIMEOUT)
        except FutureTimeout:
            reply.cancel()
            raise p.ProtocolError(
                p.E_BUSY, "deskbreak is busy and did not get to the request in time; try again"
            ) from None

    def stop(self, reason: str = "quit") -> None:
        self.post(_Stop(reason))

    # ------------------------------------------------------------ life cycle

    def start_adapters(self) -> None:
        self._start_history()
        settings = self.core.settings
        status = self.core.status(self.clock.wall())
        if self.terminal:
            from deskbreak.adapters.terminal import TerminalUI

            ui = TerminalUI(self.on_tray_command, log)
            self.notifier = ui
            self.tray = ui
            ui.start()
            log.info(
                "no graphical session (no DISPLAY or WAYLAND_DISPLAY): reminders go to the terminal"
            )
        else:
            from deskbreak.adapters import tray as tray_module

            self._tray_module = tray_module
            make_tray = self._make_tray or tray_module.create_tray
            self.tray = make_tray(
                self.on_tray_command, tray_model(status, settings, tray_module), log
            )
            self.tray.start()
            lost = self.tray.lost_features()
            if lost:
                log.warning(
                    "tray backend %r: no %s; use the notification buttons or the deskbreak "
                    "command instead (install AppIndicator support for the full menu)",
                    self.tray.backend,
                    ", ".join(lost),
                )
            if self._make_notifier is not None:
                self.notifier = self._make_notifier(
                    self.on_notification_action, self.on_notification_closed, log
                )
            else:
                from deskbreak.adapters.notifier import create_notifier

                self.notifier = create_notifier(
                    self.on_notification_action, self.on_notification_closed, log
                )
        if not self.terminal:
            self._start_desktop_extras()
        if self._make_timer is not None:
            self.timer = self._make_timer(lambda: self.post(c.Tick()))
        else:
            from deskbreak.adapters.timer import SchedulerTimer

            self.timer = SchedulerTimer(lambda: self.post(c.Tick()), log, tolerance=DRIFT_TOLERANCE)
        self.timer.start()

    def stop_adapters(self) -> None:
        for name in ("guide", "notifier", "tray", "timer", "idle", "session", "dnd", "history"):
            adapter = getattr(self, name)
            if adapter is None:
                continue
            try:
                if name == "notifier":
                    adapter.close()
                stop = getattr(adapter, "stop", None) or adapter.close
                stop()
            except Exception:  # a broken adapter must not block a clean exit
                log.exception("stopping the %s failed", name)

    def _start_history(self) -> None:
        """Open the history and seed the core with it: reminder ids, today's counts."""
        settings = self.core.settings
        if not settings.history.enabled:
            log.info("history is off ([history] enabled = false)")
            return
        try:
            self.history = self._open_history()
            now = self.clock.wall()
            today = self.history.today(now)
            self.core = c.BreakCycle(
                settings,
                now,
                first_id=self.history.next_reminder_id(),
                done_today=today.done,
                skips_today=today.skipped,
                last_exercise=self._last_shown(now),
            )
        except Exception as e:  # the history must never stop reminders
            log.warning("could not open the history; breaks are not recorded this time: %s", e)
            self.history = None

    def _open_history(self) -> Any:
        if self._make_history is not None:
            return self._make_history(log)
        from deskbreak.adapters import history

        return history.History.open(history.default_path(), log)

    def _apply_history(self, old: Settings, new: Settings) -> None:
        """``history.enabled`` changed in the settings file: stop or start recording now.

        Turned on, the history is opened (and anything wrong with it told); today's counts
        already kept by this run stay as they are."""
        if new.history.enabled == old.history.enabled:
            return
        if not new.history.enabled:
            if self.history is not None:
                self.history.close()
                self.history = None
            log.info("history is off ([history] enabled = false): breaks are not recorded")
            return
        if self.history is None:
            self.history = self._open_history()
            log.info("history is on: breaks are recorded")
            notice = getattr(self.history, "notice", None)
            if notice:
                self._tell("deskbreak: history", notice)

    def _last_shown(self, now: float) -> str | None:
        """The last single stretch shown in the past week, so the rotation carries on."""
        try:
            rows = self.history.rows(now - 7 * 86400, now + 1, kinds=("shown",))
        except Exception:
            return None
        singles = [r.exercise for r in rows if r.routine is None and r.exercise]
        return singles[-1] if singles else None

    def _start_desktop_extras(self) -> None:
        """The guided window, idle and lock detection, do-not-disturb, the app icon."""
        settings = self.core.settings
        self._safely("find deskbreak's icon", self._find_icon)
        if settings.reminders.guide == "window":
            self._safely("prepare the guided window", self._start_guide)
        self._safely("watch suspend and lock", self._start_session)
        if settings.away.idle:
            self._safely("start idle detection", self._start_idle)
        self._safely("start do-not-disturb detection", self._start_dnd)

    def _find_icon(self) -> None:
        from deskbreak.adapters import desktop_files

        # deskbreak's own tray leaves Pillow out of the daemon: the icon cache's drawing
        # process draws this PNG at a first start, and ``_app_icon`` finds it then.
        draw = getattr(self.tray, "backend", "") != "sni"
        self._icon = desktop_files.notification_icon(draw=draw)

    def _app_icon(self) -> str:
        """The notifications' icon: found at start, or once it has been drawn."""
        if not self._icon and not self.terminal:
            with contextlib.suppress(Exception):
                from deskbreak.adapters import desktop_files

                self._icon = desktop_files.notification_icon(draw=False)
        return self._icon

    def _start_guide(self) -> None:
        def on_outcome(outcome: Mapping[str, Any]) -> None:
            self.post(_GuideOutcome(dict(outcome)))

        if self._make_guide is not None:
            self.guide = self._make_guide(lambda _i: None, on_outcome, log)
        else:
            from deskbreak.adapters.guide_window import GuideWindow

            self.guide = GuideWindow(lambda _i: None, on_outcome, log)

    def _start_session(self) -> None:
        def on_unlock() -> None:
            self.post(c.AwayEnded())

        make = self._make_session
        if make is None:
            from deskbreak.adapters.session import SessionWatcher

            make = SessionWatcher
        self.session = make(
            on_sleep=lambda: log.info("the machine is going to sleep"),
            on_wake=lambda: self.post(_Woke()),
            on_lock=lambda: self.post(c.AwayStarted("lock")),
            on_unlock=on_unlock,
            log=log,
        )
        self.session.start()

    def _start_idle(self) -> None:
        def left(idle_for: float) -> None:
            self.post(c.AwayStarted("idle", since=self.clock.wall() - idle_for))

        def back(_away: float) -> None:
            if getattr(self.session, "locked", False):
                return  # typing the password at the lock screen: the unlock says they're back
            self.post(c.AwayEnded())

        threshold = self.core.settings.away.natural_break
        if self._make_idle is not None:
            self.idle = self._make_idle(threshold, left, back, log)
        else:
            from deskbreak.adapters.idle import IdleWatcher, create_idle_monitor

            monitor = create_idle_monitor(log)
            if not monitor.available():
                log.info("idle detection is off: %s", getattr(monitor, "reason", "unavailable"))
                return
            self.idle = IdleWatcher(monitor, threshold, left, back, log)
        self.idle.start()

    def _start_dnd(self) -> None:
        dnd = self.core.settings.dnd

        def changed(reason: str | None) -> None:
            self.post(_DndChanged(reason))

        if self._make_dnd is not None:
            self.dnd = self._make_dnd(changed)
            return
        from deskbreak.adapters.dnd import create_dnd_monitor

        self.dnd = create_dnd_monitor(
            log,
            changed,
            fullscreen=dnd.fullscreen,
            inhibited=dnd.inhibited,
            gnome_banners=dnd.gnome_banners,
        )

    def start_control(self) -> None:
        """Take the single-instance lock (AlreadyRunning if taken) and open the socket."""
        from deskbreak.adapters import instance, ipc

        directory = self._runtime_dir or instance.runtime_dir()
        self._instance = instance.InstanceLock(directory)
        self._instance.acquire()
        try:
            self._server = ipc.ControlServer(self.on_control_request, log, directory=directory)
            self._server.start()
        except BaseException:
            self._instance.release()
            self._instance = None
            self._server = None
            raise

    def stop_control(self) -> None:
        """Close the socket, give the lock up, then let go of the ``quit`` caller."""
        if self._watcher is not None:
            self._safely("stop watching the settings file", self._watcher.stop)
            self._watcher = None
        self._fail_pending_requests()
        if self._server is not None:
            self._publish({"event": "stopped"})
            self._server.stop_listening()
        if self._instance is not None:
            self._instance.release()
            self._instance = None
        if self._server is not None:
            self._server.close()
            self._server = None

    def _start_watching(self) -> None:
        from deskbreak.adapters import watch

        self._watcher = watch.start(
            self.config_path, lambda: self.post(_Reload("the settings file changed")), log
        )

    def run(self) -> int:
        """Run until quit or a signal. Returns the exit code."""
        self.start_control()
        try:
            return self._run()
        finally:
            self.stop_control()

    def _run(self) -> int:
        self._install_signal_handlers()
        self.start_adapters()
        self._safely("watch the settings file", self._start_watching)
        settings = self.core.settings
        log.info(
            "deskbreak started: every %s, snooze %s, rotation %s, settings %s",
            format_duration(settings.reminders.interval),
            format_duration(settings.reminders.snooze),
            ", ".join(settings.reminders.exercises),
            self.config_path,
        )
        self.dispatch(c.Start())
        notice = getattr(self.history, "notice", None)
        if notice:
            self._tell("deskbreak: history", notice)
        try:
            while not self._stopping:
                self.step(self._next_item())
        finally:
            self.stop_adapters()
            log.info("deskbreak stopped")
        return self.exit_code

    def _next_item(self) -> _Item:
        """The next queued item; or, when the tray's words are due to change first, a Redraw.

        The owning thread waits for that moment itself: a redraw is then one wake-up of one
        thread (the timer's thread is for the core's moments)."""
        wait = self.redraw_in()
        if wait is None:
            return self._queue.get()
        try:
            return self._queue.get(timeout=max(0.0, wait))
        except queue.Empty:
            return Redraw()

    def redraw_in(self) -> float | None:
        """Seconds until the tray's words change, or None when nothing needs redrawing."""
        if self._refresh_mono is None:
            return None
        return self._refresh_mono - self.clock.monotonic()

    def step(self, item: _Item) -> None:
        """Handle one queued item. Never raises: the daemon survives whatever comes in."""
        try:
            if isinstance(item, _Stop):
                log.info("stopping: %s", item.reason)
                self._stopping = True
                return
            # Before anything sees the time: a jump of the wall clock since the last item is
            # a suspend or a clock change, and the core must hear of it first (a settings
            # reload or a click right after a resume must not take the sleep for waiting).
            self._check_drift()
            if isinstance(item, _Command):
                self._command(item)
            elif isinstance(item, _Request):
                self._answer(item)
            elif isinstance(item, _Reload):
                self._reload_quietly(item.reason)
            elif isinstance(item, _GuideOutcome):
                self._guide_outcome(item.outcome)
            elif isinstance(item, _Woke):
                log.info("the machine woke up")
                if self.timer is not None:
                    self.timer.wakeup()
            elif isinstance(item, _DndChanged):
                self._dnd_changed(item.reason)
            elif isinstance(item, Redraw):
                wait = self.redraw_in()
                if wait is not None and wait <= 0:
                    self._refresh(self.clock.wall())
            elif isinstance(item, c.AwayStarted) and self._following_guide(item):
                log.info("no input while the guided window is followed: not away")
            else:
                if isinstance(item, c.Tick):
                    self._check_dnd()
                    if not self._tick_wanted():
                        # Only a look at the clocks (done above): nothing for the core or
                        # the tray yet, so wake nothing else.
                        self._arm(self.core.status(self.clock.wall()))
                        return
                self.dispatch(item)
        except Exception:
            log.exception("could not handle %r", item)

    def run_pending(self) -> None:
        """Handle everything queued so far (tests drive the daemon with this)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            self.step(item)

    # ------------------------------------------------------------ core driving

    def dispatch(self, event: c.Event, *, strict: bool = False) -> list[c.Action]:
        """Hand ``event`` to the core and carry out its actions. An illegal event is logged
        and ignored, or (``strict``, for a control request) raised after that."""
        now = self.clock.wall()
        try:
            actions = self.core.handle(event, now)
        except IllegalEvent as e:
            log.info("ignored %s: %s", type(event).__name__, e)
            self._refresh(now)
            if strict:
                raise
            return []
        for action in actions:
            self._carry_out(action, now)
        return actions

    def _carry_out(self, action: c.Action, now: float) -> None:
        if isinstance(action, c.Notify):
            self._notify(action)
            self._publish(
                {
                    "event": "reminder",
                    "reminder": action.reminder.id,
                    "exercise": action.exercise.id,
                    "name": action.exercise.name,
                }
            )
        elif isinstance(action, c.CloseNotification):
            self._safely("close the notification", self.notifier.close)
            if self.guide is not None:
                self._safely("close the guided window", self.guide.close)
        elif isinstance(action, c.ArmTimer):
            self._core_deadline = action.at
        elif isinstance(action, c.ShowStatus):
            self._show_status(action.status)
        elif isinstance(action, c.Record):
            self._record(action)
        elif isinstance(action, c.PersistSetting):
            self._persist(action)

    def _arm(self, status: c.Status) -> None:
        # While the user is away nobody reads the tray: its words wait for their return.
        # The owning thread waits for them (_next_item); the timer for the core's moments.
        refresh_at = None if status.away else next_refresh(status)
        self._refresh_mono = None
        if refresh_at is not None and self.tray is not None and not self.terminal:
            self._refresh_mono = self.clock.monotonic() + (refresh_at - status.now)
        candidates = [] if self._core_deadline is None else [self._core_deadline]
        if self.dnd is not None and status.held:
            candidates.append(status.now + DND_RECHECK)
        # Without logind's word on suspend, look at the clocks at least once a minute: the
        # timer waits on the monotonic clock, which stands still while the machine sleeps.
        look = None if self._hears_sleep() else status.now + DRIFT_CHECK
        self.timer.arm(min(candidates) if candidates else None, look)

    def _tick_wanted(self) -> bool:
        """Whether a timer tick is due for the core (not just a look at the clocks)."""
        return self._core_deadline is not None and self.clock.wall() >= self._core_deadline

    def _hears_sleep(self) -> bool:
        watching = getattr(self.session, "watching", None) or []
        return any(w.startswith("suspend") for w in watching)

    def _show_status(self, status: c.Status) -> None:
        self._publish_status(status)
        if self._deferred_error is not None and status.state != "due":
            error, self._deferred_error = self._deferred_error, None
            self._show_error_notice(error)
        if self.timer is not None:
            self._arm(status)
        if self.tray is None:
            return
        if self.terminal:
            self.tray.update_status(status)
            return
        model = tray_model(status, self.core.settings, self._tray_module)
        self._safely("update the tray", lambda: self.tray.update(model))

    def _refresh(self, now: float) -> None:
        self._show_status(self.core.status(now))

    def _notify(self, action: c.Notify) -> None:
        title, body = reminder_text(action)
        note = SAFETY_NOTE if self._first_notification() else ""
        if note:
            body = f"{body}\n\n{note}"
        if self.terminal:
            self.notifier.show_reminder(action, note)
            return
        from deskbreak.adapters.notifier import Notice

        actions: tuple[tuple[str, str], ...] = ()
        if getattr(self.notifier, "supports_actions", False):
            actions = ACTIONS
            if self._guide_ready():
                actions = (START, *ACTIONS)
        notice = Notice(
            title=title, body=body, actions=actions, timeout=action.timeout, icon=self._app_icon()
        )
        self._last_notify = action
        log.info("reminder %d: %s", action.reminder.id, title)
        self._error_on_screen = False
        self._safely("show the notification", lambda: self.notifier.show(notice))

    def _record(self, record: c.Record) -> None:
        ex = record.reminder.exercise if record.reminder else "-"
        log.info("%s: %s %s", record.kind, ex, record.detail)
        if self.history is not None:
            detail = record.detail
            if record.completed and record.reminder and record.reminder.routine:
                detail = ",".join(record.completed)  # a routine: the exercises done
            self.history.record(record.kind, record.at, record.reminder, detail)
        reminder = record.reminder
        self._publish(
            {
                "event": "record",
                "kind": record.kind,
                "reminder": reminder.id if reminder else None,
                "exercise": reminder.exercise if reminder else None,
                "name": self._exercise_name(reminder.exercise) if reminder else None,
                "detail": record.detail,
            }
        )

    def _exercise_name(self, exercise_id: str) -> str:
        try:
            return self.core.exercise(exercise_id).name
        except KeyError:
            return exercise_id

    def _persist(self, action: c.PersistSetting) -> None:
        from deskbreak.adapters import settings_file

        try:
            settings_file.set_value(self.config_path, action.key, action.value)
            log.info("saved %s = %s in %s", action.key, action.value, self.config_path)
        except (SettingsError, OSError) as e:
            log.warning("could not save %s in the settings file: %s", action.key, e)
            self._persist_error = f"could not save {action.key} in the settings file: {e}"

    def _first_notification(self) -> bool:
        """True once per install: the first reminder carries the safety advice."""
        from deskbreak.adapters import paths

        marker = (self._state_dir or paths.state_dir()) / "welcomed"
        if marker.exists():
            return False
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text("The first reminder carried the safety advice.\n")
        except OSError as e:
            log.warning("could not write %s: %s", marker, e)
        return True

    def _check_drift(self) -> None:
        """Notice a suspend (or a clock step) by comparing wall and monotonic time.

        Forward, the wall clock moved while the monotonic one did not: the machine slept (a
        clock set forward looks the same, and is taken as time away too). Back: the clock
        was set back; the interval keeps its real length (ClockChanged)."""
        gap = self._drift.check(self.clock.wall(), self.clock.monotonic())
        if gap > DRIFT_TOLERANCE:
            log.info("the wall clock moved %.0f s more than the monotonic clock", gap)
            self.dispatch(c.Away(gap, "suspend"))
        elif gap < -DRIFT_TOLERANCE:
            log.info("the wall clock went back %.0f s", -gap)
            self.dispatch(c.ClockChanged(gap))

    # ------------------------------------------------------------ commands from the tray

    def _command(self, cmd: _Command) -> None:
        now = self.clock.wall()
        r = self.core.settings.reminders
        events: dict[str, Callable[[], c.Event]] = {
            "now": c.StretchNow,
            "accept": c.Accept,
            "skip": c.Skip,
            "snooze": lambda: c.Snooze(cmd.arg if cmd.arg else r.snooze),
            "pause": lambda: c.Pause(None if cmd.arg is None else now + cmd.arg),
            "pause-tomorrow": lambda: c.Pause(start_of_tomorrow(now)),
            "resume": c.Resume,
            "interval": lambda: c.SetInterval(int(cmd.arg or r.interval)),
        }
        if cmd.name in events:
            self.dispatch(events[cmd.name]())
            if cmd.name == "now":
                self._open_guide()
        elif cmd.name in ("start", "default"):
            if not self._open_guide() and self.core.phase is c.Phase.DUE:
                # The server took the notification away with the click: show it again.
                self.dispatch(c.StretchNow())
        elif cmd.name == "open-settings":
            self._open_settings()
        elif cmd.name == "quit":
            self.stop("quit from the tray")
        else:
            log.warning("unknown command %r", cmd.name)

    def _open_settings(self) -> None:
        from deskbreak.adapters import settings_file

        path = self.config_path
        try:
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(settings_file.example_text(), encoding="utf-8")
            opener = {"win32": None, "darwin": ["open"]}.get(sys.platform, ["xdg-open"])
            if opener is None:
                os.startfile(path)  # type: ignore[attr-defined]
            else:
                subprocess.Popen(
                    [*opener, str(path)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            log.info("opened %s", path)
        except OSError as e:
            log.warning("could not open the settings file %s: %s", path, e)

    # ------------------------------------------------------------ the guided window

    def _guide_ready(self) -> bool:
        """Whether reminders offer the window: it is wanted (the setting) and can open."""
        return (
            self.guide is not None
            and self.core.settings.reminders.guide == "window"
            and bool(self.guide.available())
        )

    def _following_guide(self, item: c.AwayStarted) -> bool:
        """Whether "no input for a while" only means the user is doing the stretch on screen.

        Nobody types while following the window, and a routine can last longer than the
        natural break: that absence must not end the reminder (and close the window) as a
        natural break when they reach for the mouse to click Done. A lock still counts.
        """
        return (
            item.kind == "idle"
            and self.guide is not None
            and bool(self.guide.is_open())
            and self.core.phase is c.Phase.DUE
        )

    def _open_guide(self) -> bool:
        """Open the guided window for the reminder that is due; False if it cannot be."""
        current = self.core.current
        if current is None or self.core.phase is not c.Phase.DUE or not self._guide_ready():
            return False
        ids = current.exercises or (current.exercise,)
        exercises = [self.core.exercise(e) for e in ids]
        routine = self.core.settings.routines.all().get(current.routine or "")
        if not self.guide.open(routine.name if routine else None, exercises):
            return False
        self.dispatch(c.Begin())
        # The window shows the stretch now; the notification would only repeat it.
        self._safely("close the notification", self.notifier.close)
        return True

    def _guide_outcome(self, outcome: Mapping[str, Any]) -> None:
        kind = outcome.get("outcome")
        log.info("guided window: %s", kind)
        if kind == "done":
            completed = tuple(str(e) for e in outcome.get("completed") or ())
            self.dispatch(c.Accept(completed=completed or None))
        elif kind == "snoozed":
            self.dispatch(c.Snooze())
        elif kind == "skipped":
            self.dispatch(c.Skip())
        else:
            log.warning("the guided window failed (%s); back to the notification", outcome)
        if self.core.phase is c.Phase.DUE:
            self.dispatch(c.StretchNow())  # still due (e.g. no skips left): show it again

    # ------------------------------------------------------------ do-not-disturb

    def _check_dnd(self) -> None:
        """Just before a reminder comes due, ask whether the user may be disturbed."""
        if self.dnd is None:
            return
        status = self.core.status(self.clock.wall())
        if status.state not in ("waiting", "snoozed") or status.next_at is None:
            return
        if status.next_at > status.now + 1.0:
            return
        reason = self.dnd.busy()
        self.dispatch(c.Busy(reason) if reason else c.Free())
        if reason:
            self._safely("watch do-not-disturb", self.dnd.watch)

    def _dnd_changed(self, reason: str | None) -> None:
        log.info("do not disturb: %s", reason or "free again")
        self.dispatch(c.Busy(reason) if reason else c.Free())

    def _tell(self, title: str, body: str) -> None:
        """A one-off message to the user: a notification (or a line in the terminal)."""
        from deskbreak.adapters.notifier import Notice

        if self.notifier is not None:
            notice = Notice(title=title, body=body, icon=self._app_icon())
            self._safely("show the notification", lambda: self.notifier.show(notice))

    # ------------------------------------------------------------ plumbing

    def _safely(self, what: str, fn: Callable[[], object]) -> None:
        try:
            fn()
        except Exception as e:
            log.warning("could not %s: %s", what, e)

    def _install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: object) -> None:
            self.post(_Stop(signal.Signals(signum).name))

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, handler)
        if hasattr(signal, "SIGHUP"):
            signal.signal(signal.SIGHUP, lambda _s, _f: self.post(_Reload("SIGHUP")))

    # ------------------------------------------------------------ control requests

    def _answer(self, item: _Request) -> None:
        """On the owning thread: answer a control request through its Future."""
        if not item.reply.set_running_or_notify_cancel():
            return  # the client's thread gave up waiting
        try:
            result = self.control(item.cmd, item.args)
        except p.ProtocolError as e:
            item.reply.set_exception(e)
        except IllegalEvent as e:
            item.reply.set_exception(p.ProtocolError(p.E_NOT_NOW, str(e)))
        except SettingsError as e:
            item.reply.set_exception(
                p.ProtocolError(p.E_SETTINGS, f"{e}; the last good settings stay in use")
            )
        except Exception as e:
            log.exception("control request %r failed", item.cmd)
            item.reply.set_exception(p.ProtocolError(p.E_INTERNAL, f"internal error: {e}"))
        else:
            item.reply.set_result(result)

    def _fail_pending_requests(self) -> None:
        """Answer requests still queued when the daemon stops, so no client waits in vain."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _Request) and item.reply.set_running_or_notify_cancel():
                item.reply.set_exception(p.ProtocolError(p.E_BUSY, "deskbreak is stopping"))

    def control(self, cmd: str, args: Mapping[str, Any]) -> Any:
        """Carry out one control command (already checked by the protocol); its result.

        Raises IllegalEvent when the command makes no sense now, SettingsError when a reload
        finds the file invalid, ProtocolError for arguments the protocol cannot check.
        """
        now = self.clock.wall()
        if cmd in ("status", "events"):
            return self.snapshot(now)
        r = self.core.settings.reminders
        subject = self.core.status(now).exercise_name
        extra: dict[str, Any] = {}
        if cmd == "now":
            self.dispatch(c.StretchNow(), strict=True)
            extra = {"guide": self._open_guide()}
        elif cmd == "accept":
            self.dispatch(c.Accept(), strict=True)
        elif cmd == "skip":
            self.dispatch(c.Skip(), strict=True)
        elif cmd == "snooze":
            self.dispatch(c.Snooze(int(args.get("seconds") or r.snooze)), strict=True)
        elif cmd == "pause":
            self.dispatch(c.Pause(self._pause_end(now, args)), strict=True)
        elif cmd == "resume":
            self.dispatch(c.Resume(), strict=True)
        elif cmd == "interval":
            self._persist_error = None
            self.dispatch(c.SetInterval(int(args["seconds"])), strict=True)
            extra = {"saved": None if self._persist_error else str(self.config_path)}
            if self._persist_error:
                extra["warning"] = self._persist_error
        elif cmd == "reload":
            self._reload("deskbreak reload")
            extra = {"config": str(self.config_path)}
        elif cmd == "quit":
            self.stop("deskbreak quit")
            return {"pid": os.getpid(), "stopping": True}
        else:  # pragma: no cover - the protocol lets only known commands through
            raise p.ProtocolError(p.E_UNKNOWN_COMMAND, f"unknown command {cmd!r}")
        return {"status": self.snapshot(self.clock.wall()), "exercise_name": subject, **extra}

    @staticmethod
    def _pause_end(now: float, args: Mapping[str, Any]) -> float | None:
        if "seconds" in args:
            return now + int(args["seconds"])
        if "until" in args:
            try:
                hour, minute = parse_clock(str(args["until"]))
            except ValueError as e:
                raise p.ProtocolError(p.E_BAD_ARGS, f"pause: until: {e}") from None
            return next_clock_time(now, hour, minute)
        if args.get("tomorrow"):
            return start_of_tomorrow(now)
        return None

    def snapshot(self, now: float) -> dict[str, Any]:
        """The daemon's state as JSON data: ``deskbreak status --json`` prints this.

        Every field of the core's Status comes first, as is (so a field added there shows up
        here); then what only the daemon knows. Add new daemon-level facts at the end.
        """
        status = self.core.status(now)
        snap: dict[str, Any] = {
            f.name: _plain(getattr(status, f.name)) for f in dataclasses.fields(status)
        }
        r = self.core.settings.reminders
        snap.update(
            progress=round(status.progress, 3),
            next_in=None if status.next_at is None else max(0, round(status.next_at - now)),
            snooze=r.snooze,
            summary=status_summary(status),
            settings_error=str(self.settings_error) if self.settings_error else None,
            config=str(self.config_path),
            pid=os.getpid(),
            version=__version__,
            seq=self._seq,
        )
        return snap

    # ------------------------------------------------------------ events stream

    def _publish(self, event: dict[str, Any]) -> None:
        """Send an event to ``deskbreak events`` clients (on the owning thread)."""
        if self._server is None:
            return
        self._seq += 1
        self._safely(
            "publish an event",
            lambda: self._server.publish(self._seq, {**event, "at": self.clock.wall()}),
        )

    def _publish_status(self, status: c.Status) -> None:
        if self._server is None:
            return
        key = (
            status.state,
            status.next_at,
            status.exercise,
            status.pause_until,
            status.interval,
            status.away,
            str(self.settings_error) if self.settings_error else None,
        )
        if key == self._last_status_key:
            return
        self._last_status_key = key
        self._seq += 1
        snap = self.snapshot(status.now)
        self._safely(
            "publish the status",
            lambda: self._server.publish(
                self._seq, {"event": "status", "at": status.now, "status": snap}
            ),
        )

    # ------------------------------------------------------------ live settings reload

    def _reload_quietly(self, reason: str) -> None:
        # An invalid file was reported already (once per distinct error); the last good
        # settings keep running.
        with contextlib.suppress(SettingsError):
            self._reload(reason)

    def _reload(self, reason: str) -> None:
        """Re-read the settings file and apply it; raise SettingsError if it is invalid.

        An invalid file leaves the last good settings running. The user is told once per
        distinct error (a notification, the log, ``status``); a valid file clears it.
        """
        from deskbreak.adapters import settings_file

        try:
            settings = settings_file.load(self.config_path)
        except SettingsError as e:
            new = self.settings_error is None or str(e) != str(self.settings_error)
            self.settings_error = e
            if new:
                log.warning("settings not applied (%s): %s", reason, e)
                self._tell_settings_error(e)
            else:
                log.info("settings file still invalid (%s)", reason)
            self._publish({"event": "settings", "reason": reason, "error": str(e)})
            self._refresh(self.clock.wall())
            raise
        fixed = self.settings_error is not None
        self.settings_error = None
        self._deferred_error = None
        if fixed and self._error_on_screen:
            self._error_on_screen = False
            self._safely("close the notification", self.notifier.close)
        log.info("settings reloaded (%s)%s", reason, ": the error is fixed" if fixed else "")
        old = self.core.settings
        self.dispatch(c.SettingsChanged(settings))
        self._safely("apply the history setting", lambda: self._apply_history(old, settings))
        if not self.terminal:
            self._safely("apply the new settings", lambda: self._apply_desktop(old, settings))
        self._publish({"event": "settings", "reason": reason, "error": None})

    def _apply_desktop(self, old: Settings, new: Settings) -> None:
        """Start, stop or retune the desktop adapters whose settings changed."""
        if new.away.natural_break != old.away.natural_break and self.idle is not None:
            self.idle.set_threshold(new.away.natural_break)
        if new.away.idle != old.away.idle:
            if new.away.idle and self.idle is None:
                self._start_idle()
            elif not new.away.idle and self.idle is not None:
                self.idle.stop()
                self.idle = None
        if new.dnd != old.dnd:
            if self.dnd is not None:
                self.dnd.close()
            self._start_dnd()
        if new.reminders.guide == "window" and self.guide is None:
            self._start_guide()
        # Turned off: reminders stop offering the window (see _guide_ready), but one the user
        # is following stays until they answer it.

    def _tell_settings_error(self, error: SettingsError) -> None:
        """Tell the user by a notification; not over a reminder on screen (its buttons would
        go), but as soon as it is answered."""
        if self.notifier is None:
            return
        if not self.terminal and self.core.status(self.clock.wall()).state == "due":
            self._deferred_error = error
            return
        self._show_error_notice(error)

    def _show_error_notice(self, error: SettingsError) -> None:
        from deskbreak.adapters.notifier import Notice

        notice = Notice(
            title="deskbreak: settings not applied",
            body=f"{error}\nThe last good settings stay in use until the file is fixed.",
        )
        self._error_on_screen = not self.terminal
        self._safely("show the notification", lambda: self.notifier.show(notice))


def setup_logging(verbose: bool) -> Path | None:
    """A rotating log file in the user log dir, and stderr with ``-v``."""
    from logging.handlers import RotatingFileHandler

    from deskbreak.adapters import paths

    root = logging.getLogger("deskbreak")
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    path: Path | None = paths.log_file()
    try:
        assert path is not None
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = RotatingFileHandler(path, maxBytes=512 * 1024, backupCount=3, encoding="utf-8")
        fh.setFormatter(fmt)
        root.addHandler(fh)
    except OSError as e:
        path = None
        print(f"deskbreak: cannot write the log file: {e}", file=sys.stderr)
    if verbose:
        sh = logging.StreamHandler(sys.stderr)
        sh.setFormatter(fmt)
        root.addHandler(sh)
    return path

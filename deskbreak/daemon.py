"""The composition root: wires the adapters to the break cycle and runs it.

One thread owns the core. Everything else (the tray's menu callbacks, the notification
server's button presses, the timer, signals) only puts an item on ``self._queue``; the
owning thread (the one that called ``run()``) takes items off one at a time, hands events to
the core with the time read here, and carries out the actions the core returns.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskbreak import cycle as c
from deskbreak.clock import Clock, DriftGuard, SystemClock
from deskbreak.durations import format_duration, humanize
from deskbreak.errors import IllegalEvent, SettingsError
from deskbreak.exercises import SAFETY_NOTE
from deskbreak.settings import Settings
from deskbreak.wallclock import clock_label, start_of_tomorrow

log = logging.getLogger("deskbreak")

INTERVAL_CHOICES = (20 * 60, 30 * 60, 45 * 60, 60 * 60, 90 * 60)
SNOOZE_CHOICES = (5 * 60, 10 * 60, 15 * 60)
ACTIONS = (("done", "Done"), ("snooze", "Snooze"), ("skip", "Skip"))
# The guard that notices a suspend or a clock change looks at most this often.
DRIFT_CHECK = 60.0
DRIFT_TOLERANCE = 5.0


@dataclass(frozen=True)
class _Command:
    name: str
    arg: int | None = None


@dataclass(frozen=True)
class _Stop:
    reason: str


_Item = c.Event | _Command | _Stop


def has_display() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def tray_model(status: c.Status, settings: Settings, tray_module: Any) -> Any:
    """The tray's view of a status snapshot."""
    now = status.now
    name = status.exercise_name
    if status.state == "waiting" and status.next_at is not None:
        tooltip = f"Next: {name} in {humanize(status.next_at - now)}"
        header = f"Next: {name} at {clock_label(status.next_at, now)}"
    elif status.state == "snoozed" and status.next_at is not None:
        tooltip = f"Snoozed: {name} in {humanize(status.next_at - now)}"
        header = f"Snoozed: {name} until {clock_label(status.next_at, now)}"
    elif status.state == "due":
        tooltip = f"Time to stretch: {name}"
        header = f"Now: {name}"
    elif status.pause_until is not None:
        tooltip = header = f"Paused until {clock_label(status.pause_until, now)}"
    else:
        tooltip = header = "Paused"
    r = settings.reminders
    return tray_module.TrayModel(
        state=status.state,
        progress=status.progress,
        tooltip=tooltip,
        header=header,
        due=status.state in ("due", "snoozed"),
        paused=status.state == "paused",
        interval=r.interval,
        interval_choices=tuple(sorted({*INTERVAL_CHOICES, r.interval})),
        snooze_choices=tuple(sorted({*SNOOZE_CHOICES, r.snooze})),
    )


def next_refresh(status: c.Status) -> float | None:
    """When the tray's words ("in 23 min") next change, so it is redrawn then and only then."""
    if status.next_at is None or status.state not in ("waiting", "snoozed"):
        return None
    remaining = status.next_at - status.now
    if remaining <= 60:
        return None  # the due time itself is the next change
    minutes_shown = -(-remaining // 60)
    return status.next_at - (minutes_shown - 1) * 60


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
    ) -> None:
        self.config_path = config_path
        self.clock = clock or SystemClock()
        self.terminal = (not has_display()) if terminal is None else terminal
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._make_tray = make_tray
        self._make_notifier = make_notifier
        self._make_timer = make_timer
        self._state_dir = state_dir
        self.core = c.BreakCycle(settings, self.clock.wall())
        self.tray: Any = None
        self.notifier: Any = None
        self.timer: Any = None
        self._tray_module: Any = None
        self._drift = DriftGuard(self.clock.wall(), self.clock.monotonic())
        self._last_drift_check = self.clock.monotonic()
        self._core_deadline: float | None = None
        self.exit_code = 0
        self._stopping = False

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
        # missed rule decides. A user closing it on purpose is an answer: missed.
        if reason == "dismissed":
            self.post(c.Dismissed(reason))

    def stop(self, reason: str = "quit") -> None:
        self.post(_Stop(reason))

    # ------------------------------------------------------------ life cycle

    def start_adapters(self) -> None:
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
        if self._make_timer is not None:
            self.timer = self._make_timer(lambda: self.post(c.Tick()))
        else:
            from deskbreak.adapters.timer import SchedulerTimer

            self.timer = SchedulerTimer(lambda: self.post(c.Tick()), log)
        self.timer.start()

    def stop_adapters(self) -> None:
        for name in ("notifier", "tray", "timer"):
            adapter = getattr(self, name)
            if adapter is None:
                continue
            try:
                if name == "notifier":
                    adapter.close()
                adapter.stop()
            except Exception:  # a broken adapter must not block a clean exit
                log.exception("stopping the %s failed", name)

    def run(self) -> int:
        """Run until quit or a signal. Returns the exit code."""
        self._install_signal_handlers()
        self.start_adapters()
        settings = self.core.settings
        log.info(
            "deskbreak started: every %s, snooze %s, rotation %s, settings %s",
            format_duration(settings.reminders.interval),
            format_duration(settings.reminders.snooze),
            ", ".join(settings.reminders.exercises),
            self.config_path,
        )
        self.dispatch(c.Start())
        try:
            while not self._stopping:
                self.step(self._queue.get())
        finally:
            self.stop_adapters()
            log.info("deskbreak stopped")
        return self.exit_code

    def step(self, item: _Item) -> None:
        """Handle one queued item. Never raises: the daemon survives whatever comes in."""
        try:
            if isinstance(item, _Stop):
                log.info("stopping: %s", item.reason)
                self._stopping = True
            elif isinstance(item, _Command):
                self._command(item)
            else:
                if isinstance(item, c.Tick):
                    self._check_drift()
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

    def dispatch(self, event: c.Event) -> list[c.Action]:
        now = self.clock.wall()
        try:
            actions = self.core.handle(event, now)
        except IllegalEvent as e:
            log.info("ignored %s: %s", type(event).__name__, e)
            self._refresh(now)
            return []
        for action in actions:
            self._carry_out(action, now)
        return actions

    def _carry_out(self, action: c.Action, now: float) -> None:
        if isinstance(action, c.Notify):
            self._notify(action)
        elif isinstance(action, c.CloseNotification):
            self._safely("close the notification", self.notifier.close)
        elif isinstance(action, c.ArmTimer):
            self._core_deadline = action.at
        elif isinstance(action, c.ShowStatus):
            self._show_status(action.status)
        elif isinstance(action, c.Record):
            self._record(action)
        elif isinstance(action, c.PersistSetting):
            self._persist(action)

    def _arm(self, status: c.Status) -> None:
        candidates = [t for t in (self._core_deadline, next_refresh(status)) if t is not None]
        self.timer.arm(min(candidates) if candidates else None)

    def _show_status(self, status: c.Status) -> None:
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
        ex = action.exercise
        body = ex.summary or (ex.steps[0] if ex.steps else "")
        note = SAFETY_NOTE if self._first_notification() else ""
        if note:
            body = f"{body}\n\n{note}"
        if self.terminal:
            self.notifier.show_reminder(action, note)
            return
        from deskbreak.adapters.notifier import Notice

        actions = ACTIONS if getattr(self.notifier, "supports_actions", False) else ()
        notice = Notice(title=ex.name, body=body, actions=actions, timeout=action.timeout)
        log.info("reminder %d: %s", action.reminder.id, ex.name)
        self._safely("show the notification", lambda: self.notifier.show(notice))

    def _record(self, record: c.Record) -> None:
        ex = record.reminder.exercise if record.reminder else "-"
        log.info("%s: %s %s", record.kind, ex, record.detail)

    def _persist(self, action: c.PersistSetting) -> None:
        from deskbreak.adapters import settings_file

        try:
            settings_file.set_value(self.config_path, action.key, action.value)
            log.info("saved %s = %s in %s", action.key, action.value, self.config_path)
        except (SettingsError, OSError) as e:
            log.warning("could not save %s in the settings file: %s", action.key, e)

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
        """Notice a suspend (or a clock step) by comparing wall and monotonic time."""
        gap = self._drift.check(self.clock.wall(), self.clock.monotonic())
        if gap > DRIFT_TOLERANCE:
            log.info("the wall clock moved %.0f s more than the monotonic clock", gap)
            self.dispatch(c.Away(gap, "suspend"))
        elif gap < -DRIFT_TOLERANCE:
            log.info("the wall clock went back %.0f s", -gap)

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

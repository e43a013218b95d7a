"""The notification adapter against a real notification server (dunst) on a real bus."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deskbreak.adapters.notifier import (
    FakeNotifier,
    FreedesktopNotifier,
    Notice,
    PlyerNotifier,
    create_notifier,
)
from tests.desktop_harness import NOTIFICATIONS_NAME, NOTIFICATIONS_PATH, Desktop

BUTTONS = (("done", "Done"), ("snooze", "Snooze"), ("skip", "Skip"))
REMINDER = Notice("Time for a stretch", "Neck rolls: 5 slow circles each way", BUTTONS, 60)
LOGGER = "deskbreak.test.notifier"


class Events:
    """What the notifier reported through its callbacks, and on which thread."""

    def __init__(self) -> None:
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self.threads: set[str] = set()

    def on_action(self, key: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.queue.put(("action", key))

    def on_closed(self, reason: str) -> None:
        self.threads.add(threading.current_thread().name)
        self.queue.put(("closed", reason))

    def next(self, timeout: float = 10.0) -> tuple[str, str]:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no notifier callback within {timeout} s") from None

    def pending(self) -> list[tuple[str, str]]:
        out = []
        while not self.queue.empty():
            out.append(self.queue.get_nowait())
        return out


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_notifier(events: Events) -> Iterator[Callable[[Desktop], FreedesktopNotifier]]:
    made: list[FreedesktopNotifier] = []

    def make(desktop: Desktop) -> FreedesktopNotifier:
        notifier = FreedesktopNotifier(
            events.on_action,
            events.on_closed,
            logging.getLogger(LOGGER),
            bus_address=desktop.bus_address,
        )
        made.append(notifier)
        return notifier

    yield make
    for notifier in made:
        notifier.stop()


def settle(desktop: Desktop, notifier: FreedesktopNotifier) -> None:
    """Everything sent so far has reached the bus monitor and the notifier's callbacks."""
    desktop.notifications.sync(desktop.bus_address)
    assert notifier.flush()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


# --------------------------------------------------------------------------- dunst


@pytest.mark.desktop
def test_show_sends_a_deskbreak_notification_with_buttons(desktop: Desktop, make_notifier):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    assert notifier.supports_actions

    notifier.show(REMINDER)

    record = desktop.notifications.wait_for_notify()
    assert record.app_name == "deskbreak"
    assert record.summary == "Time for a stretch"
    assert record.body == "Neck rolls: 5 slow circles each way"
    assert record.action_pairs == list(BUTTONS)
    assert record.expire_timeout == 60_000
    assert record.hints["desktop-entry"] == "deskbreak"
    assert record.hints["urgency"] == 1
    assert record.replaces_id == 0
    assert desktop.displayed_count() == 1


@pytest.mark.desktop
def test_a_second_show_replaces_the_first(desktop: Desktop, make_notifier, events):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)

    notifier.show(REMINDER)
    first = desktop.notifications.wait_for_notify()
    notifier.show(Notice("Still time for a stretch", "Shoulder shrugs", BUTTONS))
    second = desktop.notifications.wait_for_notify(lambda n: n.summary.startswith("Still"))

    assert second.replaces_id == first.id
    assert second.id == first.id
    assert second.expire_timeout == -1  # the server's default
    assert desktop.displayed_count() == 1
    settle(desktop, notifier)
    assert events.pending() == []  # replacing is not "closed"


@pytest.mark.desktop
def test_pressing_a_button_reports_its_key_and_takes_the_notification_away(
    desktop: Desktop, make_notifier, events
):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.show(REMINDER)
    record = desktop.notifications.wait_for_notify()

    desktop.press_notification_action("snooze")

    assert events.next() == ("action", "snooze")
    assert events.threads == {"deskbreak-notifier"}
    desktop.wait_for(lambda: desktop.displayed_count() == 0, what="the notification to go")
    settle(desktop, notifier)
    assert events.pending() == []  # no "closed" after the answer
    assert desktop.notifications.closed(record.id)

    notifier.show(REMINDER)  # the next reminder is a fresh notification
    again = desktop.notifications.wait_for_notify(lambda n: n is not record)
    assert again.replaces_id == 0


@pytest.mark.desktop
def test_dismissing_reports_dismissed(desktop: Desktop, make_notifier, events):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.show(REMINDER)
    desktop.notifications.wait_for_notify()

    desktop.close_notification()

    assert events.next() == ("closed", "dismissed")


@pytest.mark.desktop
def test_expiry_reports_expired(desktop: Desktop, make_notifier, events):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.show(Notice("Brief", "gone in a second", BUTTONS, timeout=1))
    record = desktop.notifications.wait_for_notify()

    assert events.next() == ("closed", "expired")
    assert time.time() - record.time >= 0.9
    assert desktop.displayed_count() == 0


@pytest.mark.desktop
def test_close_takes_it_away_without_a_callback(desktop: Desktop, make_notifier, events):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.close()  # nothing on screen: nothing to do
    notifier.show(REMINDER)
    record = desktop.notifications.wait_for_notify()

    notifier.close()

    assert desktop.displayed_count() == 0
    desktop.notifications.wait_for_signal("NotificationClosed", id=record.id)
    settle(desktop, notifier)
    assert desktop.notifications.close_calls == [record.id]
    assert events.pending() == []


@pytest.mark.desktop
def test_icon_path_reaches_the_server(desktop: Desktop, make_notifier, tmp_path: Path):
    from PIL import Image

    icon = tmp_path / "deskbreak-test-icon.png"
    Image.new("RGB", (16, 16), (0, 128, 0)).save(icon)
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.show(Notice("With icon", "green", icon=str(icon)))
    desktop.notifications.wait_for_notify()
    notifier.close()

    history = desktop.wait_for(desktop.dunst_history, what="the closed notification in history")
    assert history[0]["summary"] == "With icon"
    assert history[0]["icon_path"] == str(icon)


@pytest.mark.desktop
def test_a_failing_callback_does_not_stop_later_ones(desktop: Desktop, caplog):
    desktop.reset_notifications()
    closed: queue.Queue[str] = queue.Queue()

    def broken_action(key: str) -> None:
        raise RuntimeError("bug in a callback")

    notifier = FreedesktopNotifier(
        broken_action, closed.put, logging.getLogger(LOGGER), bus_address=desktop.bus_address
    )
    try:
        notifier.show(REMINDER)
        desktop.notifications.wait_for_notify()
        desktop.press_notification_action("done")
        desktop.notifications.wait_for_signal("ActionInvoked")
        settle(desktop, notifier)
        assert any("callback failed" in r.getMessage() for r in caplog.records)

        notifier.show(REMINDER)
        desktop.notifications.wait_for_notify(lambda n: n.replaces_id == 0 and n.id is not None)
        desktop.close_notification()
        assert closed.get(timeout=10) == "dismissed"
    finally:
        notifier.stop()


@pytest.mark.desktop
def test_idle_notifier_does_not_wake_up(desktop: Desktop, make_notifier):
    desktop.reset_notifications()
    notifier = make_notifier(desktop)
    notifier.show(REMINDER)
    desktop.notifications.wait_for_notify()
    settle(desktop, notifier)
    thread = notifier.receiver_thread
    assert thread is not None and thread.native_id is not None
    task = Path(f"/proc/self/task/{thread.native_id}")

    def switches() -> int:
        lines = (task / "status").read_text().splitlines()
        return sum(int(line.split()[1]) for line in lines if "ctxt_switches" in line)

    # First let it finish handling the last reply and go to sleep on its socket.
    desktop.wait_for(
        lambda: (task / "wchan").read_text() == "do_epoll_wait",
        what="the receiver thread to block on its socket",
    )
    before = switches()
    threading.Event().wait(0.5)  # a measuring window, not a wait for something to happen
    assert switches() == before


@pytest.mark.desktop
def test_server_killed_and_restarted(desktop_factory, make_notifier, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    d = desktop_factory(dunst=True, sni=False)
    notifier = make_notifier(d)
    notifier.show(REMINDER)
    d.notifications.wait_for_notify()

    d.stop_dunst()
    for _ in range(3):
        notifier.show(REMINDER)  # must not raise
    assert len(warnings_of(caplog)) == 1
    assert "no notification server" in warnings_of(caplog)[0]

    d.reset_notifications()
    d.start_dunst()
    notifier.show(REMINDER)
    record = d.notifications.wait_for_notify()
    assert record.replaces_id == 0  # the old id meant nothing to the new server
    assert record.action_keys == ["done", "snooze", "skip"]
    assert d.displayed_count() == 1
    assert len(warnings_of(caplog)) == 1
    assert any("work again" in r.getMessage() for r in caplog.records)


@pytest.mark.desktop
def test_no_server_at_start_then_one_appears(desktop_factory, events, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    d = desktop_factory(dunst=False, sni=False)
    notifier = create_notifier(
        events.on_action, events.on_closed, logging.getLogger(LOGGER), bus_address=d.bus_address
    )
    try:
        assert isinstance(notifier, FreedesktopNotifier)
        for _ in range(3):
            notifier.show(REMINDER)
        assert len(warnings_of(caplog)) == 1

        d.start_dunst()
        notifier.show(REMINDER)
        d.notifications.wait_for_notify()
        assert notifier.supports_actions
        d.press_notification_action("skip")
        assert events.next() == ("action", "skip")
    finally:
        notifier.stop()


@pytest.mark.desktop
def test_bus_gone(desktop_factory, make_notifier, caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    d = desktop_factory(dunst=True, sni=False)
    notifier = make_notifier(d)
    notifier.show(REMINDER)
    d.notifications.wait_for_notify()
    thread = notifier.receiver_thread
    assert thread is not None

    d.components.pop("dbus-daemon").terminate()

    notifier.show(REMINDER)
    notifier.show(REMINDER)
    notifier.close()
    assert len(warnings_of(caplog)) == 1
    assert "session bus" in warnings_of(caplog)[0]
    thread.join(timeout=10)
    assert not thread.is_alive()  # no busy loop on a dead socket


# --------------------------------------------------------------------------- other servers


class FakeServer:
    """A minimal notification server with chosen capabilities, for what dunst can't do."""

    def __init__(self, address: str, capabilities: list[str]) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.capabilities = capabilities
        self.conn = open_dbus_connection(bus=address)
        reply = self.conn.send_and_get_reply(message_bus.RequestName(NOTIFICATIONS_NAME))
        assert reply.body == (1,)  # primary owner
        self._next_id = 100
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_error, new_method_return

        try:
            while True:
                msg = self.conn.receive()
                if msg.header.message_type is not MessageType.method_call:
                    continue
                member = msg.header.fields.get(HeaderFields.member)
                path = msg.header.fields.get(HeaderFields.path)
                if path != NOTIFICATIONS_PATH:
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownObject")
                elif member == "GetCapabilities":
                    reply = new_method_return(msg, "as", (self.capabilities,))
                elif member == "Notify":
                    self._next_id += 1
                    reply = new_method_return(msg, "u", (msg.body[1] or self._next_id,))
                elif member == "CloseNotification":
                    reply = new_method_return(msg)
                elif member == "GetServerInformation":
                    reply = new_method_return(msg, "ssss", ("fake", "deskbreak", "0", "1.2"))
                else:
                    reply = new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod")
                self.conn.send(reply)
        except (OSError, ValueError):
            pass

    def stop(self) -> None:
        import socket

        self.conn.sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(timeout=5)
        self.conn.close()


@pytest.mark.desktop
def test_no_buttons_when_the_server_has_no_actions_then_capabilities_are_asked_again(
    desktop_factory, make_notifier
):
    d = desktop_factory(dunst=False, sni=False)
    server = FakeServer(d.bus_address, ["body", "body-markup"])
    try:
        notifier = make_notifier(d)
        assert not notifier.supports_actions
        notifier.show(Notice("Neck & shoulders", "Roll <slowly> & breathe", BUTTONS))
        record = d.notifications.wait_for_notify()
        assert record.actions == []
        assert record.summary == "Neck & shoulders"  # the summary is never markup
        assert record.body == "Roll &lt;slowly&gt; &amp; breathe"
    finally:
        server.stop()
    d.wait_for(lambda: not d.name_has_owner(NOTIFICATIONS_NAME), what="the fake server to go")

    d.start_dunst()
    notifier.show(REMINDER)
    record = d.notifications.wait_for_notify(lambda n: n.summary == REMINDER.title)
    assert notifier.supports_actions
    assert record.action_pairs == list(BUTTONS)
    assert record.replaces_id == 0


# --------------------------------------------------------------------------- fallbacks


def test_without_a_session_bus_plyer_is_used_and_nothing_raises(monkeypatch, tmp_path, caplog):
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    events = Events()

    notifier = create_notifier(events.on_action, events.on_closed, logging.getLogger(LOGGER))

    assert isinstance(notifier, PlyerNotifier)
    assert not notifier.supports_actions
    notifier.show(REMINDER)
    notifier.show(REMINDER)
    notifier.close()
    notifier.stop()
    assert len(warnings_of(caplog)) <= 1


def test_an_unreachable_bus_falls_back_to_plyer(tmp_path, caplog):
    address = f"unix:path={tmp_path / 'no-bus-here'}"
    notifier = create_notifier(
        lambda key: None, lambda reason: None, logging.getLogger(LOGGER), bus_address=address
    )
    assert isinstance(notifier, PlyerNotifier)


@pytest.mark.desktop
def test_plyer_notifications_reach_the_server(desktop: Desktop, monkeypatch):
    desktop.reset_notifications()
    for name in ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY"):
        monkeypatch.setenv(name, desktop.env[name])
    monkeypatch.setenv("PATH", desktop.env["PATH"])

    PlyerNotifier(logging.getLogger(LOGGER)).show(REMINDER)

    record = desktop.notifications.wait_for_notify()
    assert (record.app_name, record.summary, record.body) == (
        "deskbreak",
        REMINDER.title,
        REMINDER.body,
    )
    assert record.actions == []


def test_fake_notifier_plays_the_user():
    events = Events()
    fake = FakeNotifier(events.on_action, events.on_closed)
    fake.show(REMINDER)
    assert fake.current == REMINDER
    fake.press("snooze")
    assert events.next(0) == ("action", "snooze")
    assert fake.current is None
    with pytest.raises(AssertionError):
        fake.press("snooze")

    fake.show(REMINDER)
    fake.expire()
    assert events.next(0) == ("closed", "expired")
    fake.show(Notice("Other", "no buttons"))
    with pytest.raises(AssertionError):
        fake.press("done")
    fake.close()
    assert fake.closed == [Notice("Other", "no buttons")]
    assert fake.shown == [REMINDER, REMINDER, Notice("Other", "no buttons")]

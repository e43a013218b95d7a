"""The guided window through the real daemon: ``deskbreak run`` on Xvfb with dunst and a
StatusNotifierItem host, the window opened the three ways a user opens it (``deskbreak now``,
the tray's "Stretch now", a reminder's "Start" button), looked at with xdotool and
screenshots, answered with real key presses, clicks and a window-manager close, and every
effect read from the outside: ``deskbreak status --json`` and ``deskbreak events --json``,
the notification bus, the tray menu, and the history file.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_proc import EventReader
from tests.desktop_harness import Desktop, NotifyRecord, Proc, wait_for
from tests.test_guide_window import (
    ACCENT,
    BUTTON,
    find,
    near,
    press,
    region,
    send_wm_delete,
    window_title,
)

pytestmark = pytest.mark.desktop

# The buttons' colours: plain, teal (Done at time's up), and both under the pointer.
BUTTON_COLOURS = (BUTTON, ACCENT, (0xDC, 0xD6, 0xCA), (0x00, 0x6B, 0x5D))

ANSWER_KEYS = ["start", "done", "snooze", "skip"]
# The names of every stretch these tests show (window titles start with them).
NAMES = ("Wall stretch", "Neck flexion", "Shoulder roll", "Arm reach", "Back twist", "Calf raise")

BASE = """\
# deskbreak settings for the guided-window tests
[reminders]
interval = "{interval}"
snooze = "{snooze}"
missed_after = "{missed_after}"
exercises = [{exercises}]
guide = "window"

[routines]
every = {every}
routine = "quick"

[away]
idle = {idle}  # off unless a test is about it: nobody types on the test desktop
natural_break = "{natural_break}"

# Short exercises, so a test can watch a countdown run out.
[exercise.quick-a]
name = "Arm reach"
duration = "2s"
steps = ["Reach both arms up.", "Hold, breathing slowly."]

[exercise.quick-b]
name = "Back twist"
duration = "2s"
steps = ["Sit tall.", "Turn your upper body to one side and hold."]
equipment = ["a chair with a backrest"]

[exercise.quick-c]
name = "Calf raise"
duration = "2s"
steps = ["Stand behind your chair.", "Rise onto your toes and lower slowly."]

[routine.quick]
name = "Quick routine"
exercises = ["quick-a", "quick-b", "quick-c"]
"""


def settings(
    *,
    interval: str = "1h",  # reminders come when the test asks for them
    snooze: str = "10m",
    missed_after: str = "10m",
    exercises: tuple[str, ...] = ("wall-stretch", "neck-flexion", "shoulder-roll"),
    every: str = '"off"',
    idle: bool = False,
    natural_break: str = "5m",
) -> str:
    return BASE.format(
        idle="true" if idle else "false",
        natural_break=natural_break,
        interval=interval,
        snooze=snooze,
        missed_after=missed_after,
        exercises=", ".join(f'"{e}"' for e in exercises),
        every=every,
    )


class Session:
    """One ``deskbreak run`` on the shared desktop, with its own settings and history."""

    def __init__(self, desktop: Desktop, tmp_path: Path, config: str) -> None:
        self.desktop = desktop
        self.cfg = tmp_path / "config.toml"
        self.cfg.write_text(config)
        self.history = tmp_path / "history.sqlite3"
        self.env = {**desktop.env, "DESKBREAK_HISTORY": str(self.history)}
        desktop.reset_notifications()
        self.proc: Proc = desktop.spawn(
            "deskbreak",
            [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(self.cfg)],
            env={"DESKBREAK_HISTORY": str(self.history)},
        )
        wait_for(lambda: self.cli("status").returncode == 0 or self.check(), 20, "the daemon")
        self.events = EventReader(self.env, "--json")
        self.events.wait_for_event(lambda e: e["event"] == "status", "the first status")
        self._item: str | None = None

    def check(self) -> bool:
        assert self.proc.alive(), self.proc.output()
        return False

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deskbreak", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env=self.env,
            stdin=subprocess.DEVNULL,
        )

    def status(self) -> dict[str, Any]:
        r = self.cli("status", "--json")
        assert r.returncode == 0, r.stderr
        data: dict[str, Any] = json.loads(r.stdout)
        return data

    def mark(self) -> int:
        """Where the events seen so far end: look for what comes after it."""
        return len(self.events.lines)

    def record(self, kind: str, start: int = 0, timeout: float = 10) -> dict[str, Any]:
        return self.events.wait_for_event(
            lambda e: e["event"] == "record" and e["kind"] == kind,
            f"a {kind!r} record",
            timeout=timeout,
            start=start,
        )[1]

    def records(self, start: int = 0) -> list[tuple[str, str | None]]:
        return [
            (e["kind"], e["exercise"]) for e in self.events.events[start:] if e["event"] == "record"
        ]

    def ours(self) -> list[NotifyRecord]:
        log = self.desktop.notifications
        assert log is not None
        return [n for n in log.notifies if n.app_name == "deskbreak"]

    def notify(self, number: int, timeout: float = 10) -> NotifyRecord:
        """Our ``number``-th Notify (0-based), once the server has given it an id."""

        def found() -> NotifyRecord | None:
            ours = self.ours()
            return ours[number] if len(ours) > number and ours[number].id else None

        return wait_for(found, timeout, f"deskbreak notification number {number + 1}")

    def no_notification_on_screen(self) -> None:
        wait_for(lambda: self.desktop.displayed_count() == 0, 10, "no notification on screen")

    @property
    def item(self) -> str:
        if self._item is None:
            self._item = self.desktop.wait_for_sni_item(self.proc.pid)
        return self._item

    def close(self) -> None:
        self.events.close()
        self.proc.terminate()


@pytest.fixture
def start(desktop: Desktop, tmp_path: Path) -> Iterator[Any]:
    sessions: list[Session] = []

    def make(config: str) -> Session:
        s = Session(desktop, tmp_path, config)
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.close()
    # A window left by a failed test must not confuse the next one (a window whose daemon is
    # gone closes by itself).
    desktop.wait_for(
        lambda: not any(find(desktop, name) for name in NAMES), 10, "every guided window to close"
    )


# -- looking at the window


def window(desktop: Desktop, name: str) -> int:
    """The one visible window whose title starts with ``name``."""
    found = desktop.wait_for(lambda: find(desktop, name), 15, f"a window titled {name!r}…")
    assert len(found) == 1, found
    return found[0]


def window_count(desktop: Desktop, name: str) -> int:
    return len(find(desktop, name))


def gone(desktop: Desktop, name: str) -> None:
    desktop.wait_for(lambda: not find(desktop, name), 10, f"the window {name!r} to close")


def window_box(desktop: Desktop, win: int) -> list[int]:
    return list(desktop.window_geometry(win))


def buttons(desktop: Desktop, win: int) -> dict[str, tuple[int, int]]:
    """Where Skip, Snooze and Done are, read off a screenshot (left to right, at the bottom).

    The buttons are flat blocks of one colour (plain, teal for Done once time is up, or a
    shade darker under the pointer): scanning up from the window's bottom edge, the first
    row crossed by long runs of those colours is the buttons' bottom padding, which holds no
    text. The point to click is a few rows above it, still inside each button.
    """
    from PIL import Image

    x0, y0, w, h = desktop.window_geometry(win)
    with Image.open(desktop.screenshot()) as shot:
        rgb = shot.convert("RGB")

        def runs(y: int) -> list[tuple[int, int]]:
            found: list[tuple[int, int]] = []
            begin: int | None = None
            for x in range(x0, x0 + w + 1):
                inside = x < x0 + w and any(
                    near(rgb.getpixel((x, y))[:3], colour, 3) for colour in BUTTON_COLOURS
                )
                if inside and begin is None:
                    begin = x
                elif not inside and begin is not None:
                    if x - begin >= 24:
                        found.append((begin, x))
                    begin = None
            return found

        for y in range(y0 + h - 1, y0 + h // 2, -1):
            row = runs(y)
            if row:
                assert len(row) == 3, f"expected three buttons at y={y}, found {row}"
                points = [((a + b) // 2, y - 3) for a, b in row]
                return dict(zip(("skip", "snooze", "done"), points, strict=True))
    raise AssertionError(f"no Skip, Snooze and Done buttons found in the window at {x0},{y0}")


def click(desktop: Desktop, point: tuple[int, int]) -> None:
    x, y = point
    desktop.run(["xdotool", "mousemove", str(x), str(y), "click", "1"])


def colour_at(desktop: Desktop, point: tuple[int, int]) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(desktop.screenshot()) as shot:
        r, g, b = shot.convert("RGB").getpixel(point)[:3]
    return r, g, b


def answer(desktop: Desktop, win: int, how: str, what: str) -> None:
    """Press Done, Snooze or Skip in the window: a key after focusing it, or a click."""
    if how == "key":
        press(desktop, win, {"done": "Return", "snooze": "s", "skip": "Escape"}[what])
    else:
        click(desktop, buttons(desktop, win)[what])


# -- opened by ``deskbreak now``


def test_deskbreak_now_opens_a_window_that_names_the_stretch_and_counts_down(
    desktop: Desktop, start: Any
) -> None:
    s = start(settings())
    mark = s.mark()
    ran = s.cli("now")
    assert ran.returncode == 0, ran.stderr
    win = window(desktop, "Wall stretch")
    assert window_title(desktop, win) == "Wall stretch"

    # The reminder went out with its Start button, and the window took its place on screen.
    shown = s.notify(0)
    assert shown.summary == "Wall stretch"
    assert shown.action_keys == ANSWER_KEYS
    s.no_notification_on_screen()
    assert s.records(mark) == [("shown", "wall-stretch")]

    snap = s.status()
    assert (snap["state"], snap["exercise"], snap["in_progress"]) == ("due", "wall-stretch", True)

    # The countdown moves: the window's picture changes between screenshots, and again (not
    # just a first drawing finishing).
    box = window_box(desktop, win)
    x, y, w, h = box
    sw, sh = desktop.screen
    assert x + w <= sw and y + h <= sh and x > sw // 3, box
    pictures = [region(desktop.screenshot(), box)]
    assert len(set(pictures[0])) > 3, "the window is blank"
    for _ in range(2):

        def changed() -> bool:
            now = region(desktop.screenshot(), box)
            if now == pictures[-1]:
                return False
            pictures.append(now)
            return True

        desktop.wait_for(changed, 5, "the countdown to change")
    assert find(desktop, "Wall stretch") == [win]
    assert s.status()["state"] == "due"


NEXT = {"done": "neck-flexion", "skipped": "neck-flexion", "snoozed": "wall-stretch"}


@pytest.mark.parametrize("how", ["key", "click"])
@pytest.mark.parametrize(
    ("what", "kind"), [("done", "done"), ("snooze", "snoozed"), ("skip", "skipped")]
)
def test_each_answer_in_the_window_reaches_the_daemon(
    desktop: Desktop, start: Any, how: str, what: str, kind: str
) -> None:
    s = start(settings())
    assert s.cli("now").returncode == 0
    win = window(desktop, "Wall stretch")
    s.record("shown")
    mark = s.mark()
    answer(desktop, win, how, what)
    record = s.record(kind, mark)
    assert record["exercise"] == "wall-stretch"
    gone(desktop, "Wall stretch")
    snap = s.status()
    assert snap["exercise"] == NEXT[kind]
    assert snap["in_progress"] is False
    assert snap["done_today"] == (1 if kind == "done" else 0)
    if kind == "snoozed":
        assert record["detail"] == "10m"
        assert snap["state"] == "snoozed"
        assert 590 <= snap["next_in"] <= 600
    else:
        assert snap["state"] == "waiting"
        assert snap["next_in"] >= 3590
    assert [k for k, _ in s.records(mark)] == [kind], s.records(mark)
    assert s.ours()[-1].summary == "Wall stretch"  # nothing new was shown
    assert s.proc.alive()


# -- opened from the tray, and by a reminder's Start button


def test_stretch_now_in_the_tray_and_start_on_a_reminder_open_the_window(
    desktop: Desktop, start: Any
) -> None:
    s = start(settings(snooze="2s"))
    desktop.wait_for_menu(s.item, lambda m: "Stretch now" in m.labels())
    desktop.menu_click(s.item, ("Stretch now",))
    win = window(desktop, "Wall stretch")
    s.no_notification_on_screen()
    assert s.status()["in_progress"] is True

    # Snooze by a click: the window goes, and the same stretch comes back by itself as a
    # notification whose Start button opens the window again.
    s.record("shown")
    mark = s.mark()
    click(desktop, buttons(desktop, win)["snooze"])
    assert s.record("snoozed", mark)["detail"] == "2s"
    gone(desktop, "Wall stretch")
    back = s.notify(1)
    assert back.summary == "Wall stretch"
    assert back.action_keys == ANSWER_KEYS
    assert back.time - s.ours()[0].time >= 1.5
    assert window_count(desktop, "Wall stretch") == 0, "the window came back unasked"
    desktop.press_notification_action("start", back.id)
    win = window(desktop, "Wall stretch")
    s.no_notification_on_screen()
    snap = s.status()
    assert (snap["state"], snap["in_progress"]) == ("due", True)

    press(desktop, win, "Escape")
    assert s.record("skipped", mark)["exercise"] == "wall-stretch"
    gone(desktop, "Wall stretch")
    snap = s.status()
    assert (snap["state"], snap["exercise"]) == ("waiting", "neck-flexion")
    assert [k for k, _ in s.records(mark)] == ["snoozed", "shown", "skipped"]


# -- closing the window, and the missed rule


def test_closing_the_window_is_skipped_before_the_end_and_done_after_it(
    desktop: Desktop, start: Any
) -> None:
    s = start(settings(exercises=("wall-stretch", "quick-a")))
    assert s.cli("now").returncode == 0
    win = window(desktop, "Wall stretch")
    mark = s.mark()
    send_wm_delete(desktop, win)
    assert s.record("skipped", mark)["exercise"] == "wall-stretch"
    gone(desktop, "Wall stretch")
    assert s.status()["state"] == "waiting"

    # A two-second stretch: once its countdown has run out, Done turns teal and the window
    # waits; closing it then counts as done.
    assert s.cli("now").returncode == 0
    win = window(desktop, "Arm reach")
    done = buttons(desktop, win)["done"]
    assert near(colour_at(desktop, done), BUTTON)
    desktop.wait_for(
        lambda: near(colour_at(desktop, done), ACCENT), 6, "Done to turn teal at time's up"
    )
    assert s.status()["state"] == "due", "the window waits for the user"
    mark = s.mark()
    send_wm_delete(desktop, win)
    assert s.record("done", mark)["exercise"] == "quick-a"
    gone(desktop, "Arm reach")
    snap = s.status()
    assert (snap["state"], snap["done_today"]) == ("waiting", 1)


def test_an_open_window_is_never_missed_and_done_in_the_tray_closes_it(
    desktop: Desktop, start: Any
) -> None:
    s = start(settings(missed_after="3s"))
    mark = s.mark()
    assert s.cli("now").returncode == 0
    win = window(desktop, "Wall stretch")
    shown_at = s.record("shown", mark)["at"]

    # Well past missed_after, by the daemon's own clock: still due, still followed.
    def past_missed_after() -> dict[str, Any] | None:
        snap = s.status()
        return snap if snap["now"] >= shown_at + 3 + 1.5 else None

    snap = wait_for(past_missed_after, 10, "missed_after to pass")
    assert (snap["state"], snap["in_progress"]) == ("due", True)
    assert [k for k, _ in s.records(mark)] == ["shown"]
    assert find(desktop, "Wall stretch") == [win]

    # Answered in the tray while the window is open: the window goes.
    desktop.wait_for_menu(s.item, lambda m: "Done" in m.labels())
    desktop.menu_click(s.item, ("Done",))
    assert s.record("done", mark)["exercise"] == "wall-stretch"
    gone(desktop, "Wall stretch")
    snap = s.status()
    assert (snap["state"], snap["in_progress"], snap["done_today"]) == ("waiting", False, 1)
    assert [k for k, _ in s.records(mark)] == ["shown", "done"]


def test_without_the_window_a_reminder_is_missed_after_missed_after(
    desktop: Desktop, start: Any
) -> None:
    """The other side of the rule above: the same reminder, not followed, is missed."""
    s = start(settings(interval="2s", missed_after="3s"))
    mark = s.mark()
    shown = s.notify(0)
    assert shown.action_keys == ANSWER_KEYS
    missed = s.record("missed", mark)
    assert (missed["exercise"], missed["detail"]) == ("wall-stretch", "no answer")
    assert not find(desktop, "Wall stretch")


# -- a routine


def test_a_routine_arrives_at_its_cadence_and_walks_through_every_step(
    desktop: Desktop, start: Any
) -> None:
    s = start(settings(interval="3s", every="2"))
    # The first reminder is a single stretch; answered from the command line.
    first = s.notify(0)
    assert first.summary == "Wall stretch"
    assert s.cli("accept").returncode == 0
    assert s.record("done")["exercise"] == "wall-stretch"

    # The second is the routine: one reminder naming all its exercises.
    mark = s.mark()
    routine = s.notify(1)
    assert routine.summary.startswith("Quick routine (")
    assert routine.body == "3 exercises: Arm reach, Back twist, Calf raise."
    assert routine.action_keys == ANSWER_KEYS
    snap = s.status()
    assert (snap["state"], snap["routine"]) == ("due", "quick")

    desktop.press_notification_action("start", routine.id)
    win = window(desktop, "Arm reach")
    assert window_title(desktop, win) == "Arm reach — 1 of 3"
    s.no_notification_on_screen()
    assert s.status()["in_progress"] is True
    desktop.wait_for(
        lambda: window_title(desktop, win) == "Back twist — 2 of 3", 6, "the second exercise"
    )
    desktop.wait_for(
        lambda: window_title(desktop, win) == "Calf raise — 3 of 3", 6, "the third exercise"
    )
    done = buttons(desktop, win)["done"]
    desktop.wait_for(lambda: near(colour_at(desktop, done), ACCENT), 6, "the end of the routine")
    assert s.status()["state"] == "due"
    click(desktop, done)
    record = s.record("done", mark)
    assert record["exercise"] == "quick-a"
    gone(desktop, "Calf raise")
    snap = s.status()
    assert (snap["done_today"], snap["in_progress"]) == (2, False)
    assert snap["routine"] is None  # the next one is a single stretch again
    quit_ = s.cli("quit")
    assert quit_.returncode == 0, quit_.stderr
    assert s.proc.popen.wait(timeout=15) == 0

    # The history: the routine is one reminder, done, with every exercise of it done.
    with sqlite3.connect(s.history) as db:
        rows = db.execute(
            "SELECT id, outcome, exercises FROM reminders WHERE routine = 'quick'"
        ).fetchall()
        assert len(rows) == 1, rows
        rid, outcome, exercises = rows[0]
        assert (outcome, exercises) == ("done", "quick-a,quick-b,quick-c")
        events = db.execute(
            "SELECT kind, detail FROM events WHERE reminder = ? ORDER BY id", (rid,)
        ).fetchall()
    assert events == [("shown", ""), ("done", "quick-a,quick-b,quick-c")]

    stats = s.cli("stats", "--today", "--json")
    assert stats.returncode == 0, stats.stderr
    data = json.loads(stats.stdout)
    assert data["done"] == 2
    top = {t["exercise"]: t["done"] for t in data["top_exercises"]}
    assert top == {"wall-stretch": 1, "quick-a": 1, "quick-b": 1, "quick-c": 1}


def test_no_input_while_following_a_routine_is_not_a_natural_break(
    desktop: Desktop, start: Any
) -> None:
    """The routine (6 s) lasts longer than the natural break (3 s) and nobody touches the
    keyboard or mouse meanwhile, as a user doing the stretches would not: the idle time that
    builds up is not an absence, and the click on Done at the end is done, not a return."""
    s = start(settings(interval="2s", every="1", idle=True, natural_break="3s"))

    def working() -> NotifyRecord | None:
        """The user works (moves the mouse) until the reminder comes."""
        desktop.run(["xdotool", "mousemove_relative", "--", "1", "1"])
        ours = s.ours()
        return ours[0] if ours and ours[0].id else None

    routine = wait_for(working, 15, "the routine's reminder")
    assert routine.summary.startswith("Quick routine (")
    mark = s.mark()
    desktop.press_notification_action("start", routine.id)  # over the bus: no X input
    win = window(desktop, "Arm reach")
    desktop.wait_for(
        lambda: window_title(desktop, win) == "Calf raise — 3 of 3", 10, "the last exercise"
    )
    # Idle longer than the natural break by now: seen by the daemon, not taken for away.
    wait_for(
        lambda: "guided window is followed: not away" in s.proc.output(),
        10,
        "the daemon to hear of the idle time",
    )
    snap = s.status()
    assert (snap["state"], snap["in_progress"], snap["away"]) == ("due", True, False)
    done = buttons(desktop, win)["done"]
    desktop.wait_for(lambda: near(colour_at(desktop, done), ACCENT), 6, "the end of the routine")
    click(desktop, done)
    assert s.record("done", mark)["exercise"] == "quick-a"
    gone(desktop, "Calf raise")
    kinds = [k for k, _ in s.records(mark)]
    assert kinds.count("done") == 1 and "natural-break" not in kinds, kinds

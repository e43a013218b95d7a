"""The real guided window (Tk, in its own process) on the throwaway desktop's X server.

Each test opens the window through the daemon's adapter, finds it with xdotool, looks at it
with screenshots and window properties, answers it with real key presses, clicks and a
window-manager close message, and checks the one answer that comes back.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deskbreak.adapters.guide_window import FakeGuideWindow, GuideWindow
from deskbreak.exercises import Exercise, builtin_by_id
from tests.desktop_harness import Desktop, wait_for

ACCENT = (0x00, 0x80, 0x6F)  # the Done button once the countdown has run out
BUTTON = (0xE9, 0xE5, 0xDC)  # a plain button


def stretch(id: str, name: str, duration: int, equipment: tuple[str, ...] = ()) -> Exercise:
    return Exercise(
        id=id,
        name=name,
        category="desk",
        duration=duration,
        desk=True,
        equipment=equipment,
        steps=("Sit tall.", "Breathe slowly and hold the stretch."),
    )


class Answers:
    """What the adapter reported, in the order it came."""

    def __init__(self) -> None:
        self.steps: list[int] = []
        self.outcomes: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def on_step(self, index: int) -> None:
        with self.lock:
            self.steps.append(index)

    def on_outcome(self, outcome: dict[str, Any]) -> None:
        with self.lock:
            self.outcomes.append(outcome)

    def wait_outcome(self, timeout: float = 10) -> dict[str, Any]:
        wait_for(lambda: self.outcomes, timeout, "the guided window's answer")
        return self.outcomes[0]


class LogRecords(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_opened: list[GuideWindow] = []


@pytest.fixture(autouse=True)
def _close_windows_left_open() -> Iterator[None]:
    """A failed test must not leave its window on the shared desktop for the next one."""
    yield
    while _opened:
        _opened.pop().close()


def open_guide(
    desktop: Desktop, exercises: list[Exercise], title: str | None = None
) -> tuple[GuideWindow, Answers, int]:
    """Open the window through the adapter; return it, its answers and its X window id."""
    answers = Answers()
    guide = GuideWindow(
        answers.on_step, answers.on_outcome, logging.getLogger("test.guide"), env=desktop.env
    )
    assert guide.available()
    assert guide.open(title, exercises)
    _opened.append(guide)
    wait_for(lambda: guide.layout is not None or answers.outcomes, 15, "the window to show")
    assert not answers.outcomes, answers.outcomes
    first = exercises[0].name
    expected = f"{first} — 1 of {len(exercises)}" if title else first
    windows = desktop.wait_for(lambda: find(desktop, first), what=f"a window titled {first!r}…")
    assert len(windows) == 1
    assert window_title(desktop, windows[0]) == expected
    return guide, answers, windows[0]


def find(desktop: Desktop, name: str) -> list[int]:
    """Visible windows whose title starts with ``name`` (plain words only).

    Matched on the start only: xdotool matches the legacy WM_NAME property, where Tk stores
    the title's UTF-8 bytes under the Latin-1 type, so an em dash does not match itself.
    """
    found = desktop.run(["xdotool", "search", "--onlyvisible", "--name", f"^{name}"], check=False)
    return [int(w) for w in found.stdout.split()]


def window_title(desktop: Desktop, window: int) -> str:
    return desktop.run(["xdotool", "getwindowname", str(window)]).stdout.strip()


def gone(desktop: Desktop, name: str) -> bool:
    return not find(desktop, name)


def press(desktop: Desktop, window: int, key: str) -> None:
    """Give the window the keyboard (as a click would with a window manager), press a key."""
    desktop.run(["xdotool", "windowfocus", "--sync", str(window)])
    # Typed through XTEST, like a real keyboard. (``key --window`` would send the release to
    # the window the press just closed, fail, and leave the key held down, auto-repeating.)
    desktop.run(["xdotool", "key", key])


def click(desktop: Desktop, guide: GuideWindow, button: str) -> None:
    assert guide.layout is not None
    x, y, w, h = guide.layout["buttons"][button]
    desktop.run(["xdotool", "mousemove", str(x + w // 2), str(y + h // 2), "click", "1"])


def send_wm_delete(desktop: Desktop, window: int) -> None:
    """What a window manager sends when the user closes a window (its X button, Alt-F4)."""
    from Xlib import X, display
    from Xlib.protocol import event

    x = display.Display(desktop.display)
    try:
        target = x.create_resource_object("window", window)
        message = event.ClientMessage(
            window=target,
            client_type=x.intern_atom("WM_PROTOCOLS"),
            data=(32, [x.intern_atom("WM_DELETE_WINDOW"), X.CurrentTime, 0, 0, 0]),
        )
        target.send_event(message, event_mask=X.NoEventMask)
        x.sync()  # a round trip: closing right after a flush may drop the request
    finally:
        x.close()


def pixel(path: Path, xy: tuple[int, int]) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(path) as image:
        r, g, b = image.convert("RGB").getpixel(xy)[:3]
    return r, g, b


def region(path: Path, box: list[int]) -> bytes:
    from PIL import Image

    x, y, w, h = box
    with Image.open(path) as image:
        return image.convert("RGB").crop((x, y, x + w, y + h)).tobytes()


def near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 12) -> bool:
    return max(abs(p - q) for p, q in zip(a, b, strict=True)) <= tolerance


def done_button_colour(desktop: Desktop, guide: GuideWindow) -> tuple[int, int, int]:
    assert guide.layout is not None
    x, y, _w, h = guide.layout["buttons"]["done"]
    # A point inside the button but off its label.
    return pixel(desktop.screenshot(), (x + 4, y + h // 2))


def xprop(desktop: Desktop, window: int, prop: str) -> str:
    return desktop.run(["xprop", "-id", str(window), prop]).stdout.strip()


# -- a single stretch


@pytest.mark.desktop
def test_window_names_the_exercise_and_counts_down(desktop: Desktop) -> None:
    catalogue = builtin_by_id()
    exercise = catalogue["neck-flexion"]
    guide, answers, window = open_guide(desktop, [exercise])
    try:
        assert window_title(desktop, window) == "Neck flexion"
        assert answers.steps == [0]
        assert guide.is_open()
        layout = guide.layout
        assert layout is not None
        first = desktop.screenshot()
        before = region(first, layout["clock"])
        assert len(set(before)) > 3, "the countdown region is blank"

        def countdown_changed() -> bool:
            return region(desktop.screenshot(), layout["clock"]) != before

        desktop.wait_for(countdown_changed, 5, "the countdown to change on screen")
        # The window sits near the bottom-right corner of the screen, whole.
        x, y, w, h = layout["window"]
        sw, sh = desktop.screen
        assert x + w <= sw and y + h <= sh
        assert x > sw // 3 and y + h > sh // 2
    finally:
        guide.close()
    desktop.wait_for(lambda: gone(desktop, "Neck flexion"), what="the window to close")
    assert answers.outcomes == [], "close() must not report an answer"
    assert not guide.is_open()


@pytest.mark.desktop
def test_window_is_on_top_and_asks_not_to_take_the_keyboard(desktop: Desktop) -> None:
    from Xlib import X, display

    x = display.Display(desktop.display)
    typing = x.screen().root.create_window(
        10, 10, 200, 100, 0, x.screen().root_depth, X.InputOutput, X.CopyFromParent
    )
    try:
        typing.set_wm_name("Editor")
        typing.map()
        x.sync()
        desktop.run(["xdotool", "windowfocus", "--sync", str(typing.id)])
        guide, answers, window = open_guide(desktop, [stretch("roll", "Shoulder roll", 30)])
        try:
            assert x.get_input_focus().focus.id == typing.id, "the window took the keyboard"
            assert "_NET_WM_STATE_ABOVE" in xprop(desktop, window, "_NET_WM_STATE")
            assert "_NET_WM_WINDOW_TYPE_UTILITY" in xprop(desktop, window, "_NET_WM_WINDOW_TYPE")
            assert xprop(desktop, window, "_NET_WM_USER_TIME").endswith("= 0")
            # Keys typed into the other window do not answer the stretch: the window goes on
            # counting down after them, with no answer.
            layout = guide.layout
            assert layout is not None
            before = region(desktop.screenshot(), layout["clock"])
            desktop.run(["xdotool", "key", "Return", "s", "Escape"])
            desktop.wait_for(
                lambda: region(desktop.screenshot(), layout["clock"]) != before,
                5,
                "the countdown to go on",
            )
            assert answers.outcomes == []
            assert guide.is_open()
        finally:
            guide.close()
    finally:
        typing.destroy()
        x.close()


@pytest.mark.desktop
@pytest.mark.parametrize(
    ("key", "outcome"), [("Return", "done"), ("s", "snoozed"), ("Escape", "skipped")]
)
def test_keys_answer_the_stretch(desktop: Desktop, key: str, outcome: str) -> None:
    guide, answers, window = open_guide(desktop, [stretch("wall", "Wall stretch", 30)])
    press(desktop, window, key)
    answer = answers.wait_outcome()
    assert answer == {
        "outcome": outcome,
        "finished": False,
        "completed": ["wall"] if outcome == "done" else [],
        "index": 0,
    }
    desktop.wait_for(lambda: gone(desktop, "Wall stretch"), what="the window to close")
    assert not guide.is_open()
    assert len(answers.outcomes) == 1


@pytest.mark.desktop
@pytest.mark.parametrize(
    ("button", "outcome"), [("done", "done"), ("snooze", "snoozed"), ("skip", "skipped")]
)
def test_buttons_answer_the_stretch(desktop: Desktop, button: str, outcome: str) -> None:
    guide, answers, _window = open_guide(desktop, [stretch("wall", "Wall stretch", 30)])
    click(desktop, guide, button)
    assert answers.wait_outcome()["outcome"] == outcome
    desktop.wait_for(lambda: gone(desktop, "Wall stretch"), what="the window to close")


@pytest.mark.desktop
def test_closing_the_window_before_the_end_is_skipped(desktop: Desktop) -> None:
    _guide, answers, window = open_guide(desktop, [stretch("wall", "Wall stretch", 30)])
    send_wm_delete(desktop, window)
    assert answers.wait_outcome() == {
        "outcome": "skipped",
        "finished": False,
        "completed": [],
        "index": 0,
    }
    desktop.wait_for(lambda: gone(desktop, "Wall stretch"), what="the window to close")


@pytest.mark.desktop
def test_time_up_makes_done_the_obvious_click_and_closing_then_is_done(desktop: Desktop) -> None:
    guide, answers, window = open_guide(desktop, [stretch("roll", "Shoulder roll", 1)])
    assert near(done_button_colour(desktop, guide), BUTTON)
    desktop.wait_for(
        lambda: near(done_button_colour(desktop, guide), ACCENT),
        5,
        "the Done button to turn teal when the countdown ends",
    )
    assert guide.is_open() and answers.outcomes == [], "the window waits for the user"
    send_wm_delete(desktop, window)
    assert answers.wait_outcome() == {
        "outcome": "done",
        "finished": True,
        "completed": ["roll"],
        "index": 0,
    }


# -- a routine


@pytest.mark.desktop
def test_routine_steps_through_to_its_end(desktop: Desktop) -> None:
    routine = [
        stretch("a", "Arm reach", 1),
        stretch("b", "Back twist", 1, equipment=("a chair",)),
        stretch("c", "Calf raise", 2),
    ]
    guide, answers, window = open_guide(desktop, routine, title="Quick routine")
    desktop.wait_for(
        lambda: window_title(desktop, window) == "Back twist — 2 of 3", 5, "the second exercise"
    )
    desktop.wait_for(
        lambda: window_title(desktop, window) == "Calf raise — 3 of 3", 5, "the third exercise"
    )
    desktop.wait_for(
        lambda: near(done_button_colour(desktop, guide), ACCENT), 5, "the end of the routine"
    )
    assert answers.steps == [0, 1, 2]
    assert answers.outcomes == []
    press(desktop, window, "Return")
    assert answers.wait_outcome() == {
        "outcome": "done",
        "finished": True,
        "completed": ["a", "b", "c"],
        "index": 2,
    }


@pytest.mark.desktop
def test_snoozing_a_routine_midway_snoozes_it_whole(desktop: Desktop) -> None:
    routine = [stretch("a", "Arm reach", 1), stretch("b", "Back twist", 30)]
    guide, answers, _window = open_guide(desktop, routine, title="Quick routine")
    desktop.wait_for(lambda: answers.steps == [0, 1], 5, "the second exercise")
    click(desktop, guide, "snooze")
    assert answers.wait_outcome() == {
        "outcome": "snoozed",
        "finished": False,
        "completed": ["a"],
        "index": 1,
    }


# -- lifetime and failure


@pytest.mark.desktop
def test_the_window_closes_when_the_daemon_dies(desktop: Desktop) -> None:
    script = (
        "import logging, sys, time\n"
        "from deskbreak.adapters.guide_window import GuideWindow\n"
        "from deskbreak.exercises import builtin_by_id\n"
        "g = GuideWindow(print, print, logging.getLogger())\n"
        "g.open(None, [builtin_by_id()['wall-stretch']])\n"
        "time.sleep(60)\n"
    )
    parent = desktop.spawn("fake-daemon", [sys.executable, "-c", script])
    desktop.wait_for(lambda: find(desktop, "Wall stretch"), 15, "the window")
    parent.terminate()
    desktop.wait_for(lambda: gone(desktop, "Wall stretch"), 5, "the orphaned window to close")


def test_without_a_display_the_window_is_unavailable_and_said_once() -> None:
    log = logging.getLogger("test.guide.nodisplay")
    records = LogRecords()
    log.addHandler(records)
    answers = Answers()
    guide = GuideWindow(answers.on_step, answers.on_outcome, log, env={"PATH": "/usr/bin"})
    assert not guide.available()
    exercise = builtin_by_id()["wall-stretch"]
    assert guide.open(None, [exercise]) is False
    assert guide.open(None, [exercise]) is False
    assert len(records.messages) == 1
    assert "DISPLAY" in records.messages[0]
    assert answers.outcomes == []


def test_when_tk_cannot_start_the_window_fails_once_and_is_not_tried_again(
    tmp_path: Path,
) -> None:
    log = logging.getLogger("test.guide.baddisplay")
    records = LogRecords()
    log.addHandler(records)
    answers = Answers()
    env = {"PATH": "/usr/bin", "DISPLAY": ":9876", "HOME": str(tmp_path)}
    guide = GuideWindow(answers.on_step, answers.on_outcome, log, env=env)
    assert guide.available()
    exercise = builtin_by_id()["wall-stretch"]
    assert guide.open(None, [exercise]) is True
    outcome = answers.wait_outcome(15)
    assert outcome["outcome"] == "failed"
    assert "window" in outcome["reason"] or "display" in outcome["reason"]
    assert not guide.available()
    assert guide.open(None, [exercise]) is False
    assert len(records.messages) == 1, records.messages
    assert len(answers.outcomes) == 1


def test_the_program_exits_3_without_a_display_and_2_on_bad_input() -> None:
    env = {"PATH": "/usr/bin"}
    good = '{"title": null, "exercises": [{"id": "a", "name": "A", "duration": 5}]}'
    ran = subprocess.run(
        [sys.executable, "-m", "deskbreak.guide"],
        input=good,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert ran.returncode == 3
    assert len(ran.stderr.strip().splitlines()) == 1
    assert ran.stdout == ""
    bad = subprocess.run(
        [sys.executable, "-m", "deskbreak.guide"],
        input='{"exercises": []}',
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert bad.returncode == 2
    assert "exercises" in bad.stderr


def test_fake_guide_window_plays_the_user() -> None:
    answers = Answers()
    fake = FakeGuideWindow(on_step=answers.on_step, on_outcome=answers.on_outcome)
    catalogue = builtin_by_id()
    routine = [catalogue["wall-stretch"], catalogue["neck-flexion"]]
    assert fake.open("Desk", routine)
    assert fake.is_open()
    fake.step(1)
    fake.answer("done", finished=True)
    assert answers.steps == [0, 1]
    assert answers.outcomes == [
        {
            "outcome": "done",
            "finished": True,
            "completed": ["wall-stretch", "neck-flexion"],
            "index": 1,
        }
    ]
    assert not fake.is_open()
    fake.is_available = False
    assert fake.open(None, routine) is False
    with pytest.raises(AssertionError):
        fake.answer("skipped")

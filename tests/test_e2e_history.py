"""Remember every break, end to end: real ``deskbreak run`` processes keep the history in a
real SQLite file; what they kept is read back through ``deskbreak stats``, ``deskbreak
status`` and straight from the file, as another program would.

Most tests run the daemon without a display (terminal mode, see tests/daemon_proc.py); the
ones about the tray menu and the desktop notification run on the throwaway desktop.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from deskbreak.adapters import settings_file
from deskbreak.adapters.history import SCHEMA_V1, SCHEMA_VERSION
from tests.daemon_proc import DaemonHome
from tests.desktop_harness import Desktop, MenuItem, NotifyRecord, Proc, wait_for
from tests.wallshim import WallShim

BASE = """\
[reminders]
interval = "1h"       # reminders come when the test asks for them
snooze = "1s"
missed_after = "10m"  # nothing is missed unless the test makes it so
"""


def config(extra: str = "", **reminders: str) -> str:
    text = BASE
    for key, value in reminders.items():
        text = text.replace(f"{key} = ", f"#{key} = ") + f"{key} = {value}\n"
    return text + extra


@pytest.fixture
def home() -> Iterator[DaemonHome]:
    h = DaemonHome(config())
    try:
        yield h
    finally:
        h.stop()


def history_path(home: DaemonHome) -> Path:
    """Where the daemon keeps the history by default: the user data folder."""
    return home.root / "data" / "deskbreak" / "history.sqlite3"


def query(path: Path, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """Read the file with a connection of its own, as another program would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def ok(home: DaemonHome, *args: str, env: dict[str, str] | None = None) -> str:
    r = home.cli(*args, env=env)
    assert r.returncode == 0, f"deskbreak {' '.join(args)}: {r.stderr}"
    return r.stdout


def timed(home: DaemonHome, *args: str) -> tuple[float, float]:
    """Run a command; the wall times just before it started and just after it returned.

    Every control command returns only after the daemon has handled it, so whatever the
    daemon did about it happened between the two."""
    before = time.time()
    ok(home, *args)
    return before, time.time()


def stats(home: DaemonHome, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ok(home, "stats", "--json", *args, env=env))
    return data


def wait_state(home: DaemonHome, state: str, timeout: float = 10) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        snap = home.status()
        return snap if snap["state"] == state else None

    return wait_for(reached, timeout, f"the daemon to be {state!r}")


def events(path: Path) -> list[tuple[Any, ...]]:
    """(kind, the reminder's core id or None, detail, answer seconds, at), in order."""
    return query(
        path,
        "SELECT e.kind, r.core_id, e.detail, e.answer_seconds, e.at"
        " FROM events e LEFT JOIN reminders r ON r.id = e.reminder ORDER BY e.id",
    )


def within(value: float, span: tuple[float, float], slack: float = 0.05) -> bool:
    return span[0] - slack <= value <= span[1] + slack


# ---------------------------------------------------------------- every path, one daemon


def test_every_answer_is_recorded_with_how_long_it_took(home: DaemonHome) -> None:
    home.start()
    path = history_path(home)

    def show() -> tuple[tuple[float, float], str]:
        """Show the next stretch: when, and which (told before, in case it is missed fast)."""
        exercise = home.status()["exercise"]
        return timed(home, "now"), exercise

    # 1: done
    shown1, ex1 = show()
    done1 = timed(home, "accept")
    # 2: skipped
    shown2, ex2 = show()
    skip2 = timed(home, "skip")
    # 3: snoozed twice (1 s each), then done
    shown3, ex3 = show()
    snooze3a = timed(home, "snooze")
    back = wait_state(home, "due")
    assert (back["exercise"], back["snoozes"]) == (ex3, 1)
    snooze3b = timed(home, "snooze")
    wait_state(home, "due")
    done3 = timed(home, "accept")
    # 4: closed by a pause
    _shown4, ex4 = show()
    timed(home, "pause")
    timed(home, "resume")
    # 5: no answer: missed once missed_after has passed
    home.config.write_text(config(missed_after='"1s"'))
    ok(home, "reload")
    shown5, ex5 = show()
    after = wait_state(home, "waiting")
    assert after["exercise"] != ex5

    # deskbreak stats sums it up.
    day = stats(home, "--today")
    assert {k: day[k] for k in ("reminders", "done", "skipped", "missed", "snoozes")} == {
        "reminders": 5,
        "done": 2,
        "skipped": 1,
        "missed": 1,
        "snoozes": 2,
    }
    assert (day["paused"], day["natural_breaks"], day["held"]) == (1, 0, 0)
    assert day["completion_rate"] == 0.5  # 2 done of 2 done + 1 skipped + 1 missed
    assert sorted(t["exercise"] for t in day["top_exercises"]) == sorted({ex1, ex3})
    snap = home.status()
    assert (snap["done_today"], snap["skips_today"]) == (2, 1)

    # One row per reminder with its outcome and its snoozes.
    reminders = query(path, "SELECT core_id, exercise, snoozes, outcome FROM reminders ORDER BY id")
    assert reminders == [
        (1, ex1, 0, "done"),
        (2, ex2, 0, "skipped"),
        (3, ex3, 2, "done"),
        (4, ex4, 0, "paused"),
        (5, ex5, 0, "missed"),
    ]
    # Every event, in order, tied to its reminder.
    kinds = [(kind, rid) for kind, rid, *_ in events(path)]
    assert kinds == [
        ("shown", 1), ("done", 1),
        ("shown", 2), ("skipped", 2),
        ("shown", 3), ("snoozed", 3), ("shown", 3), ("snoozed", 3), ("shown", 3), ("done", 3),
        ("shown", 4), ("paused", 4), ("paused", None), ("resumed", None),
        ("shown", 5), ("missed", 5),
    ]  # fmt: skip
    ev = events(path)
    snoozes = [e for e in ev if e[0] == "snoozed"]
    assert [e[2] for e in snoozes] == ["1s", "1s"]
    (done_1, done_3) = [e for e in ev if e[0] == "done"]
    (skipped,) = [e for e in ev if e[0] == "skipped"]
    (missed,) = [e for e in ev if e[0] == "missed"]
    assert missed[2] == "no answer"

    # How long the user took to answer: from when the reminder was (last) shown.
    assert within(done_1[3], (done1[0] - shown1[1], done1[1] - shown1[0]))
    assert within(skipped[3], (skip2[0] - shown2[1], skip2[1] - shown2[0]))
    assert within(done_1[4], done1) and within(skipped[4], skip2)  # when: as it happened
    assert within(snoozes[0][3], (snooze3a[0] - shown3[1], snooze3a[1] - shown3[0]))
    # The second snooze and the done count from the reminder's return, not its first showing.
    assert snoozes[1][3] <= snooze3b[1] - snooze3a[0] - 1
    assert done_3[3] <= done3[1] - snooze3b[0] - 1
    assert missed[3] is None  # no answer, no answer time
    assert missed[4] >= shown5[0] + 1 - 0.05  # missed_after after it was shown
    rows = query(path, "SELECT answer_seconds FROM reminders WHERE core_id = 3")
    assert rows == [(done_3[3],)]

    # The same answer times come out of the CSV export.
    exported = list(csv.DictReader(io.StringIO(ok(home, "stats", "--today", "--csv", "-"))))
    assert [(e["kind"], e["answer_seconds"]) for e in exported if e["answer_seconds"]] == [
        (kind, f"{answer:.1f}") for kind, _r, _d, answer, _at in ev if answer is not None
    ]


def test_a_routine_done_is_recorded_with_every_exercise() -> None:
    text = config("\n[routines]\nevery = 1  # every reminder is the routine\n", interval='"2s"')
    h = DaemonHome(text)
    try:
        proc = h.start()
        routine = settings_file.load(h.config).routine()
        # Routines come on the interval (never through "deskbreak now").
        due = wait_state(h, "due")
        assert due["routine"] == routine.id and due["exercise_name"] == routine.name
        ok(h, "interval", "1h")  # no further reminder while the test looks
        ok(h, "accept")

        path = history_path(h)
        rows = query(path, "SELECT routine, exercises, exercise, outcome FROM reminders")
        assert rows == [(routine.id, ",".join(routine.exercises), routine.exercises[0], "done")]
        assert [(k, d) for k, _r, d, _a, _t in events(path)] == [
            ("shown", ""),
            ("done", ",".join(routine.exercises)),  # the exercises done
        ]
        day = stats(h, "--today")
        assert day["done"] == 1
        # Each exercise of the routine counts as done once.
        done = {t["exercise"]: t["done"] for t in day["top_exercises"]}
        assert done == dict.fromkeys(routine.exercises, 1)
        assert f"Time for a routine: {routine.name}" in h.output(proc)
    finally:
        h.stop()


def test_away_long_enough_closes_the_reminder_as_a_natural_break(tmp_path: Path) -> None:
    """The machine sleeps (its wall clock jumps, its monotonic clock does not) while a
    reminder is on screen: on waking the reminder closes as a natural break."""
    shim = WallShim.build(tmp_path / "shim")
    h = DaemonHome(config('\n[away]\nnatural_break = "1m"\n', missed_after='"4s"'))
    try:
        env = {**h.env, **shim.env()}
        h.start(env=env)
        exercise = h.status()["exercise"]
        ok(h, "now")
        # Five minutes asleep, as the daemon will see it, before the reminder could be missed.
        shim.jump(300)
        wait_state(h, "waiting")  # the next look at the clocks notices the gap

        path = history_path(h)
        assert query(path, "SELECT core_id, exercise, outcome FROM reminders") == [
            (1, exercise, "natural-break")
        ]
        kinds = [(k, r, d) for k, r, d, _a, _t in events(path)]
        assert kinds == [("shown", 1, ""), ("natural-break", 1, "suspend 5m")]
        day = stats(h, "--today", env=env)  # "today" as the daemon's clock has it
        assert (day["natural_breaks"], day["missed"], day["done"]) == (1, 0, 0)
        assert day["completion_rate"] is None  # away: neither done nor missed
    finally:
        h.stop()


def test_turning_the_history_off_and_on_takes_effect_at_once(home: DaemonHome) -> None:
    path = history_path(home)
    home.start()
    ok(home, "now")
    ok(home, "accept")
    home.config.write_text(config("\n[history]\nenabled = false\n"))
    ok(home, "reload")
    ok(home, "now")
    ok(home, "accept")  # not kept: the user said so
    home.config.write_text(config("\n[history]\nenabled = true\n"))
    ok(home, "reload")
    ok(home, "now")
    ok(home, "skip")
    assert query(path, "SELECT core_id, outcome FROM reminders ORDER BY id") == [
        (1, "done"),
        (3, "skipped"),
    ]
    assert home.status()["done_today"] == 2  # the run's own count goes on regardless


# ---------------------------------------------------------------- crashes


def test_kill_9_right_after_an_answer_loses_nothing(home: DaemonHome) -> None:
    path = history_path(home)
    proc = home.start()
    ok(home, "now")
    ok(home, "accept")  # returns once the daemon has handled (and recorded) it
    ok(home, "now")
    ok(home, "skip")
    ok(home, "now")
    ok(home, "snooze", "1h")
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL

    again = home.start()
    snap = home.status()
    assert (snap["done_today"], snap["skips_today"]) == (1, 1)  # counted from the history
    text = ok(home, "status")
    assert "Today: 1 of 8 stretches" in [line.strip() for line in text.splitlines()]
    ok(home, "now")
    ok(home, "accept")
    os.kill(again.pid, signal.SIGKILL)
    again.wait(timeout=10)

    home.start()
    assert home.status()["done_today"] == 2
    assert query(path, "PRAGMA integrity_check") == [("ok",)]
    rows = query(path, "SELECT run, core_id, snoozes, outcome FROM reminders ORDER BY id")
    # The snoozed reminder stays open (it was never answered in full); the next run's
    # reminder ids go on above the last run's.
    assert rows == [(1, 1, 0, "done"), (1, 2, 0, "skipped"), (1, 3, 1, None), (2, 4, 0, "done")]
    day = stats(home, "--today")
    assert (day["reminders"], day["done"], day["skipped"], day["snoozes"]) == (4, 2, 1, 1)


# ---------------------------------------------------------------- a bad or old file


def test_a_corrupt_history_is_moved_aside_and_the_user_told_once(home: DaemonHome) -> None:
    path = history_path(home)
    path.parent.mkdir(parents=True)
    garbage = b"\x00\x13 not a database \xff" * 400
    path.write_bytes(garbage)

    proc = home.start()
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == garbage  # kept, not deleted
    told = [line for line in home.output(proc).splitlines() if "history" in line]
    assert len(told) == 1, home.output(proc)
    assert "could not be read" in told[0] and aside[0].name in told[0]
    ok(home, "now")
    ok(home, "accept")
    assert query(path, "SELECT outcome FROM reminders") == [("done",)]  # a fresh file
    assert stats(home, "--today")["done"] == 1

    ok(home, "quit")
    proc.wait(timeout=10)
    again = home.start()
    ok(home, "now")  # a round trip: anything it would say at start, it has said
    assert "history" not in home.output(again)  # the file is good now: nothing to tell
    assert home.status()["done_today"] == 1
    assert len([p for p in path.parent.iterdir() if ".corrupt-" in p.name]) == 1


def make_v1(path: Path, rows: list[tuple[Any, ...]]) -> None:
    """A history as deskbreak's first schema wrote it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    conn.executemany(
        "INSERT INTO events (at, kind, reminder_id, exercise, due_at, shown_at, snoozes, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_history_from_the_previous_version_is_migrated_and_still_counted(
    home: DaemonHome,
) -> None:
    path = history_path(home)
    midnight = datetime.now().replace(hour=0, minute=0, second=0, microsecond=0)
    y = (midnight - timedelta(hours=14)).timestamp()  # yesterday, 10:00
    t = midnight.timestamp() + 1  # today, just after midnight
    make_v1(
        path,
        [
            # yesterday's run
            (y, "shown", 1, "neck-flexion", y, y, 0, ""),
            (y + 20, "done", 1, "neck-flexion", y, y, 0, ""),
            (y + 3600, "shown", 2, "wall-stretch", y + 3600, y + 3600, 0, ""),
            (y + 3900, "missed", 2, "wall-stretch", y + 3600, y + 3600, 0, "no answer"),
            # today's run: the ids started at 1 again
            (t, "shown", 1, "shoulder-roll", t, t, 0, ""),
            (t + 5, "snoozed", 1, "shoulder-roll", t, t, 1, "10m"),
            (t + 8, "shown", 1, "shoulder-roll", t, t + 8, 1, ""),
            (t + 9, "skipped", 1, "shoulder-roll", t, t + 8, 1, ""),
            (t + 10, "shown", 2, "neck-flexion", t + 10, t + 10, 0, ""),
            (t + 12, "done", 2, "neck-flexion", t + 10, t + 10, 0, ""),
        ],
    )
    proc = home.start()
    assert query(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]  # the daemon migrated it
    assert "history" not in home.output(proc)  # nothing went wrong: nothing to tell

    snap = home.status()
    assert (snap["done_today"], snap["skips_today"]) == (1, 1)  # today's, from the old file
    two = stats(home, "--days", "2")
    assert {k: two[k] for k in ("reminders", "done", "skipped", "missed", "snoozes")} == {
        "reminders": 4,
        "done": 2,
        "skipped": 1,
        "missed": 1,
        "snoozes": 1,
    }
    assert [(d["done"], d["missed"], d["skipped"]) for d in two["per_day"]] == [
        (1, 1, 0),
        (1, 0, 1),
    ]

    # New reminders go on after the old ones.
    ok(home, "now")
    ok(home, "accept")
    assert home.status()["done_today"] == 2
    rows = query(path, "SELECT run, core_id, outcome FROM reminders ORDER BY id")
    assert rows[-1] == (1, 3, "done")
    assert [r[2] for r in rows[:-1]] == ["done", "missed", "skipped", "done"]


# ---------------------------------------------------------------- budgets and progress


def test_budgets_through_the_command_line_and_across_a_restart() -> None:
    h = DaemonHome(config(max_snoozes="1", skip_budget="1", snooze='"1h"'))
    try:
        proc = h.start()
        path = history_path(h)
        ok(h, "now")
        ok(h, "snooze")
        ok(h, "now")  # the snoozed reminder, back early
        r = h.cli("snooze")
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.strip() == (
            "deskbreak: already snoozed once, the most allowed for one reminder"
        )
        snap = h.status()
        assert snap["state"] == "due"
        assert (snap["snooze_allowed"], snap["skip_allowed"]) == (False, True)
        assert snap["snooze_note"] == "already snoozed once, the most allowed for one reminder"

        ok(h, "skip")
        ok(h, "now")
        r = h.cli("skip")
        assert (r.returncode, r.stderr.strip()) == (2, "deskbreak: no skips left today")
        snap = h.status()
        assert (snap["state"], snap["skip_allowed"], snap["skip_note"]) == (
            "due",
            False,
            "no skips left today",
        )
        assert snap["snooze_allowed"] is True  # a fresh reminder may be snoozed
        # Refused answers are not answers: nothing was recorded for them.
        assert [k for k, *_ in events(path)] == ["shown", "snoozed", "shown", "skipped", "shown"]

        # The day's skips are counted from the history: a restart does not give them back.
        ok(h, "quit")
        proc.wait(timeout=10)
        h.start()
        ok(h, "now")
        r = h.cli("skip")
        assert (r.returncode, r.stderr.strip()) == (2, "deskbreak: no skips left today")
        ok(h, "accept")
    finally:
        h.stop()


def test_status_shows_todays_progress(home: DaemonHome) -> None:
    home.config.write_text(config(daily_goal="3"))
    home.start()
    assert "          Today: 0 of 3 stretches" in ok(home, "status").splitlines()
    for _ in range(2):
        ok(home, "now")
        ok(home, "accept")
    lines = ok(home, "status").splitlines()
    assert lines[2].strip() == "Today: 2 of 3 stretches", lines
    snap = home.status()
    assert (snap["done_today"], snap["daily_goal"]) == (2, 3)


def test_the_status_progress_line_uses_the_trays_words() -> None:
    from deskbreak import cycle as c
    from deskbreak.commands.control import progress_text
    from deskbreak.views import progress_line

    for done, goal in ((0, 8), (5, 8), (1, 1), (9, 3)):
        status = c.Status(
            state="waiting",
            now=0.0,
            next_at=None,
            exercise="neck-flexion",
            exercise_name="Neck flexion",
            interval=3600,
            cycle_start=0.0,
            pause_until=None,
            snoozes=0,
            away=False,
            done_today=done,
            daily_goal=goal,
        )
        assert progress_text({"done_today": done, "daily_goal": goal}) == progress_line(status)
    assert progress_text({"done_today": 1, "daily_goal": 1}) == "Today: 1 of 1 stretch"
    assert progress_text({}) is None  # an older daemon that does not say


# ---------------------------------------------------------------- on the desktop

DESKTOP_CONFIG = """\
[reminders]
interval = "1h"
snooze = "1s"
missed_after = "10m"
guide = "notification"  # the notification's own buttons; no guided window
daily_goal = 3
max_snoozes = 1
skip_budget = 1

[away]
idle = false  # nobody touches the test desktop: it must not count as away
"""


class DesktopDaemon:
    """``deskbreak run`` on the test desktop with a history, state and socket of its own."""

    def __init__(self, desktop: Desktop, cfg: Path, history: Path) -> None:
        self.desktop = desktop
        self.cfg = cfg
        own = Path(tempfile.mkdtemp(prefix="h-", dir=desktop.root))
        extra = {
            "XDG_STATE_HOME": str(own / "state"),
            "XDG_RUNTIME_DIR": str(own / "run"),
            "DESKBREAK_HISTORY": str(history),
        }
        for name in ("state", "run"):
            (own / name).mkdir(mode=0o700)
        self.extra = extra
        self.env = {**desktop.env, **extra}
        self.proc: Proc | None = None
        self.item = ""

    def start(self) -> Proc:
        proc = self.desktop.spawn(
            "deskbreak-history",
            [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(self.cfg)],
            env=self.extra,
        )
        self.proc = proc

        def registered() -> str | None:
            assert proc.alive(), proc.output()
            return self.desktop.sni_item_of(proc.pid)

        self.item = self.desktop.wait_for(registered, 20, "deskbreak's tray item")
        wait_for(lambda: self.cli("status").returncode == 0, 20, "the control socket")
        return proc

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()

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

    def wait_state(self, state: str) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            snap = self.status()
            return snap if snap["state"] == state else None

        return wait_for(reached, 15, f"the daemon to be {state!r}")

    def menu(self, pred: Callable[[MenuItem], bool], what: str) -> MenuItem:
        return self.desktop.wait_for_menu(self.item, pred, 10, what)

    def click(self, *labels: str) -> None:
        self.desktop.menu_click(self.item, labels)

    def ours(self) -> list[NotifyRecord]:
        log = self.desktop.notifications
        assert log is not None
        return [n for n in log.notifies if n.app_name == "deskbreak"]


def lines(menu: MenuItem) -> list[tuple[str, bool]]:
    """The menu's top level: (label, enabled) of each entry that is not a separator."""
    return [(c.label, c.enabled) for c in menu.children if c.visible and c.type != "separator"]


@pytest.fixture
def on_desktop(desktop: Desktop, tmp_path: Path) -> Iterator[DesktopDaemon]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(DESKTOP_CONFIG)
    desktop.reset_notifications()
    d = DesktopDaemon(desktop, cfg, tmp_path / "history.sqlite3")
    try:
        yield d
    finally:
        d.stop()


SNOOZE_NOTE = "Snooze (already snoozed once, the most allowed for one reminder)"
SKIP_NOTE = "Skip (no skips left today)"


@pytest.mark.desktop
def test_budgets_and_progress_in_the_tray_menu(on_desktop: DesktopDaemon) -> None:
    d = on_desktop
    d.start()
    menu = d.menu(lambda m: len(m.labels()) > 1, "the menu")
    assert menu.labels()[1] == "Today: 0 of 3 stretches"
    assert lines(menu)[1] == ("Today: 0 of 3 stretches", False)  # a line, not a button

    # Snooze once from the menu; when the reminder is back, Snooze is spent.
    d.click("Stretch now")
    d.menu(lambda m: m.find("Done") is not None, "the due menu")
    d.click("Snooze", "1 s")
    menu = d.menu(
        lambda m: m.labels()[0].startswith("Now: ") and m.find(SNOOZE_NOTE) is not None,
        "the reminder back, with Snooze spent",
    )
    assert (SNOOZE_NOTE, False) in lines(menu)
    assert menu.find("Snooze") is None
    assert ("Skip", True) in lines(menu)
    snap = d.status()
    assert (snap["state"], snap["snooze_allowed"], snap["skip_allowed"]) == ("due", False, True)

    # Skip from the menu: the day's one skip is spent; the next reminder cannot be skipped.
    d.click("Skip")
    d.menu(lambda m: m.find("Done") is None, "the reminder to go")
    d.click("Stretch now")
    menu = d.menu(lambda m: m.find(SKIP_NOTE) is not None, "the spent Skip")
    assert (SKIP_NOTE, False) in lines(menu) and menu.find("Skip") is None
    assert menu.find("Snooze") is not None  # a fresh reminder may be snoozed
    snap = d.status()
    assert (snap["skip_allowed"], snap["skip_note"]) == (False, "no skips left today")
    with pytest.raises(AssertionError, match="disabled"):
        d.click(SKIP_NOTE)

    # Done from the menu: the progress line counts it, and status says the same words.
    d.click("Done")
    menu = d.menu(
        lambda m: len(m.labels()) > 1 and m.labels()[1] == "Today: 1 of 3 stretches",
        "the progress line to count the stretch",
    )
    assert "Today: 1 of 3 stretches" in [x.strip() for x in d.cli("status").stdout.splitlines()]
    rows = query(Path(d.extra["DESKBREAK_HISTORY"]), "SELECT snoozes, outcome FROM reminders")
    assert rows == [(1, "skipped"), (0, "done")]


@pytest.mark.desktop
def test_a_corrupt_history_is_told_once_on_the_desktop(on_desktop: DesktopDaemon) -> None:
    d = on_desktop
    path = Path(d.extra["DESKBREAK_HISTORY"])
    path.write_bytes(b"garbage, not SQLite " * 200)
    d.start()

    def notice() -> NotifyRecord | None:
        return next((n for n in d.ours() if n.summary == "deskbreak: history"), None)

    told = wait_for(notice, 10, "the history notice")
    assert "could not be read" in told.body and ".corrupt-" in told.body
    assert told.actions == []  # a message, not a reminder
    (aside,) = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert aside.name in told.body
    assert d.cli("now").returncode == 0
    wait_for(lambda: any(n.summary != "deskbreak: history" for n in d.ours()), 10, "a reminder")
    assert d.cli("accept").returncode == 0
    assert query(path, "SELECT outcome FROM reminders") == [("done",)]

    # Started again on the good new file: nothing to tell.
    d.stop()
    d.desktop.reset_notifications()
    d.start()
    assert d.status()["done_today"] == 1
    assert d.cli("now").returncode == 0
    wait_for(lambda: d.ours(), 10, "the reminder")
    assert [n.summary for n in d.ours()] == [d.status()["exercise_name"]]


@pytest.mark.desktop
def test_a_reminder_held_for_do_not_disturb_is_recorded(on_desktop: DesktopDaemon) -> None:
    d = on_desktop
    d.start()
    assert d.cli("now").returncode == 0
    assert d.cli("snooze", "2s").returncode == 0
    d.desktop.dunstctl("set-paused", "true")  # the user turned do-not-disturb on
    try:
        held = wait_for(lambda: (s := d.status())["held"] and s, 15, "the reminder to be held")
        assert held["state"] == "snoozed"
    finally:
        d.desktop.dunstctl("set-paused", "false")
    d.wait_state("due")
    assert d.cli("accept").returncode == 0
    path = Path(d.extra["DESKBREAK_HISTORY"])
    rows = query(path, "SELECT snoozes, outcome, held_reason FROM reminders")
    assert rows == [(1, "done", held["held"])]
    kinds = [k for k, *_ in events(path)]
    assert kinds == ["shown", "snoozed", "held", "shown", "done"]
    day = json.loads(d.cli("stats", "--today", "--json").stdout)
    assert (day["held"], day["done"], day["snoozes"]) == (1, 1, 1)

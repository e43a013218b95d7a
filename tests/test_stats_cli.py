"""``deskbreak stats`` as a user runs it: a real process reading a real history file."""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from deskbreak import chart
from deskbreak.adapters.history import History
from deskbreak.cycle import Reminder

GOAL = 3


def deskbreak(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deskbreak", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    e.pop("DESKBREAK_HISTORY", None)
    e["HOME"] = str(tmp_path)
    e["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    e["XDG_DATA_HOME"] = str(tmp_path / "data")
    e["XDG_STATE_HOME"] = str(tmp_path / "state")
    e["TZ"] = "UTC"
    cfg = tmp_path / "config" / "deskbreak" / "config.toml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(f"[reminders]\ndaily_goal = {GOAL}\n")
    return e


def today() -> date:
    return datetime.now(UTC).date()


class Writer:
    """Writes a history the way the daemon does, day by day (times in UTC)."""

    def __init__(self, path: Path) -> None:
        self.h = History.open(path, logging.getLogger("test"))
        self.next_id = self.h.next_reminder_id()

    def day(self, days_ago: int, outcomes: list[str], exercise: str, snooze: bool = False) -> None:
        d = today() - timedelta(days=days_ago)
        t = datetime(d.year, d.month, d.day, 9, tzinfo=UTC).timestamp()
        for outcome in outcomes:
            t += 1800
            r = Reminder(self.next_id, exercise, due_at=t, shown_at=t)
            self.next_id += 1
            self.h.record("shown", t, r)
            if snooze:
                r = Reminder(r.id, exercise, due_at=t, shown_at=t, snoozes=1)
                self.h.record("snoozed", t + 5, r, "10m")
                r = Reminder(r.id, exercise, due_at=t, shown_at=t + 605, snoozes=1)
                self.h.record("shown", t + 605, r)
            self.h.record(outcome, t + 620, r)

    def natural_break(self, days_ago: int) -> None:
        d = today() - timedelta(days=days_ago)
        t = datetime(d.year, d.month, d.day, 16, tzinfo=UTC).timestamp()
        self.h.record("natural-break", t, None, "lock 20m")


@pytest.fixture
def history(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    w = Writer(path)
    w.day(10, ["done"], "wall-stretch")  # outside the week
    w.day(4, ["done", "missed"], "neck-flexion")  # below the goal: ends the streak
    w.day(3, ["done"] * 4, "shoulder-roll")  # met
    # 2 days ago: deskbreak did not run (neither breaks nor extends the streak)
    w.day(1, ["done"] * 3, "wall-stretch")  # met
    w.day(1, ["skipped"], "wall-stretch", snooze=True)
    w.day(0, ["done"] * 3, "neck-flexion")  # met today
    w.natural_break(0)
    w.h.close()
    return path


WEEK_DONE = [0, 0, 1, 4, 0, 3, 3]  # 6 days ago .. today


def test_json_has_the_figures_of_the_week(env: dict[str, str], history: Path) -> None:
    r = deskbreak(env, "stats", "--db", str(history), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["days"] == 7 and data["to"] == today().isoformat()
    assert (data["reminders"], data["done"], data["skipped"], data["missed"]) == (13, 11, 1, 1)
    assert (data["snoozes"], data["natural_breaks"]) == (1, 1)
    assert data["completion_rate"] == round(11 / 13, 4)
    assert data["daily_goal"] == GOAL
    assert data["goal_met_days"] == 3
    assert data["streak"] == 3
    assert [(t["exercise"], t["done"]) for t in data["top_exercises"]] == [
        ("neck-flexion", 4),
        ("shoulder-roll", 4),
        ("wall-stretch", 3),
    ]
    assert data["top_exercises"][0]["name"] == "Neck flexion"
    assert [d["done"] for d in data["per_day"]] == WEEK_DONE


def test_text_summary_for_people(env: dict[str, str], history: Path) -> None:
    r = deskbreak(env, "stats", "--db", str(history))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("Last 7 days (")
    lines = {line.split("  ")[1]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["Stretches done"].split()[2] == "11"
    assert "met on 3 of 7 days" in lines["Stretches done"]
    assert lines["Completion rate"].split()[2] == "85%"
    assert lines["Current streak"].split()[2] == "3"
    assert "Done most: Neck flexion 4, Shoulder roll 4, Wall stretch 3" in out


def test_today_only(env: dict[str, str], history: Path) -> None:
    r = deskbreak(env, "stats", "--db", str(history), "--today", "--json")
    data = json.loads(r.stdout)
    assert (data["days"], data["done"], data["natural_breaks"]) == (1, 3, 1)
    assert data["streak"] == 3
    r = deskbreak(env, "stats", "--db", str(history), "--today")
    assert "Stretches done      3   of 3: goal met" in r.stdout


def test_longer_periods(env: dict[str, str], history: Path) -> None:
    month = json.loads(deskbreak(env, "stats", "--db", str(history), "--month", "--json").stdout)
    assert month["days"] == 30 and month["done"] == 12
    two = json.loads(deskbreak(env, "stats", "--db", str(history), "--days", "2", "--json").stdout)
    assert two["days"] == 2 and two["done"] == 6


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_exports_the_raw_history(env: dict[str, str], history: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.csv"
    r = deskbreak(env, "stats", "--db", str(history), "--csv", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_csv(out.read_text())
    # With no period given: everything, the day outside the week included.
    assert len(rows) == 2 * 14 + 2 + 1  # 14 reminders, a snooze and its re-showing, a break
    assert f"Wrote {len(rows)} events to {out}" in r.stdout
    first = rows[0]
    assert (first["kind"], first["exercise"], first["outcome"]) == ("shown", "wall-stretch", "done")
    assert first["time"].endswith("+00:00") and float(first["epoch"]) > 0
    snoozed = next(row for row in rows if row["kind"] == "snoozed")
    assert (snoozed["snoozes"], snoozed["answer_seconds"], snoozed["detail"]) == ("1", "5.0", "10m")
    brk = next(row for row in rows if row["kind"] == "natural-break")
    assert brk["reminder"] == "" and brk["detail"] == "lock 20m"

    # With a period: that period; "-" writes to standard output.
    r = deskbreak(env, "stats", "--db", str(history), "--today", "--csv", "-")
    today_rows = read_csv(r.stdout)
    assert len(today_rows) == 3 * 2 + 1
    assert {row["kind"] for row in today_rows} == {"shown", "done", "natural-break"}


def test_chart_draws_the_period(env: dict[str, str], history: Path, tmp_path: Path) -> None:
    png = tmp_path / "week.png"
    r = deskbreak(env, "stats", "--db", str(history), "--chart", str(png), "--json")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)  # the note about the file went to stderr
    assert f"Wrote the chart to {png}" in r.stderr
    with Image.open(png) as im:
        assert im.format == "PNG" and im.size == chart.SIZE
        im = im.convert("RGB")
    days = [(today() - timedelta(days=6 - i), v) for i, v in enumerate(WEEK_DONE)]
    geo = chart.layout(days, GOAL)
    _left, top, _right, bottom = geo.plot
    per_unit = geo.scale
    for value, (x0, x1) in zip(WEEK_DONE, geo.bars, strict=True):
        x = (x0 + x1) // 2
        column = [im.getpixel((x, y)) for y in range(top, bottom)]
        bar = [c for c in column if c in (chart.MET, chart.BELOW)]
        if value == 0:
            assert not bar
        else:
            first = next(i for i, c in enumerate(column) if c in (chart.MET, chart.BELOW))
            assert column[first] == (chart.MET if value >= GOAL else chart.BELOW)
            while first > 0 and column[first - 1] == chart.GOAL:
                first -= 1  # the goal line is drawn over a bar that reaches it
            assert abs((bottom - top - first) - value * per_unit) <= 1


def test_works_while_the_daemon_holds_the_file(env: dict[str, str], history: Path) -> None:
    h = History.open(history, logging.getLogger("daemon"))  # the daemon has it open...
    h.record("natural-break", datetime.now(UTC).timestamp(), None, "idle 10m")
    try:
        r = deskbreak(env, "stats", "--db", str(history), "--today", "--json")
    finally:
        h.close()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["natural_breaks"] == 2  # ...and what it wrote is seen


def test_default_location_and_no_history_yet(env: dict[str, str], tmp_path: Path) -> None:
    r = deskbreak(env, "stats")
    assert r.returncode == 0, r.stderr
    assert "No history yet" in r.stdout
    assert "Stretches done      0" in r.stdout
    assert not (tmp_path / "data" / "deskbreak" / "history.sqlite3").exists()
    # The default file is in the user data folder.
    w = Writer(tmp_path / "data" / "deskbreak" / "history.sqlite3")
    w.day(0, ["done"], "neck-flexion")
    w.h.close()
    data = json.loads(deskbreak(env, "stats", "--json").stdout)
    assert data["done"] == 1


def test_an_unreadable_history_is_one_line_and_left_alone(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database at all" * 100)
    r = deskbreak(env, "stats", "--db", str(bad))
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and "cannot read the history" in r.stderr
    assert bad.read_bytes() == b"not a database at all" * 100
    assert [p.name for p in tmp_path.iterdir() if "corrupt" in p.name] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "0"], "--days: expected a whole number of days from 1 to"),
        (["--days", "week"], "--days: expected a whole number"),
        (["--today", "--week"], "choose one period, not --today and --week"),
        (["--month", "--days", "3"], "choose one period"),
        (["--chart", "out.jpg"], "--chart: the file name must end in .png"),
        (["--csv", "-", "--json"], "choose one"),
        (["--csv", "/nonexistent/dir/x.csv"], "--csv: cannot write /nonexistent/dir/x.csv"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(
    env: dict[str, str], history: Path, args: list[str], message: str
) -> None:
    r = deskbreak(env, "stats", "--db", str(history), *args)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("deskbreak: stats: ") and message in r.stderr

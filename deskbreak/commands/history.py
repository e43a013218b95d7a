"""``deskbreak stats``: what the history says. It reads the database directly, so it works
whether or not the daemon is running."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from deskbreak.commands import config_path
from deskbreak.errors import DeskbreakError, UsageError

if TYPE_CHECKING:
    from datetime import date

    from deskbreak.adapters.history import History
    from deskbreak.stats import Entry, Summary

DEFAULT_DAYS = 7
MAX_DAYS = 3660
DEFAULT_GOAL = 8
STREAK_CHUNK = 90  # days of history read at a time while counting the streak back
CSV_COLUMNS = (
    "time",
    "epoch",
    "kind",
    "reminder",
    "exercise",
    "routine",
    "exercises",
    "due",
    "shown",
    "snoozes",
    "outcome",
    "answer_seconds",
    "detail",
)


def _period(args: argparse.Namespace) -> tuple[int, str, bool]:
    """(days, how to name them, whether a period was asked for)."""
    chosen = [
        name
        for name, given in (
            ("--today", args.today),
            ("--week", args.week),
            ("--month", args.month),
            ("--days", args.days is not None),
        )
        if given
    ]
    if len(chosen) > 1:
        raise UsageError(
            f"stats: choose one period, not {' and '.join(chosen)}: "
            "--today, --week, --month or --days N"
        )
    if args.today:
        return 1, "Today", True
    if args.month:
        return 30, "Last 30 days", True
    if args.days is not None:
        try:
            days = int(args.days)
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            raise UsageError(
                f"stats: --days: expected a whole number of days from 1 to {MAX_DAYS}, "
                f"got {args.days!r}"
            )
        return days, ("Today" if days == 1 else f"Last {days} days"), True
    return DEFAULT_DAYS, f"Last {DEFAULT_DAYS} days", args.week


def _history_path(args: argparse.Namespace) -> Path:
    from deskbreak.adapters import history

    return Path(args.db).expanduser() if args.db else history.default_path()


def _streak(h: History, now: float, goal: int, first: date, entries: list[Entry]) -> int:
    """The goal streak up to today: from the period's ``entries`` (``first`` to today), then
    further back a chunk of history at a time while the run goes on."""
    from datetime import timedelta

    from deskbreak import stats

    today = stats.local_day(now)
    total, still_open = stats.streak(stats.count_days(entries, first, today), goal, today)
    earliest = h.first_event_at()
    last = first - timedelta(days=1)
    while still_open and earliest is not None and stats.day_start(first) > earliest:
        first = last - timedelta(days=STREAK_CHUNK - 1)
        older = h.rows(*stats.bounds(first, last), kinds=(stats.SHOWN, stats.DONE))
        length, still_open = stats.streak(stats.count_days(older, first, last), goal, today)
        total += length
        last = first - timedelta(days=1)
    return total


def _when(first: date, last: date) -> str:
    if first == last:
        return f"{first:%a} {first.day} {first:%b %Y}"
    if first.year == last.year:
        return f"{first:%a} {first.day} {first:%b} to {last:%a} {last.day} {last:%b %Y}"
    return f"{first.day} {first:%b %Y} to {last.day} {last:%b %Y}"


def _text(summary: Summary, title: str, names: dict[str, str], note: str | None) -> str:
    from deskbreak import stats

    s = summary
    lines = [f"{title} ({_when(s.first, s.last)})", ""]
    if note:
        lines += [note, ""]
    goal_text = ""
    if s.goal > 0:
        if len(s.days) == 1:
            goal_text = f"of {s.goal}" + (": goal met" if s.goal_met_days else "")
        else:
            goal_text = f"goal of {s.goal} a day met on {s.goal_met_days} of {len(s.days)} days"
    rate = s.completion_rate
    rows: list[tuple[str, str, str]] = [
        ("Reminders", str(s.reminders), ""),
        ("Stretches done", str(s.done), goal_text),
        ("Skipped", str(s.skipped), ""),
        ("Missed", str(s.missed), "no answer"),
        ("Snoozed", str(s.snoozes), "once" if s.snoozes == 1 else "times"),
        ("Natural breaks", str(s.natural_breaks), "away long enough to count as a break"),
    ]
    if s.paused:
        rows.append(("Paused", str(s.paused), "reminders closed by a pause"))
    if s.held:
        rows.append(("Held", str(s.held), "reminders held back"))
    rows.append(
        (
            "Completion rate",
            "-" if rate is None else f"{round(rate * 100)}%",
            "done, of those done, skipped or missed",
        )
    )
    if s.goal > 0:
        rows.append(("Current streak", str(s.streak), "day" if s.streak == 1 else "days"))
    for label, value, remark in rows:
        lines.append(f"  {label:<16}{value:>5}   {remark}".rstrip())
    if s.top_exercises:
        top = ", ".join(f"{names.get(ex, ex)} {n}" for ex, n in s.top_exercises[:5])
        lines += ["", f"Done most: {top}"]
    if 1 < len(s.days) <= 31:
        lines.append("")
        width = max(1, max(d.done for d in s.days), s.goal)
        per_char = max(1.0, width / 30)
        for d in s.days:
            bar = "#" * round(d.done / per_char)
            mark = "  goal met" if stats.met(d, s.goal) else ""
            lines.append(
                f"  {d.day:%a} {d.day.day:>2} {d.day:%b}  {d.done:>3}  {bar}{mark}".rstrip()
            )
    return "\n".join(lines)


def _write_csv(target: str, entries: list[Entry]) -> None:
    import csv
    from datetime import datetime

    def stamp(ts: float | None) -> str:
        if ts is None:
            return ""
        return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="seconds")

    def emit(out: Any) -> None:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for e in entries:
            writer.writerow(
                (
                    stamp(e.at),
                    f"{e.at:.3f}",
                    e.kind,
                    "" if e.reminder is None else e.reminder,
                    e.exercise or "",
                    e.routine or "",
                    " ".join(e.exercises),
                    stamp(e.due_at),
                    stamp(e.shown_at),
                    e.snoozes if e.reminder is not None else "",
                    e.outcome or "",
                    "" if e.answer_seconds is None else f"{e.answer_seconds:.1f}",
                    e.detail,
                )
            )

    if target == "-":
        emit(sys.stdout)
        return
    try:
        with open(target, "w", newline="", encoding="utf-8") as f:
            emit(f)
    except OSError as err:
        raise DeskbreakError(
            f"stats: --csv: cannot write {target}: {err.strerror or err}"
        ) from None


def _write_chart(target: str, summary: Summary) -> None:
    from deskbreak import chart

    title = f"Stretches done per day, {_when(summary.first, summary.last)}"
    days = [(d.day, d.done) for d in summary.days]
    try:
        chart.save_chart(Path(target), days, summary.goal, title=title)
    except OSError as err:
        raise DeskbreakError(
            f"stats: --chart: cannot write {target}: {err.strerror or err}"
        ) from None


def cmd_stats(args: argparse.Namespace) -> int:
    import json
    import logging
    import time

    from deskbreak import stats
    from deskbreak.adapters import settings_file
    from deskbreak.adapters.history import History

    days, title, period_given = _period(args)
    if args.chart is not None and not args.chart.lower().endswith(".png"):
        raise UsageError(f"stats: --chart: the file name must end in .png, got {args.chart!r}")
    if args.csv == "-" and args.json:
        raise UsageError("stats: --csv - and --json both want standard output; choose one")
    settings = settings_file.load(config_path(args))
    goal = int(getattr(settings.reminders, "daily_goal", DEFAULT_GOAL))
    names = {ex.id: ex.name for ex in settings.catalogue().values()}
    path = _history_path(args)

    now = time.time()
    first, last = stats.last_days(now, days)
    since, until = stats.bounds(first, last)
    entries: list[Entry] = []
    exported: list[Entry] = []
    streak = 0
    note = None
    if path.exists():
        with History.open_for_reading(path, logging.getLogger("deskbreak.history")) as h:
            entries = h.rows(since, until)
            streak = _streak(h, now, goal, first, entries)
            if args.csv is not None:
                exported = entries if period_given else h.rows(float("-inf"), float("inf"))
    else:
        note = f"No history yet ({path}): deskbreak records every reminder while it runs."
    summary = stats.summarize(entries, first, last, goal=goal, streak_length=streak)

    # Messages about written files go to stderr when stdout carries data.
    info = sys.stderr if (args.json or args.csv == "-") else sys.stdout
    if args.csv is not None:
        _write_csv(args.csv, exported)
        if args.csv != "-":
            print(f"Wrote {len(exported)} events to {args.csv}", file=info)
    if args.chart is not None:
        _write_chart(args.chart, summary)
        print(f"Wrote the chart to {args.chart}", file=info)
    if args.json:
        data = summary.as_dict()
        for item in data["top_exercises"]:
            item["name"] = names.get(item["exercise"], item["exercise"])
        data["history"] = str(path)
        print(json.dumps(data, indent=2))
    elif args.csv != "-":
        if args.csv is not None or args.chart is not None:
            print(file=info)
        print(_text(summary, title, names, note))
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the parser."""
    p = sub.add_parser(
        "stats",
        parents=[common],
        help="what you did: stretches done, skipped, snoozed; the goal streak; a chart",
        description=(
            "Read the history of reminders and sum it up, for the last 7 days unless a period "
            "is given. Works whether or not deskbreak is running."
        ),
    )
    p.add_argument("--today", action="store_true", help="today only")
    p.add_argument("--week", action="store_true", help="the last 7 days, today included")
    p.add_argument("--month", action="store_true", help="the last 30 days, today included")
    p.add_argument("--days", metavar="N", help="the last N days, today included")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument(
        "--csv",
        metavar="FILE",
        help="write the raw history (every event) as CSV: the chosen period, or everything "
        "when no period is given; - for standard output",
    )
    p.add_argument("--chart", metavar="FILE.png", help="draw stretches done per day as a PNG chart")
    p.add_argument(
        "--db",
        metavar="PATH",
        help="the history database (default: history.sqlite3 in the user data folder, "
        "or $DESKBREAK_HISTORY)",
    )
    p.set_defaults(func=cmd_stats)

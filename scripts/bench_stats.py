"""Time ``deskbreak stats`` over a synthetic year of history. Run through ``scripts/bench-stats``.

Builds a year of reminders (every day, 08:00 to 20:00, one every 17 to 22 minutes: about
30,000 events) in a temporary database, then times the stats command on it: in-process (what
the command itself costs: open, read, sum up, print) for several periods, and as a whole new
process (what a user waits for, Python's start-up included). Prints the median and range of
each; it asserts nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deskbreak import cli  # noqa: E402
from scripts.sample_history import write_sample  # noqa: E402


def timed(fn: object, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def line(label: str, times: list[float]) -> str:
    ms = [t * 1000 for t in times]
    return (
        f"  {label:<34} median {statistics.median(ms):7.1f} ms"
        f"   range {min(ms):7.1f} to {max(ms):7.1f} ms   ({len(ms)} runs)"
    )


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    with tempfile.TemporaryDirectory(prefix="deskbreak-bench-") as tmp:
        db = Path(tmp) / "history.sqlite3"
        cfg = Path(tmp) / "config.toml"
        cfg.write_text("[reminders]\ndaily_goal = 8\n")
        start = time.perf_counter()
        events = write_sample(
            db,
            end=date.today(),
            days=365,
            start_hour=8,
            end_hour=20,
            interval=17 * 60,
            weekends=True,
            lunch=False,
        )
        built = time.perf_counter() - start
        conn = sqlite3.connect(db)
        reminders = conn.execute("SELECT COUNT(*) FROM reminders").fetchone()[0]
        conn.close()
        size = db.stat().st_size
        print(f"A synthetic year: {events} events, {reminders} reminders, {size / 1e6:.1f} MB")
        print(f"  written in {built:.1f} s (one transaction)")
        print()
        print("deskbreak stats, in-process (open, read, sum up, print):")
        base = ["--config", str(cfg), "stats", "--db", str(db)]
        for label, extra in (
            ("--today", ["--today"]),
            ("--week", ["--week"]),
            ("--month", ["--month"]),
            ("--days 365", ["--days", "365"]),
            ("--days 365 --json", ["--days", "365", "--json"]),
        ):

            def run(extra: list[str] = extra) -> None:
                with contextlib.redirect_stdout(io.StringIO()):
                    code = cli.main([*base, *extra])
                if code != 0:
                    raise SystemExit(f"stats failed with exit status {code}")

            run()  # warm the file cache and the imports
            print(line(label, timed(run, runs)))
        print()
        print("deskbreak stats, a new process each time (Python start-up included):")
        env = dict(os.environ)
        argv = [sys.executable, "-m", "deskbreak", *base]
        for label, extra in (("--week", ["--week"]), ("--days 365 --json", ["--days", "365"])):

            def spawn(extra: list[str] = extra) -> None:
                subprocess.run(
                    [*argv, *extra], check=True, stdout=subprocess.DEVNULL, env=env, timeout=60
                )

            spawn()
            print(line(label, timed(spawn, runs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Measure how often a running ``deskbreak run`` wakes up while the user is idle.

Run through ``scripts/bench-wakeups``. It starts the real daemon on the tests' throwaway
desktop (Xvfb, session bus, dunst, a tray host). Nobody touches that X server, so its idle
counter only grows: the user is idle from the start, and with ``natural_break`` short
(``--natural-break``, 1 minute by default) the idle watcher also reaches "away" within the
measurement. The interval is long, so no reminder comes meanwhile.

After the daemon settles, it sums the context switches (voluntary and involuntary) of all
of the daemon's threads, read from ``/proc/PID/task/*/status``, over ``--seconds`` (60 by
default), and the CPU time from ``/proc/PID/stat``. Every wake-up of a blocked thread is at
least one context switch, so the sum is an upper bound on the wake-ups. The budget is 4 a
minute while idle; ``--check`` makes the exit status say whether it was kept.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop_harness import Desktop, wait_for  # noqa: E402

BUDGET = 4.0  # wake-ups a minute while idle, for the whole daemon

CONFIG = """\
# deskbreak settings for the wake-up benchmark
[reminders]
interval = "3h"   # no reminder during the measurement

[away]
idle = true
natural_break = "{natural_break}"
"""


def thread_switches(pid: int) -> dict[int, int]:
    """Context switches so far, per thread id."""
    out: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        total = 0
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
        except OSError:
            continue  # the thread ended just now
        out[int(task.name)] = total
    return out


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the whole process (all threads) so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


def thread_name(pid: int, tid: int) -> str:
    try:
        return Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip()
    except OSError:
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-wakeups", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="measure this long")
    parser.add_argument("--settle", type=float, default=5.0, help="wait this long first")
    parser.add_argument(
        "--natural-break", default="1m", help="idle this long counts as away (default 1m)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when over the budget")
    args = parser.parse_args(argv)

    desktop = Desktop().start()
    try:
        cfg = desktop.root / "config.toml"
        cfg.write_text(CONFIG.format(natural_break=args.natural_break))
        proc = desktop.spawn(
            "deskbreak", [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(cfg)]
        )
        desktop.wait_for_sni_item(proc.pid, timeout=30)
        settle_until = time.monotonic() + args.settle
        wait_for(lambda: time.monotonic() >= settle_until, args.settle + 5, "settling", 0.5)
        pid = proc.pid
        log = proc.output()
        idle_wired = "idle detection" in log
        before, cpu_before, t0 = thread_switches(pid), cpu_seconds(pid), time.monotonic()
        end = t0 + args.seconds
        wait_for(
            lambda: time.monotonic() >= end or not proc.alive(),
            args.seconds + 5,
            "the measurement",
            1.0,
        )
        if not proc.alive():
            print(f"deskbreak exited early:\n{proc.output()}", file=sys.stderr)
            return 1
        after, cpu_after, t1 = thread_switches(pid), cpu_seconds(pid), time.monotonic()
        minutes = (t1 - t0) / 60
        per_thread = {
            tid: after.get(tid, 0) - before.get(tid, 0) for tid in set(before) | set(after)
        }
        total = sum(max(0, n) for n in per_thread.values())
        rate = total / minutes
        print(f"deskbreak run, pid {pid}, {len(after)} threads, measured {t1 - t0:.0f} s idle")
        for line in proc.output().splitlines():
            if "idle detection" in line or "watching" in line or "not watched" in line:
                print("  log:", line.split(" ", 3)[-1])
        if not idle_wired:
            print("  idle detection is not wired into the daemon yet: measuring it as it is")
        busy = sorted(((n, tid) for tid, n in per_thread.items() if n > 0), reverse=True)
        for n, tid in busy:
            print(f"  thread {tid} ({thread_name(pid, tid)}): {n} context switches")
        print(f"wake-ups: {rate:.1f}/min   (budget {BUDGET:g}/min while idle)")
        print(f"CPU: {(cpu_after - cpu_before) / minutes:.3f} s/min")
        over = rate > BUDGET
        print("over the budget" if over else "within the budget")
        return 1 if (args.check and over) else 0
    finally:
        desktop.stop()


if __name__ == "__main__":
    raise SystemExit(main())

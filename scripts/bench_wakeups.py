"""Measure how often a running ``deskbreak run`` wakes up while the user is idle.

Run through ``scripts/bench-wakeups``. It starts the real daemon on the tests' throwaway
desktop (Xvfb, session bus, dunst, a tray host), once with idle detection on and once with
it off (``--idle``), ``--runs`` times each. Nobody touches that X server: each run starts
with one ``xdotool`` mouse move (the user just left), then the idle counter only grows.
``natural_break`` is short (``--natural-break``, 10 s by default) and the daemon settles
longer than that (``--settle``) before the measurement: with idle detection on, the user
is away throughout, as an idle user is. The interval is long (``--interval``, 3 h by
default), so no reminder comes; with ``--interval 45m --seconds 2670`` the measurement
spans a whole real interval, with every change of the tray's words in it.

By default the daemon gets this machine's system bus, logind or not. ``--logind`` gives it
a private system bus with a stand-in logind (tests/fake_bus.py) instead, as on a desktop
with systemd: then it hears of suspends and needs no once-a-minute look at the clocks.

After the daemon settles, it sums the context switches (voluntary and involuntary) of all
of the daemon's threads, read from ``/proc/PID/task/*/status``, over ``--seconds`` (60 by
default), and the CPU time from ``/proc/PID/stat``. Every wake-up of a blocked thread is at
least one context switch, so the sum is an upper bound on the wake-ups. The machine may be
busy with other work: the median of the runs is the figure. The budget is 4 a minute while
idle, with idle detection on; ``--check`` makes the exit status say whether it was kept.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop_harness import Desktop, wait_for  # noqa: E402
from tests.fake_bus import FakeLogind, PrivateBus  # noqa: E402

BUDGET = 4.0  # wake-ups a minute while idle, for the whole daemon

CONFIG = """\
# deskbreak settings for the wake-up benchmark
[reminders]
interval = "{interval}"   # no reminder during the measurement

[away]
idle = {idle}
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


@dataclass
class Run:
    idle: bool
    rate: float  # context switches a minute, all threads
    cpu: float  # CPU seconds a minute
    threads: int
    busy: list[tuple[int, str]] = field(default_factory=list)  # (switches, thread name)
    log: list[str] = field(default_factory=list)


@contextlib.contextmanager
def stand_in_logind(wanted: bool) -> Iterator[dict[str, str]]:
    """The environment the daemon gets for the system bus."""
    if not wanted:
        yield {}
        return
    with PrivateBus("system") as bus:
        logind = FakeLogind(bus.address, session_id="bench")
        try:
            yield {"DBUS_SYSTEM_BUS_ADDRESS": bus.address, "XDG_SESSION_ID": "bench"}
        finally:
            logind.close()


def measure(desktop: Desktop, n: int, idle: bool, args: argparse.Namespace) -> Run:
    cfg = desktop.root / f"config-{n}.toml"
    cfg.write_text(
        CONFIG.format(
            idle="true" if idle else "false",
            natural_break=args.natural_break,
            interval=args.interval,
        )
    )
    own = desktop.root / f"daemon-{n}"
    dirs = {f"XDG_{k}_HOME": str(own / k.lower()) for k in ("STATE", "DATA", "CACHE")}
    dirs["XDG_RUNTIME_DIR"] = str(own / "run")
    for path in dirs.values():
        os.makedirs(path, mode=0o700)
    with stand_in_logind(args.logind) as system:
        desktop.run(["xdotool", "mousemove", str(10 + n), "10"])  # the user just left
        proc = desktop.spawn(
            f"deskbreak-{n}",
            [sys.executable, "-m", "deskbreak", "run", "-v", "--config", str(cfg)],
            env={**dirs, **system},
        )
        try:
            desktop.wait_for_sni_item(proc.pid, timeout=30)
            settle_until = time.monotonic() + args.settle
            wait_for(lambda: time.monotonic() >= settle_until, args.settle + 5, "settling", 0.5)
            pid = proc.pid
            before, cpu_before, t0 = thread_switches(pid), cpu_seconds(pid), time.monotonic()
            end = t0 + args.seconds
            wait_for(
                lambda: time.monotonic() >= end or not proc.alive(),
                args.seconds + 5,
                "the measurement",
                1.0,
            )
            if not proc.alive():
                raise SystemExit(f"deskbreak exited early:\n{proc.output()}")
            after, cpu_after, t1 = thread_switches(pid), cpu_seconds(pid), time.monotonic()
            minutes = (t1 - t0) / 60
            per_thread = {
                tid: after.get(tid, 0) - before.get(tid, 0) for tid in set(before) | set(after)
            }
            total = sum(max(0, v) for v in per_thread.values())
            busy = sorted(
                ((v, thread_name(pid, tid)) for tid, v in per_thread.items() if v > 0),
                reverse=True,
            )
            log = [
                line.split(" ", 3)[-1]
                for line in proc.output().splitlines()
                if any(k in line for k in ("idle detection", "watching", "not watched", "away"))
            ]
            return Run(
                idle=idle,
                rate=total / minutes,
                cpu=(cpu_after - cpu_before) / minutes,
                threads=len(after),
                busy=busy,
                log=log,
            )
        finally:
            proc.terminate()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench-wakeups", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="measure this long")
    parser.add_argument("--settle", type=float, default=15.0, help="wait this long first")
    parser.add_argument(
        "--natural-break", default="10s", help="idle this long counts as away (default 10s)"
    )
    parser.add_argument(
        "--idle",
        choices=("on", "off", "both"),
        default="both",
        help="idle detection on, off, or both in turn (default)",
    )
    parser.add_argument(
        "--interval",
        default="3h",
        help="reminder interval (default 3h; under 10m the tooltip changes every minute)",
    )
    parser.add_argument("--runs", type=int, default=1, help="measure each this many times")
    parser.add_argument("--logind", action="store_true", help="give the daemon a stand-in logind")
    parser.add_argument("--verbose", action="store_true", help="per-thread figures of each run")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when idle-on is over the budget"
    )
    args = parser.parse_args(argv)
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.idle]

    desktop = Desktop().start()
    results: dict[bool, list[Run]] = {mode: [] for mode in modes}
    try:
        n = 0
        for _ in range(args.runs):
            for idle in modes:
                n += 1
                run = measure(desktop, n, idle, args)
                results[idle].append(run)
                print(
                    f"run {n}: idle detection {'on ' if idle else 'off'}  "
                    f"{run.rate:5.1f} wake-ups/min  CPU {run.cpu:.3f} s/min  "
                    f"{run.threads} threads",
                    flush=True,
                )
                if args.verbose:
                    for line in run.log:
                        print("    log:", line)
                    for count, name in run.busy:
                        print(f"    {name}: {count} context switches")
    finally:
        desktop.stop()

    where = "a stand-in logind" if args.logind else "this machine's system bus"
    print(
        f"\ndeskbreak run, idle user, {args.seconds:.0f} s a run, natural_break "
        f"{args.natural_break}, {where}; medians of {args.runs} run(s):"
    )
    over = False
    for idle in modes:
        runs = results[idle]
        rate = statistics.median(r.rate for r in runs)
        cpu = statistics.median(r.cpu for r in runs)
        spread = f" (runs: {', '.join(f'{r.rate:.1f}' for r in runs)})" if len(runs) > 1 else ""
        print(
            f"  idle detection {'on ' if idle else 'off'}: {rate:.1f} wake-ups/min, "
            f"CPU {cpu:.3f} s/min{spread}"
        )
        if idle:
            over = rate > BUDGET
    if True in results:
        print(f"budget {BUDGET:g}/min with idle detection on: {'over' if over else 'kept'}")
    return 1 if (args.check and over) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Footprint and timing of deskbreak, side by side with Safe Eyes and Workrave.

Run through ``scripts/bench`` (``--quick`` for a short run, ``--help`` for the options). It
brings up the tests' throwaway desktop (Xvfb, a session bus, dunst, a StatusNotifierItem
watcher and host) plus a stand-in system bus with a stand-in logind, as a real desktop has,
and measures, in this order:

1. Idle footprint. Each program runs alone on the desktop, with a HOME of its own, first
   until it is ready (its tray item registered, or its bus name taken), then ``--settle``
   seconds, then ``--idle-seconds`` of measurement while nobody touches anything:

   - PSS and RSS (``/proc/PID/smaps_rollup``, the process and its children), the median
     of samples every 5 s: PSS splits shared pages among all the processes that map them,
     so it moves a little with whatever else runs;
   - context switches, voluntary and involuntary, summed over all threads
     (``/proc/PID/task/*/status``);
   - wake-ups: how often the process, all of its threads asleep, started to run again. The
     threads' switch counters are sampled every 50 ms; a sample in which any of them moved,
     after one in which none did, is one wake-up. One timer expiry that passes work from
     thread to thread (timer, main loop, tray, bus) is one wake-up and several context
     switches; two wake-ups less than about 0.1 s apart count as one;
   - CPU time (``/proc/PID/task/*/schedstat``, in nanoseconds, plus reaped children);
   - threads.

   The rows: deskbreak as configured for real use (45 min interval, idle detection,
   history, the control socket), deskbreak with idle detection off, deskbreak with
   pystray's GTK AppIndicator tray instead of its own StatusNotifierItem (what the tray
   costs), Safe Eyes and Workrave from Debian's packages. A program that is not installed
   gets a row saying so.

   deskbreak's tray words change at moments (every 5 minutes while the stretch is far
   off, every minute in the last three), and each change wakes deskbreak and the tray
   host, which asks for the new words. A 60 s window at the start of an interval holds
   none of those moments, so one more row measures a 60 s window that holds one: deskbreak
   with a 3 minute interval, whose words and ring change every minute (the last minutes
   before any stretch). From it comes the cost of one change; the wake-up targets are
   judged over a whole 45 minute interval: the quiet rate measured at its start, plus
   its changes (counted with deskbreak's own view code) times that cost.
2. Start-up: from just before exec to the tray item's ``StatusNotifierItemRegistered``
   signal from the watcher (read with jeepney as it arrives), over ``--starts`` starts;
   then ``deskbreak status`` against the running daemon, a new process each time.
3. Timeliness: with a 2 s interval, each reminder is accepted over the control socket as
   soon as its Notify is on the bus; the reply says when the next one is due, and the
   delay is from then to the next Notify seen on the bus. Then dbusmenu clicks on the
   tray item: "Stretch now" to its Notify, "Done" to the notification's closing.
4. Staying flat: ``--flat`` reminders at a 1 s interval, each accepted in turn; RSS, PSS
   and open file descriptors after the first and after the last.

Parts 3 and 4 use plain reminders (the notification; no guided window, no routines) and
idle detection off: nobody touches the throwaway X server, so after the natural break's
length the user would count as away, and away users get no reminders.

Output: Markdown tables and the targets (each with whether it was met) on stdout, and all
figures as JSON in ``--json`` (bench.json by default). The machine is noted in both.
Figures from a shared or busy machine are noisy: compare rows of the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deskbreak import __version__  # noqa: E402
from tests.desktop_harness import (  # noqa: E402
    WATCHER_NAME,
    WATCHER_PATH,
    Desktop,
    NotifyRecord,
    Proc,
    split_item,
    wait_for,
)
from tests.fake_bus import FakeLogind, PrivateBus  # noqa: E402

MIB = 1024 * 1024
SAMPLE = 0.05  # seconds between samples of the switch counters while idle
MEMORY_SAMPLE = 5.0  # seconds between samples of PSS and RSS while idle
GTK_LABEL = "deskbreak, pystray AppIndicator tray (GTK)"
REDRAW_LABEL = "deskbreak, the words change every minute"
REAL_INTERVAL = 45 * 60  # REAL_USE's interval, in seconds

REAL_USE = """\
# deskbreak as configured for real use
[reminders]
interval = "45m"

[away]
idle = {idle}

[history]
enabled = true
"""

# Nobody touches the throwaway X server: with idle detection on, the user would count as
# away (and get no reminders) once the desktop has been up for the natural break's length.
FAST = """\
# deskbreak for the timing runs: plain reminders, one every {interval}
[reminders]
interval = "{interval}"
missed_after = "10m"
guide = "notification"

[routines]
every = "off"

[away]
idle = false

[history]
enabled = true
"""

INSTALL_HINT = "sudo apt-get install safeeyes workrave"


# --------------------------------------------------------------------------- /proc


def _kib_fields(path: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition(":")
        parts = value.split()
        if sep and parts and parts[0].isdigit():
            out[key.strip()] = int(parts[0])
    return out


def children_map() -> dict[int, list[int]]:
    """ppid -> pids, for every process on the machine."""
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def process_tree(pid: int) -> list[int]:
    """``pid`` and its live descendants."""
    kids = children_map()
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo += kids.get(p, [])
    return tree


def memory(pids: Sequence[int]) -> tuple[int, int]:
    """(PSS, RSS) in bytes, summed over ``pids``."""
    pss = rss = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = _kib_fields(Path(f"/proc/{pid}/smaps_rollup"))
            pss += fields.get("Pss", 0) * 1024
            rss += fields.get("Rss", 0) * 1024
    return pss, rss


@dataclasses.dataclass(frozen=True)
class TaskCounters:
    voluntary: int
    involuntary: int
    cpu_ns: int


def task_counters(pids: Sequence[int]) -> dict[tuple[int, int], TaskCounters]:
    """Per thread of each process: context switches and CPU time so far."""
    out: dict[tuple[int, int], TaskCounters] = {}
    for pid in pids:
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            base = f"/proc/{pid}/task/{tid}"
            try:
                vol = invol = 0
                for line in Path(base, "status").read_text().splitlines():
                    if line.startswith("voluntary_ctxt_switches"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        invol = int(line.split()[1])
                cpu = int(Path(base, "schedstat").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue  # the thread ended just now
            out[(pid, int(tid))] = TaskCounters(vol, invol, cpu)
    return out


def reaped_children_cpu(pid: int) -> float:
    """CPU seconds of the children ``pid`` has already waited for (cutime + cstime)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def settled_fds(pid: int) -> int:
    """Open file descriptors once the answer just given is done with: the fewest over
    0.3 s. Right after a request, the daemon may still hold that request's connection for
    a moment (it closes after the reply is sent); a descriptor that leaks stays, and so
    still counts."""
    counts = []
    for _ in range(10):
        counts.append(open_fds(pid))
        time.sleep(0.03)  # a sampling period
    return min(counts)


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


# --------------------------------------------------------------------------- results


@dataclasses.dataclass
class IdleRow:
    label: str
    version: str = ""
    status: str = "ok"  # "ok", or why there are no figures
    seconds: float = 0.0
    pss_mib: float | None = None
    rss_mib: float | None = None
    pss_range_mib: tuple[float, float] | None = None  # lowest and highest sample
    wakeups_per_min: float | None = None
    switches_per_min: float | None = None
    voluntary_per_min: float | None = None
    cpu_s_per_min: float | None = None
    threads: int | None = None
    processes: int | None = None
    ready_s: float | None = None  # exec to ready (tray item or bus name)


@dataclasses.dataclass
class Timing:
    label: str
    values_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.values_ms)

    def as_json(self) -> dict[str, Any]:
        v = self.values_ms
        return {
            "label": self.label,
            "n": len(v),
            "median_ms": round(self.median, 1),
            "min_ms": round(min(v), 1),
            "max_ms": round(max(v), 1),
            "values_ms": [round(x, 1) for x in v],
        }


@dataclasses.dataclass
class Flat:
    reminders: int
    seconds: float
    rss_start_mib: float
    rss_end_mib: float
    pss_start_mib: float
    pss_end_mib: float
    fds_start: int
    fds_end: int
    rss_along_mib: dict[int, float]  # after reminder N (every 50th, the first, the last)


@dataclasses.dataclass
class Target:
    text: str
    measured: str
    met: bool | None  # None: could not be judged in this run


# --------------------------------------------------------------------------- programs


def deskbreak_argv() -> list[str]:
    """The ``deskbreak`` command of this environment (its console script, as users run it)."""
    script = Path(sys.executable).with_name("deskbreak")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "deskbreak"]


def package_version(package: str) -> str:
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", package],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except OSError:
        return ""
    return out.stdout.strip() if out.returncode == 0 else ""


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.desktop = Desktop()
        self.system_bus: PrivateBus | None = None
        self.logind: FakeLogind | None = None
        self.homes = 0
        self.idle_rows: list[IdleRow] = []
        self.timings: dict[str, Timing] = {}
        self.flat: Flat | None = None
        self.notes: list[str] = []

    # -- the desktop -----------------------------------------------------------------------

    def start(self) -> None:
        self.desktop.start()
        self.system_bus = PrivateBus("system")
        self.logind = FakeLogind(self.system_bus.address)

    def stop(self) -> None:
        if self.logind is not None:
            self.logind.close()
        if self.system_bus is not None:
            self.system_bus.close()
        self.desktop.stop()

    def new_home(self, name: str) -> dict[str, str]:
        """A HOME of its own (XDG folders in their usual places inside it) and a runtime
        folder; the stand-in system bus."""
        self.homes += 1
        base = self.desktop.root / f"{self.homes}-{name}"
        home = base / "home"
        runtime = base / "run"
        for path in (home / ".config", home / ".local/share", home / ".local/state", runtime):
            path.mkdir(parents=True, mode=0o700)
        (home / ".cache").mkdir(mode=0o700)
        assert self.system_bus is not None
        return {
            "HOME": str(home),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local/share"),
            "XDG_STATE_HOME": str(home / ".local/state"),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_RUNTIME_DIR": str(runtime),
            "DBUS_SYSTEM_BUS_ADDRESS": self.system_bus.address,
        }

    def deskbreak_home(self, name: str, config: str) -> tuple[dict[str, str], Path]:
        env = self.new_home(name)
        cfg = Path(env["XDG_CONFIG_HOME"]) / "deskbreak" / "config.toml"
        cfg.parent.mkdir()
        cfg.write_text(config)
        return env, cfg

    @staticmethod
    def control_dir(env: dict[str, str]) -> Path:
        return Path(env["XDG_RUNTIME_DIR"]) / "deskbreak"

    def request(self, env: dict[str, str], cmd: str, **args: Any) -> Any:
        from deskbreak.adapters import ipc

        return ipc.request(cmd, directory=self.control_dir(env), **args)

    def owner_pid(self, name: str) -> int | None:
        try:
            return self.desktop.name_pid(name)
        except Exception:
            return None

    def wait_ready(self, proc: Proc, bus_names: Sequence[str] = (), timeout: float = 30.0) -> float:
        """Seconds from now until ``proc`` has a tray item or owns one of ``bus_names``."""
        start = time.monotonic()

        def ready() -> bool:
            if not proc.alive():
                raise AssertionError(
                    f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()[-2000:]}"
                )
            if self.desktop.sni_item_of(proc.pid):
                return True
            return any(self.owner_pid(n) == proc.pid for n in bus_names)

        self.desktop.wait_for(ready, timeout, f"{proc.name} to show its tray item")
        return time.monotonic() - start

    def stop_proc(self, proc: Proc) -> None:
        proc.terminate()
        with contextlib.suppress(ValueError):
            self.desktop.procs.remove(proc)

    # -- 1. idle ---------------------------------------------------------------------------

    def idle_row(
        self,
        label: str,
        version: str,
        argv: Sequence[str] | None,
        env: dict[str, str] | None = None,
        bus_names: Sequence[str] = (),
        missing: str = "",
        seconds: float | None = None,
    ) -> IdleRow:
        row = IdleRow(label, version)
        if argv is None:
            row.status = missing or "not available"
            print(f"  {label}: {row.status}", flush=True)
            self.idle_rows.append(row)
            return row
        print(f"  {label}: starting", flush=True)
        started = time.monotonic()
        name = "".join(ch if ch.isalnum() else "-" for ch in label.lower())
        proc = self.desktop.spawn(name, list(argv), env=env)
        try:
            try:
                self.wait_ready(proc, bus_names)
            except AssertionError as e:
                row.status = f"did not start: {str(e).splitlines()[0]}"
                print(f"  {label}: {row.status}", flush=True)
                self.idle_rows.append(row)
                return row
            row.ready_s = round(time.monotonic() - started, 3)
            settle_until = time.monotonic() + self.args.settle
            wait_for(lambda: time.monotonic() >= settle_until, self.args.settle + 5, "settling")
            self.measure_idle(proc, row, seconds or self.args.idle_seconds)
        finally:
            self.stop_proc(proc)
        print(
            f"  {label}: PSS {row.pss_mib} MiB, {row.wakeups_per_min} wake-ups/min, "
            f"{row.switches_per_min} context switches/min, CPU {row.cpu_s_per_min} s/min",
            flush=True,
        )
        self.idle_rows.append(row)
        return row

    def measure_idle(self, proc: Proc, row: IdleRow, idle_seconds: float) -> None:
        pid = proc.pid
        pids = process_tree(pid)
        first = task_counters(pids)
        reaped0 = reaped_children_cpu(pid)
        previous = first
        wakeups = 0
        was_active = False
        t0 = time.monotonic()
        end = t0 + idle_seconds
        next_tree = t0 + 1.0
        # PSS moves with whatever else maps the same files (other Python processes share
        # libpython, say): sample it every few seconds and keep the median.
        memory_samples = [memory(pids)]
        next_memory = t0 + MEMORY_SAMPLE
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(SAMPLE, end - now))  # a sampling period, not a wait for a state
            if not proc.alive():
                raise AssertionError(f"{proc.name} exited while idle:\n{proc.output()[-2000:]}")
            if time.monotonic() >= next_tree:
                pids = process_tree(pid)
                next_tree += 1.0
            if time.monotonic() >= next_memory:
                memory_samples.append(memory(pids))
                next_memory += MEMORY_SAMPLE
            current = task_counters(pids)
            active = any(
                key not in previous
                or c.voluntary + c.involuntary
                != previous[key].voluntary + previous[key].involuntary
                for key, c in current.items()
            )
            if active and not was_active:
                wakeups += 1
            was_active = active
            previous = current
        seconds = time.monotonic() - t0
        pids = process_tree(pid)
        last = task_counters(pids)
        zero = TaskCounters(0, 0, 0)
        vol = sum(c.voluntary - first.get(k, zero).voluntary for k, c in last.items())
        invol = sum(c.involuntary - first.get(k, zero).involuntary for k, c in last.items())
        cpu_ns = sum(c.cpu_ns - first.get(k, zero).cpu_ns for k, c in last.items())
        cpu = cpu_ns / 1e9 + reaped_children_cpu(pid) - reaped0
        memory_samples.append(memory(pids))
        minutes = seconds / 60
        row.seconds = round(seconds, 1)
        row.pss_mib = round(statistics.median(m[0] for m in memory_samples) / MIB, 1)
        row.rss_mib = round(statistics.median(m[1] for m in memory_samples) / MIB, 1)
        row.pss_range_mib = (
            round(min(m[0] for m in memory_samples) / MIB, 1),
            round(max(m[0] for m in memory_samples) / MIB, 1),
        )
        row.wakeups_per_min = round(wakeups / minutes, 1)
        row.switches_per_min = round((vol + invol) / minutes, 1)
        row.voluntary_per_min = round(vol / minutes, 1)
        row.cpu_s_per_min = round(cpu / minutes, 4)
        row.threads = len(last)
        row.processes = len(pids)

    def idle(self) -> None:
        print("Idle footprint, one program at a time:", flush=True)
        version = f"{__version__} (Python {platform.python_version()})"
        env, _cfg = self.deskbreak_home("deskbreak", REAL_USE.format(idle="true"))
        self.idle_row("deskbreak", version, [*deskbreak_argv(), "run"], env)
        env, _cfg = self.deskbreak_home("deskbreak-noidle", REAL_USE.format(idle="false"))
        self.idle_row("deskbreak, idle detection off", version, [*deskbreak_argv(), "run"], env)
        # 60 s from about 2:55 before the stretch: the words change once, at 2:00.
        redraws = REAL_USE.format(idle="false").replace('"45m"', '"3m"')
        env, _cfg = self.deskbreak_home("deskbreak-redraws", redraws)
        self.idle_row(REDRAW_LABEL, version, [*deskbreak_argv(), "run"], env, seconds=60.0)
        if not self.args.no_gtk:
            env, _cfg = self.deskbreak_home("deskbreak-gtk", REAL_USE.format(idle="true"))
            env["PYSTRAY_BACKEND"] = "appindicator"
            self.idle_row(GTK_LABEL, version, [*deskbreak_argv(), "run"], env)
        for label, command, package, names in (
            ("Safe Eyes", "safeeyes", "safeeyes", ()),
            ("Workrave", "workrave", "workrave", ("org.workrave.Workrave",)),
        ):
            if self.args.no_others:
                continue
            path = shutil.which(command)
            self.idle_row(
                label,
                package_version(package),
                [path] if path else None,
                self.new_home(command),
                bus_names=names,
                missing=f"not installed (Debian package {package}: {INSTALL_HINT})",
            )

    # -- 2. start-up -----------------------------------------------------------------------

    @contextlib.contextmanager
    def registrations(self) -> Iterator[Callable[[float], tuple[str, float]]]:
        """``next_item(timeout)`` -> (item, perf_counter when the watcher announced it)."""
        from jeepney import MatchRule, message_bus
        from jeepney.io.blocking import open_dbus_connection
        from jeepney.wrappers import unwrap_msg

        # No sender in the rule: the signal carries the watcher's unique name, which a
        # local filter would not match against the well-known one.
        rule = MatchRule(
            type="signal",
            interface=WATCHER_NAME,
            member="StatusNotifierItemRegistered",
            path=WATCHER_PATH,
        )
        conn = open_dbus_connection(bus=self.desktop.bus_address, auth_timeout=5.0)
        try:
            unwrap_msg(conn.send_and_get_reply(message_bus.AddMatch(rule), timeout=5))
            with conn.filter(rule) as queue:

                def next_item(timeout: float) -> tuple[str, float]:
                    msg = conn.recv_until_filtered(queue, timeout=timeout)
                    return str(msg.body[0]), time.perf_counter()

                yield next_item
        finally:
            conn.close()

    def startup(self) -> None:
        print("Start-up to the tray item:", flush=True)
        env, _cfg = self.deskbreak_home("startup", REAL_USE.format(idle="true"))
        argv = [*deskbreak_argv(), "run"]
        times: list[float] = []
        proc: Proc | None = None
        with self.registrations() as next_item:
            for i in range(self.args.starts + 1):  # the first start warms the caches
                if proc is not None:
                    self.stop_proc(proc)
                    self.wait_item_gone(proc.pid)
                t0 = time.perf_counter()
                proc = self.desktop.spawn("deskbreak-start", argv, env=env)
                deadline = time.monotonic() + 30
                while True:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not proc.alive():
                        raise AssertionError(
                            f"deskbreak registered no tray item:\n{proc.output()[-2000:]}"
                        )
                    try:
                        item, seen = next_item(min(remaining, 1.0))
                    except TimeoutError:
                        continue
                    if self.owner_pid(split_item(item)[0]) == proc.pid:
                        break
                if i > 0:
                    times.append((seen - t0) * 1000)
        self.timings["startup"] = Timing("start-up: exec to tray item registered", times)
        self.report_timing("startup")
        assert proc is not None
        try:
            self.status_times(env)
        finally:
            self.stop_proc(proc)

    def wait_item_gone(self, pid: int) -> None:
        def gone() -> bool:
            for item in self.desktop.sni_items():
                if self.owner_pid(split_item(item)[0]) in (pid, None):
                    return False
            return True

        self.desktop.wait_for(gone, 15, "the old tray item to go")

    def status_times(self, env: dict[str, str]) -> None:
        argv = [*deskbreak_argv(), "status"]
        full_env = {**self.desktop.env, **env}
        times: list[float] = []
        for i in range(self.args.starts + 1):  # the first run warms the caches
            t0 = time.perf_counter()
            result = subprocess.run(
                argv,
                env=full_env,
                capture_output=True,
                text=True,
                timeout=30,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            elapsed = time.perf_counter() - t0
            if result.returncode != 0:
                raise AssertionError(f"deskbreak status failed: {result.stderr.strip()}")
            if i > 0:
                times.append(elapsed * 1000)
        self.timings["status"] = Timing("deskbreak status, against a running daemon", times)
        self.report_timing("status")

    # -- 3. timeliness ---------------------------------------------------------------------

    def ours(self) -> list[NotifyRecord]:
        log = self.desktop.notifications
        assert log is not None
        return [n for n in log.notifies if n.app_name == "deskbreak"]

    def wait_notify_count(self, count: int, timeout: float = 15.0) -> NotifyRecord:
        log = self.desktop.notifications
        assert log is not None

        def found() -> NotifyRecord | None:
            ours = self.ours()
            return ours[count - 1] if len(ours) >= count else None

        record = log.wait(found, timeout, f"deskbreak's Notify number {count}")
        assert record is not None
        return record

    def answer_in_turn(
        self, env: dict[str, str], proc: Proc, count: int, on_answer: Callable[[int], None]
    ) -> list[float]:
        """Accept ``count`` reminders as each arrives; the delays (ms) from due to Notify."""
        delays: list[float] = []
        base = len(self.ours())
        due = float(self.request(env, "status")["next_at"])
        for k in range(1, count + 1):
            if not proc.alive():
                raise AssertionError(f"deskbreak exited:\n{proc.output()[-2000:]}")
            record = self.wait_notify_count(base + k)
            delays.append((record.time - due) * 1000)
            reply = self.request(env, "accept")
            due = float(reply["status"]["next_at"])
            on_answer(k)
        return delays

    def timeliness(self) -> None:
        print("Timeliness:", flush=True)
        self.desktop.reset_notifications()
        env, _cfg = self.deskbreak_home("timely", FAST.format(interval="2s"))
        proc = self.desktop.spawn("deskbreak-timely", [*deskbreak_argv(), "run"], env=env)
        try:
            self.wait_ready(proc)
            delays = self.answer_in_turn(env, proc, self.args.reminders, lambda _k: None)
        finally:
            self.stop_proc(proc)
        self.timings["notify"] = Timing("Notify on the bus after the due time", delays)
        self.report_timing("notify")
        self.clicks()

    def clicks(self) -> None:
        desktop = self.desktop
        log = desktop.notifications
        assert log is not None
        desktop.reset_notifications()
        env, _cfg = self.deskbreak_home("clicks", FAST.format(interval="45m"))
        proc = desktop.spawn("deskbreak-clicks", [*deskbreak_argv(), "run"], env=env)
        to_notify: list[float] = []
        to_close: list[float] = []
        try:
            self.wait_ready(proc)
            item = desktop.wait_for_sni_item(proc.pid)
            name, _path = desktop.item_address(item)
            menu_path = str(desktop.get_property(name, _path, "org.kde.StatusNotifierItem", "Menu"))
            for k in range(1, self.args.clicks + 1):
                menu = desktop.wait_for_menu(item, lambda m: m.find("Stretch now") is not None)
                entry = menu.find("Stretch now")
                assert entry is not None
                t0 = time.time()
                self.menu_event(name, menu_path, entry.id)
                shown = self.wait_notify_count(k)
                to_notify.append((shown.time - t0) * 1000)
                menu = desktop.wait_for_menu(item, lambda m: m.find("Done") is not None)
                done = menu.find("Done")
                assert done is not None
                closes = len(log.close_call_times)

                def closed_at(n: int = closes) -> float | None:
                    calls = log.close_call_times
                    return calls[n][1] if len(calls) > n else None

                t0 = time.time()
                self.menu_event(name, menu_path, done.id)
                closed = log.wait(closed_at, 10, "deskbreak to close the notification")
                assert closed is not None
                to_close.append((closed - t0) * 1000)
                # The next "Stretch now" is clicked once the menu shows the waiting state.
                desktop.wait_for_menu(item, lambda m: m.find("Done") is None)
        finally:
            self.stop_proc(proc)
        self.timings["click_notify"] = Timing('dbusmenu "Stretch now" click to Notify', to_notify)
        self.timings["click_close"] = Timing('dbusmenu "Done" click to CloseNotification', to_close)
        self.report_timing("click_notify")
        self.report_timing("click_close")

    def menu_event(self, name: str, menu_path: str, item_id: int) -> None:
        self.desktop.call(
            name,
            menu_path,
            "com.canonical.dbusmenu",
            "Event",
            "isvu",
            (item_id, "clicked", ("i", 0), 0),
        )

    # -- 4. staying flat -------------------------------------------------------------------

    def staying_flat(self) -> None:
        count = self.args.flat
        print(f"Staying flat: {count} reminders answered in turn", flush=True)
        self.desktop.reset_notifications()
        env, _cfg = self.deskbreak_home("flat", FAST.format(interval="1s"))
        proc = self.desktop.spawn("deskbreak-flat", [*deskbreak_argv(), "run"], env=env)
        marks: dict[str, Any] = {}

        def on_answer(k: int) -> None:
            if k == 1 or k == count or k % 50 == 0:
                pss, rss = memory([proc.pid])
                marks[f"{k}"] = (pss, rss, settled_fds(proc.pid))
                if k % 50 == 0:
                    print(f"  {k} answered: RSS {rss / MIB:.2f} MiB", flush=True)

        try:
            self.wait_ready(proc)
            t0 = time.monotonic()
            self.answer_in_turn(env, proc, count, on_answer)
            seconds = time.monotonic() - t0
        finally:
            self.stop_proc(proc)
        pss0, rss0, fds0 = marks["1"]
        pss1, rss1, fds1 = marks[str(count)]
        self.flat = Flat(
            reminders=count,
            seconds=round(seconds, 1),
            rss_start_mib=round(rss0 / MIB, 2),
            rss_end_mib=round(rss1 / MIB, 2),
            pss_start_mib=round(pss0 / MIB, 2),
            pss_end_mib=round(pss1 / MIB, 2),
            fds_start=fds0,
            fds_end=fds1,
            rss_along_mib={int(k): round(v[1] / MIB, 2) for k, v in marks.items()},
        )
        print(
            f"  RSS {self.flat.rss_start_mib} -> {self.flat.rss_end_mib} MiB, "
            f"fds {fds0} -> {fds1}, in {seconds:.0f} s",
            flush=True,
        )

    # -- reporting -------------------------------------------------------------------------

    def report_timing(self, key: str) -> None:
        t = self.timings[key]
        v = t.values_ms
        print(
            f"  {t.label}: median {t.median:.0f} ms, range {min(v):.0f} to {max(v):.0f} ms "
            f"({len(v)})",
            flush=True,
        )


# --------------------------------------------------------------------------- the report


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = 0
    with contextlib.suppress(OSError):
        mem = _kib_fields(Path("/proc/meminfo")).get("MemTotal", 0) * 1024
    distro = ""
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                distro = line.split("=", 1)[1].strip('"')
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem / 1024**3, 1),
        "os": distro,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return str(value)
    return f"{value:.{digits}f}"


def _row_of(rows: Sequence[IdleRow], label: str) -> IdleRow | None:
    found = [r for r in rows if r.label == label and r.status == "ok"]
    return found[0] if found else None


def redraws_per_interval(interval: float) -> int:
    """How often deskbreak's tray words change while one interval passes (its view code)."""
    from deskbreak.views import countdown

    changes, shown = 0, countdown(interval)
    for second in range(1, int(interval) - 60 + 1):  # the last minute is not counted down
        words = countdown(interval - second)
        if words != shown:
            changes, shown = changes + 1, words
    return changes


def redraw_cost(rows: Sequence[IdleRow]) -> float | None:
    """Context switches one change of words costs: the row whose words change every minute,
    less the quiet rate of the same settings at the start of a long interval."""
    every_minute = _row_of(rows, REDRAW_LABEL)
    quiet = _row_of(rows, "deskbreak, idle detection off")
    if every_minute is None or quiet is None:
        return None
    if every_minute.switches_per_min is None or quiet.switches_per_min is None:
        return None
    return max(0.0, every_minute.switches_per_min - quiet.switches_per_min)


def targets(bench: Bench) -> list[Target]:
    rows = bench.idle_rows
    out: list[Target] = []
    real = _row_of(rows, "deskbreak")
    noidle = _row_of(rows, "deskbreak, idle detection off")
    workrave = _row_of(rows, "Workrave")
    if real is not None and real.pss_mib is not None:
        if workrave is not None and workrave.pss_mib is not None:
            out.append(
                Target(
                    "idle PSS no more than Workrave's (same run)",
                    f"{real.pss_mib:.1f} MiB vs {workrave.pss_mib:.1f} MiB",
                    real.pss_mib <= workrave.pss_mib,
                )
            )
        else:
            out.append(
                Target(
                    "idle PSS no more than Workrave's (same run)",
                    f"{real.pss_mib:.1f} MiB; Workrave not measured",
                    None,
                )
            )
    cost = redraw_cost(rows)
    for row, budget, what in ((noidle, 2.0, "off"), (real, 4.0, "on")):
        if row is None or row.switches_per_min is None:
            continue
        # Judged on context switches summed over all threads, as the issue counts wake-ups,
        # over a whole interval: the quiet start plus the tray's changes of words.
        text = (
            f"at most {budget:g} wake-ups (context switches) a minute idle, idle detection {what}"
        )
        if cost is None:
            out.append(Target(text, "the cost of a change of words was not measured", None))
            continue
        changes = redraws_per_interval(REAL_INTERVAL)
        whole = row.switches_per_min + changes * cost / (REAL_INTERVAL / 60)
        out.append(
            Target(
                text,
                f"{whole:.1f} context switches/min over a 45 min interval ({changes} changes "
                f"of words × {cost:.1f}; {row.switches_per_min:.0f}/min at its start, "
                f"{row.wakeups_per_min:.1f} process wake-ups/min)",
                whole <= budget,
            )
        )
    cpus = [r.cpu_s_per_min for r in (real, noidle) if r is not None and r.cpu_s_per_min]
    if real is not None or noidle is not None:
        worst = max(cpus) if cpus else 0.0
        out.append(Target("CPU under 0.01 s a minute idle", f"{worst:.4f} s/min", worst < 0.01))
    for key, limit, text in (
        ("startup", 300, "start-up to tray item under 300 ms (median)"),
        ("status", 150, "`deskbreak status` under 150 ms (median)"),
    ):
        if key in bench.timings:
            t = bench.timings[key]
            out.append(Target(text, f"{t.median:.0f} ms", t.median < limit))
    if "notify" in bench.timings:
        worst = max(bench.timings["notify"].values_ms)
        out.append(Target("Notify within 500 ms of due (max)", f"{worst:.0f} ms", worst <= 500))
    if bench.flat is not None:
        f = bench.flat
        growth = f.rss_end_mib - f.rss_start_mib
        out.append(
            Target(
                f"no RSS growth beyond 2 MiB over {f.reminders} reminders",
                f"{growth:+.2f} MiB",
                growth <= 2.0,
            )
        )
        out.append(
            Target(
                f"no fd growth over {f.reminders} reminders",
                f"{f.fds_start} → {f.fds_end}",
                f.fds_end <= f.fds_start,
            )
        )
    return out


def markdown(bench: Bench, mach: dict[str, Any], goals: Sequence[Target]) -> str:
    a = bench.args
    lines = [
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB; "
        f"{mach['os']}, Linux {mach['kernel']}; Python {mach['python']}; "
        f"load average {' '.join(str(x) for x in mach['load_average'])} at the start, "
        f"{' '.join(str(x) for x in mach['load_average_end'])} at the end.",
    ]
    if bench.idle_rows:
        lines += [
            "",
            f"**Idle**, each program alone on the desktop, {a.idle_seconds:g} s after "
            f"{a.settle:g} s of settling:",
            "",
            "| Program | Version | PSS MiB | RSS MiB | Wake-ups/min | Context switches/min "
            "| CPU s/min | Threads |",
            "|---|---|--:|--:|--:|--:|--:|--:|",
        ]
    for r in bench.idle_rows:
        if r.status != "ok":
            lines.append(f"| {r.label} | {r.version or '–'} | {r.status} | | | | | |")
            continue
        lines.append(
            f"| {r.label} | {r.version} | {_fmt(r.pss_mib)} | {_fmt(r.rss_mib)} "
            f"| {_fmt(r.wakeups_per_min)} | {_fmt(r.switches_per_min, 0)} "
            f"| {_fmt(r.cpu_s_per_min, 4)} | {_fmt(r.threads)} |"
        )
    cost = redraw_cost(bench.idle_rows)
    if cost is not None:
        changes = redraws_per_interval(REAL_INTERVAL)
        lines += [
            "",
            f'"{REDRAW_LABEL}": a 3 minute interval, measured for 60 s, so that the tray\'s '
            f"words and ring change once, as every minute before any stretch; one change costs "
            f"{cost:.1f} context switches (deskbreak's and the tray thread's, as the host "
            f"asks for the new words and picture). A 45 minute interval has {changes} such "
            "changes (every 5 minutes, then every minute for the last three).",
        ]
    if bench.timings:
        lines += [
            "",
            "**Timing**:",
            "",
            "| Measurement | Median ms | Range ms | Runs |",
            "|---|--:|--:|--:|",
        ]
        for t in bench.timings.values():
            v = t.values_ms
            lines.append(
                f"| {t.label} | {t.median:.0f} | {min(v):.0f} to {max(v):.0f} | {len(v)} |"
            )
    if bench.flat is not None:
        f = bench.flat
        lines += [
            "",
            f"**Staying flat**: {f.reminders} reminders answered in turn in {f.seconds:.0f} s:",
            "",
            "| | After the first | After the last |",
            "|---|--:|--:|",
            f"| RSS MiB | {f.rss_start_mib:.2f} | {f.rss_end_mib:.2f} |",
            f"| PSS MiB | {f.pss_start_mib:.2f} | {f.pss_end_mib:.2f} |",
            f"| Open file descriptors | {f.fds_start} | {f.fds_end} |",
            "",
            "RSS MiB along the way: "
            + ", ".join(f"{v:.2f} after {k}" for k, v in sorted(f.rss_along_mib.items()))
            + ".",
        ]
    lines += ["", "**Targets**:", "", "| Target | Measured | Met |", "|---|---|---|"]
    for g in goals:
        met = "not judged" if g.met is None else ("yes" if g.met else "**no**")
        lines.append(f"| {g.text} | {g.measured} | {met} |")
    real = _row_of(bench.idle_rows, "deskbreak")
    gtk = _row_of(bench.idle_rows, GTK_LABEL)
    if real is not None and gtk is not None and real.pss_mib and gtk.pss_mib:
        lines += [
            "",
            f"pystray's GTK AppIndicator tray would cost "
            f"{gtk.pss_mib - real.pss_mib:.1f} MiB more PSS and "
            f"{(gtk.rss_mib or 0) - (real.rss_mib or 0):.1f} MiB more RSS than deskbreak's own "
            f"StatusNotifierItem over jeepney ({gtk.pss_mib:.1f} vs {real.pss_mib:.1f} MiB).",
        ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description="Footprint and timing of deskbreak, side by side with Safe Eyes and "
        "Workrave, on a throwaway desktop.",
    )
    parser.add_argument("--quick", action="store_true", help="a short run: fewer repetitions")
    parser.add_argument("--idle-seconds", type=float, help="idle measurement (default 60)")
    parser.add_argument("--settle", type=float, help="wait after ready (default 5)")
    parser.add_argument("--starts", type=int, help="start-ups and status runs (default 10)")
    parser.add_argument("--reminders", type=int, help="timeliness reminders (default 30)")
    parser.add_argument("--clicks", type=int, help="dbusmenu clicks of each kind (default 10)")
    parser.add_argument("--flat", type=int, help="reminders answered in turn (default 300)")
    parser.add_argument(
        "--only",
        choices=("idle", "startup", "timeliness", "flat"),
        action="append",
        help="run only these parts (repeatable)",
    )
    parser.add_argument("--no-others", action="store_true", help="skip Safe Eyes and Workrave")
    parser.add_argument(
        "--no-gtk", action="store_true", help="skip the row with pystray's GTK tray"
    )
    parser.add_argument("--json", default="bench.json", help="write the figures here")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    full = {
        "idle_seconds": 60.0,
        "settle": 5.0,
        "starts": 10,
        "reminders": 30,
        "clicks": 10,
        "flat": 300,
    }
    quick = {
        "idle_seconds": 15.0,
        "settle": 3.0,
        "starts": 5,
        "reminders": 10,
        "clicks": 3,
        "flat": 50,
    }
    for key, value in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    parts = args.only or ["idle", "startup", "timeliness", "flat"]
    mach = machine()
    started = time.monotonic()
    bench = Bench(args)
    bench.start()
    try:
        if "idle" in parts:
            bench.idle()
        if "startup" in parts:
            bench.startup()
        if "timeliness" in parts:
            bench.timeliness()
        if "flat" in parts:
            bench.staying_flat()
    except BaseException:
        bench.desktop.keep_logs()
        print(f"bench: failed; the desktop's logs are kept in {bench.desktop.root}", flush=True)
        raise
    finally:
        bench.stop()
    mach["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    goals = targets(bench)
    table = markdown(bench, mach, goals)
    print()
    print(table)
    command = " ".join(["scripts/bench", *(argv if argv is not None else sys.argv[1:])])
    data = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
        "machine": mach,
        "settings": {k: v for k, v in vars(args).items() if k != "json"},
        "idle": [dataclasses.asdict(r) for r in bench.idle_rows],
        "timings": {k: t.as_json() for k, t in bench.timings.items()},
        "flat": dataclasses.asdict(bench.flat) if bench.flat else None,
        "targets": [dataclasses.asdict(g) for g in goals],
        "markdown": table,
        "seconds": round(time.monotonic() - started),
    }
    Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    missed = [g for g in goals if g.met is False]
    print(
        f"\n{len(goals) - len(missed)} of {len(goals)} targets met; figures in {args.json} "
        f"({command}, {data['seconds']} s)"
    )
    return 1 if (args.check and missed) else 0


if __name__ == "__main__":
    raise SystemExit(main())

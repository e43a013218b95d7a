"""Every control command through the real command line, against a real daemon process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.daemon_proc import CONFIG, DaemonHome, EventReader, daemon_home
from tests.desktop_harness import wait_for


@pytest.fixture
def home() -> Iterator[DaemonHome]:
    yield from daemon_home()


COMMANDS = [
    ["status"],
    ["status", "--json"],
    ["now"],
    ["accept"],
    ["snooze"],
    ["snooze", "5m"],
    ["skip"],
    ["pause"],
    ["pause", "30m"],
    ["pause", "--until", "13:00"],
    ["pause", "--tomorrow"],
    ["resume"],
    ["interval", "30m"],
    ["reload"],
    ["quit"],
    ["events"],
    ["events", "--json"],
]
NOT_RUNNING = "deskbreak is not running; start it with: deskbreak run"


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_says_when_the_daemon_is_not_running(
    home: DaemonHome, args: list[str]
) -> None:
    r = home.cli(*args)
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.strip() == NOT_RUNNING


@pytest.mark.parametrize(
    "name",
    [
        "status",
        "now",
        "accept",
        "snooze",
        "skip",
        "pause",
        "resume",
        "interval",
        "reload",
        "quit",
        "events",
    ],
)
def test_every_command_has_help(home: DaemonHome, name: str) -> None:
    r = home.cli(name, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: deskbreak {name}")
    assert len(r.stdout.splitlines()) >= 4  # a description, not just the usage line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["snooze", "5x"], "snooze: expected a duration"),
        (["snooze", "0m"], "snooze: must be longer than zero"),
        (["pause", "soon"], "pause: expected a duration"),
        (["pause", "--until", "25:00"], 'pause --until: expected a time of day like "13:00"'),
        (["pause", "--until", "noon"], 'pause --until: expected a time of day like "13:00"'),
        (["interval", "0s"], "interval: must be longer than zero"),
        (["interval", "25h"], "interval: at most 24h, got '25h'"),
        (["snooze", "24h1s"], "snooze: at most 24h, got '24h1s'"),
        (["pause", "745h"], "pause: at most 744h, got '745h'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2_with_or_without_a_daemon(
    home: DaemonHome, args: list[str], fragment: str
) -> None:
    for running in (False, True):
        if running:
            home.start()
        r = home.cli(*args)
        assert r.returncode == 2, (running, r)
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert fragment in r.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["pause", "1h", "--tomorrow"],
        ["pause", "--until", "13:00", "--tomorrow"],
        ["interval"],
        ["snooze", "1m", "2m"],
        ["status", "--yaml"],
    ],
    ids=" ".join,
)
def test_bad_usage_exits_2_without_a_traceback(home: DaemonHome, args: list[str]) -> None:
    r = home.cli(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "usage: deskbreak" in r.stderr


def test_status_text_and_json(home: DaemonHome) -> None:
    proc = home.start()
    r = home.cli("status")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["State:", "waiting"]
    assert "Next: Wall stretch at" in lines[1] and "(in 1 h)" in lines[1]
    assert "Interval:" in r.stdout and "every 1h" in r.stdout
    assert str(home.config) in r.stdout
    assert f"pid {proc.pid}" in r.stdout

    snap = home.status()
    assert snap["state"] == "waiting"
    assert snap["exercise"] == "wall-stretch" and snap["exercise_name"] == "Wall stretch"
    assert snap["interval"] == 3600 and snap["snooze"] == 2
    assert 3590 <= snap["next_in"] <= 3600
    assert snap["next_at"] == pytest.approx(snap["now"] + snap["next_in"], abs=1)
    assert snap["pause_until"] is None
    assert snap["settings_error"] is None
    assert snap["pid"] == proc.pid
    assert snap["config"] == str(home.config)
    assert snap["summary"] == "Next: Wall stretch in 1 h"


def test_a_whole_day_through_the_command_line(home: DaemonHome) -> None:
    proc = home.start()

    # Nothing is due: the answers make no sense now, and say so.
    for verb in ("accept", "skip", "snooze"):
        r = home.cli(verb)
        assert r.returncode == 2
        assert r.stderr.strip() == f"deskbreak: nothing to {verb}: no stretch is due"
    r = home.cli("resume")
    assert (r.returncode, r.stderr.strip()) == (2, "deskbreak: reminders are not paused")
    assert home.status()["state"] == "waiting"

    r = home.cli("now")
    assert (r.returncode, r.stdout.strip()) == (0, "Time to stretch: Wall stretch")
    assert home.status()["state"] == "due"
    assert "Time to stretch: Wall stretch" in home.output(proc)  # the reminder itself

    r = home.cli("accept")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Done: Wall stretch. Next: Neck flexion at")
    snap = home.status()
    assert (snap["state"], snap["exercise"]) == ("waiting", "neck-flexion")
    assert snap["next_in"] >= 3590  # one interval from now

    # Snooze with the configured length (2 s): the same stretch comes back by itself.
    home.cli("now")
    r = home.cli("snooze")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Snoozed: Neck flexion until")
    snap = home.status()
    assert (snap["state"], snap["snoozes"]) == ("snoozed", 1)
    assert snap["next_in"] <= 2
    back = wait_for(lambda: (s := home.status())["state"] == "due" and s, 10, "the snooze to end")
    assert back["exercise"] == "neck-flexion"

    # Snooze with a length of its own.
    r = home.cli("snooze", "5m")
    assert r.returncode == 0, r.stderr
    snap = home.status()
    assert snap["state"] == "snoozed" and 290 <= snap["next_in"] <= 300

    r = home.cli("skip")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Skipped: Neck flexion. Next: Shoulder roll at")
    assert home.status()["exercise"] == "shoulder-roll"

    # Pauses: for a while, until a time of day, until tomorrow, until resumed.
    r = home.cli("pause", "1h30m")
    assert r.returncode == 0 and r.stdout.startswith("Paused until"), r
    snap = home.status()
    assert snap["state"] == "paused"
    assert snap["pause_until"] == pytest.approx(snap["now"] + 5400, abs=3)

    r = home.cli("pause", "--until", "13:00")
    assert r.returncode == 0, r.stderr
    snap = home.status()
    until = time.localtime(snap["pause_until"])
    assert (until.tm_hour, until.tm_min) == (13, 0)
    assert 0 < snap["pause_until"] - snap["now"] <= 24 * 3600

    r = home.cli("pause", "--tomorrow")
    assert r.returncode == 0, r.stderr
    snap = home.status()
    until = time.localtime(snap["pause_until"])
    assert (until.tm_hour, until.tm_min) == (0, 0)
    assert time.localtime(snap["now"]).tm_mday != until.tm_mday

    r = home.cli("pause")
    assert (r.returncode, r.stdout.strip()) == (0, "Paused until you resume")
    snap = home.status()
    assert (snap["state"], snap["pause_until"]) == ("paused", None)
    r = home.cli("now")  # an explicit request ends the pause
    assert r.returncode == 0
    home.cli("skip")
    home.cli("pause")

    r = home.cli("resume")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Resumed. Next:")
    assert home.status()["state"] == "waiting"


def test_interval_persists_like_the_tray_does(home: DaemonHome) -> None:
    home.start()
    r = home.cli("interval", "30m")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Every 30m (saved in {home.config}). Next:")
    # Only that value changes; the comments stay.
    assert home.config.read_text() == CONFIG.replace('interval = "1h"', 'interval = "30m"')
    snap = home.status()
    assert snap["interval"] == 1800
    assert 1790 <= snap["next_in"] <= 1800  # re-planned from when the interval started


def test_reload_and_quit(home: DaemonHome) -> None:
    proc = home.start()
    home.config.write_text(CONFIG.replace('"1h"', '"25m"'))
    r = home.cli("reload")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"Reloaded {home.config}: every 25m, snooze 2s.")
    assert home.status()["interval"] == 1500

    r = home.cli("quit")
    assert (r.returncode, r.stdout.strip()) == (0, f"deskbreak stopped (pid {proc.pid})")
    # quit returns once the daemon has let go: it exits, and a new one can start at once.
    assert proc.wait(timeout=10) == 0
    assert not home.socket.exists()
    assert home.cli("status").returncode == 1
    again = home.start()
    assert home.status()["pid"] == again.pid


def test_events_stream_one_line_per_change(home: DaemonHome) -> None:
    proc = home.start()
    text = EventReader(home.env)
    js = EventReader(home.env, "--json")
    try:
        # Each starts with the current state.
        wait_for(lambda: len(text.lines) >= 1 and len(js.lines) >= 1, 10, "the first lines")
        first = js.events[0]
        assert first["event"] == "status" and first["status"]["state"] == "waiting"
        assert " waiting  Next: Wall stretch at " in text.lines[0]

        home.cli("now")
        home.cli("accept")
        home.cli("pause", "10m")
        home.cli("resume")
        js.wait_for_event(lambda e: e["event"] == "record" and e["kind"] == "resumed", "the resume")
        events = js.events
        kinds = [
            e["status"]["state"] if e["event"] == "status" else e.get("kind", e["event"])
            for e in events
        ]
        assert (
            kinds
            == [
                "waiting",
                "reminder",
                "shown",
                "due",
                "done",
                "waiting",
                "paused",
                "paused",
                "resumed",
                "waiting",
            ][: len(kinds)]
        ), kinds
        assert len(kinds) >= 9
        reminder = events[1]
        assert (reminder["exercise"], reminder["name"]) == ("wall-stretch", "Wall stretch")
        seqs = [e["seq"] for e in events]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
        assert all(isinstance(e["at"], float) for e in events)

        text.wait_for_line(lambda line: " resumed" in line, "the resume in the text stream")
        assert any(line.endswith(" reminder Wall stretch") for line in text.lines), text.lines
        assert any(line.endswith(" done     Wall stretch") for line in text.lines), text.lines

        # The stream ends, with a last line, when the daemon stops.
        assert home.cli("quit").returncode == 0
        assert js.proc.wait(timeout=10) == 0
        assert text.proc.wait(timeout=10) == 0
        assert js.events[-1]["event"] == "stopped"
        assert text.lines[-1].endswith("stopped  deskbreak stopped")
        assert proc.wait(timeout=10) == 0
    finally:
        text.close()
        js.close()


def test_the_client_stays_thin() -> None:
    """The command line never loads the tray, notification or scheduler libraries."""
    code = (
        "import sys\n"
        "from deskbreak import cli\n"
        "for argv in (['status'], ['snooze', '5m'], ['events']):\n"
        "    assert cli.main(argv) == 1\n"
        "heavy = ('pystray', 'plyer', 'apscheduler', 'PIL', 'gi', 'jeepney', 'tomlkit')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    home = DaemonHome(config=None)
    try:
        r = subprocess.run(
            [sys.executable, "-c", "import json\n" + code],
            capture_output=True,
            text=True,
            env=home.env,
            timeout=20,
        )
    finally:
        home.stop()
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == []


def test_a_frozen_daemon_is_reported_not_waited_for_forever(home: DaemonHome) -> None:
    proc = home.start()
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        r = home.cli("status")
        took = time.monotonic() - started
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert r.returncode == 1
    assert r.stderr.strip() == "deskbreak did not answer within 5 s"
    assert took < 15
    home.wait_answering(proc)  # and it carries on once it runs again

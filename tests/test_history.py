"""The history store against real SQLite files: every kind of event, crashes, corruption,
migration and write failures."""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from deskbreak.adapters import history as hist
from deskbreak.adapters.history import SCHEMA_V1, SCHEMA_VERSION, FakeHistory, History
from deskbreak.cycle import Reminder

LOG = logging.getLogger("test.history")
UTC = ZoneInfo("UTC")
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC).timestamp()  # Monday 09:00 UTC


def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "history.sqlite3"


def table(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    """Read the file with a connection of its own, as another program would."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def one_of_each(h: History) -> None:
    """A run in which every kind of event happens, the way the break cycle reports them."""
    r1 = Reminder(1, "neck-flexion", due_at=T0, shown_at=T0)
    h.record("shown", T0, r1)
    h.record("done", T0 + 42, r1)
    r2 = Reminder(2, "wall-stretch", due_at=T0 + 2700, shown_at=T0 + 2700)
    h.record("shown", T0 + 2700, r2)
    r2 = Reminder(2, "wall-stretch", due_at=T0 + 2700, shown_at=T0 + 2700, snoozes=1)
    h.record("snoozed", T0 + 2710, r2, "10m")
    r2 = Reminder(2, "wall-stretch", due_at=T0 + 2700, shown_at=T0 + 3310, snoozes=1)
    h.record("shown", T0 + 3310, r2)
    h.record("skipped", T0 + 3315, r2)
    r3 = Reminder(3, "shoulder-roll", due_at=T0 + 6000, shown_at=T0 + 6000)
    h.record("shown", T0 + 6000, r3)
    h.record("missed", T0 + 6300, r3, "no answer")
    r4 = Reminder(4, "neck-flexion", due_at=T0 + 9000, shown_at=T0 + 9000)
    h.record("shown", T0 + 9000, r4)
    h.record("natural-break", T0 + 9100, r4, "lock 15m")
    h.record("natural-break", T0 + 11000, None, "suspend 1h")
    r5 = Reminder(5, "wall-stretch", due_at=T0 + 14000, shown_at=T0 + 14000)
    h.record("shown", T0 + 14000, r5)
    h.record("paused", T0 + 14030, r5)
    h.record("paused", T0 + 14030, None, "until 1741000000")
    h.record("resumed", T0 + 15000, None)
    r6 = Reminder(6, "shoulder-roll", due_at=T0 + 18000)
    h.record("held", T0 + 18000, r6, "do not disturb")


def test_every_kind_of_event_is_recorded_with_its_reminder(tmp_path: Path) -> None:
    path = db(tmp_path)
    h = History.open(path, LOG)
    assert h.notice is None and h.persistent
    one_of_each(h)
    h.close()

    assert table(path, "PRAGMA journal_mode") == [("wal",)]
    assert table(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    reminders = table(
        path,
        "SELECT core_id, exercise, due_at, shown_at, last_shown_at, snoozes, outcome,"
        " outcome_at, answer_seconds, held_reason FROM reminders ORDER BY id",
    )
    assert reminders == [
        (1, "neck-flexion", T0, T0, T0, 0, "done", T0 + 42, 42.0, None),
        (2, "wall-stretch", T0 + 2700, T0 + 2700, T0 + 3310, 1, "skipped", T0 + 3315, 5.0, None),
        (3, "shoulder-roll", T0 + 6000, T0 + 6000, T0 + 6000, 0, "missed", T0 + 6300, None, None),
        (4, "neck-flexion", T0 + 9000, T0 + 9000, T0 + 9000, 0, "natural-break", T0 + 9100,
         None, None),
        (5, "wall-stretch", T0 + 14000, T0 + 14000, T0 + 14000, 0, "paused", T0 + 14030,
         None, None),
        (6, "shoulder-roll", T0 + 18000, None, None, 0, "held", T0 + 18000, None,
         "do not disturb"),
    ]  # fmt: skip
    # The snooze is an answer too: 10 s after the reminder was shown.
    assert table(path, "SELECT answer_seconds, detail FROM events WHERE kind = 'snoozed'") == [
        (10.0, "10m")
    ]

    h = History.open(path, LOG)  # a later run reads it all back
    entries = h.rows(T0, T0 + 86400)
    assert [e.kind for e in entries] == [
        "shown", "done", "shown", "snoozed", "shown", "skipped", "shown", "missed", "shown",
        "natural-break", "natural-break", "shown", "paused", "paused", "resumed", "held",
    ]  # fmt: skip
    by_kind = {e.kind: e for e in entries}
    assert by_kind["resumed"].reminder is None and by_kind["resumed"].exercise is None
    assert by_kind["missed"].detail == "no answer"
    day = h.today(T0 + 3600, UTC)
    assert (day.reminders, day.done, day.skipped, day.missed, day.snoozes) == (5, 1, 1, 1, 1)
    assert (day.natural_breaks, day.paused, day.held) == (2, 1, 1)
    assert h.next_reminder_id() == 7
    h.close()


def test_a_held_reminder_that_is_later_done_ends_as_done(tmp_path: Path) -> None:
    h = History.open(db(tmp_path), LOG)
    r = Reminder(1, "neck-flexion", due_at=T0)
    h.record("held", T0, r, "presenting")
    h.record("shown", T0 + 600, Reminder(1, "neck-flexion", due_at=T0, shown_at=T0 + 600))
    h.record("done", T0 + 620, Reminder(1, "neck-flexion", due_at=T0, shown_at=T0 + 600))
    h.close()
    assert table(db(tmp_path), "SELECT outcome, held_reason, answer_seconds FROM reminders") == [
        ("done", "presenting", 20.0)
    ]


def test_reminders_keep_their_own_identity_across_runs(tmp_path: Path) -> None:
    path = db(tmp_path)
    first = History.open(path, LOG)
    assert first.next_reminder_id() == 1
    first.record("shown", T0, Reminder(1, "neck-flexion", T0, T0))
    first.record("done", T0 + 5, Reminder(1, "neck-flexion", T0, T0))
    first.close()
    # The next run's cycle starts above the ids used so far...
    second = History.open(path, LOG)
    assert second.next_reminder_id() == 2
    # ...but a run that starts at 1 again still makes a new reminder, not a merge.
    second.record("shown", T0 + 3000, Reminder(1, "wall-stretch", T0 + 3000, T0 + 3000))
    second.record("skipped", T0 + 3001, Reminder(1, "wall-stretch", T0 + 3000, T0 + 3000))
    second.close()
    rows = table(path, "SELECT id, run, core_id, exercise, outcome FROM reminders ORDER BY id")
    assert rows == [(1, 1, 1, "neck-flexion", "done"), (2, 2, 1, "wall-stretch", "skipped")]


@dataclass(frozen=True)
class RoutineReminder:
    """A reminder as a routine will carry it: a name and several exercises."""

    id: int
    exercise: str
    due_at: float
    shown_at: float | None
    routine: str
    exercises: tuple[str, ...]
    snoozes: int = 0


def test_a_routine_keeps_its_name_and_every_exercise(tmp_path: Path) -> None:
    h = History.open(db(tmp_path), LOG)
    r = RoutineReminder(1, "march", T0, T0, "warm-up", ("march", "heel-dig", "knee-lift"))
    h.record("shown", T0, r)
    h.record("done", T0 + 200, r)
    (done,) = [e for e in h.rows(T0, T0 + 1000) if e.kind == "done"]
    assert done.routine == "warm-up"
    assert done.exercises == ("march", "heel-dig", "knee-lift")
    h.close()


WRITER = textwrap.dedent(
    """
    import logging, sys
    from pathlib import Path
    from deskbreak.adapters.history import History
    from deskbreak.cycle import Reminder

    h = History.open(Path(sys.argv[1]), logging.getLogger("writer"))
    i = 0
    while True:
        i += 1
        r = Reminder(i, "neck-flexion", float(i), float(i))
        h.record("shown", float(i), r, "x" * 500)
        h.record("done", float(i) + 0.5, r)
        print(i, flush=True)  # both events of reminder i are committed
    """
)


@pytest.mark.parametrize("after", [1, 37, 400])
def test_kill_9_while_writing_loses_nothing_committed(tmp_path: Path, after: int) -> None:
    path = db(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    confirmed = 0
    try:
        for line in proc.stdout:
            confirmed = int(line)
            if confirmed >= after:
                break
        # Still writing as fast as it can: the kill lands at some moment of a write.
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert confirmed >= after

    h = History.open(path, LOG)
    assert h.notice is None  # not corrupt: nothing moved aside
    entries = h.rows(0, 1e9)
    done = {int(e.at) for e in entries if e.kind == "done"}
    assert set(range(1, confirmed + 1)) <= done  # every answer the writer saw committed
    # At most the event in flight is missing: the last reminder may lack its "done".
    shown = {int(e.at) for e in entries if e.kind == "shown"}
    assert shown - done <= {max(shown)}
    assert table(path, "PRAGMA integrity_check") == [("ok",)]
    h.close()


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_new_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = db(tmp_path)
    path.parent.mkdir(parents=True)
    garbage = b"this is not SQLite " * 300
    path.write_bytes(garbage)
    h = History.open(path, LOG, now=datetime(2025, 3, 3, 10, 15, 0).timestamp())
    assert h.persistent
    assert h.notice is not None
    assert "history.sqlite3.corrupt-20250303-101500" in h.notice
    assert "\n" not in h.notice
    kept = path.with_name("history.sqlite3.corrupt-20250303-101500")
    assert kept.read_bytes() == garbage  # kept, not deleted
    h.record("shown", T0, Reminder(1, "neck-flexion", T0, T0))
    h.close()
    assert table(path, "SELECT kind FROM events") == [("shown",)]
    assert any("could not be read" in r.getMessage() for r in caplog.records)
    # Told once: the next start finds a good file and has nothing to say.
    again = History.open(path, LOG)
    assert again.notice is None
    again.close()


def test_a_damaged_database_is_moved_aside_with_its_data(tmp_path: Path) -> None:
    path = db(tmp_path)
    h = History.open(path, LOG)
    with h.batch():
        for i in range(300):
            h.record("natural-break", T0 + i, None, "some detail " * 20)
    h.close()
    data = bytearray(path.read_bytes())
    page = 4096
    assert len(data) > 12 * page
    # Scribble over two pages of events near the end of the file: opening the file and reading
    # its schema still works, only a full check finds the damage.
    end = len(data) - page
    data[end - 2 * page : end] = b"\xa5" * (2 * page)
    path.write_bytes(bytes(data))

    h = History.open(path, LOG, now=T0)
    assert h.notice is not None and "was kept as" in h.notice
    aside = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == bytes(data)
    assert h.rows(0, 1e12) == []  # a fresh start
    h.close()


def test_a_folder_in_the_way_is_moved_aside(tmp_path: Path) -> None:
    path = db(tmp_path)
    path.mkdir(parents=True)
    (path / "something").write_text("mine")
    h = History.open(path, LOG, now=T0)
    assert h.persistent and h.notice is not None and "a folder" in h.notice
    h.record("natural-break", T0, None, "away 10m")
    h.close()
    (moved,) = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert (moved / "something").read_text() == "mine"
    assert table(path, "SELECT COUNT(*) FROM events") == [(1,)]


def test_a_database_of_some_other_program_is_moved_aside(tmp_path: Path) -> None:
    path = db(tmp_path)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    h = History.open(path, LOG, now=T0)
    assert h.notice is not None and "not a deskbreak history" in h.notice
    h.close()
    (moved,) = [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    assert table(moved, "SELECT name FROM sqlite_master") == [("contacts",)]


def test_with_nowhere_to_write_the_run_keeps_its_history_in_memory(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the folder should be")
    h = History.open(blocker / "history.sqlite3", LOG)
    assert not h.persistent
    assert h.notice is not None and "not saved" in h.notice
    r = Reminder(1, "neck-flexion", T0, T0)
    h.record("shown", T0, r)
    h.record("done", T0 + 3, r)
    assert h.today(T0, UTC).done == 1  # today's progress still works for this run
    h.close()
    assert blocker.read_text() == "a file where the folder should be"


def test_a_database_from_a_newer_deskbreak_is_left_alone(tmp_path: Path) -> None:
    path = db(tmp_path)
    path.parent.mkdir(parents=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    h = History.open(path, LOG)
    assert not h.persistent and h.notice is not None and "newer deskbreak" in h.notice
    h.record("natural-break", T0, None)
    h.close()
    assert path.read_bytes() == before
    assert not [p for p in path.parent.iterdir() if ".corrupt-" in p.name]


def make_v1(path: Path) -> None:
    """A history as version 1 wrote it: one table, the cycle's ids restarting every run."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_V1)
    rows = [
        # first run
        (T0, "shown", 1, "neck-flexion", T0, T0, 0, ""),
        (T0 + 10, "snoozed", 1, "neck-flexion", T0, T0, 1, "10m"),
        (T0 + 610, "shown", 1, "neck-flexion", T0, T0 + 610, 1, ""),
        (T0 + 640, "done", 1, "neck-flexion", T0, T0 + 610, 1, ""),
        (T0 + 3000, "shown", 2, "wall-stretch", T0 + 3000, T0 + 3000, 0, ""),
        (T0 + 3300, "missed", 2, "wall-stretch", T0 + 3000, T0 + 3000, 0, "no answer"),
        # second run: ids start at 1 again
        (T0 + 9000, "natural-break", None, None, None, None, 0, "suspend 2h"),
        (T0 + 12000, "shown", 1, "shoulder-roll", T0 + 12000, T0 + 12000, 0, ""),
        (T0 + 12005, "skipped", 1, "shoulder-roll", T0 + 12000, T0 + 12000, 0, ""),
    ]
    conn.executemany(
        "INSERT INTO events (at, kind, reminder_id, exercise, due_at, shown_at, snoozes, detail)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()


def test_a_version_1_history_is_migrated_with_its_data(tmp_path: Path) -> None:
    path = db(tmp_path)
    make_v1(path)
    h = History.open(path, LOG)
    assert h.notice is None and h.persistent
    assert table(path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert table(path, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") == [
        ("events",),
        ("reminders",),
    ]
    entries = h.rows(0, 1e12)
    assert len(entries) == 9
    assert [e.kind for e in entries][-2:] == ["shown", "skipped"]
    assert table(
        path, "SELECT exercise, snoozes, outcome, answer_seconds FROM reminders ORDER BY id"
    ) == [
        ("neck-flexion", 1, "done", 30.0),
        ("wall-stretch", 0, "missed", None),
        ("shoulder-roll", 0, "skipped", 5.0),  # not merged with the first run's reminder 1
    ]
    day = h.today(T0, UTC)
    assert (day.reminders, day.done, day.missed, day.skipped, day.snoozes) == (3, 1, 1, 1, 1)
    assert day.natural_breaks == 1
    # New events go on after the migrated ones.
    assert h.next_reminder_id() == 3
    h.record("shown", T0 + 20000, Reminder(3, "neck-flexion", T0 + 20000, T0 + 20000))
    h.close()
    assert table(path, "SELECT COUNT(*) FROM reminders") == [(4,)]


def test_a_failed_migration_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = db(tmp_path)
    make_v1(path)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("ALTER TABLE events RENAME TO events_v1")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setitem(hist.MIGRATIONS, 1, broken)
    h = History.open(path, LOG)
    assert not h.persistent  # this run keeps its history in memory...
    h.close()
    # ...and the version 1 file is as it was, to be migrated by a later run.
    assert table(path, "PRAGMA user_version") == [(1,)]
    assert table(path, "SELECT COUNT(*) FROM events") == [(9,)]


def test_a_write_that_cannot_get_the_lock_is_logged_and_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = db(tmp_path)
    h = History.open(path, LOG, busy_timeout=0.2)
    h.record("natural-break", T0, None, "first")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")  # another program holds the file
    try:
        with caplog.at_level(logging.INFO, logger=LOG.name):
            h.record("natural-break", T0 + 1, None, "lost")  # must not raise
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert any("could not record natural-break" in r.getMessage() for r in caplog.records)
    with caplog.at_level(logging.INFO, logger=LOG.name):
        h.record("natural-break", T0 + 2, None, "third")
    assert any("works again" in r.getMessage() for r in caplog.records)
    assert [e.detail for e in h.rows(0, 1e12)] == ["first", "third"]
    h.close()


DISK_FULL = textwrap.dedent(
    """
    import json, logging, resource, signal, sys
    from pathlib import Path
    from deskbreak.adapters.history import History
    from deskbreak.cycle import Reminder

    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    path = Path(sys.argv[1])
    h = History.open(path, logging.getLogger("deskbreak.history"))
    r = Reminder(1, "neck-flexion", 1000.0, 1000.0)
    h.record("shown", 1000.0, r)
    # The file may not grow any more: as good as a full disk, for this process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    wal = path.with_name(path.name + "-wal")
    resource.setrlimit(resource.RLIMIT_FSIZE, (max(path.stat().st_size, wal.stat().st_size), hard))
    for i in range(20):
        h.record("natural-break", 2000.0 + i, None, "x" * 5000)
    resource.setrlimit(resource.RLIMIT_FSIZE, (hard, hard))
    h.record("done", 3000.0, r)
    print(json.dumps([e.kind for e in h.rows(0, 1e9)]))
    """
)


@pytest.mark.skipif(sys.platform != "linux", reason="RLIMIT_FSIZE is how this test fills the disk")
def test_a_full_disk_never_stops_the_caller(tmp_path: Path) -> None:
    path = db(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", DISK_FULL, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "could not record natural-break" in proc.stderr
    assert "works again" in proc.stderr
    assert json.loads(proc.stdout) == ["shown", "done"]  # the writes around the full disk
    assert table(path, "PRAGMA integrity_check") == [("ok",)]


def test_today_counts_the_local_day_of_now(tmp_path: Path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    h = History.open(db(tmp_path), LOG)
    late = datetime(2025, 3, 3, 23, 50, tzinfo=berlin).timestamp()
    r = Reminder(1, "neck-flexion", late, late)
    h.record("shown", late, r)
    h.record("done", late + 1200, r)  # 00:10 on Tuesday
    monday = h.today(late, berlin)
    tuesday = h.today(late + 3600, berlin)
    assert monday.day == date(2025, 3, 3) and (monday.reminders, monday.done) == (1, 0)
    assert tuesday.day == date(2025, 3, 4) and (tuesday.reminders, tuesday.done) == (0, 1)
    h.close()


def test_recording_after_close_or_with_a_strange_reminder_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    h = History.open(db(tmp_path), LOG)
    h.record("shown", T0, object())  # no id, no exercise: logged, dropped
    h.close()
    h.record("done", T0, None)
    assert len([r for r in caplog.records if "could not record" in r.getMessage()]) == 2


def test_the_fake_behaves_like_the_store_and_can_fail(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeHistory()
    one_of_each(fake)
    assert fake.kinds[:3] == ["shown", "done", "shown"]
    assert fake.today(T0, UTC).done == 1
    assert fake.next_reminder_id() == 7
    fake.fail_writes = True
    fake.record("done", T0 + 99, Reminder(7, "neck-flexion", T0, T0))
    assert fake.kinds[-1] == "done"  # the call was made...
    assert fake.today(T0, UTC).done == 1  # ...but nothing was written
    assert any("could not record" in r.getMessage() for r in caplog.records)


def test_default_path_is_in_the_user_data_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(hist.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", "/somewhere/data")
    if sys.platform == "linux":
        assert hist.default_path() == Path("/somewhere/data/deskbreak/history.sqlite3")
    monkeypatch.setenv(hist.ENV_VAR, "~/h.sqlite3")
    assert hist.default_path() == Path("~/h.sqlite3").expanduser()


OPENER = textwrap.dedent(
    """
    import logging, sys, time
    from pathlib import Path
    from deskbreak.adapters.history import History

    go = Path(sys.argv[3])
    Path(sys.argv[4]).touch()  # ready
    deadline = time.monotonic() + 30
    while not go.exists() and time.monotonic() < deadline:
        pass  # everyone opens at the same moment
    h = History.open(Path(sys.argv[1]), logging.getLogger("opener"), busy_timeout=10)
    h.record("natural-break", 1000.0, None, sys.argv[2])
    print(h.notice or "", flush=True)
    h.close()
    """
)


def test_processes_creating_the_file_at_once_do_not_take_it_for_corrupt(tmp_path: Path) -> None:
    path = db(tmp_path)
    go = tmp_path / "go"
    ready = tmp_path / "ready"
    ready.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(path), f"opener {i}", str(go), str(ready / str(i))],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(6)
    ]
    deadline = time.monotonic() + 30
    while len(list(ready.iterdir())) < 6 and time.monotonic() < deadline:
        time.sleep(0.01)  # polling: all six are started and waiting for the word
    go.touch()
    results = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, results
    assert [out.strip() for out, _err in results] == [""] * 6  # nobody had anything to tell
    assert not [p for p in path.parent.iterdir() if ".corrupt-" in p.name]
    details = sorted(d for (d,) in table(path, "SELECT detail FROM events"))
    assert details == [f"opener {i}" for i in range(6)]

"""The history of every reminder, in SQLite (stdlib ``sqlite3``).

How it works
============

One file, ``history.sqlite3`` in the user data folder, in WAL mode with ``synchronous=FULL``:
each ``record()`` is its own transaction, committed before it returns, so a process killed at
any moment (kill -9, a power cut) loses at most the event it was writing. Readers
(``deskbreak stats``) never block the daemon and see only committed events.

Tables (schema version 2, kept in ``PRAGMA user_version``)::

    reminders  one row per reminder: deskbreak's own persistent id (the break cycle's ids
               start again at 1 in every run, so its id is kept as ``core_id`` beside the
               ``run`` it came from), the exercise (and, for a routine, its name and every
               exercise), when it was due and first/last shown, how often it was snoozed,
               its outcome and when, how long the user took to answer, why it was held
    events     append-only: every event with its time, kind, reminder (if any), the core's
               detail and, for an answer, the seconds since the reminder was shown

Each event is written together with its reminder's row in one transaction, so the two never
disagree. A reminders *table* rather than a view over the events: a reminder's outcome is
"the last closing event, unless ...", which is awkward and slow to recompute in SQL on every
read, while one upsert per event is cheap (a few events an hour) and gives anyone who opens
the file a plain row per reminder. The events stay the full record; version 1's events are
replayed into the version 2 tables by the migration below.

What can go wrong, and what happens:

- a write fails (disk full, file locked, I/O error): ``record()`` logs it and returns;
  reminders go on. Nothing is retried later.
- the file is corrupt, not a database, or cannot be opened although it exists: it is moved
  aside as ``history.sqlite3.corrupt-YYYYmmdd-HHMMSS`` (with its -wal and -shm files), never
  deleted; a fresh database is started and ``notice`` holds one line to tell the user once.
- no database can be created at all (the folder cannot be made), or it was written by a newer
  deskbreak: this run keeps its history in memory only (so today's counts still work) and
  ``notice`` says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from deskbreak.errors import DeskbreakError
from deskbreak.stats import (
    HELD,
    OUTCOMES,
    SHOWN,
    DayCounts,
    Entry,
    bounds,
    count_days,
    local_day,
)

ENV_VAR = "DESKBREAK_HISTORY"
FILE_NAME = "history.sqlite3"
SCHEMA_VERSION = 2
ANSWERS = ("done", "skipped", "snoozed")  # the kinds that are a user's answer to a reminder
BUSY_TIMEOUT = 2.0  # seconds a write waits for another process's lock before it fails


class HistoryUnreadable(DeskbreakError):
    """The history database cannot be read (``deskbreak stats``)."""

    exit_code = 1


def default_path() -> Path:
    """The history database: $DESKBREAK_HISTORY if set, else in the user data folder."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    from deskbreak.adapters import paths

    return paths.data_dir() / FILE_NAME


# ---------------------------------------------------------------- schema

# Version 1: one table of events, keyed by the break cycle's own reminder ids (which start
# again at 1 in every run). Kept to migrate from, and for the tests.
SCHEMA_V1 = """
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    reminder_id INTEGER,
    exercise TEXT,
    due_at REAL,
    shown_at REAL,
    snoozes INTEGER NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_at ON events (at);
"""

SCHEMA_V2 = """
CREATE TABLE reminders (
    id INTEGER PRIMARY KEY,
    run INTEGER NOT NULL,
    core_id INTEGER NOT NULL,
    exercise TEXT NOT NULL,
    routine TEXT,
    exercises TEXT NOT NULL DEFAULT '',
    due_at REAL,
    shown_at REAL,
    last_shown_at REAL,
    snoozes INTEGER NOT NULL DEFAULT 0,
    outcome TEXT,
    outcome_at REAL,
    answer_seconds REAL,
    held_reason TEXT
);
CREATE INDEX reminders_shown_at ON reminders (shown_at);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    reminder INTEGER REFERENCES reminders (id),
    detail TEXT NOT NULL DEFAULT '',
    answer_seconds REAL
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_reminder ON events (reminder);
"""

_TABLES = {1: {"events"}, 2: {"events", "reminders"}}


@dataclass(frozen=True)
class _Facts:
    """What the store reads off a reminder (the core's ``Reminder``, or a version 1 row)."""

    core_id: int
    exercise: str
    routine: str | None
    exercises: tuple[str, ...]
    due_at: float | None
    shown_at: float | None  # the latest showing
    snoozes: int


def _facts(reminder: Any) -> _Facts:
    exercise = str(reminder.exercise)
    exercises = tuple(getattr(reminder, "exercises", None) or (exercise,))
    routine = getattr(reminder, "routine", None)
    return _Facts(
        core_id=int(reminder.id),
        exercise=exercise,
        routine=str(routine) if routine else None,
        exercises=tuple(str(x) for x in exercises),
        due_at=_float_or_none(getattr(reminder, "due_at", None)),
        shown_at=_float_or_none(getattr(reminder, "shown_at", None)),
        snoozes=int(getattr(reminder, "snoozes", 0) or 0),
    )


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)


def _write(
    conn: sqlite3.Connection,
    run: int,
    ids: dict[Any, int],
    key: Any,
    kind: str,
    at: float,
    facts: _Facts | None,
    detail: str,
) -> tuple[Any, int] | None:
    """Write one event and its reminder's row (inside the caller's transaction).

    ``ids`` maps ``key`` (how this run tells reminders apart) to a persistent id; a new
    mapping is returned for the caller to keep once the transaction has committed.
    """
    uid: int | None = None
    answer: float | None = None
    new: tuple[Any, int] | None = None
    if facts is not None:
        if kind in ANSWERS and facts.shown_at is not None:
            answer = max(0.0, at - facts.shown_at)
        uid = ids.get(key)
        if uid is None:
            cur = conn.execute(
                "INSERT INTO reminders (run, core_id, exercise) VALUES (?, ?, ?)",
                (run, facts.core_id, facts.exercise),
            )
            assert cur.lastrowid is not None
            uid = cur.lastrowid
            new = (key, uid)
        conn.execute(
            "UPDATE reminders SET exercise = ?, routine = ?, exercises = ?,"
            " due_at = COALESCE(?, due_at), snoozes = MAX(snoozes, ?) WHERE id = ?",
            (
                facts.exercise,
                facts.routine,
                ",".join(facts.exercises),
                facts.due_at,
                facts.snoozes,
                uid,
            ),
        )
        if kind == SHOWN:
            conn.execute(
                "UPDATE reminders SET shown_at = COALESCE(shown_at, ?), last_shown_at = ?"
                " WHERE id = ?",
                (at, at, uid),
            )
        elif kind in OUTCOMES:
            conn.execute(
                "UPDATE reminders SET outcome = ?, outcome_at = ?, answer_seconds = ? WHERE id = ?",
                (kind, at, answer, uid),
            )
        elif kind == HELD:
            conn.execute(
                "UPDATE reminders SET held_reason = ?, outcome = COALESCE(outcome, ?),"
                " outcome_at = COALESCE(outcome_at, ?) WHERE id = ?",
                (detail, HELD, at, uid),
            )
    conn.execute(
        "INSERT INTO events (at, kind, reminder, detail, answer_seconds) VALUES (?, ?, ?, ?, ?)",
        (at, kind, uid, detail, answer),
    )
    return new


def _migrate_1_to_2(conn: sqlite3.Connection) -> None:
    """Replay version 1's events into the version 2 tables.

    Version 1 kept the core's reminder ids, which start again at 1 in every run; a reminder
    is told apart by its id together with when it was due (fixed for a reminder's life).
    Its runs are unknown: they are all run 0.
    """
    conn.execute("ALTER TABLE events RENAME TO events_v1")
    conn.execute("DROP INDEX IF EXISTS events_at")
    for statement in _statements(SCHEMA_V2):
        conn.execute(statement)
    ids: dict[Any, int] = {}
    rows = conn.execute(
        "SELECT at, kind, reminder_id, exercise, due_at, shown_at, snoozes, detail"
        " FROM events_v1 ORDER BY id"
    ).fetchall()
    for at, kind, rid, exercise, due_at, shown_at, snoozes, detail in rows:
        facts = None
        key = None
        if rid is not None and exercise:
            facts = _Facts(int(rid), exercise, None, (exercise,), due_at, shown_at, snoozes or 0)
            key = (int(rid), due_at)
        new = _write(conn, 0, ids, key, kind, at, facts, detail or "")
        if new is not None:
            ids[new[0]] = new[1]
    conn.execute("DROP TABLE events_v1")


MIGRATIONS = {1: _migrate_1_to_2}


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


# ---------------------------------------------------------------- opening


class _Unusable(Exception):
    """The file is there but is not a history we can use (corrupt, foreign, unreadable)."""


class _Newer(Exception):
    """The file was written by a newer deskbreak."""


# SQLite result codes (primary) that mean the file itself is bad, not that it is busy.
_BAD_FILE = {
    "SQLITE_CORRUPT",
    "SQLITE_NOTADB",
    "SQLITE_CANTOPEN",
    "SQLITE_FORMAT",
    "SQLITE_IOERR_SHORT_READ",
}


def _is_bad_file(err: sqlite3.Error) -> bool:
    name = getattr(err, "sqlite_errorname", "") or ""
    if any(name == code or name.startswith(code + "_") for code in _BAD_FILE):
        return True
    text = str(err).lower()
    return "malformed" in text or "not a database" in text or "unable to open" in text


def _connect(target: str, busy_timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(
        target, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )


def _prepare(path: Path, busy_timeout: float, *, check: bool) -> sqlite3.Connection:
    """Open ``path``, creating or migrating it to the current schema.

    Raises ``_Unusable`` (the file is bad), ``_Newer``, ``OSError`` (its folder cannot be
    made) or ``sqlite3.Error`` (anything else, e.g. locked).
    """
    if path.is_dir():
        raise _Unusable("it is a folder")
    existed = path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = _connect(str(path), busy_timeout)
    try:
        if existed and check:
            result = conn.execute("PRAGMA quick_check").fetchall()
            if result != [("ok",)]:
                raise _Unusable("it failed SQLite's integrity check")
        # One read transaction: the version and the tables seen together, even while another
        # process creates or upgrades the file.
        conn.execute("BEGIN")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        conn.execute("COMMIT")
        if version > SCHEMA_VERSION:
            raise _Newer(f"schema version {version}; this deskbreak knows up to {SCHEMA_VERSION}")
        if version == 0 and tables:
            raise _Unusable("it is not a deskbreak history")
        if version and not _TABLES[version] <= tables:
            raise _Unusable(f"tables are missing for schema version {version}")
        mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal":
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
            if mode != "wal":
                raise sqlite3.OperationalError(f"could not switch to WAL mode ({mode})")
        conn.execute("PRAGMA synchronous = FULL")
        if version < SCHEMA_VERSION:
            _upgrade(conn, version)
        return conn
    except sqlite3.Error as err:
        conn.close()
        if _is_bad_file(err):
            raise _Unusable(str(err)) from err
        raise
    except BaseException:
        conn.close()
        raise


def _is_busy(err: sqlite3.Error) -> bool:
    name = getattr(err, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in str(err).lower()


def _prepare_patiently(path: Path, busy_timeout: float, *, check: bool) -> sqlite3.Connection:
    """``_prepare``, tried again while another process holds the file (switching to WAL mode
    does not wait for a lock by itself, so two processes creating the file at once would
    otherwise fail)."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return _prepare(path, busy_timeout, check=check)
        except sqlite3.OperationalError as err:
            if not _is_busy(err) or time.monotonic() >= deadline:
                raise
        time.sleep(0.05)


def _upgrade(conn: sqlite3.Connection, version: int) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` in one transaction (all or nothing)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Another process (the daemon, ``deskbreak stats``) may have upgraded it meanwhile.
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == SCHEMA_VERSION:
            conn.execute("COMMIT")
            return
        if version == 0:
            for statement in _statements(SCHEMA_V2):
                conn.execute(statement)
        else:
            for v in range(version, SCHEMA_VERSION):
                MIGRATIONS[v](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _memory() -> sqlite3.Connection:
    conn = _connect(":memory:", 0)
    for statement in _statements(SCHEMA_V2):
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    return conn


def _move_aside(path: Path, now: float) -> Path:
    """Rename ``path`` (and its -wal, -shm, -journal files) to an unused ``.corrupt-`` name."""
    stamp = datetime.fromtimestamp(now).strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 2
    while aside.exists():
        aside = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
        n += 1
    os.rename(path, aside)
    for suffix in ("-wal", "-shm", "-journal"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            with contextlib.suppress(OSError):
                os.rename(side, aside.with_name(aside.name + suffix))
    return aside


# ---------------------------------------------------------------- the store


class History:
    """The history store. ``open()`` never raises; ``record()`` never raises."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        path: Path | None,
        log: logging.Logger,
        *,
        notice: str | None = None,
    ) -> None:
        self._conn: sqlite3.Connection | None = conn
        self.path = path  # None: kept in memory only (this run)
        self.log = log
        self.notice = notice  # one line to tell the user once, or None
        self._lock = threading.RLock()
        self._ids: dict[Any, int] = {}
        self._batch = 0
        self._failures = 0
        row = conn.execute("SELECT COALESCE(MAX(run), 0) + 1 FROM reminders").fetchone()
        self.run = int(row[0])

    # -- opening

    @classmethod
    def open(
        cls,
        path: Path,
        log: logging.Logger,
        *,
        now: float | None = None,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> History:
        """Open (create, migrate) the history at ``path``. A corrupt or unreadable file is
        moved aside and a fresh one started; if no file can be used at all, this run's
        history is kept in memory. Either way ``notice`` says so in one line."""
        moment = time.time() if now is None else now
        try:
            return cls(_prepare_patiently(path, busy_timeout, check=True), path, log)
        except _Unusable as why:
            reason = str(why)
        except _Newer as why:
            return cls._in_memory(
                log,
                f"the history file {path} was written by a newer deskbreak ({why}); "
                "this run's breaks are not saved",
            )
        except (OSError, sqlite3.Error) as err:
            return cls._in_memory(
                log,
                f"the history file {path} cannot be used ({err}); this run's breaks are not saved",
            )
        try:
            aside = _move_aside(path, moment)
        except OSError as err:
            return cls._in_memory(
                log,
                f"the history file {path} could not be read ({reason}) nor moved aside ({err}); "
                "this run's breaks are not saved",
            )
        notice = (
            f"The history file could not be read ({reason}); it was kept as {aside.name} "
            "and a new one was started."
        )
        log.warning("%s (%s)", notice, aside)
        try:
            history = cls(
                _prepare_patiently(path, busy_timeout, check=True), path, log, notice=notice
            )
        except (OSError, sqlite3.Error, _Unusable, _Newer) as err:
            return cls._in_memory(
                log, f"{notice} But the new one cannot be used either ({err}); breaks are not saved"
            )
        return history

    @classmethod
    def _in_memory(cls, log: logging.Logger, message: str) -> History:
        log.warning("history: %s", message)
        return cls(_memory(), None, log, notice=message[0].upper() + message[1:] + ".")

    @classmethod
    def open_for_reading(cls, path: Path, log: logging.Logger) -> History:
        """Open an existing history to read (``deskbreak stats``): migrated if old, never
        moved aside. Raises ``HistoryUnreadable`` with one line if it cannot be read."""
        try:
            return cls(_prepare_patiently(path, BUSY_TIMEOUT, check=False), path, log)
        except (_Unusable, _Newer, OSError, sqlite3.Error) as err:
            raise HistoryUnreadable(f"{path}: cannot read the history: {err}") from None

    @property
    def persistent(self) -> bool:
        """False when this run's history is kept in memory only."""
        return self.path is not None

    # -- writing

    def record(self, kind: str, at: float, reminder: Any | None, detail: str = "") -> None:
        """Add one event (and update its reminder), committed before this returns.

        ``reminder`` is the break cycle's ``Reminder`` (id, exercise, due_at, shown_at,
        snoozes; a routine may add ``routine`` and ``exercises``) or None. Never raises: a
        failure is logged and the event is dropped.
        """
        with self._lock:
            try:
                if self._conn is None:
                    raise sqlite3.ProgrammingError("the history is closed")
                facts = None if reminder is None else _facts(reminder)
                key = None if facts is None else facts.core_id
                savepoint = self._batch > 0
                self._conn.execute("SAVEPOINT record" if savepoint else "BEGIN IMMEDIATE")
                try:
                    new = _write(
                        self._conn, self.run, self._ids, key, kind, float(at), facts, detail
                    )
                    self._conn.execute("RELEASE record" if savepoint else "COMMIT")
                except BaseException:
                    if savepoint:
                        self._conn.execute("ROLLBACK TO record")
                        self._conn.execute("RELEASE record")
                    elif self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
                if new is not None:
                    self._ids[new[0]] = new[1]
                if self._failures:
                    self.log.info("history: writing works again (%d events lost)", self._failures)
                    self._failures = 0
            except Exception as err:
                self._failures += 1
                if self._failures == 1:
                    self.log.warning(
                        "history: could not record %s at %.0f: %s", kind, at, err, exc_info=True
                    )
                else:
                    self.log.warning("history: could not record %s at %.0f: %s", kind, at, err)

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Write many events in one transaction (importing, sample data, benchmarks)."""
        with self._lock:
            assert self._conn is not None
            self._conn.execute("BEGIN IMMEDIATE")
            self._batch += 1
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            else:
                self._conn.execute("COMMIT")
            finally:
                self._batch -= 1

    # -- reading

    def next_reminder_id(self) -> int:
        """An id above every reminder id the break cycle has used before (``first_id``)."""
        with self._lock:
            try:
                assert self._conn is not None
                row = self._conn.execute("SELECT COALESCE(MAX(core_id), 0) FROM reminders")
                return int(row.fetchone()[0]) + 1
            except Exception as err:
                self.log.warning("history: could not read the last reminder id: %s", err)
                return 1

    def first_event_at(self) -> float | None:
        """When the oldest event happened (None: no events). Raises ``HistoryUnreadable``."""
        with self._lock:
            try:
                if self._conn is None:
                    raise sqlite3.ProgrammingError("the history is closed")
                value = self._conn.execute("SELECT MIN(at) FROM events").fetchone()[0]
            except sqlite3.Error as err:
                raise HistoryUnreadable(f"{self.path}: cannot read the history: {err}") from None
        return None if value is None else float(value)

    def rows(self, since: float, until: float, kinds: Sequence[str] | None = None) -> list[Entry]:
        """Events from ``since`` (included) to ``until`` (excluded), oldest first.

        Raises ``HistoryUnreadable`` if the database cannot be read.
        """
        sql = (
            "SELECT e.at, e.kind, e.reminder, r.exercise, r.exercises, r.routine, r.due_at,"
            " r.shown_at, r.snoozes, r.outcome, e.answer_seconds, e.detail"
            " FROM events e LEFT JOIN reminders r ON r.id = e.reminder"
            " WHERE e.at >= ? AND e.at < ?"
        )
        params: list[Any] = [since, until]
        if kinds is not None:
            sql += f" AND e.kind IN ({', '.join('?' for _ in kinds)})"
            params.extend(kinds)
        sql += " ORDER BY e.at, e.id"
        with self._lock:
            try:
                if self._conn is None:
                    raise sqlite3.ProgrammingError("the history is closed")
                found = self._conn.execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise HistoryUnreadable(f"{self.path}: cannot read the history: {err}") from None
        return [
            Entry(
                at=at,
                kind=kind,
                reminder=rid,
                exercise=exercise,
                exercises=tuple(exercises.split(",")) if exercises else (),
                routine=routine,
                due_at=due_at,
                shown_at=shown_at,
                snoozes=snoozes or 0,
                outcome=outcome,
                answer_seconds=answer,
                detail=detail,
            )
            for (
                at,
                kind,
                rid,
                exercise,
                exercises,
                routine,
                due_at,
                shown_at,
                snoozes,
                outcome,
                answer,
                detail,
            ) in found
        ]

    def today(self, now: float, tz: tzinfo | None = None) -> DayCounts:
        """What happened on the local day of ``now`` (zeros if it cannot be read)."""
        day = local_day(now, tz)
        since, until = bounds(day, day, tz)
        try:
            entries = self.rows(since, until)
        except HistoryUnreadable as err:
            self.log.warning("history: %s", err)
            return DayCounts(day=day)
        return count_days(entries, day, day, tz)[0]

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except sqlite3.Error as err:
                    self.log.warning("history: closing: %s", err)
                self._conn = None

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeHistory(History):
    """In memory, for tests of the daemon: the real store's behaviour (an in-memory SQLite
    database), plus ``records`` (every call to ``record``, in order) and ``fail_writes``
    (when True, each ``record`` fails the way a full disk would: logged, dropped)."""

    def __init__(self, log: logging.Logger | None = None, *, notice: str | None = None) -> None:
        super().__init__(_memory(), None, log or logging.getLogger("deskbreak.history"))
        self.notice = notice
        self.records: list[tuple[str, float, Any, str]] = []
        self.fail_writes = False

    def record(self, kind: str, at: float, reminder: Any | None, detail: str = "") -> None:
        self.records.append((kind, at, reminder, detail))
        if self.fail_writes:
            self._failures += 1
            self.log.warning("history: could not record %s at %.0f: disk full (fake)", kind, at)
            return
        super().record(kind, at, reminder, detail)

    @property
    def kinds(self) -> list[str]:
        return [kind for kind, _at, _reminder, _detail in self.records]

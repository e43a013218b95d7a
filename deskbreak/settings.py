"""Parse and validate the settings file into frozen dataclasses. Pure: no I/O, no clock.

How it works
------------
The settings file is TOML that people edit by hand. Every value has a default in code
(``DEFAULTS``), so an empty file, or no file at all, is a valid configuration.

``parse_settings(text, path)`` reads the text with ``tomllib``, then walks the known tables
and keys, converting each value or raising ``SettingsError`` for the first problem. The
error names the file, the line, the dotted key, what is wrong and what is allowed, on one
line, so the command line and the tray can show it as is.

``tomllib`` reports no line numbers for keys, so ``_Scanner`` below reads the text once more
to find where each key, table and array element is written. It follows ``[table]`` and
``[[array]]`` headers, dotted keys (``reminders.interval = ...``), inline tables, multi-line
arrays and every kind of string, so comments or strings holding ``=`` or ``[`` do not
mislead it. It never raises, whatever the text.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import NoReturn

from deskbreak.durations import ALLOWED as DURATION_ALLOWED
from deskbreak.durations import parse_duration
from deskbreak.errors import SettingsError
from deskbreak.exercises import (
    CATEGORIES,
    DESK_ROTATION,
    WARM_UP,
    Exercise,
    catalogue_with,
)
from deskbreak.wallclock import parse_clock

MAX_DURATION = 24 * 3600  # the longest duration any setting accepts, in seconds
CUSTOM_DEFAULT_DURATION = 30  # seconds, for a custom exercise that gives no duration

REMINDER_KEYS = (
    "interval",
    "snooze",
    "exercises",
    "missed_after",
    "daily_goal",
    "max_snoozes",
    "skip_budget",
    "guide",
)
AWAY_KEYS = ("natural_break", "suspend", "lock", "idle")
SCHEDULE_KEYS = ("days", "start", "end", "breaks")
DND_KEYS = ("fullscreen", "inhibited", "gnome_banners", "max_defer")
ROUTINES_KEYS = ("every", "routine")
HISTORY_KEYS = ("enabled",)
EXERCISE_KEYS = ("name", "steps", "duration", "category", "desk", "equipment", "summary")
ROUTINE_KEYS = ("name", "exercises")
# The tables with fixed keys, in the order the example file shows them.
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "reminders": REMINDER_KEYS,
    "away": AWAY_KEYS,
    "schedule": SCHEDULE_KEYS,
    "dnd": DND_KEYS,
    "routines": ROUTINES_KEYS,
    "history": HISTORY_KEYS,
}
# The tables holding one table per item: [exercise.ID] and [routine.ID].
ITEM_TABLE_KEYS: dict[str, tuple[str, ...]] = {"exercise": EXERCISE_KEYS, "routine": ROUTINE_KEYS}
_TOP_LEVEL = (*TABLE_KEYS, *ITEM_TABLE_KEYS)
DAILY_GOAL_MAX = 100
UNLIMITED = "unlimited"
ROUTINES_OFF = "off"
MIDNIGHT = 24 * 60  # schedule.end = "24:00", in minutes after midnight
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*\Z")
_AT_LINE = re.compile(r"\s*\(at line (\d+), column \d+\)\s*\Z")
_AT_END = re.compile(r"\s*\(at end of document\)\s*\Z")
_UNQUOTED_DURATION = re.compile(r"=\s*\d+[hms]")
_UNQUOTED_CLOCK = re.compile(r"(?:^|[=\[,])\s*\d{1,2}:\d{2}")
_CLOCK = re.compile(r"[0-9]{1,2}:[0-9]{2}\Z")


GUIDES = ("window", "notification")
AWAY_MODES = ("natural-break", "pause-interval")
ALL_DAYS: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)  # Monday is 0, as in datetime.weekday()
DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
BUILTIN_ROUTINE = "warm-up-and-desk"


@dataclass(frozen=True)
class Reminders:
    interval: int = 2700  # seconds between breaks
    snooze: int = 600  # seconds a snoozed reminder waits
    exercises: tuple[str, ...] = DESK_ROTATION  # the rotation, by exercise id
    missed_after: int = 300  # seconds before an unanswered reminder closes as missed
    daily_goal: int = 8  # stretches done per day
    max_snoozes: int | None = 3  # snoozes allowed per reminder (None: no limit)
    skip_budget: int | None = None  # skips allowed per day (None: no limit)
    guide: str = "window"  # "window": Start opens the guided window; "notification": never


@dataclass(frozen=True)
class Away:
    natural_break: int = 300  # an absence at least this long is a natural break
    suspend: str = "natural-break"  # or "pause-interval": the interval stands still
    lock: str = "natural-break"  # or "pause-interval"
    idle: bool = True  # detect idleness (no keyboard or mouse) as being away


@dataclass(frozen=True)
class Schedule:
    days: tuple[int, ...] = ALL_DAYS  # work days, Monday is 0
    start: int = 0  # minutes after local midnight when the work day starts
    end: int = 24 * 60  # minutes after local midnight when it ends (1440: midnight)
    breaks: tuple[int, ...] = ()  # fixed-time breaks, minutes after local midnight

    @property
    def always_on(self) -> bool:
        return self.days == ALL_DAYS and self.start == 0 and self.end == 24 * 60


@dataclass(frozen=True)
class Dnd:
    fullscreen: bool = True  # hold reminders while a fullscreen window is active
    inhibited: bool = True  # ... while the notification server is inhibited or paused
    gnome_banners: bool = True  # ... while GNOME's "show banners" is off
    max_defer: int = 1800  # show a held reminder after this long anyway


@dataclass(frozen=True)
class Routine:
    id: str
    name: str
    exercises: tuple[str, ...]


DEFAULT_ROUTINES: tuple[Routine, ...] = (
    Routine(BUILTIN_ROUTINE, "Warm-up and desk stretches", (*WARM_UP, *DESK_ROTATION)),
)


@dataclass(frozen=True)
class Routines:
    every: int = 6  # every Nth reminder is the routine (0: not by count)
    every_seconds: int = 0  # or: the routine comes when this long has passed since the last
    routine: str = BUILTIN_ROUTINE  # which routine comes
    custom: tuple[Routine, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.every > 0 or self.every_seconds > 0

    def all(self) -> dict[str, Routine]:
        out = {r.id: r for r in DEFAULT_ROUTINES}
        out.update({r.id: r for r in self.custom})
        return out


@dataclass(frozen=True)
class HistorySettings:
    enabled: bool = True  # keep a history of every break (needed for stats and budgets)


@dataclass(frozen=True)
class Settings:
    reminders: Reminders = Reminders()
    custom_exercises: tuple[Exercise, ...] = ()
    away: Away = Away()
    schedule: Schedule = Schedule()
    dnd: Dnd = Dnd()
    routines: Routines = Routines()
    history: HistorySettings = HistorySettings()

    def catalogue(self) -> dict[str, Exercise]:
        """Built-in plus custom exercises by id; a custom id replaces the built-in one."""
        return catalogue_with(self.custom_exercises)

    def routine(self) -> Routine:
        """The routine that comes at the routine cadence."""
        return self.routines.all()[self.routines.routine]


DEFAULTS = Settings()


# ---------------------------------------------------------------------------------------------
# Parsing and validation


def check_syntax(text: str, path: str = "<settings>") -> None:
    """Raise SettingsError if ``text`` is not valid TOML; say nothing about the keys."""
    _load_toml(text, path)


def parse_settings(text: str, path: str = "<settings>") -> Settings:
    """Return the settings in ``text``; raise SettingsError naming the first problem."""
    data = _load_toml(text, path)
    return _Validator(text, path).settings(data)


def key_line(text: str, dotted_key: str) -> int | None:
    """Return the 1-based line where ``dotted_key`` (a key or a table) is first defined.

    ``dotted_key`` is written as in TOML: ``"reminders.interval"``, ``"exercise.eye-rest"``.
    Returns None if the text never defines it.
    """
    parts = _Scanner(dotted_key).key_only()
    if parts is None:
        parts = tuple(dotted_key.split("."))
    return _Scanner(text).run().first.get(parts)


def _load_toml(text: str, path: str) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise _syntax_error(text, path, str(err)) from None


def _syntax_error(text: str, path: str, detail: str) -> SettingsError:
    line: int | None = None
    if where := _AT_LINE.search(detail) or _AT_END.search(detail):
        detail = detail[: where.start()]
        line = int(where.group(1)) if where.re is _AT_LINE else None
    if line is None or detail.startswith("Cannot"):
        scan = _Scanner(text).run()
        twice = scan.first_duplicate()
        if detail.startswith("Cannot") and twice is not None and line in (None, twice[1]):
            first = scan.defs[twice[0]][0]
            return SettingsError(
                f"not valid TOML: defined twice (first on line {first}); keep only one",
                path=path,
                line=twice[1],
                key=_dotted(twice[0]),
            )
        if line is None and detail.startswith("Unterminated"):
            line = scan.unterminated
        if line is None:
            line = max(1, len(text.splitlines()))
    detail = detail[:1].lower() + detail[1:]
    hint = 'fix the TOML syntax (text values need quotes, e.g. interval = "45m")'
    lines = text.splitlines()
    if 0 < line <= len(lines) and _UNQUOTED_DURATION.search(lines[line - 1]):
        hint = 'durations need quotes, e.g. interval = "45m"'
    elif 0 < line <= len(lines) and _UNQUOTED_CLOCK.search(lines[line - 1]):
        hint = 'times of day need quotes, e.g. start = "09:00"'
    return SettingsError(f"not valid TOML: {detail}; {hint}", path=path, line=line)


def _show(value: object) -> str:
    """Show a value the way it looks in TOML, shortened to fit in a one-line message."""
    if isinstance(value, bool):
        out = "true" if value else "false"
    elif isinstance(value, str):
        out = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, list):
        out = "[" + ", ".join(_show(v) for v in value) + "]"
    elif isinstance(value, dict):
        out = "a table"
    else:
        out = str(value)
    out = out.replace("\n", " ")
    return out if len(out) <= 60 else out[:57] + "..."


def _dotted(key: Sequence[str]) -> str:
    """A key path written as in TOML: reminders.interval, exercise."eye rest"."""
    return ".".join(k if k and _BARE_KEY.issuperset(k) else _show(k) for k in key)


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(json.dumps(n, ensure_ascii=False) for n in names)


def _did_you_mean(name: str, allowed: Sequence[str], fmt: str = '"{}"') -> str:
    close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
    return f"did you mean {fmt.format(close[0])}? " if close else ""


def _clock(minutes: int) -> str:
    """Minutes after midnight as "HH:MM"."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _table_name(name: str) -> str:
    return f"[{name}.ID]" if name in ITEM_TABLE_KEYS else f"[{name}]"


def _table_list() -> str:
    names = [_table_name(name) for name in _TOP_LEVEL]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _owner(name: str) -> str:
    """Where a misplaced key belongs ("the [away] table"), or "" if in no table."""
    places = [f"the [{t}] table" for t, keys in TABLE_KEYS.items() if name in keys]
    places += [
        f"{'an' if t[0] in 'aeiou' else 'a'} [{t}.ID] table"
        for t, keys in ITEM_TABLE_KEYS.items()
        if name in keys
    ]
    return " or ".join(places)


class _Validator:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self._scan: _Scanner | None = None

    def line_of(self, key: tuple[str, ...], item: int | None = None) -> int | None:
        """The line of an array element, else of the key, else of its nearest table."""
        if self._scan is None:
            self._scan = _Scanner(self.text).run()
        if item is not None and (key, item) in self._scan.items:
            return self._scan.items[key, item]
        for end in range(len(key), 0, -1):
            if key[:end] in self._scan.first:
                return self._scan.first[key[:end]]
        return None

    def fail(self, message: str, key: tuple[str, ...], item: int | None = None) -> NoReturn:
        raise SettingsError(message, path=self.path, line=self.line_of(key, item), key=_dotted(key))

    # -- the file ----------------------------------------------------------------------------

    def settings(self, data: Mapping[str, object]) -> Settings:
        for name, value in data.items():
            if name not in _TOP_LEVEL:
                self.unknown_top_level(name, value)
        tables = {name: self.table(data, name) for name in TABLE_KEYS}
        base = self.reminders(tables["reminders"])
        custom = self.custom_exercises(data.get("exercise", {}))
        rotation = self.rotation(tables["reminders"], custom)
        if rotation is not None:
            base = replace(base, exercises=rotation)
        routines = self.custom_routines(data.get("routine", {}), catalogue_with(custom))
        return Settings(
            reminders=base,
            custom_exercises=custom,
            away=self.away(tables["away"]),
            schedule=self.schedule(tables["schedule"]),
            dnd=self.dnd(tables["dnd"]),
            routines=self.routines(tables["routines"], routines),
            history=self.history(tables["history"]),
        )

    def unknown_top_level(self, name: str, value: object) -> NoReturn:
        allowed = f"allowed: {_table_list()} tables"
        if not isinstance(value, dict) and (owner := _owner(name)):
            self.fail(f"this key belongs in {owner}; {allowed}", (name,))
        what = "table" if isinstance(value, dict) else "key"
        close = difflib.get_close_matches(name, _TOP_LEVEL, n=1, cutoff=0.6)
        hint = f"did you mean {_table_name(close[0])}? " if close else ""
        self.fail(f"unknown {what}; {hint}{allowed}", (name,))

    def table(self, data: Mapping[str, object], name: str) -> Mapping[str, object]:
        """The table ``name`` (empty when absent), with every key in it known."""
        value = data.get(name, {})
        allowed = TABLE_KEYS[name]
        if not isinstance(value, dict):
            self.fail(
                f"expected a table [{name}], got {_show(value)}; "
                f"allowed keys in it: {', '.join(allowed)}",
                (name,),
            )
        self.known_keys(value, (name,), allowed)
        return value

    def known_keys(
        self, table: Mapping[str, object], prefix: tuple[str, ...], allowed: Sequence[str]
    ) -> None:
        where = "[" + _dotted(prefix) + "]"
        for name, value in table.items():
            if name in allowed:
                continue
            key = (*prefix, name)
            listed = f"allowed keys in {where}: {', '.join(allowed)}"
            if prefix == ("routines",) and isinstance(value, dict):
                shown = f"[routine.{name}]" if _ID.match(name) else "[routine.ID]"
                self.fail(
                    f"a custom routine goes in its own table, written {shown} (singular); {listed}",
                    key,
                )
            if owner := _owner(name):
                self.fail(f"this key belongs in {owner}, not in {where}; {listed}", key)
            hint = _did_you_mean(name, allowed)
            self.fail(f"unknown key; {hint}{listed}", key)

    # -- values ------------------------------------------------------------------------------

    def boolean(self, table: Mapping[str, object], key: tuple[str, ...], default: bool) -> bool:
        value = table.get(key[-1], default)
        if not isinstance(value, bool):
            self.fail(f"expected true or false, got {_show(value)}", key)
        return value

    def whole_number(
        self,
        table: Mapping[str, object],
        key: tuple[str, ...],
        default: int | None,
        *,
        low: int,
        high: int | None = None,
        unlimited: bool = False,
    ) -> int | None:
        """A whole number from ``low`` to ``high``; with ``unlimited``, "unlimited" -> None."""
        if key[-1] not in table:
            return default
        value = table[key[-1]]
        if unlimited and value == UNLIMITED:
            return None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= low
            and (high is None or value <= high)
        ):
            return value
        allowed = f"a whole number from {low} to {high}"
        if high is None:
            allowed = f"a whole number {low} or more"
        if unlimited:
            allowed += f', or "{UNLIMITED}"'
        self.fail(f"expected {allowed}, got {_show(value)}", key)

    def choice(
        self,
        table: Mapping[str, object],
        key: tuple[str, ...],
        default: str,
        allowed: Sequence[str],
    ) -> str:
        value = table.get(key[-1], default)
        if isinstance(value, str) and value in allowed:
            return value
        hint = _did_you_mean(value, allowed) if isinstance(value, str) else ""
        self.fail(f"unknown value {_show(value)}; {hint}allowed: {_quoted(allowed)}", key)

    def clock(
        self, value: object, key: tuple[str, ...], item: int | None = None, *, latest: str
    ) -> int:
        """A time of day "HH:MM" as minutes after midnight; ``latest`` may be "24:00"."""
        if isinstance(value, str):
            text = value.strip()
            if text == "24:00" and latest == "24:00":
                return MIDNIGHT
            if _CLOCK.match(text):
                try:
                    hour, minute = parse_clock(text)
                except ValueError:
                    pass
                else:
                    return hour * 60 + minute
        where = " in it" if item is not None else ""
        self.fail(
            f'expected a time of day in quotes, "HH:MM" from "00:00" to "{latest}", '
            f"got {_show(value)}{where}",
            key,
            item,
        )

    # -- [reminders] -------------------------------------------------------------------------

    def reminders(self, table: Mapping[str, object]) -> Reminders:
        defaults = Reminders()
        daily_goal = self.whole_number(
            table, ("reminders", "daily_goal"), defaults.daily_goal, low=1, high=DAILY_GOAL_MAX
        )
        assert daily_goal is not None  # no "unlimited" here
        return Reminders(
            interval=self.duration(table, ("reminders", "interval"), defaults.interval),
            snooze=self.duration(table, ("reminders", "snooze"), defaults.snooze),
            missed_after=self.duration(table, ("reminders", "missed_after"), defaults.missed_after),
            daily_goal=daily_goal,
            max_snoozes=self.whole_number(
                table, ("reminders", "max_snoozes"), defaults.max_snoozes, low=0, unlimited=True
            ),
            skip_budget=self.whole_number(
                table, ("reminders", "skip_budget"), defaults.skip_budget, low=0, unlimited=True
            ),
            guide=self.choice(table, ("reminders", "guide"), defaults.guide, GUIDES),
        )

    def duration(self, table: Mapping[str, object], key: tuple[str, ...], default: int) -> int:
        if key[-1] not in table:
            return default
        value = table[key[-1]]
        if not isinstance(value, str):
            self.fail(f"expected {DURATION_ALLOWED}, got {_show(value)}", key)
        try:
            seconds = parse_duration(value)
        except ValueError as err:
            self.fail(str(err), key)
        if seconds > MAX_DURATION:
            self.fail(f"too long; allowed up to 24h, got {_show(value)}", key)
        return seconds

    def rotation(
        self, table: Mapping[str, object], custom: Sequence[Exercise]
    ) -> tuple[str, ...] | None:
        key = ("reminders", "exercises")
        if "exercises" not in table:
            return None
        value = table["exercises"]
        example = '["wall-stretch", "neck-flexion"]'
        if not isinstance(value, list):
            self.fail(f"expected a list of exercise ids like {example}, got {_show(value)}", key)
        if not value:
            self.fail(f"the list is empty; name at least one exercise, e.g. {example}", key)
        known = catalogue_with(custom)
        for index, ex_id in enumerate(value):
            if not isinstance(ex_id, str):
                self.fail(
                    f"expected a list of exercise ids like {example}, got {_show(ex_id)} in it",
                    key,
                    index,
                )
            if ex_id not in known:
                self.fail(self.unknown_exercise(ex_id, list(known)), key, index)
        return tuple(value)

    @staticmethod
    def unknown_exercise(ex_id: str, known: Sequence[str]) -> str:
        hint = _did_you_mean(ex_id, known)
        shown = list(dict.fromkeys([*(e for e in DESK_ROTATION if e in known), *known]))[:5]
        more = f" and {len(known) - len(shown)} more" if len(known) > len(shown) else ""
        table = f"[exercise.{ex_id}]" if _ID.match(ex_id) else "[exercise.ID]"
        return (
            f"unknown exercise {_show(ex_id)}; {hint}known ids include {_quoted(shown)}{more}; "
            f"add your own with a {table} table"
        )

    # -- [exercise.ID] -----------------------------------------------------------------------

    def custom_exercises(self, tables: object) -> tuple[Exercise, ...]:
        example = '[exercise.eye-rest] with name = "Eye rest" and steps = ["..."]'
        if not isinstance(tables, dict):
            self.fail(
                f"expected one table per custom exercise, like {example}; got {_show(tables)}",
                ("exercise",),
            )
        out: list[Exercise] = []
        for ex_id, body in tables.items():
            key = ("exercise", ex_id)
            if not isinstance(body, dict):
                self.fail(
                    "each custom exercise needs its own table, like "
                    f"{example}; got {_show(body)} directly under [exercise]",
                    key,
                )
            if not _ID.match(ex_id):
                self.fail(
                    "invalid exercise id; use lowercase letters, digits and single hyphens "
                    "(kebab-case), e.g. [exercise.eye-rest]",
                    key,
                )
            out.append(self.custom_exercise(ex_id, body))
        return tuple(out)

    def custom_exercise(self, ex_id: str, body: Mapping[str, object]) -> Exercise:
        prefix = ("exercise", ex_id)
        self.known_keys(body, prefix, EXERCISE_KEYS)
        if "name" not in body:
            self.fail(
                'missing; every custom exercise needs a name, e.g. name = "Eye rest"',
                (
                    *prefix,
                    "name",
                ),
            )
        name = self.text_value(body["name"], (*prefix, "name"), 'name = "Eye rest"')
        if "steps" not in body:
            self.fail(
                "missing; every custom exercise needs steps, e.g. "
                'steps = ["Blink slowly ten times."]',
                (*prefix, "steps"),
            )
        steps = self.text_list(
            body["steps"], (*prefix, "steps"), '["Blink slowly ten times."]', empty_ok=False
        )
        duration = self.duration(body, (*prefix, "duration"), CUSTOM_DEFAULT_DURATION)
        category = body.get("category", "desk")
        if not isinstance(category, str) or category not in CATEGORIES:
            self.fail(
                f"unknown category {_show(category)}; allowed: {_quoted(CATEGORIES)}",
                (*prefix, "category"),
            )
        desk = body.get("desk", True)
        if not isinstance(desk, bool):
            self.fail(f"expected true or false, got {_show(desk)}", (*prefix, "desk"))
        equipment = self.text_list(
            body.get("equipment", []), (*prefix, "equipment"), '["yoga mat"]', empty_ok=True
        )
        summary = steps[0]
        if "summary" in body:
            summary = self.text_value(
                body["summary"], (*prefix, "summary"), 'summary = "Rest your eyes."'
            )
        return Exercise(
            id=ex_id,
            name=name,
            category=category,
            duration=duration,
            desk=desk,
            equipment=equipment,
            steps=steps,
            summary=summary,
            custom=True,
        )

    # -- [away], [dnd], [history] ------------------------------------------------------------

    def away(self, table: Mapping[str, object]) -> Away:
        d = Away()
        return Away(
            natural_break=self.duration(table, ("away", "natural_break"), d.natural_break),
            suspend=self.choice(table, ("away", "suspend"), d.suspend, AWAY_MODES),
            lock=self.choice(table, ("away", "lock"), d.lock, AWAY_MODES),
            idle=self.boolean(table, ("away", "idle"), d.idle),
        )

    def dnd(self, table: Mapping[str, object]) -> Dnd:
        d = Dnd()
        return Dnd(
            fullscreen=self.boolean(table, ("dnd", "fullscreen"), d.fullscreen),
            inhibited=self.boolean(table, ("dnd", "inhibited"), d.inhibited),
            gnome_banners=self.boolean(table, ("dnd", "gnome_banners"), d.gnome_banners),
            max_defer=self.duration(table, ("dnd", "max_defer"), d.max_defer),
        )

    def history(self, table: Mapping[str, object]) -> HistorySettings:
        d = HistorySettings()
        return HistorySettings(enabled=self.boolean(table, ("history", "enabled"), d.enabled))

    # -- [schedule] --------------------------------------------------------------------------

    def schedule(self, table: Mapping[str, object]) -> Schedule:
        d = Schedule()
        days = self.days(table["days"]) if "days" in table else d.days
        start = d.start
        if "start" in table:
            start = self.clock(table["start"], ("schedule", "start"), latest="23:59")
        end = d.end
        if "end" in table:
            end = self.clock(table["end"], ("schedule", "end"), latest="24:00")
            if end <= start:
                self.fail(
                    f"the work day must end after it starts ({_clock(start)}), got "
                    f"{_show(table['end'])}; overnight shifts are not supported: "
                    f'the latest end is "24:00" (midnight)',
                    ("schedule", "end"),
                )
        breaks = d.breaks
        if "breaks" in table:
            breaks = self.breaks(table["breaks"], start, end)
        return Schedule(days=days, start=start, end=end, breaks=breaks)

    def days(self, value: object) -> tuple[int, ...]:
        key = ("schedule", "days")
        example = '["mon", "tue", "wed", "thu", "fri"]'
        if not isinstance(value, list):
            self.fail(f"expected a list of day names like {example}, got {_show(value)}", key)
        if not value:
            self.fail(f"the list is empty; name at least one work day, e.g. {example}", key)
        out: list[int] = []
        for index, name in enumerate(value):
            if not isinstance(name, str) or name not in DAY_NAMES:
                hint = ""
                if isinstance(name, str):
                    short = name.strip().lower()[:3]
                    hint = f'did you mean "{short}"? ' if short in DAY_NAMES else ""
                    hint = hint or _did_you_mean(name, DAY_NAMES)
                self.fail(
                    f"unknown day {_show(name)}; {hint}allowed: {_quoted(DAY_NAMES)}", key, index
                )
            day = DAY_NAMES.index(name)
            if day in out:
                self.fail(f'"{name}" is listed twice; name each day once', key, index)
            out.append(day)
        return tuple(sorted(out))

    def breaks(self, value: object, start: int, end: int) -> tuple[int, ...]:
        key = ("schedule", "breaks")
        if not isinstance(value, list):
            self.fail(f'expected a list of times of day like ["12:30"], got {_show(value)}', key)
        out: set[int] = set()
        for index, entry in enumerate(value):
            minutes = self.clock(entry, key, index, latest="23:59")
            if not start <= minutes < end:
                self.fail(
                    f"{_show(entry)} is outside the work hours; allowed: a time from "
                    f'"{_clock(start)}" up to, not including, "{_clock(end)}"',
                    key,
                    index,
                )
            out.add(minutes)
        return tuple(sorted(out))

    # -- [routines] and [routine.ID] ---------------------------------------------------------

    def routines(self, table: Mapping[str, object], custom: tuple[Routine, ...]) -> Routines:
        d = Routines()
        every, every_seconds = d.every, d.every_seconds
        if "every" in table:
            every, every_seconds = self.routine_every(table["every"])
        routine = d.routine
        if "routine" in table:
            value = table["routine"]
            known = list(Routines(custom=custom).all())
            key = ("routines", "routine")
            if not isinstance(value, str) or value not in known:
                hint = _did_you_mean(value, known) if isinstance(value, str) else ""
                own = f"[routine.{value}]" if isinstance(value, str) and _ID.match(value) else ""
                self.fail(
                    f"unknown routine {_show(value)}; {hint}known: {_quoted(known)}; "
                    f"add your own with a {own or '[routine.ID]'} table",
                    key,
                )
            routine = value
        return Routines(every=every, every_seconds=every_seconds, routine=routine, custom=custom)

    def routine_every(self, value: object) -> tuple[int, int]:
        """(every Nth reminder, every so many seconds) for routines.every."""
        key = ("routines", "every")
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value, 0
        if value == ROUTINES_OFF:
            return 0, 0
        if isinstance(value, str):
            try:
                seconds = parse_duration(value)
            except ValueError:
                pass
            else:
                if seconds <= MAX_DURATION:
                    return 0, seconds
        self.fail(
            "expected a whole number 0 or more (every Nth reminder), a duration up to 24h "
            f'like "4h", or "{ROUTINES_OFF}"; got {_show(value)}',
            key,
        )

    def custom_routines(
        self, tables: object, catalogue: Mapping[str, Exercise]
    ) -> tuple[Routine, ...]:
        example = '[routine.loosen-up] with name = "Loosen up" and exercises = ["neck-flexion"]'
        if not isinstance(tables, dict):
            choose = ""
            if isinstance(tables, str):
                choose = "; to choose which routine comes, set routine in the [routines] table"
            self.fail(
                f"expected one table per custom routine, like {example}; "
                f"got {_show(tables)}{choose}",
                ("routine",),
            )
        out: list[Routine] = []
        for routine_id, body in tables.items():
            key = ("routine", routine_id)
            if not isinstance(body, dict):
                where = "directly under [routine]"
                if routine_id in ROUTINES_KEYS:
                    where += " (this key belongs in the [routines] table, with an s)"
                self.fail(
                    f"each custom routine needs its own table, like {example}; "
                    f"got {_show(body)} {where}",
                    key,
                )
            if not _ID.match(routine_id):
                self.fail(
                    "invalid routine id; use lowercase letters, digits and single hyphens "
                    "(kebab-case), e.g. [routine.loosen-up]",
                    key,
                )
            out.append(self.custom_routine(routine_id, body, catalogue))
        return tuple(out)

    def custom_routine(
        self, routine_id: str, body: Mapping[str, object], catalogue: Mapping[str, Exercise]
    ) -> Routine:
        prefix = ("routine", routine_id)
        self.known_keys(body, prefix, ROUTINE_KEYS)
        if "name" not in body:
            self.fail(
                'missing; every custom routine needs a name, e.g. name = "Loosen up"',
                (*prefix, "name"),
            )
        name = self.text_value(body["name"], (*prefix, "name"), 'name = "Loosen up"')
        key = (*prefix, "exercises")
        example = '["march-in-place", "neck-flexion"]'
        if "exercises" not in body:
            self.fail(
                f"missing; every custom routine needs exercises, e.g. exercises = {example}", key
            )
        value = body["exercises"]
        if not isinstance(value, list):
            self.fail(f"expected a list of exercise ids like {example}, got {_show(value)}", key)
        if not value:
            self.fail(f"the list is empty; name at least one exercise, e.g. {example}", key)
        for index, ex_id in enumerate(value):
            if not isinstance(ex_id, str):
                self.fail(
                    f"expected a list of exercise ids like {example}, got {_show(ex_id)} in it",
                    key,
                    index,
                )
            if ex_id not in catalogue:
                self.fail(self.unknown_exercise(ex_id, list(catalogue)), key, index)
        return Routine(id=routine_id, name=name, exercises=tuple(value))

    def text_value(self, value: object, key: tuple[str, ...], example: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(
                f"expected a non-empty text in quotes, e.g. {example}, got {_show(value)}", key
            )
        return value.strip()

    def text_list(
        self, value: object, key: tuple[str, ...], example: str, *, empty_ok: bool
    ) -> tuple[str, ...]:
        what = "a list of texts" if empty_ok else "a non-empty list of texts"
        if not isinstance(value, list):
            self.fail(f"expected {what}, e.g. {example}, got {_show(value)}", key)
        if not value and not empty_ok:
            self.fail(f"the list is empty; expected {what}, e.g. {example}", key)
        for index, entry in enumerate(value):
            if not isinstance(entry, str) or not entry.strip():
                self.fail(f"expected {what}, e.g. {example}, got {_show(entry)} in it", key, index)
        return tuple(entry.strip() for entry in value)


# ---------------------------------------------------------------------------------------------
# Where keys are written: a small scanner for line numbers

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}
_SCALAR_END = frozenset(",]}#\r\n")
_MAX_DEPTH = 64


class _Scanner:
    """Find the line where each key, table and array element of a TOML text is written."""

    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        # First line mentioning each key path, explicitly or as the parent of one.
        self.first: dict[tuple[str, ...], int] = {}
        # Every line defining each key path explicitly (``key =`` or ``[table]``).
        self.defs: dict[tuple[str, ...], list[int]] = {}
        # Line of each element of an array value: (key path, index) -> line.
        self.items: dict[tuple[tuple[str, ...], int], int] = {}
        # Line where a string starts that is never closed.
        self.unterminated: int | None = None

    # -- helpers ---------------------------------------------------------------------------

    def peek(self, ahead: int = 0) -> str:
        j = self.i + ahead
        return self.s[j] if j < len(self.s) else ""

    def advance(self, count: int = 1) -> None:
        end = min(len(self.s), self.i + count)
        self.line += self.s.count("\n", self.i, end)
        self.i = end

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t"):
            self.i += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            while self.peek() not in ("\n", ""):
                self.i += 1

    def skip_blank(self) -> None:
        """Skip spaces, newlines and comments (inside arrays)."""
        while True:
            self.skip_spaces()
            self.skip_comment()
            if self.peek() in ("\r", "\n"):
                self.advance()
            else:
                return

    def to_next_line(self) -> None:
        while self.peek() not in ("\n", ""):
            self.i += 1
        self.advance()

    def record(self, path: tuple[str, ...], line: int, explicit: bool = True) -> None:
        for end in range(1, len(path) + 1):
            self.first.setdefault(path[:end], line)
        if explicit:
            self.defs.setdefault(path, []).append(line)

    def first_duplicate(self) -> tuple[tuple[str, ...], int] | None:
        """The first key defined twice, and the line of its second definition."""
        twice = [(lines[1], path) for path, lines in self.defs.items() if len(lines) > 1]
        if not twice:
            return None
        line, path = min(twice)
        return path, line

    # -- grammar ---------------------------------------------------------------------------

    def key_only(self) -> tuple[str, ...] | None:
        """Parse the whole text as one dotted key."""
        key = self.key()
        self.skip_spaces()
        return key if self.i == len(self.s) else None

    def run(self) -> _Scanner:
        table: tuple[str, ...] = ()
        while self.i < len(self.s):
            self.skip_spaces()
            c = self.peek()
            if c in ("\r", "\n"):
                self.advance()
                continue
            if c == "#":
                self.skip_comment()
                continue
            start = self.line
            if c == "[":
                array = self.peek(1) == "["
                self.advance(2 if array else 1)
                key = self.key()
                self.skip_spaces()
                if key is not None and self.peek() == "]":
                    table = key
                    self.record(key, start, explicit=not array or key not in self.first)
                self.to_next_line()
                continue
            key = self.key()
            self.skip_spaces()
            if key is None or self.peek() != "=":
                self.to_next_line()
                continue
            self.advance()
            self.skip_spaces()
            self.record(table + key, start)
            self.value(table + key, 0)
            self.to_next_line()
        return self

    def key(self) -> tuple[str, ...] | None:
        parts: list[str] = []
        while True:
            self.skip_spaces()
            c = self.peek()
            if c == '"':
                parts.append(self.basic_string())
            elif c == "'":
                parts.append(self.literal_string())
            elif c and c in _BARE_KEY:
                start = self.i
                while self.peek() and self.peek() in _BARE_KEY:
                    self.i += 1
                parts.append(self.s[start : self.i])
            else:
                return None
            self.skip_spaces()
            if self.peek() != ".":
                return tuple(parts)
            self.advance()

    def basic_string(self) -> str:
        start = self.line
        self.advance()
        out: list[str] = []
        while True:
            c = self.peek()
            if c in ("", "\n"):
                self.unterminated = self.unterminated or start
                return "".join(out)
            if c == '"':
                self.advance()
                return "".join(out)
            if c == "\\":
                out.append(self.escape())
            else:
                out.append(c)
                self.advance()

    def escape(self) -> str:
        code = self.peek(1)
        if code in _ESCAPES:
            self.advance(2)
            return _ESCAPES[code]
        width = {"u": 4, "U": 8}.get(code)
        if width is not None:
            digits = self.s[self.i + 2 : self.i + 2 + width]
            try:
                char = chr(int(digits, 16))
            except ValueError:
                char = ""
            if len(digits) == width and char:
                self.advance(2 + width)
                return char
        self.advance(2 if code else 1)
        return "\\" + code

    def literal_string(self) -> str:
        start_line = self.line
        self.advance()
        start = self.i
        while self.peek() not in ("'", "\n", ""):
            self.i += 1
        text = self.s[start : self.i]
        if self.peek() == "'":
            self.advance()
        else:
            self.unterminated = self.unterminated or start_line
        return text

    def multiline_string(self, quote: str) -> None:
        start = self.line
        self.advance(3)
        while self.i < len(self.s):
            if quote == '"' and self.peek() == "\\":
                self.advance(2)
            elif self.s.startswith(quote * 3, self.i):
                self.advance(3)
                # Up to two more quotes may close the string as part of its content.
                for _ in range(2):
                    if self.peek() == quote:
                        self.advance()
                return
            else:
                self.advance()
        self.unterminated = self.unterminated or start

    def value(self, path: tuple[str, ...] | None, depth: int) -> None:
        """Skip one value, recording the keys of inline tables and the lines of elements."""
        c = self.peek()
        if depth > _MAX_DEPTH:
            while self.peek() not in ("\n", ""):
                self.i += 1
        elif self.s.startswith('"""', self.i) or self.s.startswith("'''", self.i):
            self.multiline_string(c)
        elif c == '"':
            self.basic_string()
        elif c == "'":
            self.literal_string()
        elif c == "[":
            self.array(path, depth)
        elif c == "{":
            self.inline_table(path, depth)
        else:
            while self.peek() and self.peek() not in _SCALAR_END:
                self.i += 1

    def array(self, path: tuple[str, ...] | None, depth: int) -> None:
        self.advance()
        index = 0
        while True:
            self.skip_blank()
            c = self.peek()
            if c in ("]", ""):
                self.advance()
                return
            before = self.i
            if path is not None:
                self.items[path, index] = self.line
            self.value(None, depth + 1)
            self.skip_blank()
            if self.peek() == ",":
                self.advance()
                index += 1
            elif self.peek() != "]" or self.i == before:
                return

    def inline_table(self, path: tuple[str, ...] | None, depth: int) -> None:
        self.advance()
        while True:
            self.skip_spaces()
            if self.peek() == "}":
                self.advance()
                return
            start = self.line
            key = self.key()
            self.skip_spaces()
            if key is None or self.peek() != "=":
                return
            self.advance()
            self.skip_spaces()
            inner = None if path is None else path + key
            if inner is not None:
                self.record(inner, start)
            self.value(inner, depth + 1)
            self.skip_spaces()
            if self.peek() == ",":
                self.advance()
            elif self.peek() != "}":
                return

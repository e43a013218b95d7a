"""Reading settings: defaults, valid files, and errors that name the file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbreak.errors import SettingsError
from deskbreak.exercises import CATALOGUE, CATEGORIES, DESK_ROTATION, builtin_by_id
from deskbreak.settings import (
    ALL_DAYS,
    BUILTIN_ROUTINE,
    DEFAULT_ROUTINES,
    DEFAULTS,
    TABLE_KEYS,
    Away,
    Dnd,
    HistorySettings,
    Reminders,
    Routine,
    Routines,
    Schedule,
    Settings,
    key_line,
    parse_settings,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

FULL = """\
# my settings
[reminders]
interval = "1h30m"   # a long one
snooze = "5m"
exercises = [
    "neck-flexion",
    "eye-rest",
]
missed_after = "90s"

[exercise.eye-rest]
name = "Eye rest"
steps = ["Look at something at least 6 metres away.", "Blink slowly ten times."]
duration = "45s"
category = "static"
desk = false
equipment = ["window"]
summary = "Look far away."
"""


def error(text: str, path: str = "config.toml") -> SettingsError:
    with pytest.raises(SettingsError) as info:
        parse_settings(text, path)
    err = info.value
    assert "\n" not in str(err)
    assert str(err).startswith(f"{path}:")
    return err


# -- valid input --------------------------------------------------------------------------------


def test_defaults() -> None:
    assert Settings() == DEFAULTS
    assert DEFAULTS.reminders == Reminders(
        interval=45 * 60, snooze=10 * 60, exercises=DESK_ROTATION, missed_after=5 * 60
    )
    assert DEFAULTS.custom_exercises == ()


def test_empty_and_comment_only_files_give_the_defaults() -> None:
    assert parse_settings("") == DEFAULTS
    assert parse_settings("# nothing here yet\n\n") == DEFAULTS
    assert parse_settings("[reminders]\n") == DEFAULTS


def test_a_partial_file_keeps_the_other_defaults() -> None:
    settings = parse_settings('[reminders]\ninterval = "2s"\n')
    assert settings.reminders.interval == 2
    assert settings.reminders.snooze == DEFAULTS.reminders.snooze
    assert settings.reminders.exercises == DESK_ROTATION


def test_a_full_file() -> None:
    settings = parse_settings(FULL)
    assert settings.reminders == Reminders(
        interval=5400, snooze=300, exercises=("neck-flexion", "eye-rest"), missed_after=90
    )
    (eye,) = settings.custom_exercises
    assert eye.id == "eye-rest"
    assert eye.name == "Eye rest"
    assert eye.steps == ("Look at something at least 6 metres away.", "Blink slowly ten times.")
    assert eye.duration == 45
    assert eye.category == "static"
    assert eye.desk is False
    assert eye.equipment == ("window",)
    assert eye.summary == "Look far away."
    assert eye.custom is True


def test_dotted_keys_and_inline_tables_are_read_too() -> None:
    dotted = parse_settings('reminders.interval = "20m"\nreminders.snooze = "1m"\n')
    inline = parse_settings('reminders = { interval = "20m", snooze = "1m" }\n')
    assert dotted == inline
    assert dotted.reminders.interval == 1200
    assert dotted.reminders.snooze == 60


def test_custom_exercise_defaults() -> None:
    settings = parse_settings('[exercise.eye-rest]\nname = "Eye rest"\nsteps = ["Blink."]\n')
    (eye,) = settings.custom_exercises
    assert (eye.duration, eye.category, eye.desk, eye.equipment) == (30, "desk", True, ())
    assert eye.summary == "Blink."


def test_custom_exercise_joins_the_catalogue_and_the_rotation() -> None:
    settings = parse_settings(FULL)
    catalogue = settings.catalogue()
    assert catalogue["eye-rest"].name == "Eye rest"
    assert set(builtin_by_id()) < set(catalogue)
    assert all(ex_id in catalogue for ex_id in settings.reminders.exercises)


def test_custom_exercise_with_a_builtin_id_replaces_it() -> None:
    text = '[exercise.neck-flexion]\nname = "My neck stretch"\nsteps = ["Slowly."]\n'
    assert parse_settings(text).catalogue()["neck-flexion"].name == "My neck stretch"
    assert DEFAULTS.catalogue()["neck-flexion"] == builtin_by_id()["neck-flexion"]


def test_the_example_file_parses_to_the_defaults() -> None:
    assert parse_settings(EXAMPLE.read_text(encoding="utf-8"), str(EXAMPLE)) == DEFAULTS


def uncommented(text: str, first: str) -> str:
    """``text`` with the commented block starting at the line ``first`` uncommented."""
    lines = text.splitlines()
    start = lines.index(first)
    end = start
    while end < len(lines) and lines[end].startswith("# "):
        lines[end] = lines[end].removeprefix("# ")
        end += 1
    assert end - start > 1
    return "\n".join(lines) + "\n"


def test_the_commented_example_exercise_is_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    settings = parse_settings(uncommented(text, "# [exercise.eye-rest]"))
    (eye,) = settings.custom_exercises
    assert eye.id == "eye-rest"
    assert eye.steps[-1] == "Blink slowly ten times."


def test_the_example_lists_every_builtin_exercise_id() -> None:
    listed: dict[str, list[str]] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if m := re.match(rf"#\s+({'|'.join(CATEGORIES)}):\s+(.+)$", line):
            listed[m.group(1)] = [part.strip() for part in m.group(2).split(",")]
    expected: dict[str, list[str]] = {}
    for exercise in CATALOGUE:
        expected.setdefault(exercise.category, []).append(exercise.id)
    assert listed == expected


# -- invalid input ------------------------------------------------------------------------------


def test_toml_syntax_error_names_the_line() -> None:
    err = error('[reminders]\nsnooze = "5m"\ninterval = "45m\n')
    assert err.line == 3
    assert err.key is None
    assert "not valid TOML" in str(err)


def test_unquoted_duration_gets_a_hint() -> None:
    err = error("[reminders]\n\ninterval = 45m\n")
    assert err.line == 3
    assert 'durations need quotes, e.g. interval = "45m"' in str(err)


def test_duplicate_key_names_the_second_line() -> None:
    err = error('[reminders]\ninterval = "1m"\nsnooze = "1m"\ninterval = "2m"')
    assert (err.line, err.key) == (4, "reminders.interval")
    assert "defined twice (first on line 2); keep only one" in str(err)


@pytest.mark.parametrize(
    ("text", "line", "first", "key"),
    [
        ('[reminders]\nsnooze = "1m"\nsnooze = "2m"\n', 3, 2, "reminders.snooze"),
        ('[reminders]\nsnooze = "1m"\n\n[reminders]\n', 4, 1, "reminders"),
    ],
)
def test_duplicates_with_a_line_from_tomllib(text: str, line: int, first: int, key: str) -> None:
    err = error(text)
    assert (err.line, err.key) == (line, key)
    assert f"defined twice (first on line {first})" in str(err)


def test_unterminated_string_names_where_it_starts() -> None:
    err = error('[reminders]\nsnooze = """5m\n\n\n')
    assert err.line == 2


def test_unknown_key_suggests_the_close_one() -> None:
    err = error('[reminders]\nsnooze = "5m"\nintervall = "45m"\n')
    assert (err.line, err.key) == (3, "reminders.intervall")
    assert 'did you mean "interval"?' in str(err)
    assert "interval, snooze, exercises, missed_after" in str(err)


def test_unknown_key_far_from_any_says_what_is_allowed() -> None:
    err = error('[reminders]\ncolour = "blue"\n')
    assert "did you mean" not in str(err)
    assert "allowed keys in [reminders]" in str(err)


def test_unknown_table_suggests_the_close_one() -> None:
    err = error('# hi\n[remniders]\ninterval = "45m"\n')
    assert (err.line, err.key) == (2, "remniders")
    assert "unknown table" in str(err)
    assert "did you mean [reminders]?" in str(err)


def test_reminder_key_outside_its_table() -> None:
    err = error('interval = "45m"\n')
    assert (err.line, err.key) == (1, "interval")
    assert "belongs in the [reminders] table" in str(err)


def test_reminders_must_be_a_table() -> None:
    err = error('reminders = "often"\n')
    assert (err.line, err.key) == (1, "reminders")
    assert "expected a table [reminders]" in str(err)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("45", 'expected a duration like "90s", "10m" or "1h30m", got 45'),
        ("true", "got true"),
        ('"45"', "got '45'"),
        ('"soon"', "got 'soon'"),
        ('"0m"', "must be longer than zero"),
        ('"-5m"', "got '-5m'"),
        ('"30m1h"', "got '30m1h'"),
        ('"25h"', "too long; allowed up to 24h"),
    ],
)
def test_bad_durations(value: str, fragment: str) -> None:
    err = error(f'[reminders]\n# comment = "1m"\n\ninterval = {value}\n')
    assert (err.line, err.key) == (4, "reminders.interval")
    assert fragment in str(err)


@pytest.mark.parametrize("key", ["snooze", "missed_after"])
def test_other_durations_are_checked_too(key: str) -> None:
    err = error(f'[reminders]\n{key} = "0s"\n')
    assert (err.line, err.key) == (2, f"reminders.{key}")


def test_small_and_largest_durations_are_allowed() -> None:
    settings = parse_settings('[reminders]\ninterval = "24h"\nsnooze = "1s"\n')
    assert (settings.reminders.interval, settings.reminders.snooze) == (86400, 1)


def test_empty_rotation() -> None:
    err = error("[reminders]\nexercises = []\n")
    assert (err.line, err.key) == (2, "reminders.exercises")
    assert "the list is empty" in str(err)


def test_rotation_must_be_a_list_of_ids() -> None:
    err = error('[reminders]\nexercises = "neck-flexion"\n')
    assert "expected a list of exercise ids" in str(err)
    err = error('[reminders]\nexercises = [\n  "neck-flexion",\n  3,\n]\n')
    assert err.line == 4
    assert "got 3 in it" in str(err)


def test_unknown_exercise_id_names_its_line_and_what_is_known() -> None:
    err = error('[reminders]\nexercises = [\n  "neck-flexion",\n  "neck-flexon",\n]\n')
    assert (err.line, err.key) == (4, "reminders.exercises")
    message = str(err)
    assert 'unknown exercise "neck-flexon"' in message
    assert 'did you mean "neck-flexion"?' in message
    assert '"wall-stretch"' in message
    assert "add your own with a [exercise.neck-flexon] table" in message


def test_custom_id_is_known_in_the_rotation_only_when_defined() -> None:
    rotation = '[reminders]\nexercises = ["eye-rest"]\n'
    err = error(rotation)
    assert "[exercise.eye-rest]" in str(err)
    defined = '[exercise.eye-rest]\nname = "Eye rest"\nsteps = ["Blink."]\n'
    assert parse_settings(rotation + defined).reminders.exercises == ("eye-rest",)


def test_custom_exercise_missing_name_points_at_its_table() -> None:
    err = error('[reminders]\n\n[exercise.eye-rest]\nsteps = ["Blink."]\n')
    assert (err.line, err.key) == (3, "exercise.eye-rest.name")
    assert "missing" in str(err)


@pytest.mark.parametrize("steps", [None, "[]", '"Blink."', '["Blink.", ""]', "[1]"])
def test_custom_exercise_needs_steps(steps: str | None) -> None:
    line = "" if steps is None else f"steps = {steps}\n"
    err = error(f'[exercise.eye-rest]\nname = "Eye rest"\n{line}')
    assert err.key == "exercise.eye-rest.steps"
    assert err.line == (1 if steps is None else 3)
    assert ("missing" if steps is None else "expected a non-empty list of texts") in str(err)


@pytest.mark.parametrize(
    ("line", "key", "fragment"),
    [
        ('category = "yoga"', "category", 'allowed: "warm-up", "dynamic", "desk", "static"'),
        ('desk = "yes"', "desk", 'expected true or false, got "yes"'),
        ('duration = "0s"', "duration", "longer than zero"),
        ('equipment = "mat"', "equipment", "expected a list of texts"),
        ('summary = ""', "summary", "non-empty text"),
        ('name = ""', "name", "non-empty text"),
        ('steeps = ["x"]', "steeps", 'did you mean "steps"?'),
    ],
)
def test_bad_custom_exercise_fields(line: str, key: str, fragment: str) -> None:
    text = f'[exercise.eye-rest]\nsteps = ["Blink."]\n{line}\n'
    if key != "name":
        text = text.replace("[exercise.eye-rest]\n", '[exercise.eye-rest]\nname = "Eye"\n')
    err = error(text)
    assert err.key == f"exercise.eye-rest.{key}"
    assert err.line == text.splitlines().index(line) + 1
    assert fragment in str(err)


@pytest.mark.parametrize("bad_id", ["Eye_Rest", "eye--rest", "-eye", '"eye rest"'])
def test_bad_custom_exercise_id(bad_id: str) -> None:
    err = error(f'\n[exercise.{bad_id}]\nname = "Eye rest"\nsteps = ["Blink."]\n')
    assert err.line == 2
    assert "kebab-case" in str(err)


def test_odd_keys_are_shown_quoted_on_one_line() -> None:
    err = error('"two\\nlines" = 1\n')
    assert err.key == '"two\\nlines"'


def test_custom_exercise_must_be_a_table() -> None:
    err = error('[exercise]\nname = "Eye rest"\n')
    assert (err.line, err.key) == (2, "exercise.name")
    assert "needs its own table" in str(err)


def test_error_without_a_path_has_the_default_name() -> None:
    with pytest.raises(SettingsError, match=r"^<settings>:1: interval: "):
        parse_settings('interval = "1m"')


# -- reminders budgets, away, schedule, do not disturb, routines, history --------------------------

EVERYTHING = """\
[reminders]
interval = "45m"
snooze = "10m"
exercises = ["wall-stretch", "neck-flexion", "shoulder-roll"]
missed_after = "5m"
daily_goal = 12
max_snoozes = "unlimited"
skip_budget = 2
guide = "notification"

[away]
natural_break = "10m"
suspend = "pause-interval"
lock = "natural-break"
idle = false

[schedule]
days = ["fri", "mon", "tue", "wed", "thu"]
start = "09:00"
end = "17:30"
breaks = ["15:00", "12:30", "12:30"]

[dnd]
fullscreen = false
inhibited = true
gnome_banners = false
max_defer = "1h"

[routines]
every = 4
routine = "my-routine"

[routine.my-routine]
name = "Morning loosener"
exercises = ["march-in-place", "neck-flexion"]

[history]
enabled = false
"""


def test_defaults_of_the_new_tables() -> None:
    r = DEFAULTS.reminders
    assert (r.daily_goal, r.max_snoozes, r.skip_budget, r.guide) == (8, 3, None, "window")
    assert DEFAULTS.away == Away(natural_break=300, suspend="natural-break", lock="natural-break")
    assert DEFAULTS.schedule == Schedule(days=ALL_DAYS, start=0, end=1440, breaks=())
    assert DEFAULTS.schedule.always_on
    assert DEFAULTS.dnd == Dnd(fullscreen=True, inhibited=True, gnome_banners=True, max_defer=1800)
    assert DEFAULTS.routines == Routines(every=6, every_seconds=0, routine=BUILTIN_ROUTINE)
    assert DEFAULTS.routines.enabled
    assert DEFAULTS.routine() == DEFAULT_ROUTINES[0]
    assert DEFAULTS.history == HistorySettings(enabled=True)


def test_empty_new_tables_give_the_defaults() -> None:
    text = "[away]\n[schedule]\n[dnd]\n[routines]\n[history]\n"
    assert parse_settings(text) == DEFAULTS


def test_every_new_key() -> None:
    settings = parse_settings(EVERYTHING)
    r = settings.reminders
    assert (r.daily_goal, r.max_snoozes, r.skip_budget, r.guide) == (12, None, 2, "notification")
    assert settings.away == Away(
        natural_break=600, suspend="pause-interval", lock="natural-break", idle=False
    )
    # Days in week order, breaks sorted and without the duplicate.
    assert settings.schedule == Schedule(
        days=(0, 1, 2, 3, 4), start=9 * 60, end=17 * 60 + 30, breaks=(12 * 60 + 30, 15 * 60)
    )
    assert not settings.schedule.always_on
    assert settings.dnd == Dnd(
        fullscreen=False, inhibited=True, gnome_banners=False, max_defer=3600
    )
    mine = Routine("my-routine", "Morning loosener", ("march-in-place", "neck-flexion"))
    assert settings.routines == Routines(
        every=4, every_seconds=0, routine="my-routine", custom=(mine,)
    )
    assert settings.routine() == mine
    assert settings.history == HistorySettings(enabled=False)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("max_snoozes = 0", {"max_snoozes": 0}),
        ('max_snoozes = "unlimited"', {"max_snoozes": None}),
        ("skip_budget = 0", {"skip_budget": 0}),
        ('skip_budget = "unlimited"', {"skip_budget": None}),
        ("skip_budget = 1000", {"skip_budget": 1000}),
        ("daily_goal = 1", {"daily_goal": 1}),
        ("daily_goal = 100", {"daily_goal": 100}),
        ('guide = "window"', {"guide": "window"}),
    ],
)
def test_budgets_goal_and_guide(line: str, expected: dict[str, object]) -> None:
    reminders = parse_settings(f"[reminders]\n{line}\n").reminders
    assert {name: getattr(reminders, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("value", "every", "every_seconds", "enabled"),
    [
        ("3", 3, 0, True),
        ("1", 1, 0, True),
        ("0", 0, 0, False),
        ('"off"', 0, 0, False),
        ('"4h"', 0, 4 * 3600, True),
        ('"90m"', 0, 90 * 60, True),
    ],
)
def test_routines_every(value: str, every: int, every_seconds: int, enabled: bool) -> None:
    routines = parse_settings(f"[routines]\nevery = {value}\n").routines
    assert (routines.every, routines.every_seconds, routines.enabled) == (
        every,
        every_seconds,
        enabled,
    )


def test_schedule_end_at_midnight_and_hours_without_leading_zero() -> None:
    schedule = parse_settings('[schedule]\nstart = "7:05"\nend = "24:00"\n').schedule
    assert (schedule.start, schedule.end) == (7 * 60 + 5, 24 * 60)


def test_schedule_keys_are_each_optional() -> None:
    only_start = parse_settings('[schedule]\nstart = "23:59"\n').schedule
    assert (only_start.start, only_start.end, only_start.days) == (23 * 60 + 59, 1440, ALL_DAYS)
    only_end = parse_settings('[schedule]\nend = "00:01"\n').schedule
    assert (only_end.start, only_end.end) == (0, 1)
    weekend = parse_settings('[schedule]\ndays = ["sun", "sat"]\nbreaks = []\n').schedule
    assert (weekend.days, weekend.breaks) == ((5, 6), ())


def test_a_schedule_of_every_day_all_day_is_always_on() -> None:
    text = '[schedule]\ndays = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nend = "24:00"\n'
    assert parse_settings(text).schedule.always_on


@given(st.integers(min_value=0, max_value=30), st.integers(min_value=0, max_value=99))
def test_a_time_of_day_is_read_exactly_or_rejected(hour: int, minute: int) -> None:
    text = f'[schedule]\nstart = "{hour:02d}:{minute:02d}"\n'
    if hour < 24 and minute < 60:
        assert parse_settings(text).schedule.start == hour * 60 + minute
    else:
        err = error(text)
        assert (err.line, err.key) == (2, "schedule.start")


def test_dotted_and_inline_new_tables() -> None:
    text = (
        'schedule = { days = ["mon"], start = "08:00" }\n'
        "dnd.fullscreen = false\n"
        'routine.quick = { name = "Quick", exercises = ["shoulder-roll"] }\n'
        'routines.routine = "quick"\n'
    )
    settings = parse_settings(text)
    assert (settings.schedule.days, settings.schedule.start) == ((0,), 480)
    assert settings.dnd.fullscreen is False
    assert settings.routine() == Routine("quick", "Quick", ("shoulder-roll",))


def test_a_custom_routine_with_the_builtin_id_replaces_it() -> None:
    text = f'[routine.{BUILTIN_ROUTINE}]\nname = "My warm-up"\nexercises = ["knee-lift"]\n'
    settings = parse_settings(text)
    assert settings.routines.routine == BUILTIN_ROUTINE
    assert settings.routine() == Routine(BUILTIN_ROUTINE, "My warm-up", ("knee-lift",))
    assert list(settings.routines.all()) == [BUILTIN_ROUTINE]


def test_a_custom_routine_can_use_custom_exercises() -> None:
    text = (
        '[routine.eyes]\nname = "Eyes"\nexercises = ["eye-rest", "eye-rest"]\n'
        '[exercise.eye-rest]\nname = "Eye rest"\nsteps = ["Blink."]\n'
    )
    assert parse_settings(text).routines.all()["eyes"].exercises == ("eye-rest", "eye-rest")


def test_the_commented_example_schedule_is_valid_when_uncommented() -> None:
    text = uncommented(
        EXAMPLE.read_text(encoding="utf-8"), '# days = ["mon", "tue", "wed", "thu", "fri"]'
    )
    assert parse_settings(text).schedule == Schedule(
        days=(0, 1, 2, 3, 4), start=9 * 60, end=17 * 60 + 30, breaks=(12 * 60 + 30,)
    )


def test_the_commented_example_routine_is_valid_when_uncommented() -> None:
    text = uncommented(EXAMPLE.read_text(encoding="utf-8"), "# [routine.loosen-up]")
    text = text.replace(f'routine = "{BUILTIN_ROUTINE}"', 'routine = "loosen-up"')
    settings = parse_settings(text)
    assert settings.routine() == Routine(
        "loosen-up", "Loosen up", ("march-in-place", "neck-flexion")
    )


def test_the_example_documents_every_key() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    for table, names in TABLE_KEYS.items():
        assert f"[{table}]" in text
        for name in names:
            assert re.search(rf"^(# )?{name} = ", text, re.MULTILINE), f"{table}.{name}"
    assert "deskbreak config check" in text


def test_the_readme_table_lists_every_key() -> None:
    readme = (EXAMPLE.parent / "README.md").read_text(encoding="utf-8")
    for table, names in TABLE_KEYS.items():
        for name in names:
            assert f"| `{table}.{name}` |" in readme
    assert "| `[routine.ID]` |" in readme


# Each: the file, the line and key of the problem, and words the message must hold.
BAD = [
    # wrong type
    ('[reminders]\ndaily_goal = "8"\n', 2, "reminders.daily_goal", 'from 1 to 100, got "8"'),
    ("[reminders]\ndaily_goal = true\n", 2, "reminders.daily_goal", "got true"),
    ("[reminders]\ndaily_goal = 8.0\n", 2, "reminders.daily_goal", "got 8.0"),
    ("[reminders]\nmax_snoozes = 2.5\n", 2, "reminders.max_snoozes", '0 or more, or "unlimited"'),
    ('[reminders]\nmax_snoozes = "never"\n', 2, "reminders.max_snoozes", 'got "never"'),
    ("[reminders]\nskip_budget = []\n", 2, "reminders.skip_budget", '"unlimited", got []'),
    ('[reminders]\nskip_budget = "Unlimited"\n', 2, "reminders.skip_budget", 'or "unlimited"'),
    ("[reminders]\nguide = true\n", 2, "reminders.guide", 'allowed: "window", "notification"'),
    ('[away]\nidle = "yes"\n', 2, "away.idle", 'expected true or false, got "yes"'),
    ("[away]\nnatural_break = 5\n", 2, "away.natural_break", 'a duration like "90s"'),
    ("[dnd]\nfullscreen = 1\n", 2, "dnd.fullscreen", "expected true or false, got 1"),
    ('[dnd]\ninhibited = "false"\n', 2, "dnd.inhibited", "expected true or false"),
    ("[dnd]\ngnome_banners = []\n", 2, "dnd.gnome_banners", "expected true or false"),
    ('[history]\nenabled = "no"\n', 2, "history.enabled", "expected true or false"),
    ('[schedule]\ndays = "mon"\n', 2, "schedule.days", "expected a list of day names"),
    ('[schedule]\nbreaks = "12:30"\n', 2, "schedule.breaks", "expected a list of times of day"),
    ("[schedule]\nstart = 900\n", 2, "schedule.start", "expected a time of day in quotes"),
    ("[schedule]\nstart = 09:00:00\n", 2, "schedule.start", "got 09:00:00"),
    ("[routines]\nevery = true\n", 2, "routines.every", "got true"),
    ("[routines]\nevery = 1.5\n", 2, "routines.every", 'a duration up to 24h like "4h", or "off"'),
    ("[routines]\nroutine = 3\n", 2, "routines.routine", "unknown routine 3"),
    ('schedule = "9 to 5"\n', 1, "schedule", "expected a table [schedule]"),
    ("[history]\nenabled = true\n[[away]]\n", 3, "away", "expected a table [away]"),
    # out of range
    ("[reminders]\ndaily_goal = 0\n", 2, "reminders.daily_goal", "from 1 to 100, got 0"),
    ("[reminders]\ndaily_goal = 101\n", 2, "reminders.daily_goal", "from 1 to 100, got 101"),
    ("[reminders]\nmax_snoozes = -1\n", 2, "reminders.max_snoozes", "0 or more"),
    ("[reminders]\nskip_budget = -2\n", 2, "reminders.skip_budget", "got -2"),
    ("[routines]\nevery = -1\n", 2, "routines.every", "whole number 0 or more"),
    ('[routines]\nevery = "25h"\n', 2, "routines.every", 'got "25h"'),
    ('[routines]\nevery = "0m"\n', 2, "routines.every", 'got "0m"'),
    ('[routines]\nevery = "sometimes"\n', 2, "routines.every", '"off"; got "sometimes"'),
    ('[dnd]\nmax_defer = "25h"\n', 2, "dnd.max_defer", "too long; allowed up to 24h"),
    ('[away]\nnatural_break = "0s"\n', 2, "away.natural_break", "longer than zero"),
    # bad guide, bad away mode
    ('[reminders]\nguide = "popup"\n', 2, "reminders.guide", 'unknown value "popup"'),
    ('[reminders]\nguide = "windows"\n', 2, "reminders.guide", 'did you mean "window"?'),
    (
        '[away]\nsuspend = "sleep"\n',
        2,
        "away.suspend",
        'allowed: "natural-break", "pause-interval"',
    ),
    ('[away]\n\nlock = "pause_interval"\n', 3, "away.lock", 'did you mean "pause-interval"?'),
    # days
    ('[schedule]\ndays = ["mon", "Tuesday"]\n', 2, "schedule.days", 'did you mean "tue"?'),
    ('[schedule]\ndays = ["mon", "funday"]\n', 2, "schedule.days", 'unknown day "funday"'),
    ("[schedule]\ndays = [1, 2]\n", 2, "schedule.days", '"mon", "tue", "wed", "thu", "fri", "sat"'),
    ('[schedule]\ndays = [\n  "mon",\n  "tue",\n  "mon",\n]\n', 5, "schedule.days", "listed twice"),
    ("[schedule]\ndays = []\n", 2, "schedule.days", "the list is empty"),
    # work hours
    ('[schedule]\nstart = "09:00"\nend = "08:00"\n', 3, "schedule.end", "overnight shifts"),
    ('[schedule]\nend = "09:00"\nstart = "09:00"\n', 2, "schedule.end", "must end after it starts"),
    ('[schedule]\nend = "00:00"\n', 2, "schedule.end", 'the latest end is "24:00"'),
    ('[schedule]\nstart = "24:00"\n', 2, "schedule.start", '"00:00" to "23:59"'),
    ('[schedule]\nend = "24:01"\n', 2, "schedule.end", '"00:00" to "24:00", got "24:01"'),
    ('[schedule]\nstart = "9am"\n', 2, "schedule.start", 'got "9am"'),
    ('[schedule]\nstart = "12:60"\n', 2, "schedule.start", 'got "12:60"'),
    ('[schedule]\nstart = "1230"\n', 2, "schedule.start", '"HH:MM"'),
    ('[schedule]\nstart = "12:3"\n', 2, "schedule.start", 'got "12:3"'),
    ('[schedule]\nstart = "+9:00"\n', 2, "schedule.start", 'got "+9:00"'),
    ('[schedule]\nstart = ""\n', 2, "schedule.start", 'got ""'),
    # fixed-time breaks
    ('[schedule]\nbreaks = ["12:30", "12.45"]\n', 2, "schedule.breaks", 'got "12.45" in it'),
    ('[schedule]\nbreaks = ["24:00"]\n', 2, "schedule.breaks", '"00:00" to "23:59"'),
    (
        '[schedule]\nstart = "09:00"\nend = "17:00"\nbreaks = [\n  "12:00",\n  "08:59",\n]\n',
        6,
        "schedule.breaks",
        '"08:59" is outside the work hours; allowed: a time from "09:00"',
    ),
    (
        '[schedule]\nstart = "09:00"\nend = "17:00"\nbreaks = ["17:00"]\n',
        4,
        "schedule.breaks",
        'up to, not including, "17:00"',
    ),
    # routines
    (
        '[routines]\nroutine = "warm-up-and-dsk"\n',
        2,
        "routines.routine",
        'did you mean "warm-up-and-desk"?',
    ),
    (
        '[routines]\nroutine = "mine"\n',
        2,
        "routines.routine",
        'known: "warm-up-and-desk"; add your own with a [routine.mine] table',
    ),
    (
        '[routine.quick]\nname = "Quick"\nexercises = ["neck-flexon"]\n',
        3,
        "routine.quick.exercises",
        'unknown exercise "neck-flexon"; did you mean "neck-flexion"?',
    ),
    (
        '[routine.quick]\nname = "Quick"\nexercises = [\n  "neck-flexion",\n  "eye-rest",\n]\n',
        5,
        "routine.quick.exercises",
        "add your own with a [exercise.eye-rest] table",
    ),
    (
        '[routine.quick]\nname = "Quick"\nexercises = []\n',
        3,
        "routine.quick.exercises",
        "the list is empty",
    ),
    ('[routine.quick]\nname = "Quick"\n', 1, "routine.quick.exercises", "missing"),
    ('[routine.quick]\nexercises = ["knee-lift"]\n', 1, "routine.quick.name", "missing"),
    (
        '[routine.quick]\nname = " "\nexercises = ["knee-lift"]\n',
        2,
        "routine.quick.name",
        "non-empty text",
    ),
    (
        '[routine.quick]\nname = "Q"\nexercises = "knee-lift"\n',
        3,
        "routine.quick.exercises",
        "expected a list of exercise ids",
    ),
    (
        '[routine.quick]\nname = "Q"\nexercises = ["knee-lift", 2]\n',
        3,
        "routine.quick.exercises",
        "got 2 in it",
    ),
    ('[routine.Quick_One]\nname = "Q"\n', 1, "routine.Quick_One", "kebab-case"),
    (
        '[routine.quick]\nname = "Q"\nexercises = ["knee-lift"]\nexercise = []\n',
        4,
        "routine.quick.exercise",
        'did you mean "exercises"?',
    ),
    (
        '[routine.quick]\nname = "Q"\nsteps = ["Go."]\n',
        3,
        "routine.quick.steps",
        "belongs in an [exercise.ID] table",
    ),
    ("[routine]\nevery = 6\n", 2, "routine.every", "belongs in the [routines] table"),
    ('routine = "quick"\n', 1, "routine", "set routine in the [routines] table"),
    ('[routines.quick]\nname = "Q"\n', 1, "routines.quick", "written [routine.quick] (singular)"),
    # unknown and misplaced keys and tables
    ("[dnd]\nfulscreen = true\n", 2, "dnd.fulscreen", 'did you mean "fullscreen"?'),
    ('[schedule]\nday = ["mon"]\n', 2, "schedule.day", 'did you mean "days"?'),
    ("[history]\nkeep = true\n", 2, "history.keep", "allowed keys in [history]: enabled"),
    ("[reminders]\nidle = true\n", 2, "reminders.idle", "belongs in the [away] table"),
    ('[away]\nmax_defer = "1h"\n', 2, "away.max_defer", "belongs in the [dnd] table"),
    ('days = ["mon"]\n', 1, "days", "belongs in the [schedule] table"),
    ("enabled = false\n", 1, "enabled", "belongs in the [history] table"),
    ('\n[schedul]\nstart = "09:00"\n', 2, "schedul", "did you mean [schedule]?"),
    ("[routins]\nevery = 3\n", 1, "routins", "did you mean [routines]?"),
    ("[dnd]\n[donotdisturb]\n", 2, "donotdisturb", "[dnd], [routines], [history]"),
]


@pytest.mark.parametrize(("text", "line", "key", "fragment"), BAD)
def test_bad_new_settings(text: str, line: int, key: str, fragment: str) -> None:
    err = error(text)
    assert (err.line, err.key) == (line, key)
    assert fragment in str(err)
    assert str(err).startswith(f"config.toml:{line}: {key}: ")


def test_unquoted_time_of_day_gets_a_hint() -> None:
    err = error("[schedule]\nstart = 09:00\n")
    assert err.line == 2
    assert "times of day need quotes" in str(err)
    err = error("[schedule]\nbreaks = [\n  12:30,\n]\n")
    assert err.line == 3
    assert "times of day need quotes" in str(err)


def test_errors_in_the_new_tables_say_what_is_allowed() -> None:
    err = error("[away]\nidel = true\n")
    assert "allowed keys in [away]: natural_break, suspend, lock, idle" in str(err)
    err = error("[routines]\nroutine = 'nope'\n")
    assert str(err).endswith("add your own with a [routine.nope] table")


# -- key_line -------------------------------------------------------------------------------------


def test_key_line_finds_keys_and_tables() -> None:
    assert key_line(FULL, "reminders") == 2
    assert key_line(FULL, "reminders.interval") == 3
    assert key_line(FULL, "reminders.missed_after") == 9
    assert key_line(FULL, "exercise") == 11
    assert key_line(FULL, "exercise.eye-rest") == 11
    assert key_line(FULL, "exercise.eye-rest.summary") == 18
    assert key_line(FULL, "reminders.nothing") is None
    assert key_line("", "reminders") is None


def test_key_line_is_not_fooled_by_comments_and_strings() -> None:
    text = """\
# interval = "1m"
[other]
note = "interval = 5m [reminders]"
text = '''
[reminders]
interval = "fake"
'''
x = [
  "[reminders]",  # interval = "no"
  { interval = "2m" },
]
[reminders]
interval = "45m"   # interval = "1m"
"""
    assert key_line(text, "reminders") == 12
    assert key_line(text, "reminders.interval") == 13
    assert key_line(text, "other.x") == 8


def test_key_line_handles_dotted_quoted_and_inline_keys() -> None:
    text = (
        'title = "x"\n'
        'reminders . interval = "1m"\n'
        '"reminders".snooze = "2m"\n'
        'exercise = { eye-rest = { name = "Eye" } }\n'
    )
    assert key_line(text, "reminders") == 2
    assert key_line(text, "reminders.interval") == 2
    assert key_line(text, "reminders.snooze") == 3
    assert key_line(text, "exercise.eye-rest.name") == 4
    assert key_line(text, 'exercise."eye-rest"') == 4


def test_key_line_tracks_array_tables() -> None:
    text = '[[a]]\nb = 1\n\n[[a]]\nb = 2\n[reminders]\ninterval = "1m"\n'
    assert key_line(text, "a") == 1
    assert key_line(text, "a.b") == 2
    assert key_line(text, "reminders.interval") == 7


@given(st.text(alphabet=st.sampled_from("[]{}=.\"'#\n ,abx\\-1"), max_size=80))
def test_key_line_never_raises(text: str) -> None:
    result = key_line(text, "a.b")
    assert result is None or 1 <= result <= text.count("\n") + 1


@given(st.text(max_size=60))
def test_any_text_either_parses_or_raises_one_line_settings_error(text: str) -> None:
    try:
        parse_settings(text, "f.toml")
    except SettingsError as err:
        assert "\n" not in str(err)
        assert str(err).startswith("f.toml")

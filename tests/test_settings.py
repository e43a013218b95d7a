"""Reading settings: defaults, valid files, and errors that name the file, line and key."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbreak.errors import SettingsError
from deskbreak.exercises import CATALOGUE, CATEGORIES, DESK_ROTATION, builtin_by_id
from deskbreak.settings import DEFAULTS, Reminders, Settings, key_line, parse_settings

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


def test_the_commented_example_exercise_is_valid_when_uncommented() -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("# [exercise.eye-rest]")
    block = "\n".join(line.removeprefix("# ") for line in text[start:].splitlines())
    settings = parse_settings(text[:start] + block)
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

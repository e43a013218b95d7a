"""The settings file on disk: loading, and editing one key in place, atomically."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from deskbreak.adapters.settings_file import (
    default_path,
    example_text,
    load,
    set_interval,
    set_value,
)
from deskbreak.errors import SettingsError
from deskbreak.settings import DEFAULTS, parse_settings

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"

COMMENTED = """\
# My deskbreak settings, edited by hand.

[reminders]
# Work this long between breaks (the team agreed on 45 minutes).
interval   =  "45m"    # keep the odd spacing
snooze = "10m"
exercises = [
    "wall-stretch",   # the best one
    "neck-flexion",
]

# Nothing else for now.
"""


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def leftovers(directory: Path, keep: set[str]) -> set[str]:
    return {p.name for p in directory.iterdir()} - keep


# -- default_path and example_text ----------------------------------------------------------------


def test_default_path_honours_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DESKBREAK_CONFIG", str(tmp_path / "mine.toml"))
    assert default_path() == tmp_path / "mine.toml"


@pytest.mark.skipif(sys.platform != "linux", reason="XDG folders are a Linux convention")
def test_default_path_is_in_the_user_config_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DESKBREAK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_path() == tmp_path / "deskbreak" / "config.toml"


def test_example_text_is_the_shipped_example() -> None:
    assert example_text() == EXAMPLE.read_text(encoding="utf-8")
    assert parse_settings(example_text()) == DEFAULTS


# -- load -----------------------------------------------------------------------------------------


def test_load_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load(tmp_path / "absent.toml") == DEFAULTS


def test_load_a_real_file(tmp_path: Path) -> None:
    settings = load(write(tmp_path / "config.toml", COMMENTED))
    assert settings.reminders.interval == 45 * 60
    assert settings.reminders.exercises == ("wall-stretch", "neck-flexion")


def test_load_accepts_a_byte_order_mark(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", '\ufeff[reminders]\ninterval = "2s"\n')
    assert load(path).reminders.interval == 2


def test_load_invalid_settings_names_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", COMMENTED.replace('"10m"', '"10 minutes"'))
    with pytest.raises(SettingsError) as info:
        load(path)
    assert str(info.value).startswith(f"{path}:6: reminders.snooze: ")


def test_load_a_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    with pytest.raises(SettingsError, match="is a folder") as info:
        load(folder)
    assert str(info.value).startswith(str(folder))


def test_load_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_bytes(b'[reminders]\n# caf\xe9\ninterval = "1m"\n')
    with pytest.raises(SettingsError, match="not UTF-8") as info:
        load(path)
    assert (info.value.path, info.value.line) == (str(path), 2)


def test_load_unreadable_path_is_an_error_naming_it(tmp_path: Path) -> None:
    not_a_folder = write(tmp_path / "file", "")
    with pytest.raises(SettingsError, match="cannot read") as info:
        load(not_a_folder / "config.toml")
    assert str(info.value).startswith(str(not_a_folder / "config.toml"))


# -- set_interval / set_value: in place ------------------------------------------------------------


def test_set_interval_changes_only_that_value(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", COMMENTED)
    set_interval(path, 2)
    assert path.read_text(encoding="utf-8") == COMMENTED.replace('"45m"', '"2s"')
    assert load(path).reminders.interval == 2
    set_interval(path, 5400)
    assert path.read_text(encoding="utf-8") == COMMENTED.replace('"45m"', '"1h30m"')


def test_set_interval_keeps_windows_line_endings(tmp_path: Path) -> None:
    original = COMMENTED.replace("\n", "\r\n")
    path = write(tmp_path / "config.toml", original)
    set_interval(path, 600)
    assert path.read_bytes() == original.replace('"45m"', '"10m"').encode()


def test_set_interval_adds_the_key_after_the_last_one_in_the_table(tmp_path: Path) -> None:
    without = COMMENTED.replace(
        "# Work this long between breaks (the team agreed on 45 minutes).\n"
        'interval   =  "45m"    # keep the odd spacing\n',
        "",
    )
    path = write(tmp_path / "config.toml", without)
    set_interval(path, 1200)
    expected = without.replace(
        '    "neck-flexion",\n]\n', '    "neck-flexion",\n]\ninterval = "20m"\n'
    )
    assert path.read_text(encoding="utf-8") == expected
    assert load(path).reminders.interval == 1200


def test_set_interval_adds_the_table_when_absent(tmp_path: Path) -> None:
    original = '# just a comment\n\n[exercise.eye-rest]\nname = "Eye rest"\nsteps = ["Blink."]\n'
    path = write(tmp_path / "config.toml", original)
    set_interval(path, 90)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(original)
    assert text[len(original) :].strip() == '[reminders]\ninterval = "1m30s"'
    assert load(path).custom_exercises[0].name == "Eye rest"


def test_set_interval_on_dotted_keys(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", 'reminders.interval = "45m"  # short\n')
    set_interval(path, 60)
    assert path.read_text(encoding="utf-8") == 'reminders.interval = "1m"  # short\n'


def test_set_value_writes_a_list(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", COMMENTED)
    set_value(path, "reminders.exercises", ["shoulder-roll"])
    assert load(path).reminders.exercises == ("shoulder-roll",)
    text = path.read_text(encoding="utf-8")
    assert "# Work this long between breaks" in text
    assert "# Nothing else for now." in text


def test_set_value_edits_a_custom_exercise(tmp_path: Path) -> None:
    original = '[exercise.eye-rest]\nname = "Eye rest"   # mine\nsteps = ["Blink."]\n'
    path = write(tmp_path / "config.toml", original)
    set_value(path, "exercise.eye-rest.desk", False)
    assert path.read_text(encoding="utf-8") == original + "desk = false\n"
    assert load(path).custom_exercises[0].desk is False


def test_set_interval_creates_the_file_from_the_example(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "config.toml"
    set_interval(path, 2)
    text = path.read_text(encoding="utf-8")
    assert text == example_text().replace('interval = "45m"', 'interval = "2s"', 1)
    assert "# deskbreak settings" in text
    assert load(path).reminders.interval == 2
    assert leftovers(path.parent, {"config.toml"}) == set()


def test_a_new_file_gets_the_usual_permissions(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    set_interval(path, 60)
    plain = tmp_path / "plain"
    plain.write_text("")
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664])
def test_set_interval_keeps_the_file_mode(tmp_path: Path, mode: int) -> None:
    path = write(tmp_path / "config.toml", COMMENTED)
    path.chmod(mode)
    set_interval(path, 60)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert load(path).reminders.interval == 60


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_set_interval_through_a_symlink_keeps_the_link(tmp_path: Path) -> None:
    real = write(tmp_path / "dotfiles.toml", COMMENTED)
    link = tmp_path / "config.toml"
    link.symlink_to(real.name)
    set_interval(link, 60)
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == COMMENTED.replace('"45m"', '"1m"')


# -- set_interval / set_value: never leave a bad file ------------------------------------------


def test_invalid_new_value_leaves_the_file_untouched(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", COMMENTED)
    before = path.read_bytes()
    with pytest.raises(SettingsError) as info:
        set_value(path, "reminders.interval", "0s")
    assert (info.value.key, info.value.line) == ("reminders.interval", 5)
    assert "longer than zero" in str(info.value)
    with pytest.raises(SettingsError, match="must be longer than zero"):
        set_interval(path, 0)
    with pytest.raises(SettingsError, match='unknown exercise "nope"'):
        set_value(path, "reminders.exercises", ["nope"])
    with pytest.raises(SettingsError, match="unknown key"):
        set_value(path, "reminders.intervall", "1m")
    assert path.read_bytes() == before
    assert leftovers(tmp_path, {"config.toml"}) == set()


def test_invalid_value_for_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    with pytest.raises(SettingsError):
        set_value(path, "reminders.snooze", "never")
    assert not path.exists()
    assert leftovers(tmp_path, set()) == set()


def test_broken_toml_is_reported_and_left_as_it_is(tmp_path: Path) -> None:
    broken = COMMENTED.replace('snooze = "10m"', "snooze = 10m")
    path = write(tmp_path / "config.toml", broken)
    with pytest.raises(SettingsError) as info:
        set_interval(path, 60)
    assert (info.value.path, info.value.line) == (str(path), 6)
    assert "not valid TOML" in str(info.value)
    assert path.read_bytes() == broken.encode()
    assert leftovers(tmp_path, {"config.toml"}) == set()


def test_an_existing_problem_elsewhere_is_reported_with_its_own_line(tmp_path: Path) -> None:
    # The new key would go in above the problem, moving it down a line in the new text.
    bad = '[reminders]\nsnooze = "5m"\n\n[exercise.eye-rest]\nname = "Eye rest"\n'
    path = write(tmp_path / "config.toml", bad)
    with pytest.raises(SettingsError) as info:
        set_interval(path, 60)
    assert (info.value.key, info.value.line) == ("exercise.eye-rest.steps", 4)
    assert path.read_bytes() == bad.encode()


def test_fixing_the_bad_value_itself_is_allowed(tmp_path: Path) -> None:
    path = write(tmp_path / "config.toml", COMMENTED.replace('"45m"', '"0m"'))
    set_interval(path, 1800)
    assert path.read_text(encoding="utf-8") == COMMENTED.replace('"45m"', '"30m"')


def test_a_path_through_a_file_is_a_settings_error(tmp_path: Path) -> None:
    blocker = write(tmp_path / "blocker", "")
    with pytest.raises(SettingsError, match="cannot read") as info:
        set_interval(blocker / "config.toml", 60)
    assert info.value.path == str(blocker / "config.toml")
    assert blocker.read_bytes() == b""

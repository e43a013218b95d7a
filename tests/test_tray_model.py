"""The tray menu as a pure description: what a user sees in each state and what each item sends."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace

import pytest

from deskbreak.adapters.tray import (
    DEFAULT_INTERVALS,
    DEFAULT_SNOOZES,
    SEPARATOR,
    FakeTray,
    MenuEntry,
    TrayModel,
    commands,
    duration_label,
    find_entry,
    menu_spec,
    with_choice,
)

WAITING = TrayModel(
    state="waiting",
    progress=0.3,
    tooltip="Next: Neck flexion in 23 min",
    header="Next: Neck flexion at 14:05",
    due=False,
    paused=False,
    interval=2700,
    interval_choices=DEFAULT_INTERVALS,
    snooze_choices=DEFAULT_SNOOZES,
)
DUE = replace(WAITING, state="due", due=True, header="Now: Neck flexion")
PAUSED = replace(WAITING, state="paused", paused=True, header="Paused until 15:30")


def labels(entries: list[MenuEntry] | tuple[MenuEntry, ...]) -> list[str]:
    return ["---" if e.separator else e.label for e in entries]


def test_waiting_menu_top_to_bottom() -> None:
    spec = menu_spec(WAITING)
    assert labels(spec) == [
        "Next: Neck flexion at 14:05",
        "---",
        "Stretch now",
        "---",
        "Pause",
        "Frequency",
        "---",
        "Open settings file",
        "Quit",
    ]
    assert spec[0].enabled is False and spec[0].command is None
    assert find_entry(spec, "Stretch now").command == ("now", None)
    assert find_entry(spec, "Open settings file").command == ("open-settings", None)
    assert find_entry(spec, "Quit").command == ("quit", None)


def test_header_lines_cannot_be_clicked_and_the_second_is_optional() -> None:
    spec = menu_spec(replace(WAITING, extra_header="Today: 5 of 8 stretches"))
    assert labels(spec)[:3] == ["Next: Neck flexion at 14:05", "Today: 5 of 8 stretches", "---"]
    assert [e.enabled for e in spec[:2]] == [False, False]
    assert [e.command for e in spec[:2]] == [None, None]
    assert ("Today: 5 of 8 stretches" in labels(menu_spec(WAITING))) is False


def test_due_menu_offers_done_snooze_skip() -> None:
    spec = menu_spec(DUE)
    assert labels(spec)[:7] == [
        "Now: Neck flexion",
        "---",
        "Stretch now",
        "Done",
        "Snooze",
        "Skip",
        "---",
    ]
    assert find_entry(spec, "Done").command == ("accept", None)
    assert find_entry(spec, "Skip").command == ("skip", None)
    snooze = find_entry(spec, "Snooze")
    assert snooze.command is None
    assert labels(snooze.submenu) == ["5 min", "10 min", "15 min"]
    assert [e.command for e in snooze.submenu] == [
        ("snooze", 300),
        ("snooze", 600),
        ("snooze", 900),
    ]


def test_done_snooze_skip_are_absent_when_nothing_is_due() -> None:
    names = labels(menu_spec(WAITING))
    for label in ("Done", "Snooze", "Skip"):
        assert label not in names
    assert {name for name, _ in commands(menu_spec(WAITING))}.isdisjoint(
        {"accept", "snooze", "skip"}
    )


def test_pause_submenu() -> None:
    pause = find_entry(menu_spec(WAITING), "Pause")
    assert labels(pause.submenu) == ["30 min", "1 hour", "2 hours", "Until tomorrow"]
    assert [e.command for e in pause.submenu] == [
        ("pause", 1800),
        ("pause", 3600),
        ("pause", 7200),
        ("pause-tomorrow", None),
    ]


def test_paused_menu_shows_resume_instead_of_pause() -> None:
    spec = menu_spec(PAUSED)
    assert "Pause" not in labels(spec)
    assert find_entry(spec, "Resume").command == ("resume", None)
    assert labels(spec)[4] == "Resume"
    assert ("pause", 1800) not in commands(spec)


def test_frequency_is_a_radio_group_with_the_interval_checked() -> None:
    freq = find_entry(menu_spec(WAITING), "Frequency")
    assert labels(freq.submenu) == [
        "Every 20 min",
        "Every 30 min",
        "Every 45 min",
        "Every 1 hour",
        "Every 1 h 30 min",
    ]
    assert all(e.radio for e in freq.submenu)
    assert [e.checked for e in freq.submenu] == [False, False, True, False, False]
    assert [e.command for e in freq.submenu] == [("interval", s) for s in DEFAULT_INTERVALS]


def test_configured_interval_not_in_the_list_appears_in_order_and_is_checked() -> None:
    model = replace(WAITING, interval=2400, interval_choices=with_choice(DEFAULT_INTERVALS, 2400))
    freq = find_entry(menu_spec(model), "Frequency")
    assert labels(freq.submenu) == [
        "Every 20 min",
        "Every 30 min",
        "Every 40 min",
        "Every 45 min",
        "Every 1 hour",
        "Every 1 h 30 min",
    ]
    checked = [e for e in freq.submenu if e.checked]
    assert [e.command for e in checked] == [("interval", 2400)]


def test_configured_interval_is_shown_even_if_the_choices_leave_it_out() -> None:
    model = replace(WAITING, interval=7200)  # choices are the defaults only
    checked = [e for e in find_entry(menu_spec(model), "Frequency").submenu if e.checked]
    assert [(e.label, e.command) for e in checked] == [("Every 2 hours", ("interval", 7200))]


def test_configured_snooze_is_included() -> None:
    model = replace(DUE, snooze_choices=with_choice(DEFAULT_SNOOZES, 1200))
    snooze = find_entry(menu_spec(model), "Snooze")
    assert labels(snooze.submenu) == ["5 min", "10 min", "15 min", "20 min"]
    assert find_entry(menu_spec(model), "Snooze", "20 min").command == ("snooze", 1200)
    # A configured value already in the list is not doubled.
    assert with_choice(DEFAULT_SNOOZES, 600) == DEFAULT_SNOOZES


def test_snooze_disabled_shows_the_note_and_sends_nothing() -> None:
    model = replace(DUE, snooze_enabled=False, snooze_note="Snooze (limit reached)")
    spec = menu_spec(model)
    assert "Snooze" not in labels(spec)
    note = find_entry(spec, "Snooze (limit reached)")
    assert note.enabled is False
    assert note.command is None and note.submenu == ()
    assert not [c for c in commands(spec) if c[0] == "snooze"]
    # Without a note the item keeps its name, disabled.
    plain = find_entry(menu_spec(replace(model, snooze_note="")), "Snooze")
    assert plain.enabled is False and plain.submenu == ()


def test_skip_disabled_shows_the_note() -> None:
    spec = menu_spec(replace(DUE, skip_enabled=False, skip_note="Skip (not today)"))
    assert labels(spec)[5] == "Skip (not today)"
    assert find_entry(spec, "Skip (not today)").enabled is False
    assert ("skip", None) not in commands(spec)
    assert ("accept", None) in commands(spec)


def test_every_command_of_the_due_menu() -> None:
    assert commands(menu_spec(DUE)) == [
        ("now", None),
        ("accept", None),
        ("snooze", 300),
        ("snooze", 600),
        ("snooze", 900),
        ("skip", None),
        ("pause", 1800),
        ("pause", 3600),
        ("pause", 7200),
        ("pause-tomorrow", None),
        ("interval", 1200),
        ("interval", 1800),
        ("interval", 2700),
        ("interval", 3600),
        ("interval", 5400),
        ("open-settings", None),
        ("quit", None),
    ]


def test_menu_spec_is_stable_for_equal_models() -> None:
    assert menu_spec(WAITING) == menu_spec(replace(WAITING, progress=0.9, tooltip="other"))
    assert menu_spec(WAITING) != menu_spec(DUE)
    assert SEPARATOR.separator and SEPARATOR.command is None


@pytest.mark.parametrize(
    ("seconds", "label"),
    [
        (300, "5 min"),
        (2700, "45 min"),
        (3600, "1 hour"),
        (7200, "2 hours"),
        (5400, "1 h 30 min"),
        (90, "1 min 30 s"),
        (45, "45 s"),
        (3605, "1 h 5 s"),
    ],
)
def test_duration_labels_are_exact(seconds: int, label: str) -> None:
    assert duration_label(seconds) == label


def test_find_entry_names_what_is_there_when_a_label_is_missing() -> None:
    with pytest.raises(LookupError, match="'Snooze'"):
        find_entry(menu_spec(WAITING), "Snooze", "10 min")


def test_fake_tray_records_models_and_clicks_what_the_menu_offers() -> None:
    sent: list[tuple[str, int | None]] = []
    tray = FakeTray(lambda name, arg: sent.append((name, arg)), WAITING)
    tray.start()
    assert tray.started and tray.lost_features() == []
    tray.click("now")
    with pytest.raises(LookupError):
        tray.click("snooze", 600)  # nothing is due yet
    tray.update(DUE)
    assert tray.models == [WAITING, DUE]
    tray.click("snooze", 600)
    tray.click_label("Snooze", "15 min")
    tray.click_label("Frequency", "Every 1 hour")
    with pytest.raises(LookupError):
        tray.click_label("Now: Neck flexion")  # the header is not clickable
    tray.stop()
    assert tray.stopped
    assert sent == [("now", None), ("snooze", 600), ("snooze", 900), ("interval", 3600)]


def test_create_tray_without_any_display_gives_a_null_tray_and_keeps_going() -> None:
    # In a fresh process: pystray picks its backend once, when first imported.
    program = f"""
import logging, sys
from dataclasses import replace
from deskbreak.adapters.tray import DEFAULT_INTERVALS, DEFAULT_SNOOZES, TrayModel, create_tray

logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
model = {WAITING!r}
sent = []
tray = create_tray(lambda n, a: sent.append((n, a)), model, logging.getLogger("t"))
tray.start()
tray.update(replace(model, state="due", due=True))
tray.stop()
print("BACKEND", tray.backend, tray.lost_features(), sent, "pystray" in sys.modules)
"""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["NO_AT_BRIDGE"] = "1"
    done = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "BACKEND none ['icon', 'menu'] [] False" in done.stdout
    assert "no tray icon can be shown" in done.stderr

"""The daemon and the guided window, with fake adapters and a fake clock (see test_daemon.py):
what happens around an open window when the user goes quiet, when the window cannot open,
and when the settings turn it off."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_daemon import CONFIG, MIN, ROUTINE_CONFIG, Rig


@pytest.fixture(autouse=True)
def private_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Icons and state go to throwaway folders, never the user's own."""
    for name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def start_from_the_notification(rig: Rig) -> None:
    rig.wait(45 * MIN)
    assert rig.notifier is not None
    assert rig.notifier.shown[-1].actions[0][0] == "start"
    rig.notifier.press("start")
    rig.d.run_pending()


def test_no_input_while_following_the_window_is_not_a_natural_break(tmp_path: Path) -> None:
    # A routine can take longer than the natural break (5 min by default); the user does
    # it away from the keyboard, then clicks Done.
    rig = Rig(tmp_path, ROUTINE_CONFIG)
    start_from_the_notification(rig)
    assert rig.guide is not None and rig.idle is not None
    assert rig.guide.is_open()
    rig.wait(5 * MIN)
    rig.idle.leave(5 * MIN)
    rig.d.run_pending()
    rig.wait(3 * MIN)
    rig.idle.come_back(8 * MIN)  # reaching for the mouse to click Done
    rig.d.run_pending()
    assert rig.guide.is_open(), "the window was taken away from the user"
    assert "natural-break" not in rig.history.kinds
    rig.guide.answer("done", finished=True)
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "done"
    assert rig.tray.model.state == "waiting"


def test_locking_the_screen_while_following_the_window_is_still_being_away(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    start_from_the_notification(rig)
    assert rig.guide is not None and rig.session is not None
    rig.session.lock()
    rig.d.run_pending()
    rig.wait(10 * MIN)
    rig.session.unlock()
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "natural-break"
    assert not rig.guide.is_open()


def test_idle_without_a_window_open_is_still_a_natural_break(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)  # the reminder is a notification; nobody follows it
    assert rig.idle is not None
    rig.idle.leave(5 * MIN)
    rig.d.run_pending()
    rig.wait(3 * MIN)
    rig.idle.come_back(8 * MIN)
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "natural-break"


def test_start_when_the_window_cannot_open_shows_the_reminder_again(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.wait(45 * MIN)
    assert rig.notifier is not None and rig.guide is not None
    shown = len(rig.notifier.shown)
    rig.guide.is_available = False  # e.g. Tk failed to start since the reminder went out
    rig.notifier.press("start")  # the server takes the notification away
    rig.d.run_pending()
    assert rig.guide.opened == []
    assert len(rig.notifier.shown) == shown + 1, "nothing left on screen for the user"
    again = rig.notifier.shown[-1]
    assert again.title == "Wall stretch"
    assert [k for k, _ in again.actions] == ["done", "snooze", "skip"]
    assert rig.tray.model.state == "due"


def test_turning_the_window_off_leaves_an_open_one_to_be_answered(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.click("Stretch now")
    assert rig.guide is not None and rig.notifier is not None
    assert rig.guide.is_open()
    rig.path.write_text(CONFIG + 'guide = "notification"\n')
    rig.d._reload("test")
    assert rig.guide.is_open(), "the window the user follows was closed under them"
    rig.guide.answer("done")
    rig.d.run_pending()
    assert rig.history.kinds[-1] == "done"
    # From now on: notifications only, without Start; Stretch now opens no window.
    rig.wait(45 * MIN)
    assert [k for k, _ in rig.notifier.shown[-1].actions] == ["done", "snooze", "skip"]
    rig.click("Stretch now")
    assert len(rig.guide.opened) == 1
    # And on again.
    rig.path.write_text(CONFIG)
    rig.d._reload("test")
    rig.click("Stretch now")
    assert len(rig.guide.opened) == 2

"""Reminders of a real ``deskbreak run`` arrive on time and rotate through the stretches.

Timing is measured from when the bus carried each message (the test's monitor connection
stamps every ``Notify`` and signal as it sees it), never from what deskbreak says.
"""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from deskbreak.exercises import builtin_by_id
from tests.desktop_harness import Desktop
from tests.e2e_daemon import ACTION_KEYS, APP, RunningDaemon, settings_text

pytestmark = pytest.mark.desktop

INTERVAL = 1.0
MISSED_AFTER = 1.0
ON_TIME = 1.0  # each reminder comes within this many seconds of its due time
# Due times here are measured from earlier messages on the bus, which the test's monitor may
# stamp a little late when the machine is busy; so a reminder may look up to this early.
STAMP_LAG = 0.25
# "neck-flexion" twice in a row in the rotation: it must still never come twice in a row.
ROTATION = ["wall-stretch", "neck-flexion", "neck-flexion", "shoulder-roll"]
NAMES = {ex_id: ex.name for ex_id, ex in builtin_by_id().items()}


def test_unanswered_reminders_come_on_time_and_rotate(desktop: Desktop, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1s", missed_after="1s", exercises=ROTATION))
    desktop.reset_notifications()
    daemon = RunningDaemon(desktop, cfg, wait_for_item=False)
    try:
        shown = [daemon.notify(i) for i in range(5)]
        started = daemon.logged_at("deskbreak started")
    finally:
        daemon.stop()

    # The first one is due an interval after the start; each later one an interval after
    # the one before was missed (closed unanswered, ``missed_after`` after it showed).
    first_late = round(shown[0].time - started - INTERVAL, 3)
    assert 0 <= first_late < ON_TIME, first_late
    gaps = [round(b.time - a.time - MISSED_AFTER - INTERVAL, 3) for a, b in pairwise(shown)]
    assert all(-STAMP_LAG <= g < ON_TIME for g in gaps), gaps

    summaries = [n.summary for n in shown]
    assert summaries == [
        NAMES[e]
        for e in ("wall-stretch", "neck-flexion", "shoulder-roll", "wall-stretch", "neck-flexion")
    ]
    assert all(a != b for a, b in pairwise(summaries)), summaries
    for n in shown:
        assert n.app_name == APP
        assert n.body.strip()
        assert n.action_keys == ACTION_KEYS
        assert n.expire_timeout == int(MISSED_AFTER * 1000)
    # Each reminder replaces the one before instead of piling up on the screen.
    assert all(n.replaces_id in (0, prev.id) for prev, n in pairwise(shown))


def test_answered_reminders_come_one_interval_after_the_answer(
    desktop: Desktop, tmp_path: Path
) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(settings_text(interval="1s", exercises=ROTATION))
    desktop.reset_notifications()
    log = desktop.notifications
    assert log is not None
    daemon = RunningDaemon(desktop, cfg, wait_for_item=False)
    try:
        shown = [daemon.notify(0)]
        answers = []
        for i, key in enumerate(["done", "skip", "done", "skip"]):
            desktop.press_notification_action(key, shown[-1].id)
            answers.append(log.wait_for_signal("ActionInvoked", shown[-1].id, key))
            shown.append(daemon.notify(i + 1))
    finally:
        daemon.stop()

    gaps = [round(n.time - a.time - INTERVAL, 3) for a, n in zip(answers, shown[1:], strict=True)]
    assert all(-STAMP_LAG <= g < ON_TIME for g in gaps), gaps
    summaries = [n.summary for n in shown]
    assert summaries == [
        NAMES[e]
        for e in ("wall-stretch", "neck-flexion", "shoulder-roll", "wall-stretch", "neck-flexion")
    ]

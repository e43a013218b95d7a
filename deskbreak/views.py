"""What people see, made from the cycle's status: tray words, the status line, notices.

Pure functions of the values handed in (times are formatted in the local zone).
"""

from __future__ import annotations

from typing import Any

from deskbreak import cycle as c
from deskbreak.durations import humanize
from deskbreak.settings import Settings
from deskbreak.wallclock import clock_label

INTERVAL_CHOICES = (20 * 60, 30 * 60, 45 * 60, 60 * 60, 90 * 60)
SNOOZE_CHOICES = (5 * 60, 10 * 60, 15 * 60)

# The tray's countdown: minute by minute for the last NEAR seconds (3 min); before that, to
# the nearest STEP ("in about 35 min"). Every change of its words wakes deskbreak and the
# tray host (which asks for them), so a far-off stretch is not counted down every minute.
NEAR = 3 * 60
STEP = 5 * 60


def countdown(remaining: float) -> str:
    """The tray's words for the time left: "2 min" close by, "about 35 min" further away."""
    if remaining <= NEAR:
        return humanize(remaining)
    steps = -int(-(remaining / STEP - 0.5) // 1)  # nearest step; a half rounds down
    return f"about {humanize(steps * STEP)}"


def headline(status: c.Status, *, tray: bool = False) -> tuple[str, str]:
    """(tooltip, menu header) for a status: "Next: Neck flexion in 23 min" / "... at 14:05".

    ``tray``: the tray's words, which give a far-off time only roughly ("in about 35 min").
    """
    now = status.now
    name = status.exercise_name
    left = countdown if tray else humanize
    if status.held:
        text = f"Held: {name} ({status.held})"
        return text, text
    if status.state == "waiting" and status.next_at is not None:
        return (
            f"Next: {name} in {left(status.next_at - now)}",
            f"Next: {name} at {clock_label(status.next_at, now)}",
        )
    if status.state == "snoozed" and status.next_at is not None:
        return (
            f"Snoozed: {name} in {left(status.next_at - now)}",
            f"Snoozed: {name} until {clock_label(status.next_at, now)}",
        )
    if status.state == "due":
        return f"Time to stretch: {name}", f"Now: {name}"
    if status.state == "off-duty":
        if status.off_duty_until is not None:
            text = f"Off duty until {clock_label(status.off_duty_until, now)}"
        else:
            text = "Off duty"
        return text, text
    if status.pause_until is not None:
        text = f"Paused until {clock_label(status.pause_until, now)}"
        return text, text
    return "Paused", "Paused"


def status_summary(status: c.Status) -> str:
    """One line for people and status bars: "Next: Neck flexion in 23 min"."""
    return headline(status)[0]


def progress_words(done: int, goal: int) -> str:
    """ "Today: 5 of 8 stretches" """
    if goal <= 0:
        return f"Today: {done} done"
    return f"Today: {done} of {goal} {'stretch' if goal == 1 else 'stretches'}"


def progress_line(status: c.Status) -> str:
    return progress_words(status.done_today, status.daily_goal)


def tray_model(status: c.Status, settings: Settings, tray_module: Any) -> Any:
    """The tray's view of a status snapshot."""
    tooltip, header = headline(status, tray=True)
    r = settings.reminders
    answering = status.state in ("due", "snoozed")
    return tray_module.TrayModel(
        state=status.state,
        progress=status.progress,
        tooltip=tooltip,
        header=header,
        due=answering,
        paused=status.state == "paused",
        interval=r.interval,
        interval_choices=tuple(sorted({*INTERVAL_CHOICES, r.interval})),
        snooze_choices=tuple(sorted({*SNOOZE_CHOICES, r.snooze})),
        snooze_enabled=status.snooze_allowed or not answering,
        snooze_note=f"Snooze ({status.snooze_note})" if status.snooze_note else "",
        skip_enabled=status.skip_allowed or not answering,
        skip_note=f"Skip ({status.skip_note})" if status.skip_note else "",
        extra_header=progress_line(status),
    )


def next_refresh(status: c.Status) -> float | None:
    """When the tray's words ("in 23 min") next change, so it is redrawn then and only then."""
    if status.next_at is None or status.state not in ("waiting", "snoozed"):
        return None
    remaining = status.next_at - status.now
    if remaining > NEAR:
        # The next lower of NEAR and the half steps where the rounding changes.
        half = (-int(-(remaining - STEP / 2) // STEP) - 1) * STEP + STEP / 2
        return status.next_at - max(half, NEAR)
    if remaining <= 60:
        return None  # the due time itself is the next change
    minutes_shown = -(-remaining // 60)
    return status.next_at - (minutes_shown - 1) * 60


def reminder_text(action: c.Notify) -> tuple[str, str]:
    """(title, body) of a reminder's notification."""
    ex = action.exercise
    if action.routine is not None:
        title = f"{action.routine.name} ({humanize(action.total)})"
        names = [e.name for e in action.exercises]
        shown = names if len(names) <= 6 else [*names[:5], f"and {len(names) - 5} more"]
        body = f"{len(names)} exercises: " + ", ".join(shown) + "."
        return title, body
    return ex.name, ex.summary or (ex.steps[0] if ex.steps else "")

"""A made-up but plausible history of reminders, for the README's chart and the benchmark.

Deterministic for a given seed and end date: the same days, reminders and answers each time.
Written through deskbreak's own history store, the way the daemon writes it.
"""

from __future__ import annotations

import logging
import random
from datetime import date, datetime, timedelta
from pathlib import Path

from deskbreak.adapters.history import History
from deskbreak.cycle import Reminder

EXERCISES = (
    "wall-stretch",
    "neck-flexion",
    "shoulder-roll",
    "thoracic-extension",
    "trunk-rotation",
)


def write_sample(
    path: Path,
    *,
    end: date,
    days: int,
    seed: int = 7,
    start_hour: float = 9.0,
    end_hour: float = 17.5,
    interval: int = 40 * 60,
    weekends: bool = False,
    lunch: bool = True,
) -> int:
    """Write ``days`` days of history ending with ``end`` into ``path``; return the event
    count. The share of stretches done creeps up over the period, as it would for someone
    getting into the habit."""
    rng = random.Random(seed)
    h = History.open(path, logging.getLogger("sample"))
    rid = h.next_reminder_id()
    events = 0
    turn = 0
    try:
        with h.batch():
            for n in range(days):
                day = end - timedelta(days=days - 1 - n)
                if day.weekday() >= 5 and not weekends:
                    continue
                if not weekends and rng.random() < 0.04:
                    continue  # a day off
                progress = n / max(1, days - 1)
                p_done = 0.6 + 0.35 * progress
                midnight = datetime(day.year, day.month, day.day).timestamp()
                t = midnight + start_hour * 3600 + rng.randint(0, 900)
                stop = midnight + end_hour * 3600
                lunch_at = midnight + 12.5 * 3600 + rng.randint(-900, 900)
                had_lunch = not lunch
                while t < stop:
                    if not had_lunch and t >= lunch_at:
                        h.record(
                            "natural-break", t + 2400, None, f"lock {40 + rng.randint(0, 25)}m"
                        )
                        events += 1
                        had_lunch = True
                        t += 2400 + interval
                        continue
                    exercise = EXERCISES[turn % len(EXERCISES)]
                    turn += 1
                    r = Reminder(rid, exercise, due_at=t, shown_at=t)
                    rid += 1
                    h.record("shown", t, r)
                    events += 1
                    took = rng.uniform(4, 90)
                    roll = rng.random()
                    if roll < 0.05:
                        h.record("natural-break", t + 600, r, "idle 12m")
                    elif roll < 0.15:
                        h.record("missed", t + 300, r, "no answer")
                    elif roll < 0.15 + (1 - p_done) * 0.6:
                        h.record("skipped", t + took, r)
                    elif roll < 0.15 + (1 - p_done) * 0.6 + 0.12:
                        r = Reminder(r.id, exercise, due_at=t, shown_at=t, snoozes=1)
                        h.record("snoozed", t + took, r, "10m")
                        again = t + took + 600
                        r = Reminder(r.id, exercise, due_at=t, shown_at=again, snoozes=1)
                        h.record("shown", again, r)
                        h.record("done", again + rng.uniform(4, 40), r)
                        events += 2
                    else:
                        h.record("done", t + took, r)
                    events += 1
                    t += interval + rng.randint(0, 300)
    finally:
        h.close()
    return events

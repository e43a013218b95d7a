"""The guided window's state machine: which exercise, how long is left, what the answer is.

Pure: no I/O, no Tk, and it never reads the clock. The window (deskbreak/guide.py) passes
``now`` (seconds on a monotonic clock) to every call and draws what the model says.

How it works
------------
The window shows one exercise at a time with a countdown. A single stretch is a routine of
one. Each exercise gets a deadline (``now`` + its duration) when it starts, and the time left
is always computed from that deadline, never counted down tick by tick, so a late or missed
redraw cannot make the countdown drift.

State and transitions (an ``Ended`` answer is final; any call after it raises IllegalEvent
and changes nothing):

=========  ==================  ===============================================================
state      call                result
=========  ==================  ===============================================================
running    tick, time left     nothing
running    tick, time is up    not the last exercise: it counts as completed, the next one
                               starts with its own deadline (``Advanced``); the last one:
                               it counts as completed and the state becomes finished
                               (``TimeUp``)
running    done                not the last exercise: as above, the next one starts early;
                               the last one: ``Ended(done)``
running    snooze / skip       ``Ended(snoozed / skipped)``: the whole routine
running    close               ``Ended(skipped)``: closing before the end is skipping
finished   tick                nothing
finished   done / close        ``Ended(done, finished=True)``
finished   snooze / skip       ``Ended(snoozed / skipped, finished=True)``
=========  ==================  ===============================================================

One ``tick`` moves at most one exercise on, and the next exercise's deadline counts from
that tick: after a long stall the routine resumes where it was instead of rushing through
the exercises nobody did.

``completed`` lists, in order, the exercises of this window whose countdown ran out or on
which the user pressed Done; ``index`` in an answer is the exercise on screen at the end.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deskbreak.errors import IllegalEvent

OUTCOMES = ("done", "snoozed", "skipped")


@dataclass(frozen=True)
class GuideExercise:
    """What the window shows of one exercise."""

    id: str
    name: str
    duration: int  # seconds, > 0
    steps: tuple[str, ...] = ()
    equipment: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> GuideExercise:
        """Build from the JSON the daemon sends; raises ValueError naming the bad field."""
        if not isinstance(data, dict):
            raise ValueError(f"an exercise must be an object, not {data!r}")
        ex_id, name, duration = data.get("id"), data.get("name"), data.get("duration")
        if not isinstance(ex_id, str) or not ex_id:
            raise ValueError(f"exercise id must be a non-empty string, not {ex_id!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"exercise {ex_id}: name must be a non-empty string")
        if isinstance(duration, bool) or not isinstance(duration, int) or duration <= 0:
            raise ValueError(f"exercise {ex_id}: duration must be a whole number of seconds > 0")
        return cls(
            id=ex_id,
            name=name,
            duration=duration,
            steps=_strings(data.get("steps", []), f"exercise {ex_id}: steps"),
            equipment=_strings(data.get("equipment", []), f"exercise {ex_id}: equipment"),
        )


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(value)


@dataclass(frozen=True)
class Outcome:
    """The window's one final answer."""

    outcome: str  # one of OUTCOMES
    finished: bool  # the last countdown had run out
    completed: tuple[str, ...]  # ids, in the order they were completed
    index: int  # the exercise on screen at the end

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "finished": self.finished,
            "completed": list(self.completed),
            "index": self.index,
        }


@dataclass(frozen=True)
class Advanced:
    """The next exercise of the routine is on screen now, with a fresh countdown."""

    index: int


@dataclass(frozen=True)
class TimeUp:
    """The last countdown ran out: say so, and make Done the obvious next click."""


@dataclass(frozen=True)
class Ended:
    """The window's answer; the window closes."""

    outcome: Outcome


Change = Advanced | TimeUp | Ended


@dataclass(frozen=True)
class Payload:
    """The window program's input: ``{"title", "exercises", "start_index"}``."""

    title: str | None
    exercises: tuple[GuideExercise, ...]
    start_index: int = 0

    @classmethod
    def from_json(cls, data: Any) -> Payload:
        """Validate the JSON object read from stdin; raises ValueError saying what is wrong."""
        if not isinstance(data, dict):
            raise ValueError("the input must be a JSON object")
        title = data.get("title")
        if title is not None and not isinstance(title, str):
            raise ValueError("title must be a string or null")
        raw = data.get("exercises")
        if not isinstance(raw, list) or not raw:
            raise ValueError("exercises must be a non-empty list")
        exercises = tuple(GuideExercise.from_json(e) for e in raw)
        start = data.get("start_index", 0)
        if isinstance(start, bool) or not isinstance(start, int):
            raise ValueError("start_index must be a whole number")
        if not 0 <= start < len(exercises):
            raise ValueError(f"start_index {start} is outside 0..{len(exercises) - 1}")
        return cls(title=title or None, exercises=exercises, start_index=start)


class GuideModel:
    """One guided window's exercises, countdown and answer."""

    def __init__(
        self,
        exercises: Sequence[GuideExercise],
        now: float,
        *,
        title: str | None = None,
        start_index: int = 0,
    ) -> None:
        if not exercises:
            raise ValueError("a guide needs at least one exercise")
        if not 0 <= start_index < len(exercises):
            raise ValueError(f"start_index {start_index} is outside 0..{len(exercises) - 1}")
        self.exercises = tuple(exercises)
        self.title = title
        self.index = start_index
        self.deadline = now + self.exercises[start_index].duration
        self.finished = False
        self.completed: list[str] = []
        self.outcome: Outcome | None = None

    # -- what to show

    @property
    def current(self) -> GuideExercise:
        return self.exercises[self.index]

    @property
    def is_routine(self) -> bool:
        return self.title is not None or len(self.exercises) > 1

    @property
    def is_last(self) -> bool:
        return self.index == len(self.exercises) - 1

    @property
    def over(self) -> bool:
        return self.outcome is not None

    def remaining(self, now: float) -> int:
        """Whole seconds left on the countdown, rounded up (a fresh 60 s shows 60)."""
        if self.finished:
            return 0
        return max(0, math.ceil(self.deadline - now - 1e-9))

    def until_next_change(self, now: float) -> float:
        """Seconds until the shown countdown changes (or runs out): when to redraw next."""
        if self.finished:
            return 1.0
        left = self.deadline - now
        if left <= 0:
            return 0.0
        return left - math.floor(left - 1e-9)

    def progress(self) -> str | None:
        """ "3 of 8" in a routine, None for a single stretch."""
        if not self.is_routine:
            return None
        return f"{self.index + 1} of {len(self.exercises)}"

    def window_title(self) -> str:
        progress = self.progress()
        name = self.current.name
        return f"{name} — {progress}" if progress else name

    def up_next(self) -> GuideExercise | None:
        return None if self.is_last else self.exercises[self.index + 1]

    # -- events

    def tick(self, now: float) -> list[Change]:
        """The clock moved on: advance or say time is up when the countdown has run out."""
        self._require_open("tick")
        if self.finished or now < self.deadline:
            return []
        self._complete_current()
        if self.is_last:
            self.finished = True
            return [TimeUp()]
        return [self._advance(now)]

    def done(self, now: float) -> list[Change]:
        """Done (button or Enter): this exercise is done; the next one, or the end."""
        self._require_open("done")
        if self.finished:
            return [self._end("done")]
        self._complete_current()
        if self.is_last:
            return [self._end("done")]
        return [self._advance(now)]

    def snooze(self, now: float) -> list[Change]:
        """Snooze (button or S): the whole stretch or routine comes back later."""
        self._require_open("snooze")
        return [self._end("snoozed")]

    def skip(self, now: float) -> list[Change]:
        """Skip (button or Esc): the whole stretch or routine is skipped."""
        self._require_open("skip")
        return [self._end("skipped")]

    def close(self, now: float) -> list[Change]:
        """The window was closed: skipped, unless the last countdown had run out (done)."""
        self._require_open("close")
        return [self._end("done" if self.finished else "skipped")]

    # -- internals

    def _require_open(self, what: str) -> None:
        if self.outcome is not None:
            raise IllegalEvent(f"{what}: the guide has already ended ({self.outcome.outcome})")

    def _complete_current(self) -> None:
        self.completed.append(self.current.id)

    def _advance(self, now: float) -> Advanced:
        self.index += 1
        self.deadline = now + self.current.duration
        return Advanced(self.index)

    def _end(self, outcome: str) -> Ended:
        self.outcome = Outcome(
            outcome=outcome,
            finished=self.finished,
            completed=tuple(self.completed),
            index=self.index,
        )
        return Ended(self.outcome)

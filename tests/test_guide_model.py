"""The guided window's state machine, on a fake clock: every answer the window can give."""

from __future__ import annotations

import pytest

from deskbreak.errors import IllegalEvent
from deskbreak.exercises import DESK_ROTATION, WARM_UP, builtin_by_id
from deskbreak.guide_model import (
    Advanced,
    Ended,
    GuideExercise,
    GuideModel,
    Outcome,
    Payload,
    TimeUp,
)

T0 = 1000.0


def ex(id: str, duration: int = 30, name: str | None = None) -> GuideExercise:
    return GuideExercise(id=id, name=name or id.title(), duration=duration, steps=("Breathe.",))


def single(duration: int = 30) -> GuideModel:
    return GuideModel([ex("neck-flexion", duration, "Neck flexion")], T0)


def routine(*durations: int, title: str = "Routine") -> GuideModel:
    return GuideModel([ex(f"e{i}", d) for i, d in enumerate(durations)], T0, title=title)


def ended(changes: list[object]) -> Outcome:
    assert len(changes) == 1 and isinstance(changes[0], Ended), changes
    return changes[0].outcome


# -- a single stretch


def test_done_before_the_countdown_ends_is_done_not_finished() -> None:
    model = single(30)
    outcome = ended(model.done(T0 + 10))
    assert outcome == Outcome("done", finished=False, completed=("neck-flexion",), index=0)
    assert outcome.to_json() == {
        "outcome": "done",
        "finished": False,
        "completed": ["neck-flexion"],
        "index": 0,
    }


def test_closing_before_the_countdown_ends_is_skipped() -> None:
    model = single(30)
    assert model.tick(T0 + 29.9) == []
    assert ended(model.close(T0 + 29.9)) == Outcome("skipped", False, (), 0)


def test_closing_after_the_countdown_ended_is_done() -> None:
    model = single(30)
    assert model.tick(T0 + 30) == [TimeUp()]
    assert model.finished
    assert model.remaining(T0 + 31) == 0
    assert ended(model.close(T0 + 40)) == Outcome("done", True, ("neck-flexion",), 0)


def test_done_after_time_up_is_finished_done() -> None:
    model = single(30)
    model.tick(T0 + 31)
    assert ended(model.done(T0 + 35)) == Outcome("done", True, ("neck-flexion",), 0)


def test_snooze_and_skip_end_the_stretch_with_nothing_completed() -> None:
    assert ended(single().snooze(T0 + 5)) == Outcome("snoozed", False, (), 0)
    assert ended(single().skip(T0 + 5)) == Outcome("skipped", False, (), 0)


def test_skip_after_time_up_says_the_countdown_had_finished() -> None:
    model = single(30)
    model.tick(T0 + 30)
    assert ended(model.skip(T0 + 31)) == Outcome("skipped", True, ("neck-flexion",), 0)


def test_time_up_is_reported_once() -> None:
    model = single(30)
    assert model.tick(T0 + 30) == [TimeUp()]
    assert model.tick(T0 + 31) == []
    assert model.tick(T0 + 500) == []


@pytest.mark.parametrize("action", ["done", "snooze", "skip", "close", "tick"])
def test_any_call_after_the_answer_raises_and_changes_nothing(action: str) -> None:
    model = single(30)
    first = ended(model.snooze(T0 + 1))
    with pytest.raises(IllegalEvent):
        getattr(model, action)(T0 + 2)
    assert model.outcome == first
    assert model.completed == []


def test_a_single_stretch_shows_its_name_as_the_title_and_no_progress() -> None:
    model = single()
    assert model.window_title() == "Neck flexion"
    assert model.progress() is None
    assert not model.is_routine


# -- the countdown


def test_countdown_counts_from_the_deadline_and_rounds_up() -> None:
    model = single(60)
    assert model.remaining(T0) == 60
    assert model.remaining(T0 + 0.2) == 60
    assert model.remaining(T0 + 1.0) == 59
    assert model.remaining(T0 + 59.5) == 1
    assert model.remaining(T0 + 60) == 0
    assert model.remaining(T0 + 3600) == 0


def test_redraw_is_due_when_the_shown_second_changes() -> None:
    model = single(60)
    assert model.until_next_change(T0) == pytest.approx(1.0)
    assert model.until_next_change(T0 + 0.25) == pytest.approx(0.75)
    assert model.until_next_change(T0 + 59.5) == pytest.approx(0.5)
    assert model.until_next_change(T0 + 61) == 0.0


def test_a_late_tick_does_not_drift_the_countdown() -> None:
    # Ticks that come late (a busy or sleeping machine) still show the time left from the
    # deadline, not one second less per tick.
    model = single(60)
    for t in (T0 + 1.4, T0 + 7.9, T0 + 8.0):
        model.tick(t)
    assert model.remaining(T0 + 8.0) == 52


# -- routines


def test_routine_advances_by_itself_with_a_fresh_countdown_each() -> None:
    model = routine(10, 20, 5, title="Warm-up")
    assert model.window_title() == "E0 — 1 of 3"
    assert model.tick(T0 + 10) == [Advanced(1)]
    assert model.index == 1
    assert model.progress() == "2 of 3"
    assert model.window_title() == "E1 — 2 of 3"
    assert model.remaining(T0 + 10) == 20
    assert model.tick(T0 + 29.9) == []
    assert model.tick(T0 + 30.5) == [Advanced(2)]
    assert model.remaining(T0 + 30.5) == 5
    assert model.tick(T0 + 35.5) == [TimeUp()]
    assert ended(model.close(T0 + 40)) == Outcome("done", True, ("e0", "e1", "e2"), 2)


def test_routine_moves_at_most_one_exercise_per_tick() -> None:
    # After a long stall the routine goes on where it was; nobody did the others.
    model = routine(10, 10, 10)
    assert model.tick(T0 + 600) == [Advanced(1)]
    assert model.remaining(T0 + 600) == 10
    assert model.completed == ["e0"]


def test_done_in_a_routine_moves_on_early_and_ends_on_the_last() -> None:
    model = routine(30, 30, 30)
    assert model.done(T0 + 3) == [Advanced(1)]
    assert model.remaining(T0 + 3) == 30
    assert model.done(T0 + 5) == [Advanced(2)]
    assert ended(model.done(T0 + 6)) == Outcome("done", False, ("e0", "e1", "e2"), 2)


def test_snooze_in_a_routine_snoozes_the_whole_routine() -> None:
    model = routine(10, 10, 10)
    model.tick(T0 + 10)
    assert ended(model.snooze(T0 + 12)) == Outcome("snoozed", False, ("e0",), 1)


def test_skip_in_a_routine_skips_the_rest_and_keeps_what_was_done() -> None:
    model = routine(10, 10, 10)
    model.tick(T0 + 10)
    model.tick(T0 + 20)
    assert ended(model.skip(T0 + 21)) == Outcome("skipped", False, ("e0", "e1"), 2)


def test_closing_a_routine_midway_is_skipped() -> None:
    model = routine(10, 10)
    model.tick(T0 + 10)
    assert ended(model.close(T0 + 11)) == Outcome("skipped", False, ("e0",), 1)


def test_a_routine_can_start_further_on() -> None:
    model = GuideModel([ex("a"), ex("b"), ex("c")], T0, title="R", start_index=1)
    assert model.progress() == "2 of 3"
    assert model.up_next() == ex("c")
    model.done(T0)
    assert model.up_next() is None
    assert ended(model.done(T0)).completed == ("b", "c")


def test_the_same_exercise_twice_in_a_routine_counts_twice() -> None:
    model = GuideModel([ex("roll", 5), ex("roll", 5)], T0, title="Rolls")
    model.tick(T0 + 5)
    model.tick(T0 + 10)
    assert ended(model.done(T0 + 11)).completed == ("roll", "roll")


def test_the_seed_routine_shows_eight_steps() -> None:
    catalogue = builtin_by_id()
    ids = [*WARM_UP, *DESK_ROTATION]
    exercises = [
        GuideExercise(c.id, c.name, c.duration, c.steps, c.equipment)
        for c in (catalogue[i] for i in ids)
    ]
    model = GuideModel(exercises, T0, title="Warm-up and desk stretches", start_index=2)
    assert model.progress() == "3 of 8"
    assert model.window_title() == f"{catalogue[ids[2]].name} — 3 of 8"


def test_bad_start_index_is_refused() -> None:
    with pytest.raises(ValueError, match="start_index 3"):
        GuideModel([ex("a")], T0, start_index=3)
    with pytest.raises(ValueError):
        GuideModel([], T0)


# -- the program's input


def test_payload_from_json() -> None:
    payload = Payload.from_json(
        {
            "title": None,
            "exercises": [
                {
                    "id": "thoracic-extension",
                    "name": "Thoracic extension",
                    "steps": ["Lie back.", "Breathe."],
                    "equipment": ["foam roller"],
                    "duration": 45,
                }
            ],
            "start_index": 0,
        }
    )
    assert payload.title is None
    assert payload.exercises == (
        GuideExercise(
            "thoracic-extension",
            "Thoracic extension",
            45,
            ("Lie back.", "Breathe."),
            ("foam roller",),
        ),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "JSON object"),
        ({"exercises": []}, "non-empty list"),
        ({"exercises": [{"id": "a", "name": "A", "duration": 0}]}, "duration"),
        ({"exercises": [{"id": "a", "name": "A", "duration": True}]}, "duration"),
        ({"exercises": [{"id": "", "name": "A", "duration": 5}]}, "id"),
        ({"exercises": [{"id": "a", "name": "A", "duration": 5, "steps": "x"}]}, "steps"),
        ({"exercises": [{"id": "a", "name": "A", "duration": 5}], "start_index": 1}, "outside"),
        ({"title": 3, "exercises": [{"id": "a", "name": "A", "duration": 5}]}, "title"),
    ],
)
def test_payload_errors_say_what_is_wrong(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Payload.from_json(data)

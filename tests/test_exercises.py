"""The stretch catalogue: every exercise the source article names, and the rotation picker."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbreak.exercises import (
    CATALOGUE,
    CATEGORIES,
    DESK_ROTATION,
    SAFETY_NOTE,
    WARM_UP,
    Exercise,
    builtin_by_id,
    catalogue_with,
    pick_next,
    routine_total,
)

# Every exercise the source article names, with the category it is listed under.
SEED_IDS = {
    "march-in-place": "warm-up",
    "heel-dig": "warm-up",
    "knee-lift": "warm-up",
    "warm-up-shoulder-rolls": "warm-up",
    "knee-bends": "warm-up",
    "trunk-rotation": "dynamic",
    "overhead-arm-reach": "dynamic",
    "wall-stretch": "desk",
    "neck-flexion": "desk",
    "shoulder-roll": "desk",
    "childs-pose": "static",
    "childs-pose-arms-back": "static",
    "thread-the-needle": "static",
    "thoracic-extension": "static",
}

# The article's own words for each exercise; someone scanning the list must find each one.
SEED_NAME_KEYWORDS = (
    "march",
    "heel dig",
    "knee lift",
    "shoulder roll",
    "knee bend",
    "trunk rotation",
    "overhead arm reach",
    "child's pose",
    "wall stretch",
    "neck flexion",
    "arms back",
    "thread the needle",
    "thoracic extension",
)

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def by_id() -> dict[str, Exercise]:
    return builtin_by_id()


# --- the catalogue -----------------------------------------------------------------------


def test_every_seed_exercise_is_present_by_id_with_its_category() -> None:
    catalogue = by_id()
    missing = sorted(set(SEED_IDS) - set(catalogue))
    assert missing == []
    for exercise_id, category in SEED_IDS.items():
        assert catalogue[exercise_id].category == category, exercise_id


@pytest.mark.parametrize("keyword", SEED_NAME_KEYWORDS)
def test_every_seed_exercise_can_be_found_by_name(keyword: str) -> None:
    names = [e.name.lower() for e in CATALOGUE]
    assert any(keyword in name for name in names), f"no exercise named like {keyword!r}"


def test_both_shoulder_rolls_are_listed_separately() -> None:
    # The article has shoulder rolls in the warm-up and a shoulder roll among desk stretches.
    rolls = [e for e in CATALOGUE if "shoulder roll" in e.name.lower()]
    assert {e.category for e in rolls} == {"warm-up", "desk"}


def test_ids_are_unique_and_kebab_case() -> None:
    ids = [e.id for e in CATALOGUE]
    assert len(ids) == len(set(ids))
    for exercise_id in ids:
        assert KEBAB.match(exercise_id), exercise_id


def test_names_are_unique_and_non_empty() -> None:
    names = [e.name for e in CATALOGUE]
    assert all(name.strip() for name in names)
    assert len(names) == len(set(names))


def test_every_category_is_known_and_used() -> None:
    assert {e.category for e in CATALOGUE} == set(CATEGORIES)


def test_catalogue_is_grouped_in_category_order() -> None:
    order = [CATEGORIES.index(e.category) for e in CATALOGUE]
    assert order == sorted(order)


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_steps_are_three_to_six_full_sentences(exercise: Exercise) -> None:
    assert 3 <= len(exercise.steps) <= 6
    for step in exercise.steps:
        assert step == step.strip()
        assert step[0].isupper(), step
        assert step.endswith("."), step
        assert len(step.split()) >= 4, step
        assert len(step) <= 120, step


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_summary_is_one_short_line(exercise: Exercise) -> None:
    assert exercise.summary.strip()
    assert "\n" not in exercise.summary
    assert len(exercise.summary) <= 90


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_duration_is_positive_and_plausible(exercise: Exercise) -> None:
    assert isinstance(exercise.duration, int)
    assert 10 <= exercise.duration <= 180


@pytest.mark.parametrize("exercise", CATALOGUE, ids=lambda e: e.id)
def test_built_ins_are_not_marked_custom(exercise: Exercise) -> None:
    assert exercise.custom is False


@pytest.mark.parametrize(
    "exercise", [e for e in CATALOGUE if e.category != "warm-up"], ids=lambda e: e.id
)
def test_every_stretch_tells_the_user_to_take_it_easy(exercise: Exercise) -> None:
    text = " ".join(exercise.steps).lower()
    assert any(cue in text for cue in ("breath", "gently", "slowly", "comfortable", "stop"))


def test_no_step_tells_the_user_to_bounce() -> None:
    for exercise in CATALOGUE:
        for step in exercise.steps:
            lowered = step.lower()
            if "bounc" in lowered:
                assert "without bouncing" in lowered or "never bounce" in lowered, step


@pytest.mark.parametrize("exercise_id", ["wall-stretch", "neck-flexion", "shoulder-roll"])
def test_desk_stretches_need_nothing_but_the_desk(exercise_id: str) -> None:
    exercise = by_id()[exercise_id]
    assert exercise.desk is True
    assert exercise.equipment == ()
    assert 30 <= exercise.duration <= 60


def test_thoracic_extension_needs_a_foam_roller_or_yoga_block() -> None:
    exercise = by_id()["thoracic-extension"]
    gear = " ".join(exercise.equipment).lower()
    assert "foam roller" in gear
    assert "yoga block" in gear
    assert exercise.desk is False


@pytest.mark.parametrize(
    "exercise_id", ["childs-pose", "childs-pose-arms-back", "thread-the-needle"]
)
def test_floor_poses_are_not_offered_as_desk_stretches(exercise_id: str) -> None:
    assert by_id()[exercise_id].desk is False


def test_arms_back_variation_rests_arms_beside_thighs_palms_up() -> None:
    text = " ".join(by_id()["childs-pose-arms-back"].steps).lower()
    assert "beside your thighs" in text
    assert "palms facing up" in text


def test_thread_the_needle_twists_both_ways() -> None:
    text = " ".join(by_id()["thread-the-needle"].steps).lower()
    assert "right arm" in text
    assert "left arm" in text
    assert "head" in text
    assert "other side" in text


def test_desk_rotation_names_desk_exercises_only() -> None:
    catalogue = by_id()
    assert DESK_ROTATION
    for exercise_id in DESK_ROTATION:
        assert exercise_id in catalogue
        assert catalogue[exercise_id].desk is True


def test_safety_note_says_warm_up_and_when_to_see_a_doctor() -> None:
    note = SAFETY_NOTE.lower()
    for phrase in ("warm up", "doctor", "severe", "persistent", "other symptoms"):
        assert phrase in note, phrase


# --- the warm-up -------------------------------------------------------------------------


def test_warm_up_lists_the_seed_moves_in_order() -> None:
    assert WARM_UP == (
        "march-in-place",
        "heel-dig",
        "knee-lift",
        "warm-up-shoulder-rolls",
        "knee-bends",
    )
    assert all(by_id()[i].category == "warm-up" for i in WARM_UP)


def test_warm_up_takes_about_six_minutes() -> None:
    total = routine_total(WARM_UP, by_id())
    assert 5 * 60 <= total <= 7 * 60


def test_routine_total_adds_durations() -> None:
    catalogue = by_id()
    expected = catalogue["neck-flexion"].duration * 2 + catalogue["wall-stretch"].duration
    assert routine_total(["neck-flexion", "wall-stretch", "neck-flexion"], catalogue) == expected
    assert routine_total([], catalogue) == 0


def test_routine_total_rejects_unknown_ids() -> None:
    with pytest.raises(KeyError):
        routine_total(["no-such-stretch"], by_id())


# --- custom exercises --------------------------------------------------------------------


def test_catalogue_with_custom_replaces_a_built_in() -> None:
    mine = replace(by_id()["neck-flexion"], name="My neck stretch", duration=20, custom=True)
    merged = catalogue_with([mine])
    assert merged["neck-flexion"].name == "My neck stretch"
    assert merged["neck-flexion"].custom is True
    assert len(merged) == len(CATALOGUE)
    # The built-ins themselves are untouched.
    assert by_id()["neck-flexion"].name == "Neck flexion"
    assert builtin_by_id()["neck-flexion"].custom is False


def test_catalogue_with_custom_adds_new_exercises_after_built_ins() -> None:
    mine = Exercise(
        id="wrist-circles",
        name="Wrist circles",
        category="desk",
        duration=30,
        desk=True,
        steps=("Circle both wrists slowly.", "Reverse the direction."),
        summary="Circle your wrists slowly, then reverse.",
        custom=True,
    )
    merged = catalogue_with([mine])
    assert list(merged)[-1] == "wrist-circles"
    assert merged["wrist-circles"] is mine
    assert set(builtin_by_id()) <= set(merged)
    assert "wrist-circles" not in builtin_by_id()


def test_catalogue_with_nothing_is_the_built_ins() -> None:
    assert catalogue_with([]) == builtin_by_id()


# --- picking the next stretch ------------------------------------------------------------


def test_pick_next_goes_round_robin_from_the_position() -> None:
    rotation = ["a", "b", "c"]
    assert pick_next(rotation, None, 0) == ("a", 1)
    assert pick_next(rotation, "a", 1) == ("b", 2)
    assert pick_next(rotation, "b", 2) == ("c", 0)
    assert pick_next(rotation, "c", 0) == ("a", 1)


def test_pick_next_wraps_an_out_of_range_position() -> None:
    assert pick_next(["a", "b", "c"], None, 4) == ("b", 2)
    assert pick_next(["a", "b", "c"], None, -1) == ("c", 0)


def test_pick_next_skips_the_last_one() -> None:
    assert pick_next(["a", "a", "b"], "a", 1) == ("b", 0)
    assert pick_next(["a", "b", "c"], "b", 1) == ("c", 0)


def test_pick_next_with_one_exercise_repeats_it() -> None:
    assert pick_next(["neck-flexion"], "neck-flexion", 0) == ("neck-flexion", 0)
    assert pick_next(["a", "a"], "a", 1) == ("a", 0)


def test_pick_next_rejects_an_empty_rotation() -> None:
    with pytest.raises(ValueError, match="empty"):
        pick_next([], None, 0)


def run_rotation(rotation: list[str], last: str | None, position: int, rounds: int) -> list[str]:
    picked: list[str] = []
    for _ in range(rounds):
        last, position = pick_next(rotation, last, position)
        assert 0 <= position < len(rotation)
        picked.append(last)
    return picked


def test_adjacent_duplicates_never_repeat_and_every_id_is_visited() -> None:
    picked = run_rotation(["a", "a", "b"], None, 0, 50)
    assert all(x != y for x, y in pairwise(picked))
    assert set(picked) == {"a", "b"}


def test_desk_rotation_visits_every_desk_stretch_without_repeats() -> None:
    picked = run_rotation(list(DESK_ROTATION), None, 0, 30)
    assert all(x != y for x, y in pairwise(picked))
    assert picked[:3] == list(DESK_ROTATION)


@given(
    rotation=st.lists(st.sampled_from("abcd"), min_size=1, max_size=8),
    last=st.none() | st.sampled_from("abcd"),
    position=st.integers(min_value=-50, max_value=50),
)
def test_never_twice_in_a_row_and_every_id_visited(
    rotation: list[str], last: str | None, position: int
) -> None:
    rounds = 4 * len(rotation) + 4
    picked = run_rotation(rotation, last, position, rounds)
    distinct = set(rotation)
    assert set(picked) <= distinct
    if len(distinct) > 1:
        history = [last, *picked]
        assert all(x != y for x, y in pairwise(history))
        # Every id turns up within two passes over the rotation.
        assert set(picked[: 2 * len(rotation)]) == distinct
    else:
        assert picked == [rotation[0]] * rounds

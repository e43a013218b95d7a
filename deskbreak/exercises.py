"""The stretch catalogue and how the next stretch is picked. Pure: no I/O.

How it works
------------
``CATALOGUE`` holds every built-in exercise, grouped by category in the order a routine
runs: the warm-up moves first, then dynamic stretches, desk stretches and static stretches.
Each entry carries a short ``summary`` for a notification body and a few plain ``steps``
for the full instructions.

The daemon keeps a rotation (a list of exercise ids from the settings) and a position in it.
``pick_next`` walks that rotation round-robin and never suggests the same stretch twice in a
row when there is anything else to suggest. Custom exercises from the settings are merged in
with ``catalogue_with``; a custom entry with a built-in id replaces the built-in one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

CATEGORIES = ("warm-up", "dynamic", "desk", "static")

DESK_ROTATION: tuple[str, ...] = ("wall-stretch", "neck-flexion", "shoulder-roll")

SAFETY_NOTE = (
    "Warm up before you stretch. Move slowly, breathe, never bounce, and stop if it hurts. "
    "See a doctor if back pain is severe or persistent, or comes with other symptoms."
)


@dataclass(frozen=True)
class Exercise:
    id: str
    name: str
    category: str  # one of CATEGORIES (custom exercises may use any of them)
    duration: int  # seconds
    desk: bool  # can be done at or beside a desk, in office clothes
    equipment: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()
    summary: str = ""  # one short line for a notification body
    custom: bool = field(default=False, compare=False)


# The warm-up: about six minutes in all (90 + 60 + 60 + 60 + 90 seconds).
_WARM_UP_EXERCISES = (
    Exercise(
        id="march-in-place",
        name="Marching in place with arm pumps",
        category="warm-up",
        duration=90,
        desk=True,
        steps=(
            "Stand tall beside your desk with your feet hip-width apart.",
            "March on the spot, lifting each foot a little off the floor in turn.",
            "Pump your arms up and down in time with your steps, elbows bent and fists loose.",
            "Keep a steady, comfortable pace and breathe normally.",
        ),
        summary="March on the spot, pumping your bent arms in time with your steps.",
    ),
    Exercise(
        id="heel-dig",
        name="Heel dig",
        category="warm-up",
        duration=60,
        desk=True,
        steps=(
            "Stand tall with your feet hip-width apart and your hands on your hips.",
            "Step one foot forward and touch the heel to the floor with the toes pointing up.",
            "Bring that foot back beside the other one.",
            "Repeat with the other foot and keep alternating at an easy rhythm.",
        ),
        summary="Tap one heel forward, toes up, then the other; keep an easy rhythm.",
    ),
    Exercise(
        id="knee-lift",
        name="Knee lift",
        category="warm-up",
        duration=60,
        desk=True,
        steps=(
            "Stand tall and hold the back of a steady chair or the desk if you need balance.",
            "Lift one knee towards hip height, only as high as feels comfortable.",
            "Lower the foot back to the floor with control.",
            "Lift the other knee and keep alternating while you breathe steadily.",
        ),
        summary="Lift one knee towards hip height, lower it, then the other knee.",
    ),
    Exercise(
        id="warm-up-shoulder-rolls",
        name="Shoulder rolls (warm-up)",
        category="warm-up",
        duration=60,
        desk=True,
        steps=(
            "Stand tall with your arms hanging loosely by your sides.",
            "Lift your shoulders up towards your ears, then roll them back and down.",
            "Make about ten slow, smooth circles backwards.",
            "Reverse and make about ten circles forwards.",
        ),
        summary="Roll your shoulders up, back and down in slow circles, then forwards.",
    ),
    Exercise(
        id="knee-bends",
        name="Knee bends",
        category="warm-up",
        duration=90,
        desk=True,
        steps=(
            "Stand with your feet hip-width apart, holding the desk or a chair if you like.",
            "Bend your knees a little, keeping your heels down and your back straight.",
            "Keep your knees in line with your toes and go only as low as is comfortable.",
            "Straighten your legs slowly and repeat at a steady pace.",
        ),
        summary="Bend your knees a little with heels down, then straighten; repeat.",
    ),
)

_DYNAMIC_EXERCISES = (
    Exercise(
        id="trunk-rotation",
        name="Trunk rotation",
        category="dynamic",
        duration=60,
        desk=True,
        steps=(
            "Sit tall in your chair with both feet flat on the floor.",
            "Cross your arms over your chest with your hands resting on your shoulders.",
            "Slowly turn your upper body to the right as far as is comfortable, hips facing "
            "forward.",
            "Return to the centre and turn to the left the same way.",
            "Repeat about five times each side, moving smoothly without bouncing.",
        ),
        summary="Sit tall, arms crossed, and slowly turn your upper body to each side.",
    ),
    Exercise(
        id="overhead-arm-reach",
        name="Overhead arm reach",
        category="dynamic",
        duration=60,
        desk=True,
        steps=(
            "Sit or stand tall with your shoulders relaxed.",
            "Raise your right arm overhead and reach up and over to the left.",
            "Lean gently to the left until you feel a stretch along your right side.",
            "Come back to upright, lower the arm and repeat with the left arm to the right.",
            "Breathe out as you reach and keep the movement slow and smooth.",
        ),
        summary="Reach one arm up and over your head, lean gently, then switch sides.",
    ),
)

_DESK_EXERCISES = (
    Exercise(
        id="wall-stretch",
        name="Wall stretch",
        category="desk",
        duration=45,
        desk=True,
        steps=(
            "Stand facing a wall, a little more than arm's length away.",
            "Place your palms flat on the wall at about shoulder height.",
            "Step back and hinge at the hips so your chest sinks gently towards the floor.",
            "Keep your back flat and hold for about 30 seconds, breathing slowly.",
            "Walk your feet back in and stand up slowly.",
        ),
        summary="Hands on a wall, step back and let your chest sink gently; hold and breathe.",
    ),
    Exercise(
        id="neck-flexion",
        name="Neck flexion",
        category="desk",
        duration=30,
        desk=True,
        steps=(
            "Sit tall in your chair with your shoulders relaxed.",
            "Slowly lower your chin towards your chest until you feel a stretch in your neck.",
            "Hold for 15 to 30 seconds and breathe; do not pull on your head.",
            "Lift your head back up slowly.",
        ),
        summary="Sit tall and slowly lower your chin towards your chest; hold and breathe.",
    ),
    Exercise(
        id="shoulder-roll",
        name="Shoulder roll",
        category="desk",
        duration=30,
        desk=True,
        steps=(
            "Sit or stand tall with your arms relaxed at your sides.",
            "Lift your shoulders towards your ears.",
            "Squeeze your shoulder blades together and roll your shoulders back and down.",
            "Repeat about ten times slowly, breathing steadily.",
        ),
        summary="Lift your shoulders to your ears, then roll them back and down; repeat.",
    ),
)

# The source article describes "this yoga pose" under both dynamic and static stretches; the
# static one is clearly child's pose, as its two variations follow it. Child's pose is a held
# pose, so it lives under "static" next to those variations, where a reader looks for them.
# The article also has one dynamic "stretch" whose name did not survive; it is left out
# rather than guessed.
_STATIC_EXERCISES = (
    Exercise(
        id="childs-pose",
        name="Child's pose (yoga)",
        category="static",
        duration=60,
        desk=False,
        equipment=("floor space or a mat",),
        steps=(
            "Kneel on the floor with your big toes touching and your knees apart.",
            "Sit your hips back towards your heels.",
            "Fold forward and walk your hands out in front of you, palms down.",
            "Rest your forehead on the floor or a cushion and let your back relax.",
            "Hold for up to a minute, breathing slowly, and come up gently.",
        ),
        summary="Kneel, sit back on your heels and fold forward with arms outstretched.",
    ),
    Exercise(
        id="childs-pose-arms-back",
        name="Child's pose with arms back",
        category="static",
        duration=45,
        desk=False,
        equipment=("floor space or a mat",),
        steps=(
            "Kneel and sit your hips back towards your heels, as for child's pose.",
            "Fold forward and rest your forehead on the floor or a cushion.",
            "Bring your arms back to rest beside your thighs with the palms facing up.",
            "Let your shoulders drop towards the floor and breathe slowly while you hold.",
        ),
        summary="Child's pose with your arms back beside your thighs, palms up.",
    ),
    Exercise(
        id="thread-the-needle",
        name="Thread the needle (child's pose twist)",
        category="static",
        duration=60,
        desk=False,
        equipment=("floor space or a mat",),
        steps=(
            "Start in child's pose with both arms stretched forward.",
            "Keep your right arm reaching forward along the floor.",
            "Thread your left arm under your right arm and out to the side, palm up.",
            "Turn your head to face the threaded arm and hold the gentle twist as you breathe.",
            "Come back to the centre slowly and repeat on the other side.",
        ),
        summary="From child's pose, thread one arm under the other for a gentle twist.",
    ),
    Exercise(
        id="thoracic-extension",
        name="Thoracic extension",
        category="static",
        duration=60,
        desk=False,
        equipment=("foam roller or yoga block",),
        steps=(
            "Lie on your back with a foam roller or yoga block across your upper back.",
            "Bend your knees with your feet flat, and support your head with your hands.",
            "Keep your hips on the floor and let your upper back arch gently over the roller.",
            "Hold for a few breaths, then lift back up; never roll under your lower back.",
            "Stop at once if you feel any sharp pain.",
        ),
        summary="Lie back over a foam roller or yoga block and let your upper back open.",
    ),
)

CATALOGUE: tuple[Exercise, ...] = (
    _WARM_UP_EXERCISES + _DYNAMIC_EXERCISES + _DESK_EXERCISES + _STATIC_EXERCISES
)

# The warm-up ids in the order the routine runs them.
WARM_UP: tuple[str, ...] = tuple(e.id for e in _WARM_UP_EXERCISES)


def builtin_by_id() -> dict[str, Exercise]:
    """Return the built-in exercises keyed by id, in catalogue order (a fresh dict)."""
    return {e.id: e for e in CATALOGUE}


def catalogue_with(custom: Sequence[Exercise]) -> dict[str, Exercise]:
    """Return built-ins plus ``custom``, keyed by id.

    A custom exercise whose id equals a built-in id replaces the built-in one (keeping its
    place); new ids follow the built-ins in the order given. If ``custom`` repeats an id, the
    last one wins.
    """
    merged = builtin_by_id()
    for exercise in custom:
        merged[exercise.id] = exercise
    return merged


def pick_next(rotation: Sequence[str], last: str | None, position: int) -> tuple[str, int]:
    """Pick the next exercise id from ``rotation`` round-robin.

    Starts at ``position`` (taken modulo the rotation's length) and skips forward past ids
    equal to ``last``, so the same id never comes twice in a row while the rotation holds
    any other id. If every id equals ``last`` that id is returned. Returns the id and the
    position to pass next time. Raises ValueError if ``rotation`` is empty.
    """
    size = len(rotation)
    if size == 0:
        raise ValueError("the rotation is empty; it needs at least one exercise id")
    start = position % size
    for step in range(size):
        index = (start + step) % size
        if rotation[index] != last:
            return rotation[index], (index + 1) % size
    return rotation[start], (start + 1) % size


def routine_total(ids: Sequence[str], catalogue: Mapping[str, Exercise]) -> int:
    """Return the total duration of ``ids`` in seconds; raises KeyError for an unknown id."""
    return sum(catalogue[i].duration for i in ids)

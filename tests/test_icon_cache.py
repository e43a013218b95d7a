"""The tray's picture cache: drawn once by another process, read without Pillow, always right.

Every test uses real files: the cache is drawn by the real drawing process
(``python -m deskbreak.adapters.icon_cache PATH``), and the pictures read back are compared
with deskbreak's own drawing converted here to ARGB.
"""

from __future__ import annotations

import logging
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

import deskbreak.icon
from deskbreak.adapters import icon_cache
from deskbreak.adapters.icon_cache import SIZES, STEPS, TrayIcons, key
from deskbreak.icon import STATES, draw_icon

DEADLINE = 60.0
LOG = logging.getLogger("test-icon-cache")
CACHE_WARNINGS = "tray icon cache"

Pixmap = tuple[int, int, bytes]


def argb(im: Image.Image) -> bytes:
    """An RGBA picture's pixels as A, R, G, B bytes (what a StatusNotifierItem host reads)."""
    assert im.mode == "RGBA"
    rgba = im.tobytes()
    out = bytearray(len(rgba))
    out[0::4] = rgba[3::4]
    out[1::4] = rgba[0::4]
    out[2::4] = rgba[1::4]
    out[3::4] = rgba[2::4]
    return bytes(out)


def expected(state: str, progress: float) -> list[Pixmap]:
    """What the tray must show: deskbreak's drawing at the quantised progress, every size."""
    shown = deskbreak.icon.progress_steps(progress, STEPS)
    return [(size, size, argb(draw_icon(state, shown, size))) for size in SIZES]


def wait_for(pred: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


class Ready:
    """An on_ready callback that counts its calls and can be waited for."""

    def __init__(self) -> None:
        self.calls = 0
        self.event = threading.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()

    def wait(self) -> None:
        assert self.event.wait(DEADLINE), "on_ready was not called"


def drawn(cache_dir: Path) -> TrayIcons:
    """A TrayIcons whose cache has been drawn by the real subprocess into ``cache_dir``."""
    icons = TrayIcons(LOG, cache_dir)
    ready = Ready()
    if not icons.prepare(ready):
        ready.wait()
    return icons


@pytest.fixture(scope="module")
def master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache file drawn by the real drawing process; tests copy it."""
    folder = tmp_path_factory.mktemp("master")
    r = subprocess.run(
        [sys.executable, "-m", "deskbreak.adapters.icon_cache", str(folder / "icons.bin")],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert r.returncode == 0, r.stderr
    return folder / "icons.bin"


@pytest.fixture
def cache_dir(tmp_path: Path, master: Path) -> Iterator[Path]:
    """A cache folder holding a ready cache file under its real name."""
    folder = tmp_path / "cache"
    folder.mkdir()
    shutil.copyfile(master, folder / icon_cache.file_name())
    yield folder


# -- what is in the file ----------------------------------------------------------------------


def test_the_drawing_process_fills_the_cache_with_deskbreaks_own_pictures(tmp_path: Path) -> None:
    icons = TrayIcons(LOG, tmp_path / "cache")
    assert icons.path.parent == tmp_path / "cache"
    assert not icons.path.exists()
    ready = Ready()
    assert icons.prepare(ready) is False
    ready.wait()
    assert ready.calls == 1
    assert icons.path.is_file()
    for state in STATES:
        for step in range(STEPS + 1):
            progress = step / STEPS
            assert icons.get(state, progress) == expected(state, progress), (state, step)


def test_a_progress_shows_its_step_and_the_ring_grows(cache_dir: Path) -> None:
    icons = TrayIcons(LOG, cache_dir)
    assert icons.prepare(Ready()) is True
    assert key("waiting", 0.3) == ("waiting", 0.25)
    assert key("waiting", 1.7) == ("waiting", 1.0)
    for state, progress in [("waiting", 0.3), ("snoozed", 0.99), ("due", 0.5), ("waiting", -1)]:
        got = icons.get(state, progress)
        assert got == expected(state, progress), (state, progress)
        assert [(w, h, len(b)) for w, h, b in got] == [(s, s, s * s * 4) for s in SIZES]
    # Pictures of different steps differ: the cache does not hand out one picture for all.
    assert icons.get("waiting", 0.3) != icons.get("waiting", 0.6)
    assert icons.get("waiting", 0.26) == icons.get("waiting", 0.3)  # the same step


def test_unknown_state_gives_no_picture_and_does_not_spoil_the_cache(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    icons = TrayIcons(LOG, cache_dir)
    assert icons.prepare(Ready())
    assert icons.get("sleeping", 0.5) == []
    assert icons.get("due", 0.0) == expected("due", 0.0)
    assert not [r for r in caplog.records if CACHE_WARNINGS in r.getMessage()]


# -- preparing --------------------------------------------------------------------------------


def test_get_is_none_while_drawing_then_ready_for_everyone(tmp_path: Path) -> None:
    icons = TrayIcons(LOG, tmp_path)
    first, second = Ready(), Ready()
    assert icons.prepare(first) is False
    assert icons.get("waiting", 0.5) is None  # still being drawn
    assert icons.prepare(second) is False  # not a second drawing: both are told
    first.wait()
    second.wait()
    assert (first.calls, second.calls) == (1, 1)
    assert icons.get("waiting", 0.5) == expected("waiting", 0.5)
    assert icons.prepare(Ready()) is True  # the second time, ready at once
    assert TrayIcons(LOG, tmp_path).prepare(Ready()) is True  # a new daemon: ready at once
    assert [p.name for p in tmp_path.iterdir()] == [icons.path.name]  # no temporary file left


def test_the_default_folder_is_the_users_cache_folder(tmp_path: Path) -> None:
    from platformdirs import user_cache_path

    icons = TrayIcons(LOG)
    assert icons.path.parent == user_cache_path("deskbreak", appauthor=False)


def test_a_failed_drawing_still_calls_on_ready_and_pictures_are_drawn_here(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the cache folder should be")
    icons = TrayIcons(LOG, blocked)
    ready = Ready()
    with caplog.at_level(logging.WARNING):
        assert icons.prepare(ready) is False
        ready.wait()
        assert icons.get("snoozed", 0.5) == expected("snoozed", 0.5)
        assert icons.get("waiting", 0.1) == expected("waiting", 0.1)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "could not draw the icon cache" in warnings[0].getMessage()
    assert icons.prepare(Ready()) is True  # ready: pictures come from this process now


# -- a damaged file ---------------------------------------------------------------------------


def damage_truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def damage_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    start = data.index(b"\n", data.index(b"\n") + 1) + 1  # the first picture
    for i in range(start, len(data), 97):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


def damage_header(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(b"GIF89a" + data[6:])


def damage_index(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"waiting|3|48":[', b'"waiting|3|48":[9', 1))


@pytest.mark.parametrize(
    "damage", [damage_truncate, damage_bytes, damage_header, damage_index, Path.unlink]
)
def test_a_file_damaged_after_start_falls_back_with_one_warning(
    cache_dir: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None]
) -> None:
    icons = TrayIcons(LOG, cache_dir)
    assert icons.prepare(Ready()) is True
    assert icons.get("due", 0.0) == expected("due", 0.0)  # read before the damage
    damage(icons.path)
    with caplog.at_level(logging.WARNING):
        for state, progress in [("waiting", 0.3), ("snoozed", 0.7), ("waiting", 0.3)]:
            assert icons.get(state, progress) == expected(state, progress)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert CACHE_WARNINGS in warnings[0].getMessage()
    assert "drawing the icons in this process" in warnings[0].getMessage()


@pytest.mark.parametrize("damage", [damage_truncate, damage_header, damage_index])
def test_a_file_found_damaged_at_start_is_drawn_again(
    cache_dir: Path, caplog: pytest.LogCaptureFixture, damage: Callable[[Path], None]
) -> None:
    icons = TrayIcons(LOG, cache_dir)
    damage(icons.path)
    ready = Ready()
    with caplog.at_level(logging.WARNING):
        assert icons.prepare(ready) is False
        ready.wait()
        assert icons.get("waiting", 0.5) == expected("waiting", 0.5)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert TrayIcons(LOG, cache_dir).prepare(Ready()) is True


def test_many_threads_reading_at_once_get_the_right_pictures(cache_dir: Path) -> None:
    icons = TrayIcons(LOG, cache_dir)
    assert icons.prepare(Ready())
    asks = [(STATES[i % len(STATES)], (i % (STEPS + 1)) / STEPS) for i in range(200)]
    truth = {a: expected(*a) for a in set(asks)}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda a: icons.get(*a), asks))
    assert results == [truth[a] for a in asks]


# -- the file's name and its writing ----------------------------------------------------------


def test_the_file_name_follows_the_version_and_the_drawing_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = icon_cache.file_name()
    assert original.startswith(f"tray-icons-{deskbreak.__version__}-")
    assert original.endswith(".bin")
    same = tmp_path / "same" / "icon.py"
    changed = tmp_path / "changed" / "icon.py"
    for copy in (same, changed):
        copy.parent.mkdir()
        shutil.copyfile(deskbreak.icon.__file__, copy)
    with changed.open("a") as f:
        f.write("\n# a changed drawing\n")
    monkeypatch.setattr(deskbreak.icon, "__file__", str(same))
    assert icon_cache.file_name() == original  # the content counts, not where it is
    monkeypatch.setattr(deskbreak.icon, "__file__", str(changed))
    renamed = icon_cache.file_name()
    assert renamed != original
    assert TrayIcons(LOG, tmp_path).path.name == renamed
    monkeypatch.setattr(icon_cache, "__version__", "9.9.9")
    assert icon_cache.file_name().startswith("tray-icons-9.9.9-")


def test_writing_a_new_file_removes_older_cache_files_only(tmp_path: Path) -> None:
    old = tmp_path / "tray-icons-0.0.1-deadbeef.bin"
    old.write_bytes(b"old pictures")
    other = tmp_path / "deskbreak-0.1.0-128.png"
    other.write_bytes(b"not ours to remove")
    icons = drawn(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([icons.path.name, other.name])


def test_usage_errors_of_the_drawing_command(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "deskbreak.adapters.icon_cache"],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert r.returncode == 2
    assert "usage:" in r.stderr
    assert icon_cache.main([str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert not list(tmp_path.iterdir())


def test_a_killed_drawing_never_leaves_a_partial_file_under_the_real_name(tmp_path: Path) -> None:
    """Stop the drawing process while its temporary file is half written, then kill it."""
    icons = TrayIcons(LOG, tmp_path)
    final = icons.path
    partial_size = None
    for _attempt in range(20):
        proc = subprocess.Popen(
            [sys.executable, "-m", "deskbreak.adapters.icon_cache", str(final)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            end = time.monotonic() + DEADLINE
            temps: list[Path] = []
            while not temps and proc.poll() is None:
                assert not final.exists()  # never there while the drawing goes on
                temps = list(tmp_path.glob(f".{final.name}.*.tmp"))
                assert time.monotonic() < end, "the drawing process never started writing"
            if temps:
                proc.send_signal(signal.SIGSTOP)
                if proc.poll() is None and temps[0].exists():
                    partial = temps[0].stat().st_size
                    assert not final.exists()
                    proc.kill()
                    proc.wait(DEADLINE)
                    partial_size = partial
                    break
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(DEADLINE)
        # It finished before it could be stopped: start over with a clean folder.
        for leftover in tmp_path.iterdir():
            leftover.unlink()
    assert partial_size is not None, "could not catch the drawing process while it was writing"
    assert not final.exists()
    # A new daemon does not take the leftover for a cache: it draws a whole one.
    icons = TrayIcons(LOG, tmp_path)
    ready = Ready()
    assert icons.prepare(ready) is False
    ready.wait()
    assert final.stat().st_size > partial_size
    assert icons.get("waiting", 0.5) == expected("waiting", 0.5)


# -- the daemon stays free of Pillow ----------------------------------------------------------


def test_reading_a_ready_cache_does_not_load_pillow(cache_dir: Path) -> None:
    script = textwrap.dedent(
        """
        import logging, sys
        from pathlib import Path
        from deskbreak.adapters.icon_cache import SIZES, TrayIcons, key

        icons = TrayIcons(logging.getLogger("t"), Path(sys.argv[1]))
        assert icons.prepare(lambda: None) is True
        for state in ("waiting", "due", "snoozed", "paused", "off-duty"):
            got = icons.get(*key(state, 0.4))
            assert [(w, h, len(b)) for w, h, b in got] == [(s, s, s * s * 4) for s in SIZES]
        print("PIL" in sys.modules, "PIL.Image" in sys.modules)
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(cache_dir)],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_the_check_above_can_see_pillow(tmp_path: Path) -> None:
    """The same check in a process whose cache is missing: the fallback loads Pillow."""
    script = textwrap.dedent(
        """
        import logging, sys
        from pathlib import Path
        from deskbreak.adapters.icon_cache import TrayIcons

        icons = TrayIcons(logging.getLogger("t"), Path(sys.argv[1]))
        assert len(icons.get("waiting", 0.4)) == 3
        print("PIL" in sys.modules)
        """
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "empty")],
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["True"]


def test_an_index_of_the_wrong_types_is_corrupt_not_a_crash(
    cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    icons = TrayIcons(LOG, cache_dir)
    assert icons.prepare(Ready())
    data = icons.path.read_bytes()
    # The width as a float; two of the index's padding spaces go, so nothing moves.
    entry = b'"waiting|4|32":['
    at = data.index(entry) + len(entry)
    offset_end = data.index(b",", at)
    assert data[offset_end : offset_end + 4] == b",32,"
    index_end = data.index(b"\n", data.index(b"\n") + 1)
    assert data[index_end - 2 : index_end] == b"  "
    icons.path.write_bytes(
        data[:offset_end] + b",32.0," + data[offset_end + 4 : index_end - 2] + data[index_end:]
    )
    assert icons.path.stat().st_size == len(data)
    with caplog.at_level(logging.WARNING):
        assert icons.get("waiting", 4 / STEPS) == expected("waiting", 4 / STEPS)
    assert len([r for r in caplog.records if r.levelno >= logging.WARNING]) == 1

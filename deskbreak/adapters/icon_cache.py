"""The tray icon's pictures, drawn once into a cache file so the daemon never loads Pillow.

How it works:

- The tray only ever shows ``deskbreak.icon.draw_icon(state, progress, size)`` for the five
  states, a progress quantised to ``STEPS`` steps (``key``) and the sizes in ``SIZES``: 195
  small pictures. ``TrayIcons.prepare`` has them drawn by a short-lived process
  (``python -m deskbreak.adapters.icon_cache PATH``) into one file in the user cache folder;
  the daemon then reads the picture it needs from that file with the standard library only,
  and Pillow (its native libraries, a few MiB) stays out of the long-running process.
- The file's name carries deskbreak's version and a hash of the drawing code
  (``deskbreak/icon.py``), so a new drawing gets a new file. Writing it is atomic (a
  temporary file in the same folder, then ``os.replace``); older ``tray-icons-*.bin`` files
  are removed then.
- The format, all of it checked on reading (anything wrong means "corrupt"):

    line 1  ``DESKBREAK-TRAY-ICONS 1``
    line 2  a JSON index, padded with spaces: {"format": 1, "version": ..., "steps": 12,
            "sizes": [22, 32, 48], "states": [...],
            "icons": {"STATE|STEP|SIZE": [offset, width, height, "crc32 in hex"]}}
            with STEP = 0..steps (the progress is STEP/steps) and offsets counted from the
            first byte after this line (pictures that are the same share one offset)
    then    each picture's pixels: width * height * 4 bytes, ARGB32 in network byte order
            (alpha first), as the StatusNotifierItem ``IconPixmap`` property wants them.

- Whenever the file cannot be had or read (drawing failed, the file is missing, truncated or
  corrupt) the pictures are drawn in this process with Pillow instead, after one warning.
"""

from __future__ import annotations

import binascii
import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from deskbreak import __version__
from deskbreak.icon import STATES, progress_steps

SIZES: tuple[int, ...] = (22, 32, 48)
STEPS: int = 12  # progress steps per interval (the ring changes 12 times)

Pixmap = tuple[int, int, bytes]  # width, height, ARGB32 big-endian (SNI IconPixmap)

FORMAT = 1
MAGIC = f"DESKBREAK-TRAY-ICONS {FORMAT}\n".encode()
PREFIX = "tray-icons-"
SUFFIX = ".bin"
DRAW_TIMEOUT = 120.0  # seconds the drawing process may take before it is given up
_MAX_INDEX = 1 << 20  # bytes; the real index is about 10 KiB
_STALE_TEMP = 3600.0  # seconds after which a temporary file left by a killed drawer is removed


class CorruptCache(Exception):
    """The cache file is not one this deskbreak wrote, or not all of it is there."""


def key(state: str, progress: float) -> tuple[str, float]:
    """The picture a (state, progress) shows: progress quantised with
    progress_steps(progress, STEPS)."""
    return (state, progress_steps(progress, STEPS))


def _step(progress: float) -> int:
    return round(progress_steps(progress, STEPS) * STEPS)


def _entry_name(state: str, step: int, size: int) -> str:
    return f"{state}|{step}|{size}"


def _layout() -> list[tuple[str, int, int]]:
    """Every picture in the file, in file order: (state, step, size)."""
    return [(state, step, size) for state in STATES for step in range(STEPS + 1) for size in SIZES]


def _drawing_source() -> bytes:
    """The bytes the pictures depend on: deskbreak's drawing code and this file's layout."""
    from deskbreak import icon

    try:
        code = Path(icon.__file__).read_bytes()
    except (OSError, TypeError):
        code = b""
    layout = f"{FORMAT}|{STEPS}|{SIZES}|{STATES}".encode()
    return code + b"\0" + layout


def file_name() -> str:
    """The cache file's name: changes with deskbreak's version and with its drawing code."""
    digest = binascii.crc32(_drawing_source()) & 0xFFFFFFFF
    return f"{PREFIX}{__version__}-{digest:08x}{SUFFIX}"


def default_cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("deskbreak", appauthor=False)


# -- drawing (Pillow; only in the drawing process, or as the fallback) ---------------------------


def draw_pixmaps(state: str, progress: float) -> list[Pixmap]:
    """The pictures for ``key(state, progress)`` at every size, drawn now with Pillow."""
    from PIL import Image

    from deskbreak.icon import draw_icon

    _, quantised = key(state, progress)
    out: list[Pixmap] = []
    for size in SIZES:
        r, g, b, a = draw_icon(state, quantised, size).split()
        out.append((size, size, Image.merge("RGBA", (a, r, g, b)).tobytes()))
    return out


def _index_line(entries: dict[str, list[Any]]) -> bytes:
    index = {
        "format": FORMAT,
        "version": __version__,
        "steps": STEPS,
        "sizes": list(SIZES),
        "states": list(STATES),
        "icons": entries,
    }
    return json.dumps(index, separators=(",", ":"), sort_keys=True).encode() + b"\n"


def write_cache(path: Path) -> None:
    """Draw every picture into ``path``, atomically (no partial file ever has that name).

    The index line is reserved first (blank, as long as the longest index can be); each
    picture is streamed into the temporary file as it is drawn (a picture that is the same
    as an earlier one, like "due" at every progress, is stored once), then the index is
    written into its reserved line, padded with spaces.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    layout = _layout()
    most = sum(size * size * 4 for _, _, size in layout)  # no offset can be larger
    entries: dict[str, list[Any]] = {
        _entry_name(state, step, size): [most, size, size, "00000000"]
        for state, step, size in layout
    }
    reserved = len(_index_line(entries))
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(MAGIC + b" " * (reserved - 1) + b"\n")
            stored: dict[bytes, int] = {}
            end = 0
            for state in STATES:
                for step in range(STEPS + 1):
                    pictures = draw_pixmaps(state, step / STEPS)
                    for size, (width, height, pixels) in zip(SIZES, pictures, strict=True):
                        if (width, height, len(pixels)) != (size, size, size * size * 4):
                            raise RuntimeError(f"the {state} icon at {size} px is {width}x{height}")
                        if pixels not in stored:
                            stored[pixels] = end
                            f.write(pixels)
                            end += len(pixels)
                        crc = binascii.crc32(pixels) & 0xFFFFFFFF
                        entries[_entry_name(state, step, size)] = [
                            stored[pixels],
                            width,
                            height,
                            f"{crc:08x}",
                        ]
            index = _index_line(entries)
            f.seek(len(MAGIC))
            f.write(index[:-1] + b" " * (reserved - len(index)) + b"\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    _remove_old_files(path)


def _remove_old_files(keep: Path) -> None:
    """Remove cache files of other names, and temporary files left by a killed drawer."""
    now = time.time()
    for old in keep.parent.glob(f"{PREFIX}*{SUFFIX}"):
        if old.name != keep.name:
            with contextlib.suppress(OSError):
                old.unlink()
    for temp in keep.parent.glob(f".{PREFIX}*{SUFFIX}.*.tmp"):
        with contextlib.suppress(OSError):
            if now - temp.stat().st_mtime > _STALE_TEMP:
                temp.unlink()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deskbreak.adapters.icon_cache PATH``: draw every picture into PATH."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m deskbreak.adapters.icon_cache PATH", file=sys.stderr)
        return 2
    try:
        write_cache(Path(args[0]))
    except Exception as e:
        print(f"deskbreak: could not draw the tray icons into {args[0]}: {e}", file=sys.stderr)
        return 1
    # The notifications' PNG, drawn here too for the same reason (the daemon finds it later).
    from deskbreak.adapters import desktop_files

    desktop_files.notification_icon()
    return 0


# -- reading (standard library only) --------------------------------------------------------------


class _Index:
    """A checked index of one cache file, with the file's identity when it was read."""

    def __init__(self, f: IO[bytes]) -> None:
        st = os.fstat(f.fileno())
        self.stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        f.seek(0)
        if f.read(len(MAGIC)) != MAGIC:
            raise CorruptCache("it does not start with the tray icon cache's mark")
        line = f.readline(_MAX_INDEX)
        if not line.endswith(b"\n"):
            raise CorruptCache("its index is cut short")
        self.data_start = len(MAGIC) + len(line)
        try:
            index = json.loads(line)
        except ValueError as e:
            raise CorruptCache(f"its index is not JSON ({e})") from None
        expected = {
            "format": FORMAT,
            "version": __version__,
            "steps": STEPS,
            "sizes": list(SIZES),
            "states": list(STATES),
        }
        if not isinstance(index, dict) or any(index.get(k) != v for k, v in expected.items()):
            raise CorruptCache("its index is for another layout")
        icons = index.get("icons")
        names = {_entry_name(*e) for e in _layout()}
        if not isinstance(icons, dict) or set(icons) != names:
            raise CorruptCache("its index does not list every picture")
        data_size = st.st_size - self.data_start
        self.entries: dict[str, tuple[int, int, int, int]] = {}
        for name, entry in icons.items():
            size = int(name.rsplit("|", 1)[1])
            try:
                offset, width, height, crc_text = entry
                crc = int(crc_text, 16)
            except (TypeError, ValueError):
                raise CorruptCache(f"its index entry for {name} is malformed") from None
            if not (
                all(type(v) is int for v in (offset, width, height))
                and width == height == size
                and 0 <= offset <= data_size - size * size * 4
            ):
                raise CorruptCache(f"its picture {name} lies outside the file")
            self.entries[name] = (offset, width, height, crc)


class TrayIcons:
    """The tray's pictures, from the cache file (drawn in a subprocess when it is missing)."""

    def __init__(self, log: logging.Logger, cache_dir: Path | None = None) -> None:
        self._log = log
        self.path = (default_cache_dir() if cache_dir is None else Path(cache_dir)) / file_name()
        self._lock = threading.Lock()
        self._index: _Index | None = None
        self._drawing = False
        self._fallback = False  # draw in-process from now on (the warning has been logged)
        self._waiting: list[Callable[[], None]] = []
        self._thread: threading.Thread | None = None

    def prepare(self, on_ready: Callable[[], None]) -> bool:
        """True if the cache file is ready now. Otherwise start drawing it in a subprocess
        (once; `sys.executable -m deskbreak.adapters.icon_cache PATH`), return False, and call
        on_ready() from a helper thread when the file is in place (also when drawing failed:
        get() then draws in-process as a fallback, logging one warning)."""
        with self._lock:
            if self._drawing:
                self._waiting.append(on_ready)
                return False
            if self._index is not None or self._fallback:
                return True
            try:
                self._index = self._open_index()
                return True
            except FileNotFoundError:
                pass
            except Exception as e:  # unreadable or corrupt: whatever it is, draw it again
                self._log.info(
                    "tray icon cache %s is unusable (%s); drawing it again", self.path, e
                )
            self._drawing = True
            self._waiting.append(on_ready)
            self._thread = threading.Thread(
                target=self._draw_file, name="deskbreak-icon-cache", daemon=True
            )
            self._thread.start()
            return False

    def get(self, state: str, progress: float) -> list[Pixmap] | None:
        """The pictures for key(state, progress) at every size, read from the cache file
        (on demand: seek and read only what is asked; do not hold the whole file in memory).
        None while the cache is being drawn. Never raises: a missing/corrupt/truncated file
        is logged once and the picture is drawn in-process with deskbreak.icon instead."""
        with self._lock:
            if self._drawing:
                return None
            if state not in STATES:
                self._log.warning("tray: no icon for the state %r", state)
                return []
            if not self._fallback:
                try:
                    return self._read(state, _step(progress))
                except Exception as e:  # missing, unreadable or corrupt, whatever the way
                    self._log.warning(
                        "tray icon cache %s is unusable (%s); drawing the icons in this "
                        "process instead",
                        self.path,
                        e,
                    )
                    self._fallback = True
                    self._index = None
            try:
                return draw_pixmaps(state, progress)
            except Exception:
                self._log.exception("tray: could not draw the %s icon", state)
                return []

    # -- helpers ----------------------------------------------------------------------------

    def _open_index(self) -> _Index:
        with open(self.path, "rb") as f:
            return _Index(f)

    def _read(self, state: str, step: int) -> list[Pixmap]:
        out: list[Pixmap] = []
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            if self._index is None or self._index.stamp != (st.st_ino, st.st_size, st.st_mtime_ns):
                self._index = _Index(f)
            index = self._index
            for size in SIZES:
                offset, width, height, crc = index.entries[_entry_name(state, step, size)]
                f.seek(index.data_start + offset)
                pixels = f.read(width * height * 4)
                if len(pixels) != width * height * 4:
                    raise CorruptCache(f"its {state} picture at {size} px is cut short")
                if binascii.crc32(pixels) & 0xFFFFFFFF != crc:
                    raise CorruptCache(f"its {state} picture at {size} px is damaged")
                out.append((width, height, pixels))
        return out

    def _draw_file(self) -> None:
        """The helper thread: run the drawing process, then say the pictures are ready."""
        problem = ""
        index: _Index | None = None
        try:
            if not sys.executable:
                raise OSError("no Python interpreter to run")
            done = subprocess.run(
                [sys.executable, "-m", __name__, str(self.path)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=_child_env(),
                timeout=DRAW_TIMEOUT,
                check=False,
            )
            if done.returncode != 0:
                lines = done.stderr.decode(errors="replace").strip().splitlines()
                problem = f"exit status {done.returncode}: {lines[-1] if lines else 'no message'}"
            else:
                index = self._open_index()
        except subprocess.TimeoutExpired:
            problem = f"it took more than {DRAW_TIMEOUT:.0f} s"
        except Exception as e:
            problem = str(e) or type(e).__name__
        with self._lock:
            self._drawing = False
            if index is not None:
                self._index = index
            else:
                self._fallback = True
                self._log.warning(
                    "tray: could not draw the icon cache %s (%s); drawing the icons in this "
                    "process instead",
                    self.path,
                    problem,
                )
            waiting, self._waiting = self._waiting, []
        for on_ready in waiting:
            try:
                on_ready()
            except Exception:
                self._log.exception("tray: the icons-ready callback failed")


def _child_env() -> dict[str, str]:
    """The drawing process's environment: deskbreak importable there as it is here.

    When deskbreak runs from a folder that is not a site-packages folder (a checkout), that
    folder is put on PYTHONPATH; an installed deskbreak is found as usual.
    """
    import deskbreak

    env = dict(os.environ)
    root = str(Path(deskbreak.__file__).resolve().parent.parent)
    import site

    sites = [*getattr(site, "getsitepackages", list)(), site.getusersitepackages()]
    if root not in {str(Path(s).resolve()) for s in sites}:
        old = env.get("PYTHONPATH", "")
        env["PYTHONPATH"] = root + (os.pathsep + old if old else "")
    return env


if __name__ == "__main__":
    sys.exit(main())

"""Notice when the settings file is saved, so the daemon can reload it. Linux: inotify.

How it works:

- On Linux, a small ctypes binding to the C library's inotify calls watches the *folder*
  that holds the settings file, not the file: editors that save by writing a new file and
  renaming it over the old one (vim, most GUI editors) replace the file, and a watch on the
  old file would see nothing more. Events for other names in the folder are ignored.
- If the settings path is a symlink (a dotfiles repository, say), the folder of the file it
  points to is watched too, and the watches follow the link when it changes.
- If the folder does not exist yet, the nearest existing parent is watched until it
  appears, so a settings file created later is noticed as well.
- One thread blocks in ``select()`` on the inotify descriptor: it wakes only when something
  in the watched folders changes, never on a timer while idle. After a change it waits until
  the folder has been quiet for ``DEBOUNCE`` seconds (an editor's save is several events),
  then calls ``on_change()`` once. ``on_change`` runs on that thread: it should only
  enqueue.
- Elsewhere (macOS, Windows, or if inotify is unavailable) there is no watching:
  ``start()`` returns None, and the settings are re-read on SIGHUP and ``deskbreak reload``
  only. The daemon says so in its log.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import logging
import os
import select
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

DEBOUNCE = 0.15  # seconds of quiet after the last event before reloading
MAX_DELAY = 1.0  # reload at the latest this long after the first event of a burst

IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_CLOEXEC = 0o2000000

FILE_EVENTS = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
)
_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len


class _Inotify:
    """The three inotify calls, through ctypes."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        self._init1 = libc.inotify_init1
        self._init1.argtypes = [ctypes.c_int]
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm = libc.inotify_rm_watch
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        fd = self._init1(IN_CLOEXEC)
        if fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        self.fd: int = fd

    def add_watch(self, path: Path, mask: int) -> int:
        wd = self._add(self.fd, os.fsencode(path), mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err), str(path))
        return int(wd)

    def rm_watch(self, wd: int) -> None:
        self._rm(self.fd, wd)

    def read(self) -> list[tuple[int, int, str]]:
        """Pending events as (wd, mask, name)."""
        data = os.read(self.fd, 64 * 1024)
        events = []
        pos = 0
        while pos + _HEADER.size <= len(data):
            wd, mask, _cookie, length = _HEADER.unpack_from(data, pos)
            pos += _HEADER.size
            name = data[pos : pos + length].split(b"\0", 1)[0]
            pos += length
            events.append((wd, mask, os.fsdecode(name)))
        return events

    def close(self) -> None:
        os.close(self.fd)


def _targets(path: Path) -> list[Path]:
    """The settings file as written, and where it leads if it is a symlink."""
    path = Path(os.path.abspath(path))
    found = [path]
    real = Path(os.path.realpath(path))
    if real != path:
        found.append(real)
    return found


def _watch_point(target: Path) -> tuple[Path, str]:
    """The deepest existing folder on the way to ``target``, and the name to look for there."""
    child = target
    folder = target.parent
    while not folder.is_dir():
        if folder.parent == folder:
            break
        child = folder
        folder = folder.parent
    return folder, child.name


class SettingsWatcher:
    """Calls ``on_change()`` (on its own thread) soon after the settings file changes."""

    def __init__(
        self,
        path: Path,
        on_change: Callable[[], None],
        log: logging.Logger,
        *,
        debounce: float = DEBOUNCE,
    ) -> None:
        self.path = path
        self._on_change = on_change
        self._log = log
        self._debounce = debounce
        self._ino = _Inotify()
        self._watches: dict[int, tuple[Path, set[str]]] = {}
        self._stop_r, self._stop_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._rewatch()

    @property
    def folders(self) -> list[Path]:
        return sorted({folder for folder, _ in self._watches.values()})

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="settings-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(timeout=2.0)
            self._thread = None
        for fd in (self._stop_r, self._stop_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(OSError):
            self._ino.close()

    def _rewatch(self) -> None:
        """Watch the folders the settings path needs now; drop the ones it no longer does."""
        wanted: dict[Path, set[str]] = {}
        for target in _targets(self.path):
            folder, name = _watch_point(target)
            wanted.setdefault(folder, set()).add(name)
        current = {folder: wd for wd, (folder, _) in self._watches.items()}
        for folder, wd in current.items():
            if folder not in wanted:
                with contextlib.suppress(OSError):
                    self._ino.rm_watch(wd)
                self._watches.pop(wd, None)
        for folder, names in wanted.items():
            try:
                wd = self._ino.add_watch(folder, FILE_EVENTS)
            except OSError as e:
                self._log.warning("cannot watch %s for settings changes: %s", folder, e.strerror)
                continue
            self._watches[wd] = (folder, names)

    def _relevant(self, events: list[tuple[int, int, str]]) -> bool:
        changed = False
        rewatch = False
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:
                changed = rewatch = True
                continue
            watch = self._watches.get(wd)
            if watch is None:
                continue
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                # The folder itself went away or moved: watch whatever is there now.
                if mask & IN_IGNORED:
                    self._watches.pop(wd, None)
                changed = rewatch = True
            elif name in watch[1]:
                changed = rewatch = True
        if rewatch:
            self._rewatch()
        return changed

    def _run(self) -> None:
        first: float | None = None  # when the current burst of changes began
        while True:
            timeout = None
            if first is not None:
                timeout = max(0.0, min(self._debounce, first + MAX_DELAY - time.monotonic()))
            try:
                ready, _, _ = select.select([self._ino.fd, self._stop_r], [], [], timeout)
            except (OSError, ValueError):
                return
            if self._stop_r in ready:
                return
            if self._ino.fd in ready:
                try:
                    events = self._ino.read()
                except OSError:
                    return
                if self._relevant(events) and first is None:
                    first = time.monotonic()
                if first is None or time.monotonic() - first < MAX_DELAY:
                    continue
            if first is not None:
                first = None
                try:
                    self._on_change()
                except Exception:
                    self._log.exception("reacting to a settings change failed")


def start(path: Path, on_change: Callable[[], None], log: logging.Logger) -> SettingsWatcher | None:
    """Watch ``path``; None (after saying so in the log) where the platform cannot."""
    if not sys.platform.startswith("linux"):
        log.info(
            "settings file watching needs Linux; after editing %s, reload with "
            "'deskbreak reload' or SIGHUP",
            path,
        )
        return None
    try:
        watcher = SettingsWatcher(path, on_change, log)
    except (OSError, AttributeError) as e:
        log.warning(
            "cannot watch the settings file (%s); reload with 'deskbreak reload' or SIGHUP", e
        )
        return None
    watcher.start()
    return watcher

"""One daemon per user session: a locked pid file in the user's private runtime folder.

How it works:

- The runtime folder is ``$XDG_RUNTIME_DIR/deskbreak`` (a per-user folder the login
  session provides, emptied at logout) or, without it, ``deskbreak-UID`` in the temporary
  folder. Either way it must be a real folder owned by this user with no access for others
  (mode 0700); deskbreak creates it so and refuses one that is not. The lock file and the
  control socket live there.
- ``InstanceLock.acquire()`` opens ``deskbreak.lock`` and takes an exclusive ``flock`` on
  it, without waiting. The kernel drops the lock when the process ends, however it ends
  (even ``kill -9``), so a lock is never stale: if the lock is free, nobody runs. The file
  keeps the pid of the holder, for the "already running (pid N)" message. It is never
  deleted: deleting a lock file lets two processes lock two different files.
- Holding the lock, the daemon may delete a socket file left behind by a killed daemon
  and bind a new one (``remove_stale``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
import time
from pathlib import Path

from deskbreak.errors import AlreadyRunning, DeskbreakError

APP = "deskbreak"
LOCK_NAME = "deskbreak.lock"


def runtime_dir(create: bool = True) -> Path:
    """The private folder for the lock and the socket; created (0700) and checked."""
    base = os.environ.get("XDG_RUNTIME_DIR", "").strip()
    if base and os.path.isabs(base) and os.path.isdir(base):
        path = Path(base) / APP
    else:
        uid = os.getuid() if hasattr(os, "getuid") else 0
        path = Path(tempfile.gettempdir()) / f"{APP}-{uid}"
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o700)
    _check_private(path)
    return path


def _check_private(path: Path) -> None:
    """Refuse a folder another user could have made or could look into."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # nothing there yet (create=False): nothing to trust or distrust
    except OSError as e:
        raise DeskbreakError(f"{path}: cannot use the runtime folder: {e.strerror or e}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise DeskbreakError(f"{path}: the runtime folder is not a folder; remove it")
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise DeskbreakError(f"{path}: the runtime folder belongs to another user; remove it")
    if st.st_mode & 0o077:
        raise DeskbreakError(
            f"{path}: the runtime folder is open to other users "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); make it private: chmod 700 {path}"
        )


class InstanceLock:
    """The single-instance lock. ``acquire()`` raises AlreadyRunning if another daemon has it."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else runtime_dir()
        self.path = self.directory / LOCK_NAME
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        if sys.platform == "win32":  # pragma: no cover - no flock there
            return
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            where = f" (pid {pid})" if pid else ""
            raise AlreadyRunning(f"deskbreak is already running{where}") from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (the process ending does the same)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the only descriptor drops the flock


def _read_pid(fd: int, attempts: int = 40) -> int | None:
    """The pid in a lock file another process holds.

    The holder writes its pid right after taking the lock; if we looked in between, the file
    is still empty for a moment, so look again briefly.
    """
    for _ in range(attempts):
        try:
            text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            return None
        if text.isdigit():
            return int(text)
        time.sleep(0.025)
    return None


def read_pid(directory: Path | None = None) -> int | None:
    """The pid recorded by the daemon holding the lock, if there is one to read."""
    path = (directory if directory is not None else runtime_dir(create=False)) / LOCK_NAME
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def remove_stale(path: Path) -> None:
    """Delete a socket file left by a daemon that died. Call only while holding the lock."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise DeskbreakError(f"{path}: not a socket, in the way of the control socket; remove it")
    os.unlink(path)

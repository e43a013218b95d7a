"""autostart, install-desktop, logs, doctor: deskbreak as a good citizen of the desktop."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from deskbreak.commands import config_path
from deskbreak.errors import UsageError

FOLLOW_POLL = 0.25  # seconds between looks at the log file with ``logs -f``


# -- autostart -------------------------------------------------------------------------------


def _runs(entry: Any) -> str:
    return " ".join(_shell_quote(a) for a in entry.command) or "(nothing)"


def _shell_quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg) if sys.platform != "win32" else arg


def cmd_autostart_enable(args: argparse.Namespace) -> int:
    from deskbreak.adapters import desktop_files
    from deskbreak.adapters.autostart import Autostart

    auto = Autostart()
    method = auto.default_method(args.systemd)
    before = auto.own_entry(method)
    entry = auto.enable(systemd=args.systemd)
    same = before is not None and before == entry
    print(f"{'Already enabled' if same else 'Enabled'}: {entry.describe()}")
    print(f"It runs: {_runs(entry)}")
    if auto.linux:
        desktop_files.install()
        print(f"Icon and launcher installed in {desktop_files.data_home()}")
    others = [e for e in auto.active() if e.location != entry.location]
    for other in others:
        print(
            f"Note: deskbreak is also started by {other.describe()}; "
            "it would start twice (remove that one)",
            file=sys.stderr,
        )
    print("deskbreak starts at your next login.")
    return 0


def cmd_autostart_disable(args: argparse.Namespace) -> int:
    from deskbreak.adapters.autostart import Autostart

    auto = Autostart()
    removed = auto.disable()
    for entry in removed:
        print(f"Removed: {entry.describe()}")
    if not removed:
        print("deskbreak had not set itself to start at login: nothing to remove.")
    for left in auto.active():
        print(
            f"Left alone (not written by deskbreak): {left.describe()}; it still starts deskbreak"
        )
    return 0


def cmd_autostart_status(args: argparse.Namespace) -> int:
    from deskbreak.adapters.autostart import Autostart

    entries = Autostart().status()
    if not entries:
        print("deskbreak does not start at login (to start it: deskbreak autostart enable)")
        return 0
    for entry in entries:
        print(f"{'Active' if entry.enabled else 'Inactive'}: {entry.describe()}")
        print(f"  runs: {_runs(entry)}")
        problem = entry.problem()
        if problem:
            print(f"  problem: {problem}; run `deskbreak autostart enable` again")
    return 0


# -- install-desktop ---------------------------------------------------------------------------


def cmd_install_desktop(args: argparse.Namespace) -> int:
    from deskbreak.adapters import desktop_files

    if sys.platform in ("win32", "darwin"):
        raise UsageError("install-desktop is for Linux and BSD desktops (freedesktop.org)")
    if args.remove:
        removed = desktop_files.uninstall()
        for path in removed:
            print(f"Removed {path}")
        if not removed:
            print("Nothing to remove: deskbreak's icons and launcher are not installed.")
        return 0
    written = desktop_files.install()
    icons = [p for p in written if p.suffix == ".png"]
    launchers = [p for p in written if p.suffix == ".desktop"]
    if icons:
        print(f"Installed {len(icons)} icon sizes in {desktop_files.hicolor_dir()}")
    for launcher in launchers:
        print(f"Installed the launcher {launcher}")
    if not launchers:
        print(
            f"Left alone: {desktop_files.launcher_path()} (not written by deskbreak)",
            file=sys.stderr,
        )
    return 0


# -- logs ----------------------------------------------------------------------------------------


def _log_files(path: Path) -> list[Path]:
    """The log and its rotated copies, oldest first (deskbreak.log.3 ... deskbreak.log)."""
    backups = []
    n = 1
    while Path(f"{path}.{n}").is_file():
        backups.append(Path(f"{path}.{n}"))
        n += 1
    return [*reversed(backups), path]


def last_lines(path: Path, count: int) -> tuple[list[str], int, int | None]:
    """The last ``count`` lines of the log (reaching into rotated copies when needed),
    and the size and inode of the current file when it was read (where following starts).
    """
    lines: list[str] = []
    size, inode = 0, None
    for file in reversed(_log_files(path)):
        try:
            with open(file, "rb") as f:
                data = f.read()
                if file == path:
                    size, inode = len(data), os.fstat(f.fileno()).st_ino
        except FileNotFoundError:
            continue
        lines = data.decode("utf-8", errors="replace").splitlines(keepends=True) + lines
        if len(lines) >= count:
            break
    return (lines[-count:] if count > 0 else []), size, inode


def follow(
    path: Path,
    out: IO[str],
    offset: int,
    inode: int | None,
    poll: float = FOLLOW_POLL,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Print what is added to the log from ``offset`` on, like ``tail -F``, until stopped.

    When the log is rotated (renamed away and started afresh) or truncated, the rest of the
    old file is printed, then the new one from its start.
    """
    f: IO[bytes] | None = None
    try:
        while should_stop is None or not should_stop():
            if f is None:
                with contextlib.suppress(FileNotFoundError):
                    f = open(path, "rb")  # noqa: SIM115 - kept open from one look to the next
                    st = os.fstat(f.fileno())
                    if st.st_ino == inode and st.st_size >= offset:
                        f.seek(offset)
                    inode = st.st_ino
            if f is not None:
                _copy(f, out)
                if _switched(path, inode, f.tell()):
                    _copy(f, out)  # what was written just before the switch
                    f.close()
                    f, inode = None, None
                    continue
            time.sleep(poll)
    finally:
        if f is not None:
            f.close()


def _switched(path: Path, inode: int | None, position: int) -> bool:
    """Whether ``path`` is now another file (rotated) or shorter than what was read."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return True
    return st.st_ino != inode or st.st_size < position


def _copy(f: IO[bytes], out: IO[str]) -> None:
    data = f.read()
    if data:
        out.write(data.decode("utf-8", errors="replace"))
        out.flush()


def cmd_logs(args: argparse.Namespace) -> int:
    from deskbreak.adapters import paths

    path = paths.log_file()
    print(path, flush=True)
    lines, offset, inode = last_lines(path, args.lines)
    if not path.exists() and not lines:
        print("deskbreak: no log yet (deskbreak has not run as this user)", file=sys.stderr)
    sys.stdout.write("".join(lines))
    sys.stdout.flush()
    if args.follow:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how -f ends
            follow(path, sys.stdout, offset, inode)
    return 0


# -- doctor ----------------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from deskbreak import doctor

    checks = doctor.run_checks(config_path(args))
    for check in checks:
        print(check.line(), flush=True)
    return 1 if any(c.level == doctor.FAIL for c in checks) else 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the parser."""
    p = sub.add_parser("autostart", parents=[common], help="start deskbreak at login, or not")
    asub = p.add_subparsers(dest="autostart_command", metavar="ACTION", required=True)
    q = asub.add_parser(
        "enable",
        parents=[common],
        help="start this deskbreak at login (Linux: an XDG autostart entry)",
    )
    q.add_argument(
        "--systemd",
        action="store_true",
        help="Linux: a systemd user unit bound to graphical-session.target instead",
    )
    q.set_defaults(func=cmd_autostart_enable)
    q = asub.add_parser("disable", parents=[common], help="remove what autostart enable wrote")
    q.set_defaults(func=cmd_autostart_disable)
    q = asub.add_parser("status", parents=[common], help="say how deskbreak starts at login")
    q.set_defaults(func=cmd_autostart_status)

    p = sub.add_parser(
        "install-desktop",
        parents=[common],
        help="install deskbreak's icon and launcher in your data folder (Linux)",
    )
    p.add_argument("--remove", action="store_true", help="remove them instead")
    p.set_defaults(func=cmd_install_desktop)

    p = sub.add_parser("logs", parents=[common], help="print where the log is and its last lines")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
    p.add_argument(
        "-n",
        "--lines",
        type=_positive,
        default=20,
        metavar="N",
        help="how many lines to show (default 20)",
    )
    p.set_defaults(func=cmd_logs)

    p = sub.add_parser(
        "doctor",
        parents=[common],
        help="check what deskbreak needs on this desktop (exit 1 if something is broken)",
    )
    p.set_defaults(func=cmd_doctor)

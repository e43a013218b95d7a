"""run, exercises, config check, config path."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from deskbreak.commands import config_path
from deskbreak.durations import format_duration
from deskbreak.errors import DeskbreakError
from deskbreak.exercises import SAFETY_NOTE


def _load(path: Path) -> Any:
    from deskbreak.adapters import settings_file

    return settings_file.load(path)


def cmd_run(args: argparse.Namespace) -> int:
    from deskbreak import daemon

    path = config_path(args)
    settings = _load(path)  # bad settings: one clear line, exit 2, before anything starts
    log_path = daemon.setup_logging(args.verbose)
    if log_path is not None and args.verbose:
        print(f"deskbreak: logging to {log_path}", file=sys.stderr)
    return daemon.Daemon(path, settings).run()


def cmd_exercises(args: argparse.Namespace) -> int:
    settings = _load(config_path(args))
    rotation = settings.reminders.exercises
    rows = [("ID", "NAME", "CATEGORY", "TIME", "ROTATION")]
    for ex in settings.catalogue().values():
        rows.append(
            (
                ex.id,
                ex.name,
                ex.category + (" (custom)" if ex.custom else ""),
                format_duration(ex.duration),
                "yes" if ex.id in rotation else "",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    print()
    print(SAFETY_NOTE)
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    path = Path(args.path).expanduser() if args.path else config_path(args)
    if not path.exists():
        if args.path:
            raise DeskbreakError(f"{path}: no such file")
        print(f"{path}: no settings file; the defaults apply")
        return 0
    settings = _load(path)
    r = settings.reminders
    print(
        f"{path}: OK (every {format_duration(r.interval)}, snooze {format_duration(r.snooze)}, "
        f"{len(r.exercises)} stretches in the rotation)"
    )
    return 0


def cmd_config_path(args: argparse.Namespace) -> int:
    print(config_path(args))
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[common], help="run the reminder daemon with its tray icon")
    p.add_argument("-v", "--verbose", action="store_true", help="also log to stderr, in detail")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("exercises", parents=[common], help="list the stretch catalogue")
    p.set_defaults(func=cmd_exercises)

    p = sub.add_parser("config", parents=[common], help="check or locate the settings file")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    q = csub.add_parser("check", parents=[common], help="validate a settings file without running")
    q.add_argument("path", nargs="?", help="file to check (default: the settings file in use)")
    q.set_defaults(func=cmd_config_check)
    q = csub.add_parser("path", parents=[common], help="print where the settings file is")
    q.set_defaults(func=cmd_config_path)

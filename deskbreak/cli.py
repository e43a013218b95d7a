"""The ``deskbreak`` command. A thin front: it never imports the tray, notification or
scheduler libraries itself; only ``deskbreak run`` loads the daemon, lazily."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from deskbreak import __version__
from deskbreak.durations import format_duration
from deskbreak.errors import DeskbreakError
from deskbreak.exercises import SAFETY_NOTE

Handler = Callable[[argparse.Namespace], int]


def _config_path(args: argparse.Namespace) -> Path:
    from deskbreak.adapters import settings_file

    given = getattr(args, "config", None)
    return Path(given).expanduser() if given else settings_file.default_path()


def _load(path: Path):  # type: ignore[no-untyped-def]
    from deskbreak.adapters import settings_file

    return settings_file.load(path)


# ---------------------------------------------------------------- subcommands


def cmd_run(args: argparse.Namespace) -> int:
    from deskbreak import daemon

    path = _config_path(args)
    settings = _load(path)  # bad settings: one clear line, exit 2, before anything starts
    log_path = daemon.setup_logging(args.verbose)
    if log_path is not None and args.verbose:
        print(f"deskbreak: logging to {log_path}", file=sys.stderr)
    return daemon.Daemon(path, settings).run()


def cmd_exercises(args: argparse.Namespace) -> int:
    settings = _load(_config_path(args))
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
    path = Path(args.path).expanduser() if args.path else _config_path(args)
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
    print(_config_path(args))
    return 0


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="settings file to use (default: the user config dir)",
    )

    parser = argparse.ArgumentParser(
        prog="deskbreak",
        description="A light, kind break reminder that suggests desk stretches.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"deskbreak {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Handler | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return func(args)
    except DeskbreakError as e:
        print(f"deskbreak: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130

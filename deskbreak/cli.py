"""The ``deskbreak`` command. A thin front: it never imports the tray, notification or
scheduler libraries itself; only ``deskbreak run`` loads the daemon, lazily. Subcommands live
in ``deskbreak.commands``, next to their handlers."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from deskbreak import __version__
from deskbreak.commands import MODULES
from deskbreak.errors import DeskbreakError

Handler = Callable[[argparse.Namespace], int]


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
    for name in MODULES:
        importlib.import_module(name).register(sub, common)
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
        message = str(e)
        prefix = "" if message.startswith("deskbreak ") else "deskbreak: "
        print(f"{prefix}{message}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        return 130

"""The ``deskbreak`` subcommands, registered next to their handlers.

Each module here has ``register(sub, common)``, which adds its subcommands to the parser
and sets ``func`` on each. Modules import only what is light at the top; anything heavy
(the daemon, Pillow, the tray) is imported inside the handler that needs it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

# The modules whose register() the CLI calls, in the order their commands are listed.
MODULES = (
    "deskbreak.commands.basic",
    "deskbreak.commands.control",
    "deskbreak.commands.history",
    "deskbreak.commands.desktop",
)


def config_path(args: argparse.Namespace) -> Path:
    """The settings file: ``--config PATH`` if given, else the default location."""
    from deskbreak.adapters import settings_file

    given = getattr(args, "config", None)
    return Path(given).expanduser() if given else settings_file.default_path()

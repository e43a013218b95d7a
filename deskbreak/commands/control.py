"""Subcommands of deskbreak (this module's commands are added as their issue is built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the parser."""

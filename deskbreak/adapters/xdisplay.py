"""Opening an X display with python-xlib, with only the X extensions deskbreak uses.

python-xlib's ``Display`` imports and sets up a module for every extension the X server
offers (XInput, RandR, RECORD, XRes, Composite, ...): about 0.7 MiB of memory in a daemon
that asks the screensaver extension for the idle time and reads a few window properties.
``open_display`` hides the others from that one ``Display`` (its requests still reach the
server; only the Python side of the unused extensions is not loaded).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

_lock = threading.Lock()  # python-xlib reads the extension list while a Display is made


def open_display(name: str | None = None, extensions: Sequence[str] = ()) -> Any:
    """A python-xlib ``Display`` for ``name`` (None: $DISPLAY) that loads ``extensions``
    (X names, e.g. "MIT-SCREEN-SAVER") and no other extension module."""
    from Xlib import display, ext

    with _lock:
        every = ext.__extensions__
        ext.__extensions__ = [e for e in every if e[0] in extensions]
        try:
            return display.Display(name)
        finally:
            ext.__extensions__ = every

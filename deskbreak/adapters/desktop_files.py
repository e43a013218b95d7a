"""deskbreak's identity on the desktop: its icon in the hicolor theme and its launcher.

How it works:

- The icon is drawn by deskbreak's own Pillow code (``deskbreak.icon.app_icon``) at each
  standard hicolor size when it is installed, so no image file has to be kept in step with
  the drawing. ``install()`` writes ``icons/hicolor/NxN/apps/deskbreak.png`` and
  ``applications/deskbreak.desktop`` under the user's data folder ($XDG_DATA_HOME, else
  ~/.local/share). Each PNG carries a text chunk naming deskbreak, and the launcher carries
  ``X-Deskbreak-Managed=true``: ``uninstall()`` removes only files with those marks.
- Launchers and autostart entries name the icon ``deskbreak``; notifications get an
  absolute path (``notification_icon()``), because some notification servers (dunst among
  them) do not look icons up in the user's icon theme. That path is the installed 128 px
  icon, or, before ``install-desktop``, a copy drawn once into the user cache folder.
"""

from __future__ import annotations

import binascii
import contextlib
import io
import os
import shutil
import struct
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from deskbreak import __version__
from deskbreak.adapters.autostart import (
    APP_ID,
    COMMENT,
    GENERIC_NAME,
    MARKER_KEY,
    NAME,
    deskbreak_command,
    desktop_entry,
    desktop_exec,
    read_desktop_entry,
    write_atomic,
)

ICON_NAME = APP_ID
ICON_SIZES = (16, 22, 24, 32, 48, 64, 128, 256)
NOTIFICATION_ICON_SIZE = 128
PNG_MARK_KEY = "Software"
PNG_MARK = "deskbreak"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_MAX_CHUNK = 2**31 - 1  # the PNG limit on a chunk's length
_PNG_MAX_TEXT = 1 << 20  # longer text chunks are not deskbreak's (and are not read)


def data_home(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """$XDG_DATA_HOME if it is an absolute path, else ~/.local/share."""
    env = os.environ if env is None else env
    value = env.get("XDG_DATA_HOME", "")
    if value and os.path.isabs(value):
        return Path(value)
    return (Path.home() if home is None else home) / ".local" / "share"


def hicolor_dir(base: Path | None = None) -> Path:
    return (data_home() if base is None else base) / "icons" / "hicolor"


def icon_path(size: int, base: Path | None = None) -> Path:
    """Where the ``size`` px icon goes: .../icons/hicolor/NxN/apps/deskbreak.png."""
    return hicolor_dir(base) / f"{size}x{size}" / "apps" / f"{ICON_NAME}.png"


def launcher_path(base: Path | None = None) -> Path:
    return (data_home() if base is None else base) / "applications" / f"{APP_ID}.desktop"


def icon_png(size: int) -> bytes:
    """The application icon at ``size`` px as PNG bytes, marked as deskbreak's."""
    from PIL.PngImagePlugin import PngInfo

    from deskbreak.icon import app_icon

    info = PngInfo()
    info.add_text(PNG_MARK_KEY, f"{PNG_MARK} {__version__}")
    out = io.BytesIO()
    app_icon(size).save(out, format="PNG", pnginfo=info, optimize=True)
    return out.getvalue()


def is_our_png(path: Path) -> bool:
    """Whether ``path`` is a PNG that deskbreak wrote (it carries deskbreak's text chunk).

    Read with the standard library: the PNG signature, then chunk by chunk up to ``IEND``;
    a ``tEXt`` chunk is "key NUL value" in latin-1. A file that is not a whole PNG is not
    ours. Never raises.
    """
    try:
        with open(path, "rb") as f:
            if f.read(8) != _PNG_SIGNATURE:
                return False
            marked = False
            while True:
                head = f.read(8)
                if len(head) != 8:
                    return False  # cut short before IEND
                length, kind = struct.unpack(">I4s", head)
                if length > _PNG_MAX_CHUNK:
                    return False
                if kind == b"IEND":
                    return marked and length == 0 and len(f.read(4)) == 4
                if kind != b"tEXt" or length > _PNG_MAX_TEXT:
                    f.seek(length + 4, os.SEEK_CUR)
                    continue
                body = f.read(length)
                crc = f.read(4)
                if len(body) != length or len(crc) != 4:
                    return False
                if binascii.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", crc)[0]:
                    return False
                name, sep, value = body.partition(b"\0")
                if sep and name.decode("latin-1") == PNG_MARK_KEY:
                    marked = value.decode("latin-1").split(" ")[0] == PNG_MARK
    except Exception:
        return False


def launcher_entry(argv: Sequence[str]) -> str:
    """The exact content of the application launcher that runs ``argv``."""
    return desktop_entry(
        [
            ("Type", "Application"),
            ("Version", "1.4"),
            ("Name", NAME),
            ("GenericName", GENERIC_NAME),
            ("Comment", COMMENT),
            ("Exec", desktop_exec(argv)),
            ("Icon", ICON_NAME),
            ("Terminal", "false"),
            ("Categories", "Utility;"),
            ("Keywords", "break;stretch;posture;reminder;health;"),
            ("StartupNotify", "false"),
            (MARKER_KEY, "true"),
        ]
    )


def installed(base: Path | None = None) -> bool:
    """Whether deskbreak's icons and launcher are in the user's data folder."""
    return launcher_path(base).is_file() and all(
        icon_path(size, base).is_file() for size in ICON_SIZES
    )


def install(command: Sequence[str] | None = None, base: Path | None = None) -> list[Path]:
    """Write the icons at every size and the launcher; return the files written.

    ``command`` is what the launcher runs (default: this deskbreak's ``run``). A launcher
    of the same name that deskbreak did not write is left alone (and not returned).
    """
    argv = list(command) if command is not None else [*deskbreak_command(), "run"]
    written: list[Path] = []
    for size in ICON_SIZES:
        path = icon_path(size, base)
        if path.exists() and not is_our_png(path):
            continue
        write_atomic(path, icon_png(size))
        written.append(path)
    launcher = launcher_path(base)
    if not launcher.exists() or _is_our_launcher(launcher):
        write_atomic(launcher, launcher_entry(argv).encode())
        written.append(launcher)
    _refresh_icon_cache(hicolor_dir(base))
    return written


def uninstall(base: Path | None = None) -> list[Path]:
    """Remove the icons and the launcher deskbreak wrote; return the files removed."""
    removed: list[Path] = []
    candidates = [icon_path(size, base) for size in ICON_SIZES]
    for path in candidates:
        if path.is_file() and is_our_png(path):
            path.unlink()
            removed.append(path)
    launcher = launcher_path(base)
    if launcher.is_file() and _is_our_launcher(launcher):
        launcher.unlink()
        removed.append(launcher)
    if removed:
        _refresh_icon_cache(hicolor_dir(base))
    return removed


def _is_our_launcher(path: Path) -> bool:
    try:
        return read_desktop_entry(path).get(MARKER_KEY, "").lower() == "true"
    except OSError:
        return False


def _refresh_icon_cache(hicolor: Path) -> None:
    """Keep an existing GTK icon cache of the user's hicolor folder true (never make one).

    A stale ``icon-theme.cache`` hides icons added after it was made.
    """
    if not (hicolor / "icon-theme.cache").exists():
        return
    program = shutil.which("gtk-update-icon-cache")
    if program is None:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [program, "--force", "--ignore-theme-index", "--quiet", str(hicolor)],
            capture_output=True,
            timeout=30,
            check=False,
        )


def notification_icon(
    base: Path | None = None, cache: Path | None = None, draw: bool = True
) -> str:
    """An absolute path to a PNG of deskbreak's icon, for a notification's icon.

    The installed 128 px icon if deskbreak installed it; otherwise one drawn into the user
    cache folder (once per version; with ``draw=False`` only if it is there already: drawing
    loads Pillow, which the daemon leaves to the icon cache's drawing process). "" if neither
    can be had (the notification then shows the server's default).
    """
    installed_icon = icon_path(NOTIFICATION_ICON_SIZE, base)
    if installed_icon.is_file() and is_our_png(installed_icon):
        return str(installed_icon)
    if cache is None:
        from platformdirs import user_cache_path

        cache = user_cache_path(APP_ID, appauthor=False)
    drawn = cache / f"{ICON_NAME}-{__version__}-{NOTIFICATION_ICON_SIZE}.png"
    if drawn.is_file():
        return str(drawn)
    if not draw:
        return ""
    try:
        write_atomic(drawn, icon_png(NOTIFICATION_ICON_SIZE))
    except Exception:
        return ""
    return str(drawn)

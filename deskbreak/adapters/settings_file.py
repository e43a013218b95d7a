"""The settings file on disk: read it, and edit one key in place without disturbing the rest.

Reading is read-only: a missing file means the defaults, and deskbreak never rewrites the
file on start. Writing (for example a new reminder frequency chosen in the tray) changes
one key with tomlkit, so comments, order and layout survive, checks the result with the
same validation as reading, and replaces the file atomically: a temporary file in the same
folder, flushed to disk, then ``os.replace``. A write that would leave the file invalid
raises SettingsError and leaves the file exactly as it was.
"""

from __future__ import annotations

import os
import stat
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from platformdirs import user_config_path

from deskbreak.durations import format_duration
from deskbreak.errors import SettingsError
from deskbreak.settings import DEFAULTS, Settings, check_syntax, parse_settings

ENV_VAR = "DESKBREAK_CONFIG"
_BOM = "\ufeff"

if TYPE_CHECKING:
    from tomlkit.container import Container

Value = str | int | bool | list[str]


def default_path() -> Path:
    """The settings file: $DESKBREAK_CONFIG if set, else config.toml in the user config folder."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override).expanduser()
    return user_config_path("deskbreak", appauthor=False) / "config.toml"


def load(path: Path) -> Settings:
    """Read and validate the settings at ``path``; a missing file gives the defaults."""
    text = _read(path)
    if text is None:
        return DEFAULTS
    return parse_settings(text.removeprefix(_BOM), path=str(path))


def example_text() -> str:
    """The commented example settings file shipped with deskbreak."""
    from importlib import resources

    source = resources.files("deskbreak").joinpath("data", "config.example.toml")
    return source.read_text(encoding="utf-8")


def set_interval(path: Path, seconds: int) -> None:
    """Set how long to work between breaks, keeping the rest of the file as it is."""
    set_value(path, "reminders.interval", format_duration(seconds))


def set_value(path: Path, dotted_key: str, value: Value) -> None:
    """Set one key (``"reminders.snooze"``) in the settings file, editing it in place.

    Creates the file from the example if it does not exist, and adds the key (and its
    table) if absent. Raises SettingsError, leaving the file untouched, if the file cannot
    be read or parsed, or if the result would not be valid settings.
    """
    target = Path(os.path.realpath(path))  # edit through a symlink, keep the link
    where = str(path)
    existing = _read(target, shown_as=where)
    original = example_text() if existing is None else existing
    bom = _BOM if original.startswith(_BOM) else ""
    original = original.removeprefix(_BOM)

    check_syntax(original, where)
    # tomlkit only when writing: reading (the daemon's start, every command) goes without it.
    import tomlkit
    import tomlkit.exceptions

    try:
        doc = tomlkit.parse(original)
    except tomlkit.exceptions.TOMLKitError as err:
        raise SettingsError(
            f"cannot edit this file: {err}; fix its syntax first", path=where
        ) from None
    newline = "\r\n" if "\r\n" in original else "\n"
    _assign(doc, dotted_key.split("."), value, newline, where)
    updated = doc.as_string()

    try:
        parse_settings(updated, where)
    except SettingsError as err:
        if err.key != dotted_key:
            # A problem elsewhere that was already there: report it with the file's own lines.
            parse_settings(original, where)
        raise

    mode = None
    if existing is not None:
        mode = stat.S_IMODE(target.stat().st_mode)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_atomic(target, (bom + updated).encode("utf-8"), mode)
    except OSError as err:
        raise SettingsError(
            f"cannot save the setting: {err.strerror or err}; "
            "the file and its folder must be writable",
            path=where,
            key=dotted_key,
        ) from None


def _read(path: Path, shown_as: str | None = None) -> str | None:
    """The text of ``path``, or None if it does not exist; SettingsError if unreadable."""
    where = shown_as if shown_as is not None else str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise SettingsError(
            "is a folder, not a file; the settings must be a TOML text file", path=where
        ) from None
    except OSError as err:
        raise SettingsError(
            f"cannot read the settings file: {err.strerror or err}; "
            "it must be a readable TOML text file",
            path=where,
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise SettingsError(
            f"not UTF-8 text (byte {data[err.start]:#04x}); save the file as UTF-8",
            path=where,
            line=line,
        ) from None


def _assign(doc: Container, parts: list[str], value: Value, newline: str, where: str) -> None:
    """Set ``parts`` (a dotted key, split) to ``value`` in ``doc``, adding tables as needed."""
    import tomlkit
    from tomlkit.container import Container
    from tomlkit.items import InlineTable, Table

    holder: Any = doc
    for depth, part in enumerate(parts[:-1]):
        if part not in holder:
            if isinstance(holder, InlineTable):
                holder[part] = tomlkit.inline_table()
            else:
                # Tables that only hold other tables get no header of their own.
                holder[part] = tomlkit.table(is_super_table=depth < len(parts) - 2)
        holder = holder[part]
        if not isinstance(holder, Table | InlineTable | Container):
            raise SettingsError(
                "is a value, not a table; remove it or make it a table",
                path=where,
                key=".".join(parts[: depth + 1]),
            )
    name = parts[-1]
    item = tomlkit.item(value)
    if name in holder:
        holder[name] = item  # tomlkit keeps the old line's indent and comment
        return
    item.trivia.trail = newline
    last = _last_plain_key(holder)
    if last is not None:
        # Right after the table's last key, not after the comments that close the table.
        holder.value._insert_after(last, name, item)
    else:
        holder[name] = item


def _last_plain_key(holder: object) -> str | None:
    """The last key holding a plain value in a [table] section, if tomlkit allows inserting."""
    from tomlkit.items import Table

    if not isinstance(holder, Table) or holder.is_super_table():
        return None
    container = holder.value
    if not hasattr(container, "_insert_after"):
        return None
    last = None
    for key, item in container.body:
        if key is not None and not isinstance(item, Table) and not key.is_dotted():
            last = key.key
    return last


def _write_atomic(target: Path, data: bytes, mode: int | None) -> None:
    """Replace ``target`` with ``data``: a temp file in the same folder, fsync, os.replace.

    ``mode`` is the permission bits to give the new file; None means the usual ones for a new
    file (0o666 less the umask).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        temp = target.with_name(f".{target.name[:100]}.{os.urandom(6).hex()}.tmp")
        try:
            fd = os.open(temp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(temp, mode)
        os.replace(temp, target)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable, where the platform allows it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

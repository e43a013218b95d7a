"""Start deskbreak at login, per platform: enable, disable and tell what is set up.

How it works:

- What runs at login is the deskbreak that is installed now, by absolute path
  (``run_command()``): the ``deskbreak`` script the user just ran, else the one next to this
  Python, else ``deskbreak`` on PATH, else ``python -m deskbreak``. So an entry written from
  a venv or a pipx install keeps working when that venv is not on PATH at login.
- Each method has a pure function giving the exact content it writes, tested as such:
  ``xdg_autostart_entry`` (Linux, the default: ``deskbreak.desktop`` in the user's
  autostart folder), ``systemd_unit`` (Linux with ``--systemd``: a user unit bound to
  ``graphical-session.target`` that restarts on failure), ``windows_run_value`` (the
  per-user Run key) and ``launch_agent_plist`` (macOS).
- ``Autostart`` writes and removes them. ``enable`` twice is harmless (it writes the same
  thing again), and enabling one method on Linux removes the other one deskbreak wrote, so
  deskbreak never starts twice. ``disable`` removes only what deskbreak wrote: the XDG entry
  and the systemd unit carry ``X-Deskbreak-Managed=true``; on Windows and macOS the value
  and the file have deskbreak's own name and run a deskbreak command. Anything else is left
  alone and reported by ``status``.
- Files are replaced atomically (a temporary file in the same folder, then ``os.replace``).
"""

from __future__ import annotations

import contextlib
import importlib
import itertools
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from deskbreak.errors import DeskbreakError, UsageError

APP_ID = "deskbreak"
MARKER_KEY = "X-Deskbreak-Managed"
SYSTEMD_UNIT = "deskbreak.service"
SYSTEMD_TARGET = "graphical-session.target"
WINDOWS_RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
WINDOWS_VALUE_NAME = "deskbreak"
LAUNCHD_LABEL = "deskbreak"
SYSTEMCTL_TIMEOUT = 15.0

# Methods, as ``Entry.method`` names them.
XDG = "xdg"
SYSTEMD = "systemd"
WINDOWS_RUN = "windows-run"
LAUNCH_AGENT = "launch-agent"

METHOD_NAMES = {
    XDG: "XDG autostart entry",
    SYSTEMD: "systemd user unit",
    WINDOWS_RUN: "Run key of the registry",
    LAUNCH_AGENT: "LaunchAgent",
}

NAME = "deskbreak"
GENERIC_NAME = "Break reminder"
COMMENT = "Reminds you to take short stretch breaks at your desk"


# -- which command to run -----------------------------------------------------------------


def _is_program(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def deskbreak_command(
    *,
    argv0: str | None = None,
    executable: str | None = None,
    platform: str | None = None,
    which: Callable[[str], str | None] = shutil.which,
) -> list[str]:
    """The argv that runs the deskbreak installed now, every part an absolute path.

    In order: the ``deskbreak`` script being run right now (``sys.argv[0]``, symlinks kept,
    so a pipx link in ~/.local/bin stays the entry point); the script next to this Python
    (a venv's bin folder); ``deskbreak`` on PATH; ``python -m deskbreak``. On Windows it is
    ``pythonw.exe -m deskbreak`` when that exists, so no console window opens at login.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable = sys.executable if executable is None else executable
    platform = sys.platform if platform is None else platform
    python = Path(executable)
    if platform == "win32":
        pythonw = python.with_name("pythonw.exe")
        if pythonw.is_file():
            return [str(pythonw), "-m", APP_ID]
        names = ("deskbreak.exe",)
    else:
        names = ("deskbreak",)
    if argv0 and Path(argv0).name in names:
        script = Path(os.path.abspath(argv0))
        if _is_program(script):
            return [str(script)]
    for name in names:
        beside = python.parent / name
        if _is_program(beside):
            return [str(beside.absolute())]
    found = which(APP_ID)
    if found:
        return [os.path.abspath(found)]
    return [str(python.absolute()), "-m", APP_ID]


def run_command(**kwargs: Any) -> list[str]:
    """The argv that starts the daemon at login: ``deskbreak_command() + ["run"]``."""
    return [*deskbreak_command(**kwargs), "run"]


def looks_like_deskbreak(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is a command deskbreak writes: ``.../deskbreak run`` or ``-m deskbreak``."""
    if not argv or argv[-1] != "run":
        return False
    first = Path(argv[0].replace("\\", "/")).name.lower()
    if first in ("deskbreak", "deskbreak.exe"):
        return True
    return any(a == "-m" and b == APP_ID for a, b in itertools.pairwise(argv))


# -- Desktop Entry files (shared with the launcher) ---------------------------------------

# Characters that force an Exec argument into quotes (Desktop Entry spec, "The Exec key").
_EXEC_RESERVED = frozenset(" \t\n\"'\\><~|&;$*?#()`")
_EXEC_ESCAPED_IN_QUOTES = frozenset('"`$\\')


def _escape_string(value: str) -> str:
    """A Desktop Entry string value: backslash, newline, tab and CR as escapes."""
    return (
        value.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    )


def _unescape_string(value: str) -> str:
    out: list[str] = []
    i = 0
    table = {"s": " ", "n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value) and value[i + 1] in table:
            out.append(table[value[i + 1]])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _exec_argument(arg: str) -> str:
    if arg and not any(c in _EXEC_RESERVED for c in arg):
        quoted = arg
    else:
        quoted = '"' + "".join("\\" + c if c in _EXEC_ESCAPED_IN_QUOTES else c for c in arg) + '"'
    return quoted.replace("%", "%%")


def desktop_exec(argv: Sequence[str]) -> str:
    """The value of an ``Exec=`` line that runs ``argv``, escaped as it is written in the file.

    Arguments with reserved characters are double-quoted with ``"`$\\`` backslash-escaped,
    ``%`` is doubled, and then the string-value escapes apply (so a backslash in a path is
    four backslashes in the file), as the Desktop Entry specification says.
    """
    return _escape_string(" ".join(_exec_argument(a) for a in argv))


def parse_desktop_exec(value: str) -> list[str]:
    """The argv of an ``Exec=`` value as written in the file (the inverse of desktop_exec).

    Field codes such as ``%f`` or ``%U`` are dropped; ``%%`` is a percent sign.
    """
    text = _unescape_string(value)
    args: list[str] = []
    current: list[str] = []
    in_arg = False
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\" and i + 1 < len(text):
                current.append(text[i + 1])
                i += 2
                continue
            if ch == '"':
                quoted = False
            elif ch == "%" and text[i + 1 : i + 2] == "%":
                current.append("%")
                i += 1
            else:
                current.append(ch)
        elif ch in " \t\n":
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        elif ch == '"':
            quoted = in_arg = True
        elif ch == "%":
            nxt = text[i + 1 : i + 2]
            if nxt == "%":
                current.append("%")
                in_arg = True
            i += 1  # a field code (or %%): skip its letter as well
        else:
            current.append(ch)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


def read_desktop_entry(path: Path) -> dict[str, str]:
    """The keys of the ``[Desktop Entry]`` group of a file, values unescaped (Exec raw)."""
    keys: dict[str, str] = {}
    group = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
            continue
        if group != "Desktop Entry" or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip()
        value = value.strip()
        keys[key] = value if key == "Exec" else _unescape_string(value)
    return keys


def desktop_entry(fields: Sequence[tuple[str, str]]) -> str:
    """A ``[Desktop Entry]`` file from (key, already escaped value) pairs."""
    return "[Desktop Entry]\n" + "".join(f"{k}={v}\n" for k, v in fields)


def xdg_autostart_entry(argv: Sequence[str]) -> str:
    """The exact content of the XDG autostart entry that runs ``argv`` at login."""
    return desktop_entry(
        [
            ("Type", "Application"),
            ("Version", "1.4"),
            ("Name", NAME),
            ("GenericName", GENERIC_NAME),
            ("Comment", COMMENT),
            ("Exec", desktop_exec(argv)),
            ("TryExec", _escape_string(argv[0])),
            ("Icon", APP_ID),
            ("Terminal", "false"),
            ("X-GNOME-Autostart-enabled", "true"),
            (MARKER_KEY, "true"),
        ]
    )


# -- systemd ------------------------------------------------------------------------------

_SYSTEMD_PLAIN = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+,:@="
)


def _systemd_unsafe_program(program: str) -> bool:
    """Whether systemd refuses ``program`` as ExecStart's executable ("special characters")."""
    return any(c in "\\\"'\x7f" or ord(c) < 32 for c in program)


def _systemd_argument(arg: str, *, program: bool = False) -> str:
    if arg and all(c in _SYSTEMD_PLAIN for c in arg):
        text = arg
    else:
        inner = (
            arg.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        )
        text = f'"{inner}"'
    # % starts a specifier everywhere; $ starts a variable in the arguments (not in the
    # program's path). Doubled, each is literal.
    text = text.replace("%", "%%")
    return text if program else text.replace("$", "$$")


def systemd_exec(argv: Sequence[str]) -> str:
    """The value of ``ExecStart=`` that runs ``argv`` (quoted as systemd.service says).

    systemd refuses a program path with a quote, a backslash or a control character in it;
    such a program is started through ``/usr/bin/env``, where it is an argument.
    """
    program, *rest = argv
    if _systemd_unsafe_program(program):
        program, rest = "/usr/bin/env", [program, *rest]
    return " ".join(
        [_systemd_argument(program, program=True), *(_systemd_argument(a) for a in rest)]
    )


def systemd_unit(argv: Sequence[str]) -> str:
    """The exact content of the systemd user unit that runs ``argv`` in the graphical session.

    It starts with the session and stops with it, restarts after a crash (at most five times
    in five minutes), and not after exit status 2, which is deskbreak's "fix your settings".
    """
    return (
        "# Written by `deskbreak autostart enable --systemd`; "
        "`deskbreak autostart disable` removes it.\n"
        "[Unit]\n"
        f"Description={NAME}: {GENERIC_NAME.lower()}\n"
        f"PartOf={SYSTEMD_TARGET}\n"
        f"After={SYSTEMD_TARGET}\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=5\n"
        f"{MARKER_KEY}=true\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"ExecStart={systemd_exec(argv)}\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "RestartPreventExitStatus=2\n"
        "\n"
        "[Install]\n"
        f"WantedBy={SYSTEMD_TARGET}\n"
    )


def _systemd_value(text: str, section: str, key: str) -> str | None:
    group = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            group = line[1:-1]
        elif group == section and line.partition("=")[0].strip() == key:
            return line.partition("=")[2].strip()
    return None


def parse_systemd_exec(value: str) -> list[str]:
    """The argv of an ``ExecStart=`` value (the inverse of systemd_exec)."""
    value = value.lstrip("-@:+!|")
    args: list[str] = []
    current: list[str] = []
    in_arg = False
    quote = ""
    i = 0
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    while i < len(value):
        ch = value[i]
        if ch == "%" and value[i + 1 : i + 2] == "%":
            current.append("%")
            in_arg = True
            i += 2
            continue
        if quote:
            if ch == "\\" and i + 1 < len(value):
                current.append(escapes.get(value[i + 1], value[i + 1]))
                i += 2
                continue
            if ch == quote:
                quote = ""
            else:
                current.append(ch)
        elif ch in " \t":
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        elif ch in "\"'":
            quote = ch
            in_arg = True
        else:
            current.append(ch)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args[:1] + [a.replace("$$", "$") for a in args[1:]]


# -- Windows ------------------------------------------------------------------------------


def windows_command_line(argv: Sequence[str]) -> str:
    """A Windows command line for ``argv``; the program path is always in double quotes."""
    program, *rest = argv
    line = f'"{program}"'
    if rest:
        line += " " + subprocess.list2cmdline(rest)
    return line


def windows_run_value(argv: Sequence[str]) -> tuple[str, str, str]:
    """(key under HKEY_CURRENT_USER, value name, value data) that runs ``argv`` at login."""
    return (WINDOWS_RUN_KEY, WINDOWS_VALUE_NAME, windows_command_line(argv))


def parse_windows_command_line(line: str) -> list[str]:
    """Split a command line the way the Microsoft C runtime does (enough for our values)."""
    args: list[str] = []
    current: list[str] = []
    in_arg = quoted = False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\":
            n = 0
            while i < len(line) and line[i] == "\\":
                n += 1
                i += 1
            if i < len(line) and line[i] == '"':
                current.append("\\" * (n // 2))
                if n % 2:
                    current.append('"')
                    i += 1
            else:
                current.append("\\" * n)
            in_arg = True
            continue
        if ch == '"':
            quoted = not quoted
            in_arg = True
        elif ch in " \t" and not quoted:
            if in_arg:
                args.append("".join(current))
                current, in_arg = [], False
        else:
            current.append(ch)
            in_arg = True
        i += 1
    if in_arg:
        args.append("".join(current))
    return args


class Registry(Protocol):
    """The few registry operations on HKEY_CURRENT_USER that autostart needs."""

    def get(self, key: str, name: str) -> str | None: ...

    def set(self, key: str, name: str, value: str) -> None: ...

    def delete(self, key: str, name: str) -> None: ...


def _winreg() -> Any:
    return importlib.import_module("winreg")


class WinRegistry:
    """HKEY_CURRENT_USER through ``winreg`` (Windows only)."""

    def get(self, key: str, name: str) -> str | None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key) as k:
                value, _kind = winreg.QueryValueEx(k, name)
        except FileNotFoundError:
            return None
        return str(value)

    def set(self, key: str, name: str, value: str) -> None:
        winreg = _winreg()

        with winreg.CreateKeyEx(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as k:
            winreg.SetValueEx(k, name, 0, winreg.REG_SZ, value)

    def delete(self, key: str, name: str) -> None:
        winreg = _winreg()

        try:
            with winreg.OpenKey(winreg.HKEY_CURRENT_USER, key, 0, winreg.KEY_SET_VALUE) as k:
                winreg.DeleteValue(k, name)
        except FileNotFoundError:
            pass


@dataclass
class FakeRegistry:
    """A registry in a dict, for tests: {(key, name): value}."""

    values: dict[tuple[str, str], str]

    def get(self, key: str, name: str) -> str | None:
        return self.values.get((key, name))

    def set(self, key: str, name: str, value: str) -> None:
        self.values[(key, name)] = value

    def delete(self, key: str, name: str) -> None:
        self.values.pop((key, name), None)


# -- macOS --------------------------------------------------------------------------------


def launch_agent_dict(argv: Sequence[str]) -> dict[str, Any]:
    """The LaunchAgent's keys: run ``argv`` once when the user logs in to the desktop."""
    return {
        "Label": LAUNCHD_LABEL,
        "ProgramArguments": list(argv),
        "RunAtLoad": True,
        "LimitLoadToSessionType": "Aqua",
        "ProcessType": "Interactive",
    }


def launch_agent_plist(argv: Sequence[str]) -> bytes:
    """The exact content of ``~/Library/LaunchAgents/deskbreak.plist`` (XML plist)."""
    import plistlib

    return plistlib.dumps(launch_agent_dict(argv), fmt=plistlib.FMT_XML, sort_keys=True)


# -- files --------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data``: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def config_home(env: Mapping[str, str], home: Path) -> Path:
    """$XDG_CONFIG_HOME if it is an absolute path, else ~/.config."""
    value = env.get("XDG_CONFIG_HOME", "")
    return Path(value) if value and os.path.isabs(value) else home / ".config"


def config_dirs(env: Mapping[str, str]) -> list[Path]:
    """$XDG_CONFIG_DIRS (default /etc/xdg): where system-wide autostart entries live."""
    value = env.get("XDG_CONFIG_DIRS", "") or "/etc/xdg"
    return [Path(p) for p in value.split(":") if p and os.path.isabs(p)]


# -- what is set up -----------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One way deskbreak would be started at login, as found on this system."""

    method: str  # XDG, SYSTEMD, WINDOWS_RUN, LAUNCH_AGENT
    location: str  # the file, or the registry key and value name
    command: tuple[str, ...]  # what it runs
    managed: bool  # written by deskbreak (disable removes it)
    enabled: bool  # it does start at login
    note: str = ""  # e.g. "disabled in the session settings"

    @property
    def method_name(self) -> str:
        return METHOD_NAMES[self.method]

    def problem(self) -> str:
        """What is wrong with it, or "" (the program it runs is gone, say)."""
        if not self.command:
            return "it runs nothing"
        program = self.command[0]
        if os.path.basename(program) == "env" and len(self.command) > 1:
            program = self.command[1]  # started through env (see systemd_exec)
        if os.path.isabs(program) and not os.path.exists(program):
            return f"the program it runs no longer exists: {program}"
        return ""

    def describe(self) -> str:
        state = "" if self.enabled else " (disabled" + (f": {self.note}" if self.note else "") + ")"
        owner = "" if self.managed else " (not written by deskbreak)"
        return f"{self.method_name} {self.location}{owner}{state}"


class Autostart:
    """Enable, disable and inspect starting at login, for one platform and one user.

    Everything it touches is given: the platform, the home folder, the environment (for the
    XDG folders), the registry (Windows) and the ``systemctl`` program (None: not used), so
    tests run each platform's whole flow in a throwaway home.
    """

    def __init__(
        self,
        *,
        platform: str | None = None,
        home: Path | None = None,
        env: Mapping[str, str] | None = None,
        registry: Registry | None = None,
        systemctl: str | None = "auto",
    ) -> None:
        self.platform = sys.platform if platform is None else platform
        self.home = Path.home() if home is None else home
        self.env = os.environ if env is None else env
        self._registry = registry
        self.systemctl = shutil.which("systemctl") if systemctl == "auto" else systemctl

    # where ------------------------------------------------------------------------------

    @property
    def linux(self) -> bool:
        return not (self.platform == "win32" or self.platform == "darwin")

    @property
    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = WinRegistry()
        return self._registry

    def xdg_path(self) -> Path:
        return config_home(self.env, self.home) / "autostart" / f"{APP_ID}.desktop"

    def systemd_dir(self) -> Path:
        return config_home(self.env, self.home) / "systemd" / "user"

    def systemd_path(self) -> Path:
        return self.systemd_dir() / SYSTEMD_UNIT

    def systemd_link(self) -> Path:
        return self.systemd_dir() / f"{SYSTEMD_TARGET}.wants" / SYSTEMD_UNIT

    def launch_agent_path(self) -> Path:
        return self.home / "Library" / "LaunchAgents" / f"{LAUNCHD_LABEL}.plist"

    def default_method(self, systemd: bool = False) -> str:
        if self.platform == "win32":
            method = WINDOWS_RUN
        elif self.platform == "darwin":
            method = LAUNCH_AGENT
        else:
            return SYSTEMD if systemd else XDG
        if systemd:
            raise UsageError("--systemd is for Linux; this system has no systemd user session")
        return method

    # status -----------------------------------------------------------------------------

    def status(self) -> list[Entry]:
        """Every way deskbreak is set up to start at login here (empty: none)."""
        if self.platform == "win32":
            found = [self._windows_entry()]
        elif self.platform == "darwin":
            found = [self._launch_agent_entry()]
        else:
            found = [self._xdg_entry(), self._systemd_entry(), *self._system_xdg_entries()]
        return [e for e in found if e is not None]

    def active(self) -> list[Entry]:
        """The entries that do start deskbreak at login."""
        return [e for e in self.status() if e.enabled]

    def _xdg_entry(self, path: Path | None = None) -> Entry | None:
        path = path or self.xdg_path()
        if not path.is_file():
            return None
        keys = read_desktop_entry(path)
        managed = keys.get(MARKER_KEY, "").lower() == "true"
        note = ""
        if keys.get("Hidden", "").lower() == "true":
            note = "Hidden=true"
        elif keys.get("X-GNOME-Autostart-enabled", "true").lower() == "false":
            note = "turned off in the session's startup settings"
        return Entry(
            method=XDG,
            location=str(path),
            command=tuple(parse_desktop_exec(keys.get("Exec", ""))),
            managed=managed,
            enabled=not note,
            note=note,
        )

    def _system_xdg_entries(self) -> list[Entry]:
        user = self.xdg_path()
        if user.is_file():
            return []  # the user's entry of the same name hides the system-wide ones
        found = []
        for directory in config_dirs(self.env):
            entry = self._xdg_entry(directory / "autostart" / f"{APP_ID}.desktop")
            if entry is not None:
                found.append(entry)
                break
        return found

    def _systemd_entry(self) -> Entry | None:
        path = self.systemd_path()
        if not path.is_file():
            return None
        text = path.read_text(encoding="utf-8", errors="replace")
        managed = (_systemd_value(text, "Unit", MARKER_KEY) or "").lower() == "true"
        linked = self.systemd_link().exists() or self.systemd_link().is_symlink()
        return Entry(
            method=SYSTEMD,
            location=str(path),
            command=tuple(parse_systemd_exec(_systemd_value(text, "Service", "ExecStart") or "")),
            managed=managed,
            enabled=linked,
            note="" if linked else f"not enabled for {SYSTEMD_TARGET}",
        )

    def _windows_entry(self) -> Entry | None:
        value = self.registry.get(WINDOWS_RUN_KEY, WINDOWS_VALUE_NAME)
        if value is None:
            return None
        argv = parse_windows_command_line(value)
        return Entry(
            method=WINDOWS_RUN,
            location=f"HKEY_CURRENT_USER\\{WINDOWS_RUN_KEY}\\{WINDOWS_VALUE_NAME}",
            command=tuple(argv),
            managed=looks_like_deskbreak(argv),
            enabled=True,
        )

    def _launch_agent_entry(self) -> Entry | None:
        path = self.launch_agent_path()
        if not path.is_file():
            return None
        try:
            import plistlib

            data = plistlib.loads(path.read_bytes())
        except Exception:
            data = {}
        argv = [str(a) for a in data.get("ProgramArguments", [])] if isinstance(data, dict) else []
        label = data.get("Label") if isinstance(data, dict) else None
        disabled = isinstance(data, dict) and data.get("Disabled") is True
        return Entry(
            method=LAUNCH_AGENT,
            location=str(path),
            command=tuple(argv),
            managed=label == LAUNCHD_LABEL and looks_like_deskbreak(argv),
            enabled=not disabled,
            note="Disabled is set" if disabled else "",
        )

    # enable / disable -------------------------------------------------------------------

    def own_entry(self, method: str) -> Entry | None:
        """The entry at deskbreak's own location for ``method`` (not a system-wide one)."""
        if method == XDG:
            return self._xdg_entry()
        if method == SYSTEMD:
            return self._systemd_entry()
        if method == WINDOWS_RUN:
            return self._windows_entry()
        return self._launch_agent_entry()

    def enable(self, *, systemd: bool = False, command: Sequence[str] | None = None) -> Entry:
        """Start deskbreak at login with ``command`` (default: ``run_command()``).

        Returns the entry now in place. On Linux it also removes the other method's entry
        if deskbreak wrote it. Raises DeskbreakError when a file or value of the same name
        exists that deskbreak did not write: that is never overwritten.
        """
        method = self.default_method(systemd)
        argv = list(command) if command is not None else run_command(platform=self.platform)
        existing = self.own_entry(method)
        if existing is not None and not existing.managed:
            raise DeskbreakError(
                f"{existing.location} exists and was not written by deskbreak; "
                "remove it yourself, or keep using it"
            )
        if method == XDG:
            write_atomic(self.xdg_path(), xdg_autostart_entry(argv).encode())
            self._disable_systemd()
        elif method == SYSTEMD:
            self._enable_systemd(argv)
            self._remove_file(self.xdg_path(), self._xdg_entry())
        elif method == WINDOWS_RUN:
            key, name, value = windows_run_value(argv)
            self.registry.set(key, name, value)
        else:
            write_atomic(self.launch_agent_path(), launch_agent_plist(argv))
        entry = self.own_entry(method)
        if entry is None or not entry.enabled:
            raise DeskbreakError(f"could not enable the {METHOD_NAMES[method]}")
        return entry

    def disable(self) -> list[Entry]:
        """Remove every autostart entry deskbreak wrote; return what was removed.

        Entries deskbreak did not write stay (``status`` still lists them).
        """
        removed: list[Entry] = []
        for method in (XDG, SYSTEMD) if self.linux else (self.default_method(),):
            entry = self.own_entry(method)
            if entry is None or not entry.managed:
                continue
            if method == XDG:
                self._remove_file(self.xdg_path(), entry)
            elif method == SYSTEMD:
                self._disable_systemd()
            elif method == WINDOWS_RUN:
                self.registry.delete(WINDOWS_RUN_KEY, WINDOWS_VALUE_NAME)
            else:
                self._remove_file(self.launch_agent_path(), entry)
            removed.append(entry)
        return removed

    @staticmethod
    def _remove_file(path: Path, entry: Entry | None) -> None:
        if entry is not None and entry.managed:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _systemctl(self, *args: str) -> bool:
        if not self.systemctl:
            return False
        try:
            result = subprocess.run(
                [self.systemctl, "--user", *args],
                capture_output=True,
                timeout=SYSTEMCTL_TIMEOUT,
                stdin=subprocess.DEVNULL,
                check=False,
                env=dict(self.env),
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return result.returncode == 0

    def _enable_systemd(self, argv: Sequence[str]) -> None:
        write_atomic(self.systemd_path(), systemd_unit(argv).encode())
        self._systemctl("daemon-reload")
        self._systemctl("enable", SYSTEMD_UNIT)
        link = self.systemd_link()
        if not link.exists():
            # No user manager answered (no session, or a container): make the link that
            # ``systemctl --user enable`` makes.
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink():
                link.unlink()  # a dangling one
            link.symlink_to(self.systemd_path())

    def _disable_systemd(self) -> None:
        existing = self._systemd_entry()
        if existing is None or not existing.managed:
            return
        self._systemctl("disable", SYSTEMD_UNIT)
        link = self.systemd_link()
        if link.is_symlink() and Path(os.readlink(link)).name == SYSTEMD_UNIT:
            link.unlink()
        with contextlib.suppress(FileNotFoundError):
            self.systemd_path().unlink()
        with contextlib.suppress(OSError):
            link.parent.rmdir()  # only if empty
        self._systemctl("daemon-reload")


def status() -> list[Entry]:
    """Every way deskbreak is set up to start at login on this system."""
    return Autostart().status()

"""Starting at login: the exact content each platform gets, and the real files on Linux.

Linux is checked with the desktop's own validators: ``desktop-file-validate`` on the XDG
autostart entry and ``systemd-analyze --user verify`` on the user unit. Windows and macOS
run their whole enable/status/disable flow against a registry in a dict and a throwaway
home folder, and their content is compared byte for byte.
"""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deskbreak.adapters import autostart as a
from deskbreak.errors import DeskbreakError, UsageError

BIN = "/opt/deskbreak/bin/deskbreak"


def validate_desktop_file(path: Path) -> None:
    program = shutil.which("desktop-file-validate")
    if program is None:
        pytest.fail("desktop-file-validate is missing: run scripts/setup --test", pytrace=False)
    r = subprocess.run([program, str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def verify_systemd_unit(path: Path, runtime: Path) -> None:
    program = shutil.which("systemd-analyze")
    if program is None:
        pytest.fail("systemd-analyze is missing: run scripts/setup --test", pytrace=False)
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(runtime))
    r = subprocess.run(
        [program, "--user", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    out = r.stdout + r.stderr
    # systemd only warns (exit 0) about a bad line; any line about our unit is a failure.
    assert r.returncode == 0, out
    assert path.name not in out and str(path) not in out, out


def make_program(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


# -- exact content --------------------------------------------------------------------------


def test_xdg_autostart_entry_exact_content() -> None:
    assert a.xdg_autostart_entry([BIN, "run"]) == (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=deskbreak\n"
        "GenericName=Break reminder\n"
        "Comment=Reminds you to take short stretch breaks at your desk\n"
        "Exec=/opt/deskbreak/bin/deskbreak run\n"
        "TryExec=/opt/deskbreak/bin/deskbreak\n"
        "Icon=deskbreak\n"
        "Terminal=false\n"
        "X-GNOME-Autostart-enabled=true\n"
        "X-Deskbreak-Managed=true\n"
    )


def test_systemd_unit_exact_content() -> None:
    assert a.systemd_unit([BIN, "run"]) == (
        "# Written by `deskbreak autostart enable --systemd`; "
        "`deskbreak autostart disable` removes it.\n"
        "[Unit]\n"
        "Description=deskbreak: break reminder\n"
        "PartOf=graphical-session.target\n"
        "After=graphical-session.target\n"
        "StartLimitIntervalSec=300\n"
        "StartLimitBurst=5\n"
        "X-Deskbreak-Managed=true\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        "ExecStart=/opt/deskbreak/bin/deskbreak run\n"
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "RestartPreventExitStatus=2\n"
        "\n"
        "[Install]\n"
        "WantedBy=graphical-session.target\n"
    )


PYTHONW = r"C:\Users\Ann Lee\AppData\Local\Programs\Python\Python311\pythonw.exe"


def test_windows_run_value_exact_content() -> None:
    assert a.windows_run_value([PYTHONW, "-m", "deskbreak", "run"]) == (
        r"Software\Microsoft\Windows\CurrentVersion\Run",
        "deskbreak",
        r'"C:\Users\Ann Lee\AppData\Local\Programs\Python\Python311\pythonw.exe"'
        " -m deskbreak run",
    )
    # A path without spaces is quoted all the same.
    assert a.windows_run_value([r"C:\deskbreak\Scripts\deskbreak.exe", "run"])[2] == (
        r'"C:\deskbreak\Scripts\deskbreak.exe" run'
    )


def test_launch_agent_plist_exact_content() -> None:
    assert a.launch_agent_plist([BIN, "run"]).decode() == (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" '
        '"http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n'
        '<plist version="1.0">\n'
        "<dict>\n"
        "\t<key>Label</key>\n"
        "\t<string>deskbreak</string>\n"
        "\t<key>LimitLoadToSessionType</key>\n"
        "\t<string>Aqua</string>\n"
        "\t<key>ProcessType</key>\n"
        "\t<string>Interactive</string>\n"
        "\t<key>ProgramArguments</key>\n"
        "\t<array>\n"
        "\t\t<string>/opt/deskbreak/bin/deskbreak</string>\n"
        "\t\t<string>run</string>\n"
        "\t</array>\n"
        "\t<key>RunAtLoad</key>\n"
        "\t<true/>\n"
        "</dict>\n"
        "</plist>\n"
    )


AWKWARD_PATHS = [
    "/home/ann lee/.venvs/desk break/bin/deskbreak",
    "/home/o'brien/$HOME/`x`/100%/deskbreak",
    '/srv/"quoted"/back\\slash/deskbreak',
    "/home/zoë/…/deskbreak",
]


@pytest.mark.parametrize("program", AWKWARD_PATHS)
def test_exec_lines_round_trip_awkward_paths(program: str) -> None:
    argv = [program, "run", "100% $HOME"]
    assert a.parse_desktop_exec(a.desktop_exec(argv)) == argv
    # systemd refuses quotes and backslashes in a program's path: env starts such a one.
    through_env = any(c in program for c in "'\"\\")
    expected = ["/usr/bin/env", *argv] if through_env else argv
    assert a.parse_systemd_exec(a.systemd_exec(argv)) == expected


def test_systemd_exec_doubles_dollars_only_in_arguments() -> None:
    # systemd expands $VAR in arguments but takes the program's path as it is.
    assert a.systemd_exec(["/a$b/deskbreak", "$x"]) == '"/a$b/deskbreak" "$$x"'
    assert a.systemd_exec(["/100%/deskbreak", "run"]) == '"/100%%/deskbreak" run'


def test_desktop_exec_quotes_as_the_specification_shows() -> None:
    # The specification's own example: a backslash in an argument is four in the file.
    assert a.desktop_exec(["/a b/c\\d", "run"]) == '"/a b/c\\\\\\\\d" run'
    assert a.desktop_exec(["/x/100%/deskbreak", "run"]) == "/x/100%%/deskbreak run"
    assert a.desktop_exec(["/$v/deskbreak"]) == '"/\\\\$v/deskbreak"'


@pytest.mark.parametrize("program", AWKWARD_PATHS)
def test_autostart_entry_for_awkward_paths_validates(program: str, tmp_path: Path) -> None:
    path = tmp_path / "deskbreak.desktop"
    path.write_text(a.xdg_autostart_entry([program, "run"]), encoding="utf-8")
    validate_desktop_file(path)
    assert a.parse_desktop_exec(a.read_desktop_entry(path)["Exec"]) == [program, "run"]
    assert a.read_desktop_entry(path)["TryExec"] == program


@pytest.mark.parametrize(
    "name", ["desk break", "a$b 100%", "o'brien", "back\\slash", 'say "hi"', "zoë"]
)
def test_systemd_unit_for_awkward_paths_verifies(name: str, tmp_path: Path) -> None:
    # systemd-analyze checks that ExecStart's program exists and is executable, so a
    # quoting mistake shows up as "is not executable" or "special characters".
    program = make_program(tmp_path / name / "deskbreak")
    unit = tmp_path / "deskbreak.service"
    unit.write_text(a.systemd_unit([str(program), "run"]))
    verify_systemd_unit(unit, tmp_path / "runtime")
    text = unit.read_text()
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    assert a.parse_systemd_exec(exec_line.removeprefix("ExecStart="))[-2:] == [str(program), "run"]


def test_windows_command_line_round_trips() -> None:
    argv = [PYTHONW, "-m", "deskbreak", "run"]
    assert a.parse_windows_command_line(a.windows_command_line(argv)) == argv


# -- which deskbreak runs at login ------------------------------------------------------------


def test_command_is_the_script_being_run(tmp_path: Path) -> None:
    script = make_program(tmp_path / "pipx bin" / "deskbreak")
    python = make_program(tmp_path / "venv" / "bin" / "python")
    make_program(tmp_path / "venv" / "bin" / "deskbreak")
    argv = a.deskbreak_command(argv0=str(script), executable=str(python), which=lambda n: None)
    assert argv == [str(script)]
    assert a.run_command(argv0=str(script), executable=str(python), which=lambda n: None) == [
        str(script),
        "run",
    ]


def test_a_symlinked_script_keeps_its_own_path(tmp_path: Path) -> None:
    real = make_program(tmp_path / "venvs" / "deskbreak" / "bin" / "deskbreak")
    link = tmp_path / "bin" / "deskbreak"
    link.parent.mkdir()
    link.symlink_to(real)
    assert a.deskbreak_command(argv0=str(link), executable=sys.executable) == [str(link)]


def test_command_is_the_script_beside_python_for_python_dash_m(tmp_path: Path) -> None:
    python = make_program(tmp_path / "venv" / "bin" / "python")
    beside = make_program(tmp_path / "venv" / "bin" / "deskbreak")
    argv = a.deskbreak_command(
        argv0="/somewhere/deskbreak/__main__.py", executable=str(python), which=lambda n: None
    )
    assert argv == [str(beside)]


def test_command_falls_back_to_path_then_python_dash_m(tmp_path: Path) -> None:
    python = make_program(tmp_path / "py" / "python3")
    on_path = make_program(tmp_path / "bin" / "deskbreak")
    found = a.deskbreak_command(argv0="-c", executable=str(python), which=lambda n: str(on_path))
    assert found == [str(on_path)]
    assert a.deskbreak_command(argv0="-c", executable=str(python), which=lambda n: None) == [
        str(python),
        "-m",
        "deskbreak",
    ]


def test_windows_prefers_pythonw_so_no_console_opens(tmp_path: Path) -> None:
    python = make_program(tmp_path / "Scripts" / "python.exe")
    pythonw = make_program(tmp_path / "Scripts" / "pythonw.exe")
    argv = a.deskbreak_command(argv0="x", executable=str(python), platform="win32")
    assert argv == [str(pythonw), "-m", "deskbreak"]


def test_looks_like_deskbreak() -> None:
    assert a.looks_like_deskbreak([BIN, "run"])
    assert a.looks_like_deskbreak([PYTHONW, "-m", "deskbreak", "run"])
    assert a.looks_like_deskbreak([r"C:\x\Scripts\deskbreak.exe", "run"])
    assert not a.looks_like_deskbreak([r"C:\tools\other.exe", "run"])
    assert not a.looks_like_deskbreak([BIN, "exercises"])


# -- Linux: real files ----------------------------------------------------------------------


def linux(tmp_path: Path) -> a.Autostart:
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CONFIG_DIRS": str(tmp_path / "etc")}
    return a.Autostart(platform="linux", home=tmp_path / "home", env=env, systemctl=None)


def test_xdg_enable_writes_a_valid_entry_twice_harmlessly_and_disable_removes_it(
    tmp_path: Path,
) -> None:
    program = make_program(tmp_path / "venv" / "bin" / "deskbreak")
    auto = linux(tmp_path)
    assert auto.status() == []

    entry = auto.enable(command=[str(program), "run"])
    path = tmp_path / "config" / "autostart" / "deskbreak.desktop"
    assert entry == a.Entry(a.XDG, str(path), (str(program), "run"), managed=True, enabled=True)
    assert path.read_text() == a.xdg_autostart_entry([str(program), "run"])
    validate_desktop_file(path)
    assert auto.status() == [entry]
    assert entry.problem() == ""

    first = path.read_bytes()
    assert auto.enable(command=[str(program), "run"]) == entry
    assert path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["deskbreak.desktop"]

    assert auto.disable() == [entry]
    assert not path.exists()
    assert auto.status() == []
    assert auto.disable() == []


def test_an_entry_deskbreak_did_not_write_is_never_overwritten_or_removed(tmp_path: Path) -> None:
    auto = linux(tmp_path)
    path = auto.xdg_path()
    path.parent.mkdir(parents=True)
    mine = "[Desktop Entry]\nType=Application\nName=My deskbreak\nExec=/usr/bin/deskbreak run\n"
    path.write_text(mine)

    [entry] = auto.status()
    assert not entry.managed and entry.enabled
    assert entry.command == ("/usr/bin/deskbreak", "run")
    with pytest.raises(DeskbreakError, match="not written by deskbreak"):
        auto.enable(command=[BIN, "run"])
    assert auto.disable() == []
    assert path.read_text() == mine


def test_status_sees_an_entry_turned_off_in_the_session_settings(tmp_path: Path) -> None:
    auto = linux(tmp_path)
    auto.enable(command=[BIN, "run"])
    path = auto.xdg_path()
    path.write_text(
        path.read_text().replace(
            "X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"
        )
    )
    [entry] = auto.status()
    assert not entry.enabled and "turned off" in entry.note
    assert auto.active() == []


def test_status_reports_a_program_that_is_gone(tmp_path: Path) -> None:
    auto = linux(tmp_path)
    entry = auto.enable(command=[str(tmp_path / "deleted-venv" / "bin" / "deskbreak"), "run"])
    assert "no longer exists" in entry.problem()


def test_status_sees_a_system_wide_entry_and_disable_leaves_it(tmp_path: Path) -> None:
    auto = linux(tmp_path)
    system = tmp_path / "etc" / "autostart" / "deskbreak.desktop"
    system.parent.mkdir(parents=True)
    system.write_text(a.xdg_autostart_entry(["/usr/bin/deskbreak", "run"]))
    [entry] = auto.status()
    assert entry.location == str(system) and entry.enabled
    assert auto.disable() == []
    assert system.exists()


def test_systemd_enable_writes_a_verified_unit_and_the_wants_link(tmp_path: Path) -> None:
    program = make_program(tmp_path / "venv" / "bin" / "deskbreak")
    auto = linux(tmp_path)
    auto.enable(command=[str(program), "run"])  # the XDG entry first: switching removes it

    entry = auto.enable(systemd=True, command=[str(program), "run"])
    unit = tmp_path / "config" / "systemd" / "user" / "deskbreak.service"
    link = unit.parent / "graphical-session.target.wants" / "deskbreak.service"
    assert entry == a.Entry(a.SYSTEMD, str(unit), (str(program), "run"), True, True)
    assert unit.read_text() == a.systemd_unit([str(program), "run"])
    assert link.is_symlink() and link.resolve() == unit.resolve()
    assert not auto.xdg_path().exists()
    assert auto.status() == [entry]
    verify_systemd_unit(unit, tmp_path / "runtime")

    assert auto.enable(systemd=True, command=[str(program), "run"]) == entry  # harmless again

    assert auto.disable() == [entry]
    assert not unit.exists() and not link.is_symlink()
    assert auto.status() == []


def test_systemd_enable_through_systemctl(tmp_path: Path) -> None:
    """With systemctl present, enabling goes through ``systemctl --user enable``."""
    systemctl = shutil.which("systemctl")
    if systemctl is None:
        pytest.fail("systemctl is missing: run scripts/setup --test", pytrace=False)
    env = {
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path / "home"),
        "PATH": os.environ.get("PATH", ""),
    }
    auto = a.Autostart(platform="linux", home=tmp_path / "home", env=env, systemctl=systemctl)
    entry = auto.enable(systemd=True, command=[BIN, "run"])
    assert entry.enabled and auto.systemd_link().is_symlink()
    auto.disable()
    assert not auto.systemd_link().is_symlink() and not auto.systemd_path().exists()


def test_plain_enable_after_systemd_removes_the_unit(tmp_path: Path) -> None:
    auto = linux(tmp_path)
    auto.enable(systemd=True, command=[BIN, "run"])
    entry = auto.enable(command=[BIN, "run"])
    assert auto.status() == [entry]
    assert entry.method == a.XDG
    assert not auto.systemd_path().exists() and not auto.systemd_link().is_symlink()


def test_systemd_is_for_linux_only(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        a.Autostart(platform="win32", registry=a.FakeRegistry({})).enable(systemd=True)


# -- Windows and macOS: the whole flow on stand-ins -------------------------------------------


def test_windows_flow_on_a_registry_in_a_dict() -> None:
    reg = a.FakeRegistry({})
    auto = a.Autostart(platform="win32", registry=reg, home=Path("C:/Users/ann"))
    argv = [PYTHONW, "-m", "deskbreak", "run"]
    entry = auto.enable(command=argv)
    key, name, value = a.windows_run_value(argv)
    assert reg.values == {(key, name): value}
    assert entry.method == a.WINDOWS_RUN and entry.managed and entry.command == tuple(argv)
    assert auto.enable(command=argv) == entry and len(reg.values) == 1
    assert auto.disable() == [entry]
    assert reg.values == {}


def test_windows_leaves_a_foreign_value_of_the_same_name() -> None:
    reg = a.FakeRegistry({(a.WINDOWS_RUN_KEY, "deskbreak"): r'"C:\tools\other.exe" --tray'})
    auto = a.Autostart(platform="win32", registry=reg)
    [entry] = auto.status()
    assert not entry.managed
    with pytest.raises(DeskbreakError):
        auto.enable(command=[PYTHONW, "-m", "deskbreak", "run"])
    assert auto.disable() == []
    assert len(reg.values) == 1


def test_macos_flow_in_a_throwaway_home(tmp_path: Path) -> None:
    auto = a.Autostart(platform="darwin", home=tmp_path)
    entry = auto.enable(command=[BIN, "run"])
    path = tmp_path / "Library" / "LaunchAgents" / "deskbreak.plist"
    assert entry == a.Entry(a.LAUNCH_AGENT, str(path), (BIN, "run"), True, True)
    assert path.read_bytes() == a.launch_agent_plist([BIN, "run"])
    assert plistlib.loads(path.read_bytes())["RunAtLoad"] is True
    assert auto.disable() == [entry]
    assert not path.exists()


def test_macos_leaves_a_foreign_plist(tmp_path: Path) -> None:
    auto = a.Autostart(platform="darwin", home=tmp_path)
    path = auto.launch_agent_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(plistlib.dumps({"Label": "deskbreak", "ProgramArguments": ["/bin/other"]}))
    assert auto.disable() == []
    assert path.exists()


# -- the command --------------------------------------------------------------------------------


def deskbreak(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("deskbreak")
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def user_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(
        HOME=str(tmp_path / "home"),
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_CONFIG_DIRS=str(tmp_path / "etc"),
    )
    return env


def test_cli_enable_status_disable(user_env: dict[str, str], tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("deskbreak")
    entry_path = tmp_path / "config" / "autostart" / "deskbreak.desktop"

    r = deskbreak("autostart", "status", env=user_env)
    assert r.returncode == 0 and "does not start at login" in r.stdout

    r = deskbreak("autostart", "enable", env=user_env)
    assert r.returncode == 0, r.stderr
    assert f"Enabled: XDG autostart entry {entry_path}" in r.stdout
    assert f"It runs: {script} run" in r.stdout
    validate_desktop_file(entry_path)
    # What the session will run: this installation's own deskbreak script, by absolute path.
    argv = a.parse_desktop_exec(a.read_desktop_entry(entry_path)["Exec"])
    assert argv == [str(script), "run"]
    # ... and the icon it names is installed.
    assert (tmp_path / "data" / "icons" / "hicolor" / "48x48" / "apps" / "deskbreak.png").is_file()

    r = deskbreak("autostart", "enable", env=user_env)
    assert r.returncode == 0 and "Already enabled" in r.stdout

    r = deskbreak("autostart", "status", env=user_env)
    assert r.stdout.splitlines()[:2] == [
        f"Active: XDG autostart entry {entry_path}",
        f"  runs: {script} run",
    ]

    r = deskbreak("autostart", "enable", "--systemd", env=user_env)
    assert r.returncode == 0, r.stderr
    r = deskbreak("autostart", "status", env=user_env)
    unit = tmp_path / "config" / "systemd" / "user" / "deskbreak.service"
    assert r.stdout.splitlines()[0] == f"Active: systemd user unit {unit}"
    assert not entry_path.exists()

    r = deskbreak("autostart", "disable", env=user_env)
    assert r.returncode == 0 and f"Removed: systemd user unit {unit}" in r.stdout
    r = deskbreak("autostart", "status", env=user_env)
    assert "does not start at login" in r.stdout


def test_cli_refuses_to_overwrite_a_users_own_entry(
    user_env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "config" / "autostart" / "deskbreak.desktop"
    path.parent.mkdir(parents=True)
    path.write_text("[Desktop Entry]\nType=Application\nName=x\nExec=/usr/bin/deskbreak run\n")
    r = deskbreak("autostart", "enable", env=user_env)
    assert r.returncode == 2
    assert r.stderr.strip() == (
        f"deskbreak: {path} exists and was not written by deskbreak; "
        "remove it yourself, or keep using it"
    )
    r = deskbreak("autostart", "disable", env=user_env)
    assert "Left alone (not written by deskbreak)" in r.stdout
    assert path.exists()


@pytest.mark.desktop
def test_the_autostart_entry_starts_deskbreak(desktop_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What a session does at login: run the entry's Exec; deskbreak's tray icon appears."""
    d = desktop_factory()
    r = subprocess.run(
        [str(Path(sys.executable).with_name("deskbreak")), "autostart", "enable"],
        env=d.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    entry = Path(d.env["XDG_CONFIG_HOME"]) / "autostart" / "deskbreak.desktop"
    validate_desktop_file(entry)
    keys = a.read_desktop_entry(entry)
    assert os.access(keys["TryExec"], os.X_OK)
    argv = a.parse_desktop_exec(keys["Exec"])
    proc = d.spawn("deskbreak-autostarted", argv)
    item = d.wait_for_sni_item(proc.pid, timeout=20)
    assert d.sni_properties(item)["Status"] in ("Active", "NeedsAttention")
    proc.terminate()

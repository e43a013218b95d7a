"""``deskbreak doctor`` tells the truth about the desktop it runs on.

Each desktop test builds a throwaway desktop with or without a tray host and a
notification server, runs the real ``deskbreak doctor`` in it, and reads its lines.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deskbreak import doctor
from deskbreak.adapters import autostart, ipc

SCRIPT = Path(sys.executable).with_name("deskbreak")


def run_doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, tuple[str, str]], str]:
    """Exit status, {check: (level, message)} and the whole output of ``deskbreak doctor``."""
    started = time.monotonic()
    r = subprocess.run(
        [str(SCRIPT), *args, "doctor"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert time.monotonic() - started < 20, "doctor took too long"
    assert r.stderr == "", r.stderr
    checks = {}
    for line in r.stdout.splitlines():
        level, _, rest = line.partition(" ")
        name, _, message = rest.strip().partition(": ")
        checks[name] = (level, message)
    assert list(checks) == ["tray", "notifications", "idle", "settings", "autostart", "daemon"]
    return r.returncode, checks, r.stdout


@pytest.mark.desktop
def test_full_desktop_everything_found(desktop_factory) -> None:  # type: ignore[no-untyped-def]
    d = desktop_factory()  # a desktop of its own: no deskbreak left running by another test
    code, checks, out = run_doctor(dict(d.env))
    assert checks["tray"] == (
        "ok",
        "StatusNotifierItem host (status-notifier-watcher): the icon shows with its menu",
    )
    level, message = checks["notifications"]
    assert level == "ok" and message.startswith("dunst ") and "with action buttons" in message
    assert checks["idle"][0] == "ok" and "X screensaver" in checks["idle"][1]
    assert checks["settings"][0] == "ok" and "defaults apply" in checks["settings"][1]
    assert checks["autostart"] == (
        "warn",
        "deskbreak does not start at login: `deskbreak autostart enable`",
    )
    assert checks["daemon"][0] == "warn" and "not running" in checks["daemon"][1]
    assert code == 0, out  # warnings only


@pytest.mark.desktop
def test_no_tray_and_no_notification_server(desktop_factory) -> None:  # type: ignore[no-untyped-def]
    d = desktop_factory(dunst=False, sni=False)
    code, checks, out = run_doctor(dict(d.env))
    assert checks["tray"][0] == "fail"
    assert "no tray host" in checks["tray"][1]
    assert checks["notifications"] == (
        "fail",
        "no notification server on the session bus: reminders cannot be shown; "
        "install one (dunst, mako, xfce4-notifyd) or start your desktop's",
    )
    assert code == 1, out

    # On GNOME the advice is the AppIndicator extension.
    code, checks, _ = run_doctor(dict(d.env, XDG_CURRENT_DESKTOP="ubuntu:GNOME"))
    assert checks["tray"] == (
        "fail",
        "GNOME has no tray: install the AppIndicator extension "
        "(gnome-shell-extension-appindicator) and turn it on",
    )

    # The notification server comes: doctor sees it.
    d.start_dunst()
    code, checks, _ = run_doctor(dict(d.env))
    assert checks["notifications"][0] == "ok" and "dunst" in checks["notifications"][1]
    assert checks["tray"][0] == "fail"


@pytest.mark.desktop
def test_xembed_tray_host(desktop_factory) -> None:  # type: ignore[no-untyped-def]
    d = desktop_factory(sni=False, trayer=True)
    code, checks, out = run_doctor(dict(d.env))
    assert checks["tray"] == ("ok", "XEmbed system tray (trayer): the icon shows with its menu")
    assert code == 0, out


@pytest.mark.desktop
def test_notification_server_goes_away(desktop_factory) -> None:  # type: ignore[no-untyped-def]
    d = desktop_factory()
    _, checks, _ = run_doctor(dict(d.env))
    assert checks["notifications"][0] == "ok"
    d.stop_dunst()
    code, checks, _ = run_doctor(dict(d.env))
    assert checks["notifications"][0] == "fail"
    assert checks["tray"][0] == "ok"
    assert code == 1


@pytest.mark.desktop
def test_settings_and_autostart_lines(desktop_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    d = desktop_factory(dunst=False, sni=False)
    env = dict(d.env)
    bad = tmp_path / "bad.toml"
    bad.write_text('[reminders]\ninterval = "0m"\n')
    code, checks, _ = run_doctor(env, "--config", str(bad))
    level, message = checks["settings"]
    assert code == 1
    assert level == "fail" and message.startswith(f"{bad}:2: reminders.interval:")
    good = tmp_path / "good.toml"
    good.write_text('[reminders]\ninterval = "30m"\n')
    _, checks, _ = run_doctor(env, "--config", str(good))
    assert checks["settings"] == ("ok", f"{good} is valid")

    r = subprocess.run([str(SCRIPT), "autostart", "enable"], env=env, capture_output=True)
    assert r.returncode == 0
    entry = Path(env["XDG_CONFIG_HOME"]) / "autostart" / "deskbreak.desktop"
    _, checks, _ = run_doctor(env)
    assert checks["autostart"] == (
        "ok",
        f"XDG autostart entry {entry} runs {SCRIPT} run",
    )
    # The venv it pointed to is gone: doctor says so and what to do.
    entry.write_text(autostart.xdg_autostart_entry([str(tmp_path / "gone" / "deskbreak"), "run"]))
    _, checks, _ = run_doctor(env)
    level, message = checks["autostart"]
    assert level == "fail"
    assert "no longer exists" in message and "deskbreak autostart enable" in message


def test_no_session_at_all_does_not_hang() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS")
    }
    with tempfile.TemporaryDirectory() as home:
        # A runtime folder of its own (no bus socket in it), so no other deskbreak is seen.
        os.mkdir(home + "/run", 0o700)
        env.update(
            HOME=home,
            XDG_CONFIG_HOME=home + "/c",
            XDG_STATE_HOME=home + "/s",
            XDG_RUNTIME_DIR=home + "/run",
        )
        code, checks, _ = run_doctor(env)
    assert checks["tray"][0] == "warn" and "no graphical session" in checks["tray"][1]
    assert checks["notifications"][0] == "info"
    assert checks["idle"][0] == "info"
    assert checks["daemon"][0] == "warn"
    assert code == 0


def test_unreachable_bus_is_a_failure_not_a_hang(tmp_path: Path) -> None:
    env = {
        "WAYLAND_DISPLAY": "wayland-that-is-not-there",
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={tmp_path / 'no-bus'}",
    }
    started = time.monotonic()
    check = doctor.check_notifications(env)
    assert time.monotonic() - started < 5
    assert check.level == "fail" and "not reachable" in check.message
    tray = doctor.check_tray(env, backends=lambda: ["appindicator", "gtk", "xorg"])
    assert tray.level == "fail" and "StatusNotifierItem host" in tray.message


# -- the control socket ---------------------------------------------------------------------


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private runtime folder with a short path (socket paths are limited to ~100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="db-"))
    folder.chmod(0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_daemon_check_against_a_real_control_socket(runtime: Path) -> None:
    assert doctor.check_daemon().level == "warn"
    assert "deskbreak is not running" in doctor.check_daemon().message

    server = ipc.ControlServer(
        lambda request: {"state": "waiting"},
        logging.getLogger("test"),
        directory=ipc.runtime_dir(),
    )
    server.start()
    try:
        check = doctor.check_daemon()
    finally:
        server.close()
    assert check.level == "ok"
    assert check.message.startswith("deskbreak is running")
    assert str(runtime / "deskbreak" / "deskbreak.sock") in check.message
    assert doctor.check_daemon().level == "warn"


def test_daemon_check_when_the_socket_does_not_answer(runtime: Path) -> None:
    directory = ipc.runtime_dir()
    silent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    silent.bind(str(directory / ipc.SOCKET_NAME))
    silent.listen(1)
    try:
        check = doctor.check_daemon()
    finally:
        silent.close()
    assert check.level == "fail"
    assert "did not answer" in check.message

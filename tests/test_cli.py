"""The deskbreak command as a user runs it: a real process, real files, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from deskbreak import __version__


def deskbreak(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "deskbreak", *args],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("DESKBREAK_CONFIG", None)
    env["HOME"] = str(tmp_path)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")
    return env


def test_version() -> None:
    r = deskbreak("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"deskbreak {__version__}"


def test_exercises_lists_the_catalogue_rotation_and_safety_advice(home_env: dict[str, str]) -> None:
    r = deskbreak("exercises", env=home_env)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CATEGORY", "TIME", "ROTATION"]
    wall = next(line for line in lines if line.startswith("wall-stretch"))
    assert wall.split()[-1] == "yes"
    thoracic = next(line for line in lines if line.startswith("thoracic-extension"))
    assert not thoracic.endswith("yes")
    assert "doctor" in r.stdout and "Warm up" in r.stdout


def test_exercises_marks_a_custom_rotation(home_env: dict[str, str], tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[reminders]\nexercises = ["eye-rest", "neck-flexion"]\n'
        '[exercise.eye-rest]\nname = "Eye rest"\nsteps = ["Look far away."]\n'
    )
    r = deskbreak("exercises", "--config", str(cfg), env=home_env)
    assert r.returncode == 0, r.stderr
    eye = next(line for line in r.stdout.splitlines() if line.startswith("eye-rest"))
    assert "(custom)" in eye and eye.endswith("yes")


def test_config_path_follows_the_user_config_dir(home_env: dict[str, str], tmp_path: Path) -> None:
    r = deskbreak("config", "path", env=home_env)
    assert r.stdout.strip() == str(tmp_path / "config" / "deskbreak" / "config.toml")
    r = deskbreak("config", "path", "--config", "/elsewhere/x.toml", env=home_env)
    assert r.stdout.strip() == "/elsewhere/x.toml"


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ('[reminders]\ninterval = "45m\n', [":2", "TOML"]),
        ('[reminders]\nintervall = "45m"\n', [":2", "reminders.intervall", "interval"]),
        ("[reminders]\nsnooze = 10\n", [":2", "reminders.snooze", '"10m"']),
        ('[reminders]\n\ninterval = "-5m"\n', [":3", "reminders.interval"]),
        ('[reminders]\nexercises = ["wall-stretch", "toe-touch"]\n', [":2", "toe-touch"]),
    ],
)
def test_config_check_gives_one_clear_line_and_exit_2(
    tmp_path: Path, home_env: dict[str, str], text: str, fragments: list[str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = deskbreak("config", "check", str(cfg), env=home_env)
    assert r.returncode == 2
    assert r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert str(cfg) in r.stderr
    for fragment in fragments:
        assert fragment in r.stderr


def test_config_check_ok(tmp_path: Path, home_env: dict[str, str]) -> None:
    cfg = tmp_path / "ok.toml"
    cfg.write_text('[reminders]\ninterval = "1m"\n')
    r = deskbreak("config", "check", str(cfg), env=home_env)
    assert r.returncode == 0
    assert "OK" in r.stdout and "every 1m" in r.stdout


def test_run_with_bad_settings_exits_2_before_starting(
    tmp_path: Path, home_env: dict[str, str]
) -> None:
    cfg = tmp_path / "bad.toml"
    cfg.write_text("[reminders]\ninterval = 0\n")
    before = cfg.read_bytes()
    r = deskbreak("run", "--config", str(cfg), env=home_env)
    assert r.returncode == 2
    assert "reminders.interval" in r.stderr and "Traceback" not in r.stderr
    assert cfg.read_bytes() == before


def test_cli_does_not_import_the_tray_notifier_or_scheduler() -> None:
    code = (
        "import sys; from deskbreak import cli; cli.build_parser(); "
        "bad = [m for m in ('pystray', 'plyer', 'apscheduler', 'PIL', 'gi', 'jeepney') "
        "if m in sys.modules]; print(bad)"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"

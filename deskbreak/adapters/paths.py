"""Where deskbreak keeps its files, per platform (platformdirs)."""

from __future__ import annotations

from pathlib import Path

APP = "deskbreak"


def log_dir() -> Path:
    from platformdirs import user_log_path

    return user_log_path(APP, appauthor=False)


def log_file() -> Path:
    return log_dir() / "deskbreak.log"


def state_dir() -> Path:
    from platformdirs import user_state_path

    return user_state_path(APP, appauthor=False)


def data_dir() -> Path:
    from platformdirs import user_data_path

    return user_data_path(APP, appauthor=False)

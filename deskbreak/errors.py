"""One exception root for deskbreak; the CLI turns these into one clear line and exit code 2."""

from __future__ import annotations


class DeskbreakError(Exception):
    """Root of every error deskbreak reports to the user."""

    exit_code = 2


class UsageError(DeskbreakError):
    """Bad command-line input."""


class SettingsError(DeskbreakError):
    """The settings file is invalid.

    ``str()`` gives one line: ``FILE:LINE: KEY: what is wrong; what is allowed``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.line = line
        self.key = key
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class IllegalEvent(DeskbreakError):
    """An event that makes no sense in the cycle's current state (accept with nothing due).

    The cycle's state is left exactly as it was.
    """


class NotRunning(DeskbreakError):
    """The daemon is not running."""

    exit_code = 1


class AlreadyRunning(DeskbreakError):
    """Another daemon already runs for this user session."""

    exit_code = 1

"""Shared fixtures: the throwaway desktop (see tests/desktop_harness.py).

Tests that use ``desktop`` or ``desktop_factory`` should be marked ``@pytest.mark.desktop``.
When the desktop's programs are missing these fixtures fail (they never skip): a desktop
test that did not run has not passed.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.desktop_harness import Desktop, DesktopError, missing_programs


def pytest_configure(config: pytest.Config) -> None:
    """Give Ctrl-C (SIGINT) its terminal meaning again, for this run and every program it starts.

    A shell without job control starts a background command with SIGINT ignored, and that is
    inherited by every program the tests start: ``deskbreak logs -f`` would then not end on
    the Ctrl-C a test sends it, as it does in a terminal.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _require_programs() -> None:
    missing = missing_programs()
    if missing:
        pytest.fail(
            "desktop tests need programs that are not installed: "
            + ", ".join(missing)
            + ". Run scripts/setup --test (as root) to install them.",
            pytrace=False,
        )


def _start(**kwargs: Any) -> Desktop:
    _require_programs()
    desktop = Desktop(**kwargs)
    try:
        desktop.start()
    except DesktopError as exc:
        pytest.fail(f"could not start the test desktop: {exc}", pytrace=False)
    return desktop


@pytest.fixture(scope="session")
def desktop() -> Iterator[Desktop]:
    """One full desktop for the whole run: Xvfb, session bus, dunst, SNI watcher and host.

    It is shared: call ``desktop.reset_notifications()`` first when a test counts
    notifications, and stop the programs a test starts (``desktop.spawn`` ones are stopped
    at the end of the run anyway).
    """
    d = _start()
    yield d
    d.stop()


class DesktopFactory:
    """``desktop_factory(dunst=True, sni=True, trayer=False)`` starts a desktop of its own."""

    def __init__(self) -> None:
        self.created: list[Desktop] = []

    def __call__(self, *, dunst: bool = True, sni: bool = True, trayer: bool = False) -> Desktop:
        d = _start(dunst=dunst, sni=sni, trayer=trayer)
        self.created.append(d)
        return d

    def stop_all(self) -> None:
        for d in reversed(self.created):
            d.stop()


@pytest.fixture
def desktop_factory() -> Iterator[Callable[..., Desktop]]:
    """Variant desktops for one test (without dunst, with trayer, ...); stopped after it."""
    factory = DesktopFactory()
    yield factory
    factory.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, attach the logs of the desktop(s) the test used and keep them on disk."""
    report = yield
    if report.failed:
        desktops: list[Desktop] = []
        for value in getattr(item, "funcargs", {}).values():
            if isinstance(value, Desktop):
                desktops.append(value)
            elif isinstance(value, DesktopFactory):
                desktops.extend(value.created)
        for d in desktops:
            d.keep_logs()
            report.sections.append(
                (f"desktop {d.display} ({d.root})", d.log_tails() or "(no logs)")
            )
    return report

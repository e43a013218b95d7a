"""The XEmbed (xorg backend) icon asks the tray to dock it once, not at every change.

A tray asked again to dock an icon it is still embedding can lose it (trayer then left the
icon as a 1x1 window on the root in about one start in six). Here the test itself owns the
system tray selection, so it sees every dock request the icon sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.desktop_harness import SYSTEM_TRAY_SELECTION, Desktop
from tests.test_tray_real import TrayProcess

pytestmark = pytest.mark.desktop

REQUEST_DOCK = 0


class RecordingTrayManager:
    """Owns ``_NET_SYSTEM_TRAY_S0`` and records the dock requests sent to it (docks nothing)."""

    def __init__(self, display_name: str) -> None:
        from Xlib import X
        from Xlib import display as xdisplay

        self._x = xdisplay.Display(display_name)
        screen = self._x.screen()
        self.window = screen.root.create_window(0, 0, 1, 1, 0, screen.root_depth)
        self._opcode = self._x.intern_atom("_NET_SYSTEM_TRAY_OPCODE")
        selection = self._x.intern_atom(SYSTEM_TRAY_SELECTION)
        self.window.set_selection_owner(selection, X.CurrentTime)
        self._x.sync()
        owner = self._x.get_selection_owner(selection)
        assert getattr(owner, "id", owner) == self.window.id, "could not own the tray selection"
        self.requests: list[int] = []

    def dock_requests(self) -> list[int]:
        """Windows that asked to be docked so far, one entry per request."""
        from Xlib import X

        self._x.sync()  # a round trip: everything the server queued for us has arrived
        while self._x.pending_events():
            event = self._x.next_event()
            if event.type == X.ClientMessage and event.client_type == self._opcode:
                _format, data = event.data
                if data[1] == REQUEST_DOCK:
                    self.requests.append(int(data[2]))
        return list(self.requests)

    def close(self) -> None:
        self._x.close()


@pytest.fixture
def tray_manager(
    desktop_factory: Callable[..., Desktop],
) -> Iterator[tuple[Desktop, RecordingTrayManager]]:
    desktop = desktop_factory(dunst=False, sni=False)
    manager = RecordingTrayManager(desktop.display)
    try:
        yield desktop, manager
    finally:
        manager.close()


def test_the_xorg_icon_sends_one_dock_request(
    tray_manager: tuple[Desktop, RecordingTrayManager],
) -> None:
    desktop, manager = tray_manager
    tray = TrayProcess(desktop, "xorg")
    try:
        first = desktop.wait_for(manager.dock_requests, what="a dock request")
        # The icon and the title change (each change used to send the request again).
        tray.order("due")
        requests = manager.dock_requests()
        assert len(requests) == 1, requests
        assert requests == first[:1]
        tray.order("stop")
        assert tray.finish() == 0
    finally:
        tray.kill()

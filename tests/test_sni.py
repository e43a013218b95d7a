"""deskbreak's own StatusNotifierItem (jeepney): the menu tree, and the item on a real bus
with a real watcher and tray host."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from typing import Any, ClassVar

import pytest

from deskbreak.adapters.sni import MenuTree, SniTray
from deskbreak.adapters.tray import (
    DEFAULT_INTERVALS,
    DEFAULT_SNOOZES,
    MenuEntry,
    TrayModel,
    find_entry,
    menu_spec,
)
from tests.desktop_harness import Desktop, sni_icon

WAITING = TrayModel(
    state="waiting",
    progress=0.3,
    tooltip="Next: Neck flexion in 23 min",
    header="Next: Neck flexion at 14:05",
    due=False,
    paused=False,
    interval=2700,
    interval_choices=DEFAULT_INTERVALS,
    snooze_choices=DEFAULT_SNOOZES,
)
DUE = replace(
    WAITING,
    state="due",
    progress=1.0,
    due=True,
    header="Now: Neck flexion",
    tooltip="Stretch now: Neck flexion",
)


def ids_by_label(tree: MenuTree) -> dict[str, int]:
    return {
        str(node.props["label"][1]): node.id
        for node in tree.nodes.values()
        if "label" in node.props
    }


# -- the menu tree (pure) --------------------------------------------------------------------


def test_items_keep_their_ids_while_their_place_and_command_stay() -> None:
    tree = MenuTree()
    tree.build(menu_spec(DUE))
    before = ids_by_label(tree)
    tree.build(menu_spec(WAITING))
    after = ids_by_label(tree)
    for label in ("Stretch now", "Quit", "Open settings file", "Every 45 min", "30 min"):
        assert after[label] == before[label], label
    # The header changed: a new id, never one used before.
    assert after["Next: Neck flexion at 14:05"] not in before.values()
    assert tree.revision == 2


def test_a_click_on_an_item_that_went_away_does_nothing() -> None:
    tree = MenuTree()
    tree.build(menu_spec(DUE))
    done = ids_by_label(tree)["Done"]
    assert tree.click(done) == ("accept", None)
    tree.build(menu_spec(WAITING))  # no Done any more
    assert tree.click(done) is None
    tree.build(menu_spec(DUE))  # back: a new id, the old one stays dead
    assert tree.click(done) is None
    assert tree.click(ids_by_label(tree)["Done"]) == ("accept", None)


def test_disabled_items_headers_and_submenus_send_nothing() -> None:
    tree = MenuTree()
    limited = replace(DUE, snooze_enabled=False, snooze_note="Snooze (no snoozes left)")
    tree.build(menu_spec(limited))
    labels = ids_by_label(tree)
    assert tree.click(labels["Now: Neck flexion"]) is None
    assert tree.click(labels["Snooze (no snoozes left)"]) is None
    assert tree.click(labels["Pause"]) is None  # opens its submenu
    assert tree.click(labels["1 hour"]) == ("pause", 3600)
    assert tree.click(10_000) is None


def test_the_layout_carries_labels_radio_state_and_separators() -> None:
    tree = MenuTree()
    spec = menu_spec(WAITING)
    tree.build(spec)
    _id, _props, children = tree.root.layout(-1)
    top = [c[1][1] for c in children]
    kinds = [p.get("type", ("s", "standard"))[1] for p in top]
    assert kinds.count("separator") == sum(1 for e in spec if e.separator)
    frequency = next(c for c in children if c[1][1].get("label") == ("s", "Frequency"))
    radios = [(k[1][1]["label"][1], k[1][1]["toggle-state"][1]) for k in frequency[1][2]]
    assert ("Every 45 min", 1) in radios and ("Every 20 min", 0) in radios
    # An underscore is shown as one, not taken for a mnemonic.
    odd = MenuTree()
    odd.build([MenuEntry("snake_case", ("now", None))])
    assert odd.nodes[1].props["label"] == ("s", "snake__case")
    assert find_entry(spec, "Frequency", "Every 45 min").checked is True


# -- on a real bus ---------------------------------------------------------------------------


class StubIcons:
    """Pictures without the cache: a 2x2 pixmap whose colour names the state."""

    COLOURS: ClassVar[dict[str, tuple[int, int, int]]] = {
        "waiting": (0, 170, 150),
        "due": (255, 128, 0),
    }

    def prepare(self, on_ready: Any) -> bool:
        return True

    def get(self, state: str, progress: float) -> list[tuple[int, int, bytes]]:
        r, g, b = self.COLOURS.get(state, (128, 128, 128))
        return [(2, 2, bytes([255, r, g, b]) * 4)]


@pytest.fixture
def item(desktop: Desktop) -> Any:
    commands: list[tuple[str, int | None]] = []
    seen = threading.Event()

    def on_command(name: str, arg: int | None) -> None:
        commands.append((name, arg))
        seen.set()

    tray = SniTray(
        on_command,
        WAITING,
        logging.getLogger("test-sni"),
        icons=StubIcons(),
        bus=desktop.bus_address,
    )
    tray.start()
    tray.commands = commands  # type: ignore[attr-defined]
    try:
        yield tray
    finally:
        tray.stop()


@pytest.mark.desktop
def test_the_item_registers_answers_and_survives_garbage(desktop: Desktop, item: SniTray) -> None:
    import os

    name = desktop.wait_for_sni_item(os.getpid())
    props = desktop.sni_properties(name)
    assert props["Title"] == "deskbreak"  # the application's name; the words are the tooltip's
    assert props["ToolTip"][2:] == ("deskbreak", "Next: Neck flexion in 23 min")
    assert sni_icon(props).getpixel((0, 0)) == (0, 170, 150, 255)
    bus_name, path = desktop.item_address(name)

    # Garbage: unknown methods, interfaces and properties, a bad menu id.
    from jeepney.wrappers import DBusErrorResponse

    with pytest.raises(DBusErrorResponse):
        desktop.call(bus_name, path, "org.kde.StatusNotifierItem", "Explode")
    with pytest.raises(DBusErrorResponse):
        desktop.call(bus_name, path, "org.freedesktop.DBus.Properties", "GetAll", "s", ("x.y",))
    with pytest.raises(DBusErrorResponse):
        desktop.call(
            bus_name,
            "/MenuBar",
            "com.canonical.dbusmenu",
            "GetLayout",
            "iias",
            (
                424242,
                -1,
                [],
            ),
        )
    desktop.call(
        bus_name,
        "/MenuBar",
        "com.canonical.dbusmenu",
        "Event",
        "isvu",
        (424242, "clicked", ("s", ""), 0),
    )
    # Still answering, and still working.
    assert desktop.sni_properties(name)["Status"] == "Active"
    desktop.menu_click(name, ("Pause", "1 hour"))
    desktop.wait_for(lambda: item.commands == [("pause", 3600)], what="the click")  # type: ignore[attr-defined]


@pytest.mark.desktop
def test_changes_reach_the_host_and_a_stale_click_does_nothing(
    desktop: Desktop, item: SniTray
) -> None:
    import os

    name = desktop.wait_for_sni_item(os.getpid())
    item.update(DUE)
    desktop.wait_for(lambda: "Done" in desktop.menu_layout(name).labels(), what="Done in the menu")
    props = desktop.sni_properties(name)
    assert props["ToolTip"][3] == "Stretch now: Neck flexion"
    assert sni_icon(props).getpixel((0, 0)) == (255, 128, 0, 255)
    done = desktop.menu_layout(name).find("Done")
    assert done is not None
    item.update(WAITING)
    desktop.wait_for(lambda: "Done" not in desktop.menu_layout(name).labels(), what="Done to go")
    bus_name, _path = desktop.item_address(name)
    # The host still shows the old menu and the user clicks its Done: nothing happens.
    desktop.call(
        bus_name,
        "/MenuBar",
        "com.canonical.dbusmenu",
        "Event",
        "isvu",
        (done.id, "clicked", ("s", ""), 0),
    )
    desktop.menu_click(name, ("Stretch now",))
    desktop.wait_for(lambda: item.commands, what="the click")  # type: ignore[attr-defined]
    assert item.commands == [("now", None)]  # type: ignore[attr-defined]


@pytest.mark.desktop
def test_stopping_takes_the_item_off_the_watcher(desktop: Desktop, item: SniTray) -> None:
    import os

    name = desktop.wait_for_sni_item(os.getpid())
    item.stop()
    desktop.wait_for(lambda: name not in desktop.sni_items(), what="the item to leave")
    assert not [t for t in threading.enumerate() if t.name == "deskbreak-tray"]

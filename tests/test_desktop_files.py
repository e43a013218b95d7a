"""deskbreak's icon and launcher in the user's data folder, and its icon on notifications."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from deskbreak.adapters import autostart, desktop_files
from deskbreak.adapters.notifier import FreedesktopNotifier, Notice

BIN = "/opt/deskbreak/bin/deskbreak"


def validate_desktop_file(path: Path) -> None:
    program = shutil.which("desktop-file-validate")
    if program is None:
        pytest.fail("desktop-file-validate is missing: run scripts/setup --test", pytrace=False)
    r = subprocess.run([program, str(path)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip(), r.stdout + r.stderr


def opaque_pixels(path: Path) -> int:
    with Image.open(path) as im:
        return sum(im.getchannel("A").histogram()[129:])


def test_launcher_exact_content() -> None:
    assert desktop_files.launcher_entry([BIN, "run"]) == (
        "[Desktop Entry]\n"
        "Type=Application\n"
        "Version=1.4\n"
        "Name=deskbreak\n"
        "GenericName=Break reminder\n"
        "Comment=Reminds you to take short stretch breaks at your desk\n"
        "Exec=/opt/deskbreak/bin/deskbreak run\n"
        "Icon=deskbreak\n"
        "Terminal=false\n"
        "Categories=Utility;\n"
        "Keywords=break;stretch;posture;reminder;health;\n"
        "StartupNotify=false\n"
        "X-Deskbreak-Managed=true\n"
    )


def test_install_writes_every_icon_size_and_a_valid_launcher(tmp_path: Path) -> None:
    written = desktop_files.install([BIN, "run"], base=tmp_path)
    assert len(written) == len(desktop_files.ICON_SIZES) + 1
    assert desktop_files.ICON_SIZES == (16, 22, 24, 32, 48, 64, 128, 256)
    for size in desktop_files.ICON_SIZES:
        path = tmp_path / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "deskbreak.png"
        assert path in written
        with Image.open(path) as im:
            im.verify()  # a whole, uncorrupted PNG
        with Image.open(path) as im:
            assert (im.format, im.size, im.mode) == ("PNG", (size, size), "RGBA")
        # A visible picture, and not a filled square: it has see-through corners.
        assert opaque_pixels(path) > size * size // 5
        with Image.open(path) as im:
            assert im.getpixel((0, 0))[3] == 0
        assert desktop_files.is_our_png(path)
    launcher = tmp_path / "applications" / "deskbreak.desktop"
    assert launcher.read_text() == desktop_files.launcher_entry([BIN, "run"])
    validate_desktop_file(launcher)
    assert desktop_files.installed(tmp_path)


def test_the_icon_is_the_apps_own_drawing(tmp_path: Path) -> None:
    from deskbreak.icon import app_icon

    desktop_files.install([BIN, "run"], base=tmp_path)
    with Image.open(desktop_files.icon_path(64, tmp_path)) as im:
        assert im.convert("RGBA").tobytes() == app_icon(64).tobytes()


def test_uninstall_removes_only_what_deskbreak_wrote(tmp_path: Path) -> None:
    desktop_files.install([BIN, "run"], base=tmp_path)
    theirs = desktop_files.icon_path(48, tmp_path)
    Image.new("RGBA", (48, 48), (255, 0, 0, 255)).save(theirs)  # a user's own icon
    removed = desktop_files.uninstall(base=tmp_path)
    assert theirs.exists() and theirs not in removed
    assert len(removed) == len(desktop_files.ICON_SIZES)  # seven icons and the launcher
    assert not (tmp_path / "applications" / "deskbreak.desktop").exists()
    # And install leaves the user's icon alone too.
    desktop_files.install([BIN, "run"], base=tmp_path)
    with Image.open(theirs) as im:
        assert im.getpixel((24, 24)) == (255, 0, 0, 255)


def test_install_leaves_a_launcher_deskbreak_did_not_write(tmp_path: Path) -> None:
    launcher = desktop_files.launcher_path(tmp_path)
    launcher.parent.mkdir(parents=True)
    launcher.write_text("[Desktop Entry]\nType=Application\nName=mine\nExec=/bin/true\n")
    written = desktop_files.install([BIN, "run"], base=tmp_path)
    assert launcher not in written
    assert "Name=mine" in launcher.read_text()


def test_notification_icon_before_and_after_install(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    drawn = Path(desktop_files.notification_icon(base=tmp_path / "data", cache=cache))
    assert drawn.is_absolute() and drawn.parent == cache
    with Image.open(drawn) as im:
        assert (im.format, im.size) == ("PNG", (128, 128))
    stamp = drawn.stat().st_mtime_ns
    assert desktop_files.notification_icon(base=tmp_path / "data", cache=cache) == str(drawn)
    assert drawn.stat().st_mtime_ns == stamp  # drawn once, not at every reminder

    desktop_files.install([BIN, "run"], base=tmp_path / "data")
    assert desktop_files.notification_icon(base=tmp_path / "data", cache=cache) == str(
        desktop_files.icon_path(128, tmp_path / "data")
    )


def test_install_desktop_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME=str(tmp_path / "data"))
    script = Path(sys.executable).with_name("deskbreak")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *args], env=env, capture_output=True, text=True, timeout=60
        )

    r = run("install-desktop")
    assert r.returncode == 0, r.stderr
    hicolor = tmp_path / "data" / "icons" / "hicolor"
    launcher = tmp_path / "data" / "applications" / "deskbreak.desktop"
    assert r.stdout.splitlines() == [
        f"Installed 8 icon sizes in {hicolor}",
        f"Installed the launcher {launcher}",
    ]
    validate_desktop_file(launcher)
    exec_argv = autostart.parse_desktop_exec(autostart.read_desktop_entry(launcher)["Exec"])
    assert exec_argv == [str(script), "run"]

    r = run("install-desktop", "--remove")
    assert r.returncode == 0
    assert len(r.stdout.splitlines()) == 9
    assert not launcher.exists()
    assert not list(hicolor.rglob("*.png"))


@pytest.mark.desktop
def test_notifications_carry_deskbreaks_icon_and_name(desktop, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The notification server gets deskbreak's name, desktop entry and a PNG it can load."""
    desktop.reset_notifications()
    dunst_log_before = len(desktop.components["dunst"].output())
    icon = desktop_files.notification_icon(base=tmp_path / "data", cache=tmp_path / "cache")
    notifier = FreedesktopNotifier(
        lambda key: None,
        lambda reason: None,
        logging.getLogger("test"),
        bus_address=desktop.bus_address,
    )
    try:
        notifier.show(Notice(title="Neck flexion", body="Lower your chin.", icon=icon))
        record = desktop.notifications.wait_for_notify(lambda n: n.summary == "Neck flexion")
        desktop.wait_for(lambda: desktop.displayed_count() >= 1, what="dunst to show it")
    finally:
        notifier.stop()
    assert record.app_name == "deskbreak"
    assert record.hints.get("desktop-entry") == "deskbreak"
    url = urlparse(record.app_icon)
    assert url.scheme == "file"
    with Image.open(unquote(url.path)) as im:
        assert (im.format, im.size) == ("PNG", (128, 128))
    # dunst found the picture (it logs "No icon found" when it cannot).
    assert "No icon found" not in desktop.components["dunst"].output()[dunst_log_before:]


def test_only_a_whole_png_with_deskbreaks_mark_is_ours(tmp_path: Path) -> None:
    ours = tmp_path / "ours.png"
    ours.write_bytes(desktop_files.icon_png(32))
    assert desktop_files.is_our_png(ours)
    data = ours.read_bytes()
    unmarked = tmp_path / "unmarked.png"
    Image.new("RGBA", (32, 32), (255, 0, 0, 255)).save(unmarked)
    someone_else = tmp_path / "someone-else.png"
    info = PngInfo()
    info.add_text("Software", "deskbreaker 2.0")
    Image.new("RGBA", (32, 32), (255, 0, 0, 255)).save(someone_else, pnginfo=info)
    damaged = tmp_path / "damaged.png"
    damaged.write_bytes(data.replace(b"Software\0deskbreak", b"Software\0deskbreaK"))
    cases = {
        "no such file": tmp_path / "missing.png",
        "a folder": tmp_path,
        "not a PNG": tmp_path / "text.png",
        "empty": tmp_path / "empty.png",
        "cut short": tmp_path / "cut.png",
        "cut after its mark": tmp_path / "cut-late.png",
        "no mark": unmarked,
        "another program's mark": someone_else,
        "a damaged mark": damaged,
    }
    cases["not a PNG"].write_text("Software\0deskbreak 0.1.0\n")
    cases["empty"].write_bytes(b"")
    cases["cut short"].write_bytes(data[:20])
    cases["cut after its mark"].write_bytes(data[: data.index(b"IEND") - 4])
    for what, path in cases.items():
        assert not desktop_files.is_our_png(path), what

"""Take the README's screenshots: the tray menu open while a reminder is on screen.

Run through ``scripts/screenshot``; it uses the same throwaway desktop as the tests.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop_harness import Desktop, wait_for  # noqa: E402

CONFIG = '[reminders]\ninterval = "3s"\n'


def crop(src: Path, dst: Path, box: tuple[int, int, int, int]) -> None:
    from PIL import Image

    with Image.open(src) as im:
        im.crop(box).save(dst, optimize=True)


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "scripts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    desktop = Desktop(screen=(900, 540)).start()
    try:
        cfg = desktop.root / "config.toml"
        cfg.write_text(CONFIG)
        proc = desktop.spawn(
            "deskbreak", [sys.executable, "-m", "deskbreak", "run", "--config", str(cfg)]
        )
        desktop.wait_for_sni_item(proc.pid)
        log = desktop.notifications
        assert log is not None
        log.wait_for_notify(lambda n: n.app_name == "deskbreak", timeout=15)
        wait_for(lambda: desktop.displayed_count() >= 1, 10, "dunst to show the reminder")
        left, top, _right, bottom = desktop.tray_window_box()
        # The deskbreak icon is the first (only) item in the tray bar: right-click opens its menu.
        x, y = left + (bottom - top) // 2, (top + bottom) // 2

        def windows() -> set[str]:
            found = desktop.run(["xdotool", "search", "--onlyvisible", "--name", ""], check=False)
            return set(found.stdout.split())

        before = windows()
        desktop.run(["xdotool", "mousemove", str(x), str(y), "click", "3"])
        wait_for(lambda: windows() - before, 10, "the tray menu to open")
        time.sleep(0.5)  # let the menu finish drawing before the picture is taken
        shot = desktop.screenshot(desktop.root / "full.png")
        crop(shot, out / "tray-menu.png", (0, 0, desktop.screen[0], desktop.screen[1]))
        print(f"wrote {out / 'tray-menu.png'}")
        proc.terminate()
    finally:
        desktop.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

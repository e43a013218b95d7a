"""Take the README's screenshots: the tray menu open while a reminder is on screen, the
stats chart of a month of sample history, and the guided window.

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


def stats_chart(out: Path) -> None:
    """``deskbreak stats --chart`` over 30 days of sample history ending today."""
    import subprocess
    import tempfile
    from datetime import date

    from scripts.sample_history import write_sample

    with tempfile.TemporaryDirectory(prefix="deskbreak-sample-") as tmp:
        db = Path(tmp) / "history.sqlite3"
        cfg = Path(tmp) / "config.toml"
        cfg.write_text("[reminders]\ndaily_goal = 8\n")
        write_sample(db, end=date.today(), days=30)
        chart = out / "stats-chart.png"
        stats = ["stats", "--config", str(cfg), "--db", str(db), "--days", "30"]
        subprocess.run(
            [sys.executable, "-m", "deskbreak", *stats, "--chart", str(chart)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"wrote {chart}")


def guide_window(out: Path) -> None:
    """The guided window in the middle of the seed routine, at its first desk stretch."""
    import logging

    from deskbreak.adapters.guide_window import GuideWindow
    from deskbreak.exercises import DESK_ROTATION, WARM_UP, builtin_by_id

    desktop = Desktop(screen=(900, 640), dunst=False, sni=False).start()
    try:
        guide = GuideWindow(
            lambda index: None,
            lambda outcome: None,
            logging.getLogger("screenshot"),
            env=desktop.env,
        )
        catalogue = builtin_by_id()
        routine = [catalogue[i] for i in (*WARM_UP, *DESK_ROTATION)]
        if not guide.open("Warm-up and desk stretches", routine, start_index=len(WARM_UP)):
            raise SystemExit("the guided window is not available (is python3-tk installed?)")
        layout = wait_for(lambda: guide.layout, 15, "the guided window to show")
        time.sleep(3.3)  # let the countdown run a little, so its bar shows
        x, y, w, h = layout["window"]
        shot = desktop.screenshot(desktop.root / "guide.png")
        crop(shot, out / "guide-window.png", (x, y, x + w, y + h))
        print(f"wrote {out / 'guide-window.png'}")
        guide.close()
    finally:
        desktop.stop()


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "scripts" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    stats_chart(out)
    guide_window(out)
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

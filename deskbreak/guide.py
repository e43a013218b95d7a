"""The guided window: a small always-on-top Tk window that walks the user through a stretch.

Run as ``python -m deskbreak.guide``; the daemon starts it (deskbreak/adapters/guide_window.py)
so that the daemon itself never loads Tk.

How it works
------------
- Input: one JSON object on stdin, read to its end::

      {"title": "Warm-up and desk stretches" | null,
       "exercises": [{"id", "name", "steps": [...], "equipment": [...], "duration": secs}],
       "start_index": 0}

  ``title`` names a routine; null means a single stretch.
- Output: JSON lines on stdout, flushed one by one:
  ``{"event": "started", "index": i, "window": [x, y, w, h], "clock": [...], "buttons":
  {"done": [...], "snooze": [...], "skip": [...]}}`` once the window is on screen (boxes in
  screen coordinates, for tests and screenshots),
  ``{"event": "step", "index": i}`` when a routine moves on to exercise ``i``, and exactly
  one final ``{"outcome": "done" | "snoozed" | "skipped", "finished": bool, "completed":
  [ids], "index": i}``; then the program exits 0.
- Exit 2 (one line on stderr) for bad input, exit 3 (one line on stderr) when Tk cannot
  start: no tkinter module, or no display to open a window on.
- The program quits without an answer when the process that started it goes away (checked
  with each redraw), so a window never outlives the daemon.
- What happens on each click, key, close and tick is decided by the pure
  ``deskbreak.guide_model.GuideModel``; this module only draws it. The countdown is computed
  from a deadline on ``time.monotonic()`` and redrawn just after each whole second changes
  (Tk ``after``; no threads).

Keyboard and focus
------------------
The window must not take the keyboard from what the user was typing. It never asks for
focus (no ``focus_force``/``focus_set``). On X11 it is given, before it is first mapped,
the window type ``_NET_WM_WINDOW_TYPE_UTILITY`` (Tk's ``wm attributes -type``: a small
tool window kept above others, usually left out of the task bar) and
``_NET_WM_USER_TIME = 0``, the EWMH way of saying "do not focus this window when it
appears" (set on Tk's wrapper window with python-xlib, as Tk has no command for it). Its
WM_HINTS still accept input, so a click on the window focuses it as usual, and then Enter
(Done), S (Snooze) and Esc (Skip) work. ``-topmost`` keeps it above other windows.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from deskbreak.guide_model import Advanced, Change, Ended, GuideModel, Payload, TimeUp

EXIT_BAD_INPUT = 2
EXIT_NO_TK = 3

# Sizes in pixels at 96 dpi; scaled up on denser screens (fonts are in points and grow).
WIDTH = 440
MARGIN = 24  # from the screen's right edge
BOTTOM_MARGIN = 64  # from the bottom: room for a panel
TEXT_WIDTH = WIDTH - 2 * 24
STEP_WIDTH = TEXT_WIDTH - 26  # beside the step numbers

# A calm palette: warm paper, ink, and the teal of the tray icon.
BG = "#f7f5f0"
INK = "#25323a"
MUTED = "#6a767e"
ACCENT = "#00806f"
ACCENT_ACTIVE = "#006b5d"
TRACK = "#e3ded3"
BUTTON = "#e9e5dc"
BUTTON_ACTIVE = "#dcd6ca"
WHITE = "#ffffff"
EDGE = "#cfc8ba"

TIME_UP = "Time's up — well done!"


def _clock(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    return f"{minutes:02d}:{secs:02d}"


class GuideApp:
    """The window: draws the model's state and turns clicks, keys and ticks into calls."""

    def __init__(
        self,
        tk: Any,
        root: Any,
        payload: Payload,
        emit: Callable[[dict[str, Any]], None],
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        import tkinter.font as tkfont

        self.tk = tk
        self.root = root
        self.emit = emit
        self.now = now
        self.model = GuideModel(
            payload.exercises, now(), title=payload.title, start_index=payload.start_index
        )
        self._parent = os.getppid()
        dpi = float(root.winfo_fpixels("1i"))
        self.scale = max(1.0, round(dpi / 96 * 4) / 4)  # 1, 1.25, 1.5, ...
        self._after: str | None = None

        family = tkfont.nametofont("TkDefaultFont").actual("family")
        self.f_small = tkfont.Font(root, family=family, size=9)
        self.f_body = tkfont.Font(root, family=family, size=10)
        self.f_name = tkfont.Font(root, family=family, size=15, weight="bold")
        self.f_clock = tkfont.Font(root, family=family, size=40, weight="bold")
        self.f_status = tkfont.Font(root, family=family, size=10, weight="bold")
        self.f_button = tkfont.Font(root, family=family, size=10, weight="bold")

        root.configure(bg=BG, highlightthickness=1, highlightbackground=EDGE, highlightcolor=EDGE)
        root.resizable(False, False)
        self._build()

    def px(self, pixels: int) -> int:
        return round(pixels * self.scale)

    # -- building

    def _label(self, parent: Any, font: Any, fg: str = INK, **kw: Any) -> Any:
        return self.tk.Label(parent, font=font, fg=fg, bg=BG, anchor="w", justify="left", **kw)

    def _button(self, parent: Any, text: str, command: Callable[[], None]) -> Any:
        return self.tk.Button(
            parent,
            text=text,
            command=command,
            font=self.f_button,
            relief="flat",
            bd=0,
            highlightthickness=0,
            padx=16,
            pady=7,
            cursor="hand2",
            takefocus=0,
        )

    def _build(self) -> None:
        tk = self.tk
        body = tk.Frame(self.root, bg=BG, padx=24, pady=18)
        body.pack(fill="both", expand=True)
        self.header = self._label(body, self.f_small, MUTED)
        self.header.pack(fill="x")
        self.name = self._label(body, self.f_name, wraplength=self.px(TEXT_WIDTH))
        self.name.pack(fill="x", pady=(2, 0))
        self.equipment = self._label(body, self.f_small, MUTED, wraplength=self.px(TEXT_WIDTH))
        self.equipment.pack(fill="x", pady=(2, 0))
        self.steps = tk.Frame(body, bg=BG)
        self.steps.pack(fill="x", pady=(10, 0))
        self.steps.columnconfigure(1, weight=1)

        buttons = tk.Frame(body, bg=BG)
        buttons.pack(side="bottom", fill="x", pady=(12, 0))
        self.skip_button = self._button(buttons, "Skip", self.on_skip)
        self.skip_button.pack(side="left")
        self.snooze_button = self._button(buttons, "Snooze", self.on_snooze)
        self.snooze_button.pack(side="left", padx=(8, 0))
        self.done_button = self._button(buttons, "Done", self.on_done)
        self.done_button.pack(side="right")
        self._style_buttons(primary=False)

        self.status = tk.Label(body, font=self.f_status, fg=MUTED, bg=BG)
        self.status.pack(side="bottom", fill="x", pady=(6, 0))
        self.bar = tk.Canvas(body, height=6, bg=BG, highlightthickness=0, bd=0)
        self.bar.pack(side="bottom", fill="x", padx=40)
        self.clock = tk.Label(body, font=self.f_clock, fg=INK, bg=BG)
        self.clock.pack(side="bottom", pady=(14, 6))

        root = self.root
        root.protocol("WM_DELETE_WINDOW", self.on_close)
        for sequence, handler in (
            ("<Return>", self.on_done),
            ("<KP_Enter>", self.on_done),
            ("<KeyPress-s>", self.on_snooze),
            ("<KeyPress-S>", self.on_snooze),
            ("<Escape>", self.on_skip),
        ):
            root.bind(sequence, lambda _event, h=handler: h())

    def _style_buttons(self, primary: bool) -> None:
        for button in (self.skip_button, self.snooze_button):
            button.configure(bg=BUTTON, fg=INK, activebackground=BUTTON_ACTIVE)
            button.configure(activeforeground=INK)
        if primary:
            self.done_button.configure(
                bg=ACCENT,
                fg=WHITE,
                activebackground=ACCENT_ACTIVE,
                activeforeground=WHITE,
            )
        else:
            self.done_button.configure(
                bg=BUTTON,
                fg=ACCENT,
                activebackground=BUTTON_ACTIVE,
                activeforeground=ACCENT,
            )

    # -- drawing

    def _show_exercise(self, index: int) -> None:
        """Fill in the name, equipment and steps of exercise ``index``."""
        ex = self.model.exercises[index]
        model = self.model
        if model.is_routine:
            where = f"{index + 1} of {len(model.exercises)}"
            self.header.configure(text=f"{model.title}  ·  {where}" if model.title else where)
        else:
            self.header.configure(text="Stretch break")
        self.name.configure(text=ex.name)
        if ex.equipment:
            self.equipment.configure(text="You need: " + ", ".join(ex.equipment))
            self.equipment.pack(fill="x", pady=(2, 0), after=self.name)
        else:
            self.equipment.pack_forget()
        for child in self.steps.winfo_children():
            child.destroy()
        for row, text in enumerate(ex.steps):
            number = self.tk.Label(
                self.steps, text=f"{row + 1}.", font=self.f_body, fg=ACCENT, bg=BG, anchor="ne"
            )
            number.grid(row=row, column=0, sticky="ne", padx=(0, 8), pady=(0, 4))
            line = self._label(self.steps, self.f_body, wraplength=self.px(STEP_WIDTH), text=text)
            line.grid(row=row, column=1, sticky="nw", pady=(0, 4))

    def _draw(self) -> None:
        model = self.model
        now = self.now()
        self.root.title(model.window_title())
        left = model.remaining(now)
        self.clock.configure(text=_clock(left), fg=ACCENT if model.finished else INK)
        if model.finished:
            self.status.configure(text=TIME_UP, fg=ACCENT, font=self.f_status)
        else:
            nxt = model.up_next()
            text = f"Next: {nxt.name}" if nxt else ""
            self.status.configure(text=text, fg=MUTED, font=self.f_body)
        self._draw_bar(now)

    def _draw_bar(self, now: float) -> None:
        width = self.bar.winfo_width()
        if width <= 1:
            width = int(self.bar.cget("width") or 0) or self.px(TEXT_WIDTH - 80)
        duration = self.model.current.duration
        done = 1.0 if self.model.finished else 1.0 - max(0.0, self.model.deadline - now) / duration
        self.bar.delete("all")
        self.bar.create_rectangle(0, 0, width, 6, fill=TRACK, width=0)
        if done > 0:
            self.bar.create_rectangle(0, 0, round(width * min(done, 1.0)), 6, fill=ACCENT, width=0)

    def fit(self) -> tuple[int, int]:
        """Size the window for the tallest exercise, so it does not jump between them."""
        self.status.configure(text=TIME_UP)
        self.clock.configure(text="00:00")
        height = 0
        for index in range(len(self.model.exercises)):
            self._show_exercise(index)
            self.root.update_idletasks()
            height = max(height, self.root.winfo_reqheight())
        height = min(height, self.root.winfo_screenheight() - 2 * self.px(MARGIN))
        self._show_exercise(self.model.index)
        self._draw()
        return self.px(WIDTH), height

    # -- events

    def apply(self, changes: list[Change]) -> None:
        for change in changes:
            if isinstance(change, Advanced):
                self._show_exercise(change.index)
                self.emit({"event": "step", "index": change.index})
            elif isinstance(change, TimeUp):
                self._style_buttons(primary=True)
            elif isinstance(change, Ended):
                self.emit(change.outcome.to_json())
                self.quit()
                return
        self._draw()

    def on_done(self) -> None:
        if not self.model.over:
            self.apply(self.model.done(self.now()))

    def on_snooze(self) -> None:
        if not self.model.over:
            self.apply(self.model.snooze(self.now()))

    def on_skip(self) -> None:
        if not self.model.over:
            self.apply(self.model.skip(self.now()))

    def on_close(self) -> None:
        if not self.model.over:
            self.apply(self.model.close(self.now()))

    def tick(self) -> None:
        self._after = None
        if os.getppid() != self._parent:  # the daemon is gone: leave quietly
            self.quit()
            return
        if self.model.over:
            return
        self.apply(self.model.tick(self.now()))
        if not self.model.over:
            self._schedule()

    def _schedule(self) -> None:
        delay = self.model.until_next_change(self.now())
        self._after = self.root.after(max(1, int(delay * 1000) + 15), self.tick)

    def quit(self) -> None:
        if self._after is not None:
            with contextlib.suppress(Exception):
                self.root.after_cancel(self._after)
            self._after = None
        self.root.destroy()

    # -- showing

    def show(self) -> None:
        """Place the window near the bottom-right corner and map it without taking focus."""
        root = self.root
        width, height = self.fit()
        x = max(0, root.winfo_screenwidth() - width - self.px(MARGIN))
        y = max(0, root.winfo_screenheight() - height - self.px(BOTTOM_MARGIN))
        root.geometry(f"{width}x{height}+{x}+{y}")
        root.wm_attributes("-topmost", 1)
        with contextlib.suppress(Exception):
            root.wm_attributes("-type", "utility")
        root.update_idletasks()  # creates Tk's (still unmapped) wrapper window
        _ask_not_to_focus(root)
        root.bind("<Map>", self._on_map, add="+")
        root.deiconify()
        self._schedule()

    def _on_map(self, event: Any) -> None:
        if event.widget is not self.root:
            return
        self.root.unbind("<Map>")
        self.root.after_idle(self._announce)

    def _announce(self) -> None:
        if self.model.over:
            return
        self.root.update_idletasks()

        def box(widget: Any) -> list[int]:
            return [
                widget.winfo_rootx(),
                widget.winfo_rooty(),
                widget.winfo_width(),
                widget.winfo_height(),
            ]

        self.emit(
            {
                "event": "started",
                "index": self.model.index,
                "window": box(self.root),
                "clock": box(self.clock),
                "buttons": {
                    "done": box(self.done_button),
                    "snooze": box(self.snooze_button),
                    "skip": box(self.skip_button),
                },
            }
        )


def _ask_not_to_focus(root: Any) -> None:
    """X11: set _NET_WM_USER_TIME = 0 on Tk's wrapper window (EWMH: don't focus on map)."""
    if root.tk.call("tk", "windowingsystem") != "x11":
        return
    try:
        from Xlib import Xatom, display
    except ImportError:
        return
    try:
        xdisplay = display.Display(root.winfo_screen())
    except Exception:
        return
    try:
        inner = xdisplay.create_resource_object("window", root.winfo_id())
        wrapper = inner.query_tree().parent
        wrapper.change_property(xdisplay.intern_atom("_NET_WM_USER_TIME"), Xatom.CARDINAL, 32, [0])
        xdisplay.sync()
    except Exception:
        pass
    finally:
        xdisplay.close()


def _emitter(out: TextIO) -> Callable[[dict[str, Any]], None]:
    def emit(message: dict[str, Any]) -> None:
        try:
            out.write(json.dumps(message) + "\n")
            out.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass  # nobody listens any more; the parent check ends the window

    return emit


def main(stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin if stdin is not None else sys.stdin
    stdout = stdout if stdout is not None else sys.stdout
    try:
        payload = Payload.from_json(json.loads(stdin.read()))
    except ValueError as exc:  # json.JSONDecodeError is a ValueError too
        print(f"deskbreak guide: bad input: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        import tkinter
    except ImportError as exc:
        print(f"deskbreak guide: Tk is not available: {exc}", file=sys.stderr)
        return EXIT_NO_TK
    try:
        root = tkinter.Tk(className="deskbreak")
    except tkinter.TclError as exc:
        print(f"deskbreak guide: cannot open a window: {exc}", file=sys.stderr)
        return EXIT_NO_TK
    root.withdraw()
    app = GuideApp(tkinter, root, payload, _emitter(stdout))
    app.show()
    root.mainloop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

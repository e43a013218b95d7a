"""status, now, accept, snooze, skip, pause, resume, interval, reload, quit, events.

Each one sends one request to the running daemon over its control socket and prints the
answer. Nothing heavy is imported: the socket client, the protocol and a few pure helpers.
Exit status: 0 done; 1 the daemon is not running (or not answering); 2 bad input, or a
command that makes no sense now (accept with nothing due).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from deskbreak.durations import format_duration, humanize, parse_duration
from deskbreak.errors import UsageError
from deskbreak.protocol import MAX_SECONDS, MAX_SETTING_SECONDS
from deskbreak.wallclock import clock_label, parse_clock


def _request(cmd: str, **args: Any) -> Any:
    from deskbreak.adapters import ipc

    return ipc.request(cmd, **args)


def _duration(text: str, what: str, longest: int = MAX_SETTING_SECONDS) -> int:
    try:
        seconds = parse_duration(text)
    except ValueError as e:
        raise UsageError(f"{what}: {e}") from None
    if seconds > longest:
        raise UsageError(f"{what}: at most {format_duration(longest)}, got {text!r}")
    return seconds


def _at(ts: float | None, now: float) -> str:
    return clock_label(ts, now) if ts is not None else "?"


def _next_line(status: dict[str, Any]) -> str:
    """What happens next, in words: "Next: Neck flexion at 14:50 (in 45 min)"."""
    now = status["now"]
    name = status["exercise_name"]
    state = status["state"]
    if state == "waiting" and status.get("next_at") is not None:
        return f"Next: {name} at {_at(status['next_at'], now)} (in {humanize(status['next_in'])})"
    if state == "snoozed" and status.get("next_at") is not None:
        return f"Snoozed: {name} until {_at(status['next_at'], now)}"
    if state == "due":
        return f"Now: {name} (answer with: deskbreak accept, snooze or skip)"
    if state == "paused":
        until = status.get("pause_until")
        return f"Paused until {_at(until, now)}" if until else "Paused until you resume"
    return str(status.get("summary") or state)


def progress_text(status: dict[str, Any]) -> str | None:
    """Today's progress in the tray's words: "Today: 5 of 8 stretches" (None: not known)."""
    done = status.get("done_today")
    if done is None:
        return None
    from deskbreak.views import progress_words

    return progress_words(int(done), int(status.get("daily_goal") or 0))


def _print_result(result: dict[str, Any], first: str) -> None:
    status = result["status"]
    print(f"{first} {_next_line(status)}" if first else _next_line(status))
    if status.get("settings_error"):
        print(f"deskbreak: settings not applied: {status['settings_error']}", file=sys.stderr)


# ---------------------------------------------------------------- handlers


def cmd_status(args: argparse.Namespace) -> int:
    snap = _request("status")
    if args.json:
        print(json.dumps(snap, indent=2, sort_keys=True))
        return 0
    now = snap["now"]
    rows = [
        ("State", snap["state"]),
        ("", _next_line(snap)),
    ]
    progress = progress_text(snap)
    if progress:
        rows.append(("", progress))
    rows += [
        ("Interval", f"every {format_duration(snap['interval'])}"),
        ("Snooze", format_duration(snap["snooze"])),
    ]
    if snap.get("pause_until") is not None:
        rows.append(("Paused until", _at(snap["pause_until"], now)))
    rows.append(("Settings", snap["config"]))
    if snap.get("settings_error"):
        rows.append(("Settings error", f"{snap['settings_error']} (the last good settings run)"))
    rows.append(("Daemon", f"pid {snap['pid']}"))
    width = max(len(label) for label, _ in rows) + 2
    for label, value in rows:
        print(f"{label + ':' if label else '':<{width}}{value}")
    return 0


def cmd_now(_args: argparse.Namespace) -> int:
    result = _request("now")
    print(f"Time to stretch: {result['status']['exercise_name']}")
    return 0


def cmd_accept(_args: argparse.Namespace) -> int:
    result = _request("accept")
    _print_result(result, f"Done: {result['exercise_name']}.")
    return 0


def cmd_snooze(args: argparse.Namespace) -> int:
    extra = {}
    if args.duration is not None:
        extra["seconds"] = _duration(args.duration, "snooze")
    result = _request("snooze", **extra)
    _print_result(result, "")
    return 0


def cmd_skip(_args: argparse.Namespace) -> int:
    result = _request("skip")
    _print_result(result, f"Skipped: {result['exercise_name']}.")
    return 0


def cmd_pause(args: argparse.Namespace) -> int:
    extra: dict[str, Any] = {}
    if args.duration is not None:
        extra["seconds"] = _duration(args.duration, "pause", MAX_SECONDS)
    elif args.until is not None:
        try:
            hour, minute = parse_clock(args.until)
        except ValueError as e:
            raise UsageError(f"pause --until: {e}") from None
        extra["until"] = f"{hour:02d}:{minute:02d}"
    elif args.tomorrow:
        extra["tomorrow"] = True
    result = _request("pause", **extra)
    _print_result(result, "")
    return 0


def cmd_resume(_args: argparse.Namespace) -> int:
    result = _request("resume")
    _print_result(result, "Resumed.")
    return 0


def cmd_interval(args: argparse.Namespace) -> int:
    seconds = _duration(args.duration, "interval")
    result = _request("interval", seconds=seconds)
    where = f" (saved in {result['saved']})" if result.get("saved") else ""
    _print_result(result, f"Every {format_duration(seconds)}{where}.")
    if result.get("warning"):
        print(f"deskbreak: {result['warning']}", file=sys.stderr)
    return 0


def cmd_reload(_args: argparse.Namespace) -> int:
    result = _request("reload")
    status = result["status"]
    print(
        f"Reloaded {result['config']}: every {format_duration(status['interval'])}, "
        f"snooze {format_duration(status['snooze'])}. {_next_line(status)}"
    )
    return 0


def cmd_quit(_args: argparse.Namespace) -> int:
    from deskbreak.adapters import ipc

    result = ipc.request_and_wait("quit")
    print(f"deskbreak stopped (pid {result['pid']})")
    return 0


def _event_line(event: dict[str, Any]) -> str:
    at = event.get("at")
    when = datetime.fromtimestamp(at).strftime("%H:%M:%S") if isinstance(at, int | float) else ""
    kind = event.get("event", "?")
    if kind == "status":
        status = event["status"]
        text = f"{status['state']:<8} {_next_line(status)}"
        if status.get("settings_error"):
            text += " [settings error]"
        return f"{when} {text}"
    if kind == "reminder":
        return f"{when} {'reminder':<8} {event.get('name')}"
    if kind == "record":
        detail = f" ({event['detail']})" if event.get("detail") else ""
        name = f" {event['name']}" if event.get("name") else ""
        return f"{when} {event.get('kind', '?'):<8}{name}{detail}"
    if kind == "settings":
        if event.get("error"):
            return f"{when} {'settings':<8} not applied: {event['error']}"
        return f"{when} {'settings':<8} reloaded ({event.get('reason')})"
    if kind == "stopped":
        return f"{when} {'stopped':<8} deskbreak stopped"
    return f"{when} {kind}"


def cmd_events(args: argparse.Namespace) -> int:
    from deskbreak.adapters import ipc

    first, events = ipc.subscribe()

    def emit(event: dict[str, Any]) -> None:
        print(json.dumps(event, sort_keys=True) if args.json else _event_line(event), flush=True)

    emit({"event": "status", "seq": first.get("seq"), "at": first.get("now"), "status": first})
    for event in events:
        emit(event)
    return 0


# ---------------------------------------------------------------- parser


EXAMPLES = {
    "status": "examples:\n  deskbreak status\n  deskbreak status --json | jq -r .summary",
    "snooze": "examples:\n  deskbreak snooze\n  deskbreak snooze 5m",
    "pause": (
        "examples:\n  deskbreak pause            (until you resume)\n  deskbreak pause 1h30m\n"
        "  deskbreak pause --until 13:00\n  deskbreak pause --tomorrow"
    ),
    "interval": "example:\n  deskbreak interval 30m",
    "events": "examples:\n  deskbreak events\n  deskbreak events --json",
}


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add this module's subcommands to the parser."""

    def add(name: str, help_text: str, description: str) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help_text,
            description=description,
            epilog=EXAMPLES.get(name),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return parser

    p = add(
        "status",
        "show what the running deskbreak is doing",
        "Show the state (waiting, due, snoozed, paused), the next stretch and when it comes, "
        "the interval, when a pause ends, and any problem with the settings file.",
    )
    p.add_argument("--json", action="store_true", help="print the status as JSON, for scripts")
    p.set_defaults(func=cmd_status)

    p = add("now", "start a stretch now", "Show a stretch now, whatever the timer says.")
    p.set_defaults(func=cmd_now)

    p = add(
        "accept",
        "mark the current stretch done",
        "Mark the stretch that is due (or snoozed) as done; the next comes one interval later.",
    )
    p.set_defaults(func=cmd_accept)

    p = add(
        "snooze",
        "bring the current stretch back later",
        "Snooze the stretch that is due: the same one comes back after DURATION.",
    )
    p.add_argument(
        "duration",
        nargs="?",
        metavar="DURATION",
        help='how long, like "5m" or "1h30m" (default: the configured snooze)',
    )
    p.set_defaults(func=cmd_snooze)

    p = add(
        "skip",
        "skip the current stretch",
        "Skip the stretch that is due; the next comes one interval later.",
    )
    p.set_defaults(func=cmd_skip)

    p = add(
        "pause",
        "pause reminders",
        "Pause reminders for a while, until a time of day, until tomorrow, or (with no "
        "argument) until 'deskbreak resume'.",
    )
    group = p.add_mutually_exclusive_group()
    group.add_argument("duration", nargs="?", metavar="DURATION", help='how long, like "30m"')
    group.add_argument("--until", metavar="HH:MM", help="until this time of day (24-hour clock)")
    group.add_argument("--tomorrow", action="store_true", help="until midnight")
    p.set_defaults(func=cmd_pause)

    p = add("resume", "resume reminders", "End a pause; the interval starts afresh.")
    p.set_defaults(func=cmd_resume)

    p = add(
        "interval",
        "change how often reminders come",
        "Set the time between stretches. It is saved as reminders.interval in the settings "
        "file (only that value; comments and layout stay), as the tray's Frequency menu does.",
    )
    p.add_argument("duration", metavar="DURATION", help='like "30m" or "1h"')
    p.set_defaults(func=cmd_interval)

    p = add(
        "reload",
        "re-read the settings file",
        "Re-read the settings file now (the daemon also does this by itself when the file is "
        "saved, and on SIGHUP). If the file is invalid, the last good settings stay in use.",
    )
    p.set_defaults(func=cmd_reload)

    p = add("quit", "stop the running deskbreak", "Stop the daemon and wait until it is gone.")
    p.set_defaults(func=cmd_quit)

    p = add(
        "events",
        "print a line per change, as it happens",
        "Print one line for every change of state and every reminder and answer, until "
        "interrupted (Ctrl-C) or until deskbreak stops.",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line, for scripts")
    p.set_defaults(func=cmd_events)

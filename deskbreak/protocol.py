"""The control protocol between the ``deskbreak`` command and the running daemon. Pure.

How it works
============

A client connects to the daemon's local socket, writes one request and reads one reply.
Every message is one JSON object on one line, UTF-8, ending in ``\\n``, at most
``MAX_MESSAGE`` bytes including the newline::

    request  {"v": 1, "cmd": "snooze", "args": {"seconds": 300}}
    reply    {"v": 1, "ok": true, "result": {...}}
    error    {"v": 1, "ok": false, "error": "nothing to snooze: no stretch is due", "code": 6}

``v`` is the protocol version. A request of another version is answered with an error of
``code`` ``E_VERSION`` (in version 1's shape) so an old client gets a clear message from a
newer daemon and the other way round.

``events`` is the one streaming command: after its reply, the daemon keeps the connection
open and writes one line per change, ``{"v": 1, "event": "status", "seq": 12, ...}``, until
it stops or the client goes away.

``COMMANDS`` lists every command with the arguments it takes; ``decode_request`` checks a
request against it, so the daemon only ever sees well-formed requests. Every problem is a
``ProtocolError`` carrying the ``code`` to answer with. Nothing here touches a socket.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from deskbreak.errors import DeskbreakError

VERSION: Final = 1
MAX_MESSAGE: Final = 64 * 1024  # bytes, newline included

# Error codes of a reply. Each one says who is at fault and what to do.
E_MALFORMED: Final = 1  # not one JSON object on one line, or cut short
E_TOO_LARGE: Final = 2  # longer than MAX_MESSAGE
E_VERSION: Final = 3  # another protocol version
E_UNKNOWN_COMMAND: Final = 4
E_BAD_ARGS: Final = 5  # an argument missing, unknown or of the wrong type or range
E_NOT_NOW: Final = 6  # the command makes no sense in the current state (accept, nothing due)
E_SETTINGS: Final = 7  # the settings file is invalid (reload); the last good ones stay
E_REFUSED: Final = 8  # the connecting process belongs to another user
E_BUSY: Final = 9  # the daemon did not get to the request in time
E_INTERNAL: Final = 10  # a bug in the daemon; it keeps running

# The longest duration any command accepts (pause for a month at most).
MAX_SECONDS: Final = 31 * 24 * 3600
# The longest interval or snooze: the same bound the settings file has.
MAX_SETTING_SECONDS: Final = 24 * 3600


# Error codes that are the daemon's trouble rather than the request's: a command line that
# gets one exits 1, as when the daemon is not running; any other error is the user's (2).
DAEMON_TROUBLE: Final = frozenset({E_REFUSED, E_BUSY, E_INTERNAL})


class ProtocolError(DeskbreakError):
    """A message that breaks the protocol, or an error reply from the daemon."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.exit_code = 1 if code in DAEMON_TROUBLE else 2


@dataclass(frozen=True)
class Arg:
    """One argument of a command: its JSON type and, for numbers, the allowed range."""

    kind: type
    required: bool = False
    low: int = 1
    high: int = MAX_SECONDS


@dataclass(frozen=True)
class Command:
    args: Mapping[str, Arg] = field(default_factory=dict)
    one_of: bool = False  # at most one of the arguments may be given
    stream: bool = False  # the reply is followed by event lines
    linger: bool = False  # the connection stays open until the daemon has stopped


COMMANDS: Final[Mapping[str, Command]] = {
    "status": Command(),
    "now": Command(),
    "accept": Command(),
    "snooze": Command({"seconds": Arg(int, high=MAX_SETTING_SECONDS)}),
    "skip": Command(),
    "pause": Command(
        {"seconds": Arg(int), "until": Arg(str), "tomorrow": Arg(bool)},
        one_of=True,
    ),
    "resume": Command(),
    "interval": Command({"seconds": Arg(int, required=True, high=MAX_SETTING_SECONDS)}),
    "reload": Command(),
    "quit": Command(linger=True),
    "events": Command(stream=True),
}


@dataclass(frozen=True)
class Request:
    cmd: str
    args: Mapping[str, Any]

    @property
    def command(self) -> Command:
        return COMMANDS[self.cmd]


# ---------------------------------------------------------------- encoding


def _line(obj: Mapping[str, Any]) -> bytes:
    data = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return data.encode("utf-8") + b"\n"


def encode_request(cmd: str, args: Mapping[str, Any] | None = None) -> bytes:
    """The line a client sends. Raises ProtocolError for a request the daemon would refuse."""
    args = dict(args or {})
    check_request(cmd, args)
    line = _line({"v": VERSION, "cmd": cmd, "args": args})
    if len(line) > MAX_MESSAGE:
        raise ProtocolError(E_TOO_LARGE, f"request longer than {MAX_MESSAGE} bytes")
    return line


def encode_result(result: Any) -> bytes:
    """A successful reply. ``result`` must be plain JSON data (dicts, lists, str, numbers)."""
    return _line({"v": VERSION, "ok": True, "result": result})


def encode_error(code: int, message: str) -> bytes:
    return _line({"v": VERSION, "ok": False, "error": message, "code": code})


def encode_event(event: Mapping[str, Any]) -> bytes:
    """One line of the ``events`` stream; ``event`` has at least an ``"event"`` key."""
    return _line({"v": VERSION, **event})


# ---------------------------------------------------------------- decoding


def _object(data: bytes) -> dict[str, Any]:
    """The JSON object in one message (with or without its newline)."""
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(E_TOO_LARGE, f"message longer than {MAX_MESSAGE} bytes")
    if not data.endswith(b"\n"):
        raise ProtocolError(E_MALFORMED, "incomplete message: a message ends with a newline")
    body = data[:-1]
    if b"\n" in body:
        raise ProtocolError(E_MALFORMED, "one message per line: found a newline inside")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ProtocolError(E_MALFORMED, f"not UTF-8 text (byte {e.start})") from None
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:
        raise ProtocolError(E_MALFORMED, f"not JSON: {_short(e)}") from None
    if not isinstance(obj, dict):
        raise ProtocolError(E_MALFORMED, f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _short(e: BaseException) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= 200 else text[:200] + "…"


def _check_version(obj: Mapping[str, Any]) -> None:
    v = obj.get("v")
    if v != VERSION or isinstance(v, bool):
        raise ProtocolError(
            E_VERSION,
            f"protocol version {v!r} is not supported; this deskbreak speaks version {VERSION}"
            " (are the deskbreak command and the running daemon from different installs?)",
        )


def decode_request(data: bytes) -> Request:
    """The request in one line from a client; ProtocolError with the code to answer with."""
    obj = _object(data)
    _check_version(obj)
    unknown = sorted(set(obj) - {"v", "cmd", "args"})
    if unknown:
        raise ProtocolError(E_MALFORMED, f"unknown field {unknown[0]!r} in the request")
    cmd = obj.get("cmd")
    if not isinstance(cmd, str):
        raise ProtocolError(E_MALFORMED, 'a request needs "cmd", a string')
    args = obj.get("args", {})
    if not isinstance(args, dict):
        raise ProtocolError(E_MALFORMED, '"args" must be a JSON object')
    check_request(cmd, args)
    return Request(cmd, args)


def check_request(cmd: str, args: Mapping[str, Any]) -> None:
    """Raise ProtocolError unless ``cmd`` is known and ``args`` fit it."""
    spec = COMMANDS.get(cmd)
    if spec is None:
        shown = cmd if len(cmd) <= 40 else cmd[:40] + "…"
        raise ProtocolError(
            E_UNKNOWN_COMMAND,
            f"unknown command {shown!r}; the commands are {', '.join(sorted(COMMANDS))}",
        )
    for name, value in args.items():
        arg = spec.args.get(name)
        if arg is None:
            allowed = ", ".join(spec.args) or "none"
            raise ProtocolError(
                E_BAD_ARGS, f"{cmd}: unknown argument {name!r}; its arguments: {allowed}"
            )
        _check_value(cmd, name, value, arg)
    for name, arg in spec.args.items():
        if arg.required and name not in args:
            raise ProtocolError(E_BAD_ARGS, f"{cmd}: argument {name!r} is required")
    if spec.one_of and len(args) > 1:
        raise ProtocolError(
            E_BAD_ARGS, f"{cmd}: give at most one of {', '.join(spec.args)}, not several"
        )


def _check_value(cmd: str, name: str, value: Any, arg: Arg) -> None:
    if arg.kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(E_BAD_ARGS, f"{cmd}: {name} must be a whole number of seconds")
        if not arg.low <= value <= arg.high:
            raise ProtocolError(
                E_BAD_ARGS, f"{cmd}: {name} must be from {arg.low} to {arg.high} seconds"
            )
    elif arg.kind is bool:
        if not isinstance(value, bool):
            raise ProtocolError(E_BAD_ARGS, f"{cmd}: {name} must be true or false")
    elif arg.kind is str and (not isinstance(value, str) or len(value) > 100):
        raise ProtocolError(E_BAD_ARGS, f"{cmd}: {name} must be a short string")


def decode_reply(data: bytes) -> Any:
    """The result in a reply line; an error reply is raised as ProtocolError(code, message)."""
    obj = _object(data)
    _check_version(obj)
    ok = obj.get("ok")
    if ok is True:
        return obj.get("result")
    if ok is False:
        code = obj.get("code")
        message = obj.get("error")
        raise ProtocolError(
            code if isinstance(code, int) and not isinstance(code, bool) else E_INTERNAL,
            message if isinstance(message, str) else "the daemon gave an error without a message",
        )
    raise ProtocolError(E_MALFORMED, 'a reply needs "ok": true or false')


def decode_event(data: bytes) -> dict[str, Any]:
    """One line of the ``events`` stream."""
    obj = _object(data)
    _check_version(obj)
    if not isinstance(obj.get("event"), str):
        raise ProtocolError(E_MALFORMED, 'an event line needs "event", a string')
    del obj["v"]
    return obj

"""The X SYNC extension's IDLETIME alarms, spoken directly (python-xlib has no SYNC module).

The X server keeps a system counter, IDLETIME: milliseconds since the last keyboard or mouse
input. An *alarm* on that counter makes the server send one event when a test becomes true,
for example "idle time reached 300000 ms" or "idle time went below 299999 ms" (the user came
back). With alarms, waiting for "the user left" or "the user is back" costs no wake-ups at
all: the client blocks on its X connection until the server has something to say.

Only the five requests and the one event needed for that are defined here (protocol 3.1,
https://www.x.org/releases/current/doc/xextproto/sync.html).
"""

from __future__ import annotations

import struct
from typing import Any

from Xlib.protocol import rq

EXTENSION = "SYNC"
IDLETIME = "IDLETIME"

# Value types and test types of an alarm's trigger.
ABSOLUTE = 0
POSITIVE_COMPARISON = 2  # fires when counter >= value
NEGATIVE_COMPARISON = 3  # fires when counter <= value

# CreateAlarm/ChangeAlarm value mask: counter, value type, value, test type, delta, events.
_ALL_ATTRIBUTES = 0x3F
_ALARM_NOTIFY = 1  # event offset from the extension's first event


class _Initialize(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(0),
        rq.RequestLength(),
        rq.Card8("major_version"),
        rq.Card8("minor_version"),
        rq.Pad(2),
    )
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Pad(1),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card8("major_version"),
        rq.Card8("minor_version"),
        rq.Pad(22),
    )


class _ListSystemCounters(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(1), rq.RequestLength())
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Pad(1),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Card32("count"),
        rq.Pad(20),
        rq.Binary("data"),  # SYSTEMCOUNTER records, parsed by hand below
    )


class _QueryCounter(rq.ReplyRequest):  # type: ignore[misc]
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(5), rq.RequestLength(), rq.Card32("counter"))
    _reply = rq.Struct(
        rq.ReplyCode(),
        rq.Pad(1),
        rq.Card16("sequence_number"),
        rq.ReplyLength(),
        rq.Int32("value_hi"),
        rq.Card32("value_lo"),
        rq.Pad(16),
    )


def _alarm_request(opcode: int) -> Any:
    return rq.Struct(
        rq.Card8("opcode"),
        rq.Opcode(opcode),
        rq.RequestLength(),
        rq.Card32("alarm"),
        rq.Card32("value_mask"),
        rq.Card32("counter"),
        rq.Card32("value_type"),
        rq.Int32("value_hi"),
        rq.Card32("value_lo"),
        rq.Card32("test_type"),
        rq.Int32("delta_hi"),
        rq.Card32("delta_lo"),
        rq.Card32("events"),
    )


class _CreateAlarm(rq.Request):  # type: ignore[misc]
    _request = _alarm_request(8)


class _ChangeAlarm(rq.Request):  # type: ignore[misc]
    _request = _alarm_request(9)


class _DestroyAlarm(rq.Request):  # type: ignore[misc]
    _request = rq.Struct(rq.Card8("opcode"), rq.Opcode(11), rq.RequestLength(), rq.Card32("alarm"))


class AlarmNotify(rq.Event):  # type: ignore[misc]
    _code = None
    _fields = rq.Struct(
        rq.Card8("type"),
        rq.Card8("kind"),
        rq.Card16("sequence_number"),
        rq.Card32("alarm"),
        rq.Int32("counter_hi"),
        rq.Card32("counter_lo"),
        rq.Int32("alarm_hi"),
        rq.Card32("alarm_lo"),
        rq.Card32("timestamp"),
        rq.Card8("state"),
        rq.Pad(3),
    )


def _split(value: int) -> tuple[int, int]:
    return value >> 32, value & 0xFFFFFFFF


class SyncUnavailable(Exception):
    """The X server has no SYNC extension or no IDLETIME counter."""


class IdleAlarm:
    """One alarm on the IDLETIME counter of an open python-xlib ``Display``.

    ``arm(test, ms)`` (re)sets it; the server then sends one ``AlarmNotify`` when the test
    holds, which ``is_ours(event)`` recognises among the display's events. Calls must be
    made by whoever serialises access to the display.
    """

    def __init__(self, display: Any) -> None:
        info = display.query_extension(EXTENSION)
        if info is None:
            raise SyncUnavailable("the X server has no SYNC extension")
        self._display = display
        self._opcode = int(info.major_opcode)
        _Initialize(display=display.display, opcode=self._opcode, major_version=3, minor_version=1)
        counters = self._system_counters()
        if IDLETIME not in counters:
            raise SyncUnavailable("the X server's SYNC extension has no IDLETIME counter")
        self.counter = counters[IDLETIME]
        # Register the event class so python-xlib parses AlarmNotify instead of dropping it.
        code = int(info.first_event) + _ALARM_NOTIFY
        event = type("AlarmNotify", AlarmNotify.__bases__, dict(AlarmNotify.__dict__))
        setattr(event, "_code", code)  # noqa: B010 (python-xlib reads it)
        display.display.add_extension_event(code, event)
        self.event_code = code
        self.alarm = int(display.display.allocate_resource_id())
        self._created = False
        self._armed: int | None = None

    def _system_counters(self) -> dict[str, int]:
        reply = _ListSystemCounters(display=self._display.display, opcode=self._opcode)
        data = bytes(reply.data)
        out: dict[str, int] = {}
        offset = 0
        for _ in range(int(reply.count)):
            # SYSTEMCOUNTER: counter (4), resolution (8), name length (2), name, pad to 4.
            counter, _res_hi, _res_lo, length = struct.unpack_from("=IiIH", data, offset)
            name = data[offset + 14 : offset + 14 + length].decode("latin-1")
            out[name] = counter
            offset += (14 + length + 3) & ~3
        return out

    def idle_ms(self) -> int:
        """The IDLETIME counter now (a round trip)."""
        reply = _QueryCounter(
            display=self._display.display, opcode=self._opcode, counter=self.counter
        )
        return (int(reply.value_hi) << 32) | int(reply.value_lo)

    def arm(self, test_type: int, value_ms: int) -> None:
        """Fire once when IDLETIME >= value (POSITIVE_COMPARISON) or <= value (NEGATIVE_...)."""
        hi, lo = _split(max(0, int(value_ms)))
        request = _ChangeAlarm if self._created else _CreateAlarm
        request(
            display=self._display.display,
            opcode=self._opcode,
            alarm=self.alarm,
            value_mask=_ALL_ATTRIBUTES,
            counter=self.counter,
            value_type=ABSOLUTE,
            value_hi=hi,
            value_lo=lo,
            test_type=test_type,
            delta_hi=0,
            delta_lo=0,
            events=1,
        )
        self._created = True
        self._armed = (hi << 32) | lo
        self._display.flush()

    def is_ours(self, event: Any) -> bool:
        """Whether ``event`` is this alarm firing for its current trigger (not a stale one)."""
        if getattr(event, "type", None) != self.event_code or event.alarm != self.alarm:
            return False
        return ((int(event.alarm_hi) << 32) | int(event.alarm_lo)) == self._armed

    def destroy(self) -> None:
        if self._created:
            _DestroyAlarm(display=self._display.display, opcode=self._opcode, alarm=self.alarm)
            self._display.flush()
            self._created = False

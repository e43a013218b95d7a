"""The control protocol's codec: pure, so tested without a socket."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deskbreak import protocol as p


def request_line(obj: object) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def error_of(data: bytes) -> p.ProtocolError:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_request(data)
    return info.value


def test_a_request_round_trips() -> None:
    line = p.encode_request("snooze", {"seconds": 300})
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == {"v": 1, "cmd": "snooze", "args": {"seconds": 300}}
    req = p.decode_request(line)
    assert (req.cmd, dict(req.args)) == ("snooze", {"seconds": 300})


def test_replies_and_errors_round_trip() -> None:
    assert p.decode_reply(p.encode_result({"state": "due"})) == {"state": "due"}
    with pytest.raises(p.ProtocolError) as info:
        p.decode_reply(p.encode_error(p.E_NOT_NOW, "nothing to accept: no stretch is due"))
    assert info.value.code == p.E_NOT_NOW
    assert str(info.value) == "nothing to accept: no stretch is due"


def test_events_carry_their_kind() -> None:
    line = p.encode_event({"event": "record", "kind": "done", "seq": 4})
    assert p.decode_event(line) == {"event": "record", "kind": "done", "seq": 4}


def test_the_daemons_trouble_exits_1_the_users_mistake_exits_2() -> None:
    for code in (p.E_BUSY, p.E_INTERNAL, p.E_REFUSED):
        assert p.ProtocolError(code, "x").exit_code == 1
    for code in (p.E_NOT_NOW, p.E_BAD_ARGS, p.E_SETTINGS, p.E_VERSION, p.E_MALFORMED):
        assert p.ProtocolError(code, "x").exit_code == 2


@pytest.mark.parametrize(
    ("data", "code", "fragment"),
    [
        (b'{"v": 1, "cmd": "status"}', p.E_MALFORMED, "incomplete message"),
        (b"\xff\xfe\n", p.E_MALFORMED, "not UTF-8"),
        (b"hello\n", p.E_MALFORMED, "not JSON"),
        (b"[1, 2]\n", p.E_MALFORMED, "expected a JSON object, got list"),
        (b'{"v": 1, "cmd": "status"}\n{"v": 1}\n', p.E_MALFORMED, "newline inside"),
        (b'{"v": 1, "cmd": "status", "x": 1}\n', p.E_MALFORMED, "unknown field 'x'"),
        (b'{"v": 1, "cmd": 7}\n', p.E_MALFORMED, '"cmd"'),
        (b'{"v": 1, "cmd": "status", "args": []}\n', p.E_MALFORMED, '"args"'),
        (b'{"v": 2, "cmd": "status"}\n', p.E_VERSION, "protocol version 2 is not supported"),
        (b'{"cmd": "status"}\n', p.E_VERSION, "protocol version None"),
        (b'{"v": true, "cmd": "status"}\n', p.E_VERSION, "version True"),
        (b'{"v": 1, "cmd": "dance"}\n', p.E_UNKNOWN_COMMAND, "unknown command 'dance'"),
        (b'{"v": 1, "cmd": "snooze", "args": {"minutes": 5}}\n', p.E_BAD_ARGS, "'minutes'"),
        (b'{"v": 1, "cmd": "snooze", "args": {"seconds": "5m"}}\n', p.E_BAD_ARGS, "whole"),
        (b'{"v": 1, "cmd": "snooze", "args": {"seconds": true}}\n', p.E_BAD_ARGS, "whole"),
        (b'{"v": 1, "cmd": "snooze", "args": {"seconds": 0}}\n', p.E_BAD_ARGS, "from 1"),
        (b'{"v": 1, "cmd": "snooze", "args": {"seconds": 1e400}}\n', p.E_BAD_ARGS, "whole"),
        (b'{"v": 1, "cmd": "snooze", "args": {"seconds": NaN}}\n', p.E_MALFORMED, "NaN"),
        (b'{"v": 1, "cmd": "interval"}\n', p.E_BAD_ARGS, "'seconds' is required"),
        (
            b'{"v": 1, "cmd": "pause", "args": {"seconds": 60, "tomorrow": true}}\n',
            p.E_BAD_ARGS,
            "at most one",
        ),
        (b'{"v": 1, "cmd": "pause", "args": {"tomorrow": 1}}\n', p.E_BAD_ARGS, "true or false"),
        (b"[" * 100_000 + b"\n", p.E_TOO_LARGE, "longer than"),
        (b"[" * 60_000 + b"\n", p.E_MALFORMED, "not JSON"),
    ],
)
def test_broken_requests_get_a_precise_error(data: bytes, code: int, fragment: str) -> None:
    err = error_of(data)
    assert err.code == code, err
    assert fragment in str(err)


def test_every_command_has_a_line_and_the_client_refuses_what_the_daemon_would() -> None:
    for cmd in p.COMMANDS:
        assert p.decode_request(p.encode_request(cmd, {"seconds": 60} if cmd == "interval" else {}))
    with pytest.raises(p.ProtocolError) as info:
        p.encode_request("dance")
    assert info.value.code == p.E_UNKNOWN_COMMAND
    with pytest.raises(p.ProtocolError):
        p.encode_request("interval", {"seconds": 10**9})


@given(st.binary(max_size=2000))
def test_any_bytes_decode_or_give_a_protocol_error(data: bytes) -> None:
    for candidate in (data, data + b"\n"):
        try:
            p.decode_request(candidate)
        except p.ProtocolError as e:
            assert e.code in (
                p.E_MALFORMED,
                p.E_TOO_LARGE,
                p.E_VERSION,
                p.E_UNKNOWN_COMMAND,
                p.E_BAD_ARGS,
            )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "v": st.one_of(st.just(1), json_values),
            "cmd": st.one_of(st.sampled_from(sorted(p.COMMANDS)), json_values),
            "args": st.one_of(
                st.dictionaries(
                    st.sampled_from(["seconds", "until", "tomorrow", "x"]), json_values, max_size=3
                ),
                json_values,
            ),
        },
    )
)
def test_any_json_request_is_accepted_only_when_it_fits_its_command(obj: dict[str, object]) -> None:
    try:
        req = p.decode_request(request_line(obj))
    except p.ProtocolError as e:
        assert e.message
        return
    # Whatever got through is exactly what the daemon expects.
    assert obj["v"] == 1
    spec = p.COMMANDS[req.cmd]
    for name, value in req.args.items():
        arg = spec.args[name]
        assert type(value) is arg.kind
        if arg.kind is int:
            assert arg.low <= value <= arg.high  # type: ignore[operator]

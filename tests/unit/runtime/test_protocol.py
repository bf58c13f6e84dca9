"""The engine-worker protocol's messages: what round-trips, and what is refused."""

import json
import math

import pytest

from qinling_lite.runtime import protocol

MIB = 1024 * 1024


def request(**changes):
    message = {
        "execution_id": "e1",
        "input": {"name": "x"},
        "args": [],
        "timeout": 1.5,
        "memory_size": 32 * MIB,
        "cpu": 100,
        "context": {"function_id": "f1", "project_id": "p1"},
        "max_result_size": 1000,
    }
    message.update(changes)
    return {name: value for name, value in message.items() if value is not ...}


def test_an_execute_request_round_trips():
    sent = protocol.ExecuteRequest(**request(args=[{"a": 1}], input={}))
    assert protocol.EXECUTE_REQUEST.from_json(protocol.EXECUTE_REQUEST.to_json(sent)) == sent


def test_an_execute_request_gets_the_defaults_of_its_optional_fields():
    received = protocol.EXECUTE_REQUEST.from_json(
        json.dumps(request(args=..., max_result_size=...))
    )
    assert (received["args"], received["max_result_size"]) == ([], protocol.MAX_RESULT_BYTES)


def test_unknown_fields_are_dropped():
    received = protocol.EXECUTE_REQUEST.from_json(json.dumps(request(extra="x")))
    assert received == request()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body is not valid JSON"),
        (b"[]", "body must be a JSON object"),
        (b"\xff", "body is not valid JSON"),
        (json.dumps(request(execution_id=...)), "field 'execution_id' is missing"),
        (json.dumps(request(execution_id=None)), "field 'execution_id' is missing or has"),
        (json.dumps(request(input=[])), "field 'input' is missing or has a wrong type"),
        (json.dumps(request(args={})), "field 'args' is missing or has a wrong type"),
        (json.dumps(request(timeout="1")), "field 'timeout' is missing or has a wrong type"),
        (json.dumps(request(timeout=True)), "field 'timeout' is missing or has a wrong type"),
        (json.dumps(request(memory_size=1.5)), "field 'memory_size' is missing or has a"),
        (json.dumps(request(memory_size=True)), "field 'memory_size' is missing or has a"),
        (json.dumps(request(context=None)), "field 'context' is missing or has a wrong type"),
        (json.dumps(request(timeout=0)), "field 'timeout' must be a positive number"),
        (json.dumps(request(timeout=math.inf)), "field 'timeout' must be a positive number"),
        (json.dumps(request(timeout=math.nan)), "field 'timeout' must be a positive number"),
        (json.dumps(request(memory_size=0)), "field 'memory_size' must be positive"),
        (json.dumps(request(max_result_size=0)), "field 'max_result_size' must be a positive"),
        (json.dumps(request(max_result_size=False)), "field 'max_result_size' is missing"),
    ],
)
def test_a_malformed_execute_request_is_refused_as_a_400(body, message):
    with pytest.raises(protocol.ProtocolError, match=message) as error:
        protocol.EXECUTE_REQUEST.from_json(body)
    assert error.value.status == 400


def test_a_request_the_protocol_refuses_is_not_encoded():
    with pytest.raises(protocol.ProtocolError, match="'timeout' must be a positive number"):
        protocol.EXECUTE_REQUEST.to_json(request(timeout=-1))


@pytest.mark.parametrize(
    ("codec", "reply"),
    [
        (protocol.PING_REPLY, {"status": "ok", "function_id": None, "version": None}),
        (protocol.PING_REPLY, {"status": "ok", "function_id": "f1", "version": 3}),
        (protocol.LOAD_REPLY, {"loaded": True, "error": None}),
        (protocol.LOAD_REPLY, {"loaded": True, "error": "ModuleNotFoundError: x"}),
        (protocol.EXECUTE_REPLY, {"success": True, "output": None, "duration": 0, "logs": ""}),
        (
            protocol.EXECUTE_REPLY,
            {"success": False, "output": {"a": [1]}, "duration": 0.5, "logs": "l\n"},
        ),
        (protocol.ERROR_REPLY, {"error": "not found"}),
    ],
)
def test_replies_round_trip(codec, reply):
    assert codec.from_json(codec.to_json(reply)) == reply


def reply(**changes):
    message = {"success": True, "output": 1, "duration": 0, "logs": ""}
    message.update(changes)
    return {name: value for name, value in message.items() if value is not ...}


@pytest.mark.parametrize(
    ("codec", "message", "field"),
    [
        (protocol.PING_REPLY, {"status": "ok"}, "function_id"),
        (protocol.PING_REPLY, {"status": "ok", "function_id": 1, "version": None}, "function_id"),
        (protocol.PING_REPLY, {"status": "ok", "function_id": "f", "version": "1"}, "version"),
        (protocol.LOAD_REPLY, {"loaded": 1, "error": None}, "loaded"),
        (protocol.LOAD_REPLY, {"loaded": True, "error": ["x"]}, "error"),
        (protocol.EXECUTE_REPLY, reply(success=...), "success"),
        (protocol.EXECUTE_REPLY, reply(success="yes"), "success"),
        (protocol.EXECUTE_REPLY, reply(output=...), "output"),
        (protocol.EXECUTE_REPLY, reply(duration="0"), "duration"),
        (protocol.EXECUTE_REPLY, reply(logs=None), "logs"),
        (protocol.ERROR_REPLY, {"message": "x"}, "error"),
    ],
)
def test_a_malformed_reply_is_refused(codec, message, field):
    with pytest.raises(protocol.ProtocolError, match=f"field '{field}' is missing or has a wrong"):
        codec.from_json(json.dumps(message))


def test_the_load_query_round_trips():
    path = protocol.load_path("f 1&x", 2, "pkg.module.main")
    route, _, query = path.partition("?")
    assert route == protocol.LOAD
    assert protocol.parse_load_query(query) == {
        "function_id": "f 1&x",
        "version": 2,
        "entry": "pkg.module.main",
    }


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("function_id=f&version=1", "'entry' is required exactly once"),
        ("function_id=f&function_id=g&version=1&entry=a.b", "'function_id' is required exactly"),
        ("function_id=&version=1&entry=a.b", "'function_id' is required exactly once"),
        ("function_id=f&version=x&entry=a.b", "'version' must be an integer"),
        ("function_id=f&version=1&entry=main", "entry must look like 'module.function'"),
        ("function_id=f&version=1&entry=main.", "entry must look like 'module.function'"),
    ],
)
def test_a_malformed_load_query_is_refused(query, message):
    with pytest.raises(protocol.ProtocolError, match=message):
        protocol.parse_load_query(query)


def test_an_output_is_measured_by_its_json():
    assert protocol.output_size("\u00e9") == len('"\\u00e9"')
    assert protocol.oversized_output("x" * 8, 10) is None
    assert protocol.oversized_output("x" * 9, 10) == protocol.OUTPUT_TOO_LARGE % (11, 10)


def test_a_reply_is_bounded_by_its_output_and_its_log_in_json():
    bound = protocol.max_reply_bytes(1000)
    assert bound == 1000 + 6 * protocol.MAX_LOG_BYTES + protocol.REPLY_MARGIN
    # A log of control characters at its limit, in a reply with an output at its own.
    reply = protocol.ExecuteReply(
        success=True, output="x" * 998, duration=0.0, logs="\x01" * protocol.MAX_LOG_BYTES
    )
    assert len(protocol.EXECUTE_REPLY.to_json(reply)) <= bound

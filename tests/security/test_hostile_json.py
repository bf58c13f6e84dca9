"""Hostile JSON and text against a real ``qinling-lite-serve``: JSON nested too deep or
made slow to read, bodies that are not a JSON object (arrays, NaN, broken multipart, a
body in the query string), strings a database cannot store (lone surrogates, NUL) and
text that is not UTF-8. Every attack is a 4xx in the one JSON error shape, stores
nothing, changes nothing, and leaves no traceback in the log.

Webhook invocations are anonymous: what anyone on the network can send. Each family of
attacks is one parametrized test (helpers in ``tests/security/hostile.py``).
"""

import pytest

from tests.security.hostile import (
    FUNCTION,
    INVOKE,
    _finished,
    _output,
    attack,
    case,
    fields,
    obj,
    raw,
)

pytestmark = pytest.mark.usefixtures("no_traceback_logged")
DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500
DEEP_ARRAY = "[" * 1500 + "]" * 1500


# 1. JSON nested deeper than Python's parser recurses (RecursionError, a 500), as the body
# of every JSON route, and as the JSON inside string fields.
DEEP_INPUT = "The input is refused: nested deeper than 64 levels."
DEEP_CODE = "code is not valid JSON: nested deeper than 64 levels"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case("POST", INVOKE, raw(DEEP_OBJECT), "nested", id="webhook-object"),
        case("POST", INVOKE, raw(DEEP_ARRAY), "nested", id="webhook-array"),
        case("POST", INVOKE, raw(DEEP_OBJECT, "text/plain"), "nested", id="webhook-text-plain"),
        case("POST", "/v1/runtimes", raw(DEEP_OBJECT), "nested", id="runtime-create"),
        case(
            "POST",
            "/v1/runtimes",
            raw(DEEP_OBJECT, "text/javascript"),
            "nested",
            id="runtime-create-javascript",
        ),
        case("PUT", "/v1/runtimes/{runtime}", raw(DEEP_OBJECT), "nested", id="runtime-update"),
        case("POST", "/v1/functions", raw(DEEP_OBJECT), "nested", id="function-create"),
        case("PUT", FUNCTION, raw(DEEP_OBJECT), "nested", id="function-update"),
        case("POST", FUNCTION + "/versions", raw(DEEP_OBJECT), "nested", id="version-create"),
        case("POST", FUNCTION + "/scale_up", raw(DEEP_OBJECT), "nested", id="scale-up"),
        case("POST", "/v1/executions", raw(DEEP_OBJECT), "nested", id="execution-create"),
        case("POST", "/v1/jobs", raw(DEEP_OBJECT), "nested", id="job-create"),
        case("PUT", "/v1/jobs/{job}", raw(DEEP_OBJECT), "nested", id="job-update"),
        case("POST", "/v1/webhooks", raw(DEEP_OBJECT), "nested", id="webhook-create"),
        case("PUT", "/v1/webhooks/{webhook}", raw(DEEP_OBJECT), "nested", id="webhook-update"),
        case("POST", "/v1/aliases", raw(DEEP_OBJECT), "nested", id="alias-create"),
        case("PUT", "/v1/aliases/stable", raw(DEEP_OBJECT), "nested", id="alias-update"),
        case(
            "POST",
            "/v1/runtimes",
            raw('{"image": "x", "name": ' + DEEP_ARRAY + "}"),
            "nested",
            id="deep-field",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "input": DEEP_OBJECT}),
            DEEP_INPUT,
            id="execution-input",
        ),
        case(
            "POST",
            "/v1/jobs",
            obj(
                {"function_id": "{function}", "pattern": "* * * * *", "function_input": DEEP_OBJECT}
            ),
            DEEP_INPUT,
            id="job-create-function-input",
        ),
        case(
            "PUT",
            "/v1/jobs/{job}",
            obj({"function_input": DEEP_OBJECT}),
            DEEP_INPUT,
            id="job-update-function-input",
        ),
        case(
            "POST",
            "/v1/functions",
            fields({"runtime_id": "{runtime}", "code": DEEP_OBJECT}, package=True),
            DEEP_CODE,
            id="function-create-code",
        ),
        case(
            "PUT",
            FUNCTION,
            fields({"code": DEEP_ARRAY}, package=True),
            DEEP_CODE,
            id="function-update-code",
        ),
    ],
)
def test_deep_json_is_refused(client, server, target, method, path, kwargs, message):
    faultstring = attack(client, server, target, method, path, kwargs, 400, message)
    assert "deeper than 64 levels" in faultstring


def test_json_nested_up_to_the_limit_is_taken(client, target):
    nested = '{"a":' * 63 + "1" + "}" * 63  # 64 levels with the body's own object
    response = client.post(
        f"/v1/webhooks/{target['webhook']}/invoke",
        data=f'{{"k": {nested}}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text
    assert _output(_finished(client, response.json()["execution_id"]))["kwargs"]["k"]["a"]


def test_a_body_made_to_be_slow_to_read_is_refused(client, server, target):
    """Just under 1 MiB of escaped quotes after an opening one: the depth check that
    searched for strings again from each quote took quadratic time (17 s of the API's
    CPU for 80 kB, from an anonymous caller)."""
    body = '"' + '\\"' * (512 * 1024 - 1)
    faultstring = attack(
        client,
        server,
        target,
        "post",
        INVOKE,
        {"data": body, "headers": {"Content-Type": "application/json"}},
        400,
        "The body is not valid JSON",
    )
    assert "Unterminated string" in faultstring


# 2. Bodies that are not a JSON object; a form with a file part to a webhook was a 500.
FILE_PART = {"f": ("x.bin", b"\0\1")}
NOT_AN_OBJECT = "The JSON body must be an object."


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case(
            "POST",
            INVOKE,
            {"data": {"a": "b"}, "files": FILE_PART},
            "A webhook takes text form fields only, not files.",
            id="webhook-file-part",
        ),
        case(
            "POST",
            INVOKE,
            {"files": FILE_PART},
            "A webhook takes text form fields only, not files.",
            id="webhook-file-part-alone",
        ),
        case(
            "POST",
            INVOKE,
            raw("a=b", "multipart/form-data"),
            "The form body is malformed",
            id="webhook-multipart-without-boundary",
        ),
        case(
            "POST",
            "/v1/functions",
            raw("a=b", "multipart/form-data"),
            "The form body is malformed",
            id="function-multipart-without-boundary",
        ),
        case("POST", INVOKE, raw("[1]"), NOT_AN_OBJECT, id="webhook-array"),
        case("POST", INVOKE, raw("42"), NOT_AN_OBJECT, id="webhook-number"),
        case("POST", INVOKE, raw("null"), NOT_AN_OBJECT, id="webhook-null"),
        case("POST", INVOKE, raw('{"a": NaN}'), "NaN is not a JSON number", id="webhook-nan"),
        case("POST", INVOKE, raw('{"a": -Infinity}'), "Infinity is not", id="webhook-infinity"),
        case("POST", INVOKE, raw('{"a": 1e999}'), "1e999 is out of range", id="webhook-1e999"),
        case(
            "POST",
            INVOKE,
            raw('{"a": ' + "9" * 5000 + "}"),
            "integers of more than 4300 digits are refused",
            id="webhook-5000-digits",
        ),
        case("POST", "/v1/runtimes", raw('["image"]'), NOT_AN_OBJECT, id="runtime-array"),
        case("POST", "/v1/executions", raw('"x"'), NOT_AN_OBJECT, id="execution-string"),
        case("PUT", FUNCTION, raw("[]"), NOT_AN_OBJECT, id="function-update-array"),
        case(
            "POST",
            "/v1/runtimes?__body__=%5B%5D",
            raw(""),
            'Unknown argument: "__body__"',
            id="body-in-the-query-string",
        ),
        case(
            "GET",
            "/v1/runtimes?__body__=" + "%5B" * 1500,
            {},
            'Unknown argument: "__body__"',
            id="deep-body-in-the-query-string",
        ),
    ],
)
def test_what_is_not_a_json_object_is_refused(
    client, server, target, method, path, kwargs, message
):
    attack(client, server, target, method, path, kwargs, 400, message)


# 4. Strings that are not text a database stores: a lone surrogate (a 500 when stored)
# or NUL (a 500 with PostgreSQL).
SURROGATE = "The JSON body is refused: strings must not hold a lone surrogate"


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case(
            "POST", "/v1/runtimes", obj({"image": "x", "name": "\ud800"}), SURROGATE, id="runtime"
        ),
        case(
            "PUT",
            "/v1/runtimes/{runtime}",
            obj({"description": "a\udfffb"}),
            SURROGATE,
            id="runtime-update",
        ),
        case("PUT", FUNCTION, obj({"name": "\ud800"}), SURROGATE, id="function-name"),
        case("PUT", FUNCTION, obj({"description": "\0"}), SURROGATE, id="function-nul"),
        case(
            "POST",
            "/v1/aliases",
            obj({"name": "s", "function_id": "{function}", "description": "\ud800"}),
            SURROGATE,
            id="alias",
        ),
        case(
            "PUT",
            "/v1/aliases/stable",
            obj({"description": "\udc00"}),
            SURROGATE,
            id="alias-update",
        ),
        case(
            "POST",
            "/v1/jobs",
            obj({"function_id": "{function}", "pattern": "* * * * *", "name": "\ud800"}),
            SURROGATE,
            id="job",
        ),
        case("PUT", "/v1/jobs/{job}", obj({"name": "\ud800"}), SURROGATE, id="job-update"),
        case(
            "POST",
            "/v1/webhooks",
            obj({"function_id": "{function}", "description": "\ud800"}),
            SURROGATE,
            id="webhook",
        ),
        case(
            "PUT",
            "/v1/webhooks/{webhook}",
            obj({"description": "\ud800"}),
            SURROGATE,
            id="webhook-update",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "description": "\ud800"}),
            SURROGATE,
            id="execution-description",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "input": "\ud800"}),
            SURROGATE,
            id="execution-input",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "input": '{"k": "\\ud800"}'}),
            "The input is refused: strings must not hold a lone surrogate",
            id="execution-input-object",
        ),
        case("POST", INVOKE, obj({"k": "\ud800"}), SURROGATE, id="webhook-value"),
        case("POST", INVOKE, obj({"\udc00": 1}), SURROGATE, id="webhook-key"),
        case("POST", INVOKE, obj({"k": ["\ud800\ud800"]}), SURROGATE, id="webhook-two-highs"),
        case(
            "PUT",
            FUNCTION,
            fields({"name": "a\0b"}),
            "name must be a string of at most 255 characters, without NUL.",
            id="function-name-form-nul",
        ),
        case(
            "GET",
            "/v1/executions?description=has:%00",
            {},
            "The request's path or query string holds NUL (%00).",
            id="query-nul",
        ),
        case("GET", "/v1/aliases/a%00b", {}, "holds NUL (%00)", id="path-nul"),
    ],
)
def test_strings_that_are_not_text_are_refused(
    client, server, target, method, path, kwargs, message
):
    attack(client, server, target, method, path, kwargs, 400, message)


def test_a_surrogate_pair_is_text(client, target):
    response = client.put(
        f"/v1/functions/{target['function']}",
        data=b'{"description": "\\ud83d\\ude00"}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["description"] == "\U0001f600"


# 5. Text that is not UTF-8 (a 500 with another charset). RFC 8259 allows no other
# charset for JSON: one declared is a 415, bytes that are not UTF-8 a 400.
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "code", "message"),
    [
        case(
            "POST",
            "/v1/runtimes",
            raw(b'{"image": "caf\xe9"}', "application/json; charset=latin-1"),
            415,
            "Request bodies must be UTF-8 (RFC 8259 for JSON), not latin-1.",
            id="json-latin-1",
        ),
        case(
            "POST",
            "/v1/runtimes",
            raw('{"image": "x"}'.encode("utf-16"), "application/json; charset=utf-16"),
            415,
            "not utf-16",
            id="json-utf-16",
        ),
        case(
            "POST",
            INVOKE,
            raw(b'{"a": "caf\xe9"}', "application/json; charset=ISO-8859-1"),
            415,
            "must be UTF-8",
            id="webhook-json-latin-1",
        ),
        case(
            "POST",
            INVOKE,
            raw(b"a=caf%E9", "application/x-www-form-urlencoded; charset=latin-1"),
            415,
            "must be UTF-8",
            id="webhook-form-latin-1",
        ),
        case(
            "POST",
            "/v1/runtimes",
            raw(b'{"image": "caf\xe9"}'),
            400,
            "The body is not valid JSON: not UTF-8: invalid byte 0xe9 at 14.",
            id="json-not-utf-8",
        ),
        case(
            "POST",
            INVOKE,
            raw(b'{"a": "\xed\xa0\x80"}'),
            400,
            "not UTF-8: invalid byte 0xed at 7",
            id="webhook-encoded-surrogate",
        ),
        case(
            "POST",
            INVOKE + "?a=%FF",
            {},
            400,
            "The request's path, query string or form fields are not valid UTF-8.",
            id="webhook-query",
        ),
        case("GET", "/v1/executions?description=%C3", {}, 400, "not valid UTF-8", id="query"),
        case("GET", "/v1/aliases/%FF", {}, 400, "not valid UTF-8", id="path"),
        case("DELETE", "/v1/aliases/%ED%A0%80", {}, 400, "not valid UTF-8", id="path-surrogate"),
    ],
)
def test_text_that_is_not_utf8_is_refused(
    client, server, target, method, path, kwargs, code, message
):
    attack(client, server, target, method, path, kwargs, code, message)

"""Hostile input against a real ``qinling-lite-serve``: every attack is a 4xx in the one
JSON error shape, stores nothing, changes nothing, and leaves no traceback in the log.

Webhook invocations are anonymous: what anyone on the network can send. Each family of
attacks is one parametrized test; paths and bodies name the resources they aim at as
``{function}``, ``{webhook}``, ``{job}`` and ``{runtime}`` (see ``target``).
"""

import json

import pytest

from tests.functional.conftest import wait_for
from tests.functional.test_bad_input import assert_error, package_files
from tests.packages import make_zip

ECHO = (
    "def main(*args, **kwargs):\n"
    "    kwargs.pop('context')\n"
    "    return {'args': list(args), 'kwargs': kwargs}\n"
)

pytestmark = pytest.mark.usefixtures("no_traceback_logged")
PACKAGE = make_zip({"main.py": "def main(**kwargs):\n    return 1\n"})
DEEP_OBJECT = '{"a":' * 1500 + "1" + "}" * 1500
DEEP_ARRAY = "[" * 1500 + "]" * 1500
BIG = 10**30
INVOKE = "/v1/webhooks/{webhook}/invoke"
FUNCTION = "/v1/functions/{function}"


@pytest.fixture(scope="module")
def target(client, runtime):
    """One of each resource for the attacks to aim at: a function with a version, the
    alias ``stable``, an anonymous webhook and a job that does not fire in the tests."""
    function = client.create_function(runtime["id"], source=ECHO, module="echo")
    fid = function["id"]
    assert client.post(f"/v1/functions/{fid}/versions", json={}).status_code == 201
    alias = client.post("/v1/aliases", json={"name": "stable", "function_id": fid})
    webhook = client.post("/v1/webhooks", json={"function_id": fid})
    job = client.post("/v1/jobs", json={"function_id": fid, "pattern": "0 0 1 1 *", "count": 3})
    for created in (alias, webhook, job):
        assert created.status_code == 201, created.text
    return {
        "runtime": runtime["id"],
        "function": fid,
        "webhook": webhook.json()["id"],
        "job": job.json()["id"],
    }


def stored(client, server):
    """Everything the service holds, as the API and the package store show it."""
    state = {
        name: client.get(f"/v1/{name}").json()[name]
        for name in ("runtimes", "functions", "executions", "jobs", "webhooks")
    }
    state["function_aliases"] = client.get("/v1/aliases").json()["function_aliases"]
    for function in state["functions"]:
        versions = client.get(f"/v1/functions/{function['id']}/versions").json()
        state[function["id"]] = versions["function_versions"]
    state["packages"] = package_files(server)
    return state


def raw(text, content_type="application/json"):
    """A body of the JSON text ``text`` (str, sent as UTF-8, or bytes as they are)."""
    data = text.encode() if isinstance(text, str) else text
    return {"data": data, "headers": {"Content-Type": content_type}}


def obj(value):
    """A body of ``value`` as JSON (``json.dumps`` writes a lone surrogate as its escape)."""
    return raw(json.dumps(value))


def fields(values, package=False):
    """Form fields; multipart with a ZIP package part when ``package``."""
    return {"data": values, "files": {"package": ("f.zip", PACKAGE)} if package else None}


def _aimed(value, target):
    if isinstance(value, bytes):
        return _aimed(value.decode("utf-8", "surrogateescape"), target).encode(
            "utf-8", "surrogateescape"
        )
    if isinstance(value, str):
        for name, id_ in target.items():
            value = value.replace("{" + name + "}", id_)
        return value
    if isinstance(value, dict):
        return {k: _aimed(v, target) for k, v in value.items()}
    return value


def attack(client, server, target, method, path, kwargs, code, message):
    """Send the request, aimed at ``target``: it is answered ``code`` with ``message`` in
    the error shape, and nothing the service holds has changed."""
    before = stored(client, server)
    response = client.http.request(
        method, client.url + _aimed(path, target), **_aimed(kwargs, target)
    )
    faultstring = assert_error(response, code)
    assert message in faultstring
    assert stored(client, server) == before
    return faultstring


def case(method, path, kwargs, *expected, id):
    return pytest.param(method, path, kwargs, *expected, id=id)


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


# 3. Integers beyond what the database holds (an overflow, a 500). A version number in a
# path is checked like one in a body: 400 beyond the range, 404 within it.
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "function_version": BIG}),
            "function_version",
            id="execution-version",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "function_version": -BIG}),
            "function_version",
            id="execution-negative-version",
        ),
        case(
            "POST",
            "/v1/webhooks",
            obj({"function_id": "{function}", "function_version": BIG}),
            "function_version",
            id="webhook-version",
        ),
        case(
            "POST",
            "/v1/webhooks",
            obj({"function_id": "{function}", "rate_limit": BIG}),
            "rate_limit",
            id="webhook-rate-limit",
        ),
        case(
            "POST",
            "/v1/webhooks",
            obj({"function_id": "{function}", "rate_limit": 2**31}),
            "The value must be from 0 to 2147483647.",
            id="webhook-rate-limit-2**31",
        ),
        case(
            "PUT",
            "/v1/webhooks/{webhook}",
            obj({"rate_limit": BIG}),
            "rate_limit",
            id="webhook-update-rate-limit",
        ),
        case(
            "POST",
            "/v1/aliases",
            obj({"name": "big", "function_id": "{function}", "function_version": BIG}),
            "function_version",
            id="alias-version",
        ),
        case(
            "PUT",
            "/v1/aliases/stable",
            obj({"function_version": str(BIG)}),
            "function_version",
            id="alias-update-version-string",
        ),
        case(
            "POST",
            "/v1/jobs",
            obj({"function_id": "{function}", "pattern": "* * * * *", "count": BIG}),
            "count",
            id="job-count",
        ),
        case(
            "POST",
            "/v1/jobs",
            obj({"function_id": "{function}", "pattern": "* * * * *", "function_version": BIG}),
            "function_version",
            id="job-version",
        ),
        case("POST", FUNCTION + "/scale_up", obj({"count": BIG}), "count", id="scale-count"),
        case(
            "PUT",
            FUNCTION,
            obj({"memory_size": BIG}),
            "memory resource limitation not within the allowable range",
            id="function-memory",
        ),
        case(
            "PUT",
            FUNCTION,
            fields({"timeout": str(BIG)}),
            "timeout resource limitation not within the allowable range",
            id="function-timeout-form",
        ),
        case(
            "PUT",
            FUNCTION,
            fields({"cpu": "9" * 5000}),
            "Invalid cpu resource specified. An integer is required.",
            id="function-cpu-5000-digits",
        ),
        case(
            "GET",
            FUNCTION + "/versions/99999999999999999999999",
            {},
            "Invalid version number: '99999999999999999999999'.",
            id="version-show",
        ),
        case(
            "GET",
            FUNCTION + "/versions/2147483648",
            {},
            "Invalid version number: '2147483648'.",
            id="version-show-2**31",
        ),
        case(
            "DELETE",
            FUNCTION + "/versions/99999999999999999999999",
            {},
            "Invalid version number",
            id="version-delete",
        ),
        case(
            "POST",
            FUNCTION + "/versions/99999999999999999999999/detach",
            {},
            "Invalid version number",
            id="version-detach",
        ),
        case(
            "POST",
            FUNCTION + "/versions/99999999999999999999999/scale_up",
            obj({"count": 1}),
            "Invalid version number",
            id="version-scale-up",
        ),
        case(
            "GET",
            FUNCTION + f"/workers?function_version={BIG}",
            {},
            "Invalid version number",
            id="workers-version",
        ),
    ],
)
def test_integers_out_of_range_are_refused(client, server, target, method, path, kwargs, message):
    attack(client, server, target, method, path, kwargs, 400, message)


def test_the_largest_version_number_is_not_found(client, target):
    path = f"/v1/functions/{target['function']}/versions/2147483647"
    assert "FunctionVersion not found" in assert_error(client.get(path), 404)


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


# 6. Cron patterns that never fire (a 500) or with absurd steps (stored), and times at
# the ends of the calendar (a 500).
def job(**values):
    return obj({"function_id": "{function}", **values})


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case(
            "POST",
            "/v1/jobs",
            job(pattern="0 0 30 2 *"),
            "The specified pattern never fires: 0 0 30 2 *",
            id="february-30",
        ),
        case("POST", "/v1/jobs", job(pattern="0 0 31 4,6,9,11 *"), "never fires", id="june-31"),
        case(
            "POST",
            "/v1/jobs",
            job(pattern="*/100000000000000000000 * * * *"),
            "a step must be from 1 to 59 in that field",
            id="minute-step",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(pattern="0 */24 * * *"),
            "a step must be from 1 to 23 in that field",
            id="hour-step",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(pattern="0 0 * * 1-5/8"),
            "a step must be from 1 to 7 in that field",
            id="weekday-step",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(pattern="0 0 1 1 *", first_execution_time="9999-06-01T00:00:00Z"),
            "The specified pattern does not fire after 9999-05-31 23:59: 0 0 1 1 *",
            id="after-year-9999",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(first_execution_time="9999-12-31T23:59:59-14:00"),
            "Invalid first_execution_time",
            id="beyond-year-9999-in-utc",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(first_execution_time="0001-01-01T00:00:00+14:00"),
            "Invalid first_execution_time",
            id="before-year-1-in-utc",
        ),
        case(
            "PUT",
            "/v1/jobs/{job}",
            obj({"pattern": "0 0 30 2 *"}),
            "The specified pattern never fires: 0 0 30 2 *",
            id="update-february-30",
        ),
        case(
            "PUT",
            "/v1/jobs/{job}",
            obj({"pattern": "*/0 * * * *"}),
            "The specified pattern is not valid",
            id="update-step-0",
        ),
        case(
            "PUT",
            "/v1/jobs/{job}",
            obj({"next_execution_time": "9999-12-31T23:59:59-14:00"}),
            "Invalid next_execution_time",
            id="update-beyond-year-9999",
        ),
    ],
)
def test_schedules_that_cannot_be_kept_are_refused(
    client, server, target, method, path, kwargs, message
):
    attack(client, server, target, method, path, kwargs, 400, message)


# 7. Alias names that no URL addresses: ``a/b`` was created, and then could not be read,
# changed or deleted, and kept its function from being deleted.
ALIAS_RULE = "An alias name is 1 to 255 of the characters A-Z, a-z, 0-9, '.', '_', '~' and '-'"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("a/b", ALIAS_RULE),
        ("/", ALIAS_RULE),
        (".", ALIAS_RULE),
        ("..", ALIAS_RULE),
        ("a b", ALIAS_RULE),
        ("a?b", ALIAS_RULE),
        ("a#b", ALIAS_RULE),
        ("a%2Fb", ALIAS_RULE),
        ("a\\b", ALIAS_RULE),
        ("caf\u00e9", ALIAS_RULE),
        ("x" * 256, "Invalid input for field/attribute name"),
    ],
)
def test_alias_names_that_a_url_cannot_address_are_refused(client, server, target, name, message):
    kwargs = obj({"name": name, "function_id": "{function}"})
    attack(client, server, target, "POST", "/v1/aliases", kwargs, 400, message)


def test_an_alias_of_every_allowed_character_is_reachable_and_lets_its_function_go(client, runtime):
    function = client.create_function(runtime["id"], source=ECHO, module="echo")
    name = "Az09._~-" + "x" * 247
    created = client.post("/v1/aliases", json={"name": name, "function_id": function["id"]})
    assert created.status_code == 201, created.text
    assert client.get(f"/v1/aliases/{name}").json()["name"] == name
    changed = client.put(f"/v1/aliases/{name}", json={"description": "moved"})
    assert changed.status_code == 200, changed.text
    assert client.delete(f"/v1/aliases/{name}").status_code == 204
    assert client.delete(f"/v1/functions/{function['id']}").status_code == 204


def _finished(client, execution_id):
    def done():
        execution = client.get(f"/v1/executions/{execution_id}").json()
        return execution if execution["status"] not in ("pending", "running") else None

    execution = wait_for(done, timeout=30)
    assert execution and execution["status"] == "success", execution
    return execution


def _output(execution):
    return json.loads(execution["result"])["output"]


# 8. The caller's keys are keyword arguments, whatever their names: ``__function_input``
# made a webhook body or an input object positional. Only an input that is not a JSON
# object is one positional argument, the text as given.
@pytest.mark.parametrize(
    ("path", "kwargs", "args", "keywords"),
    [
        pytest.param(
            INVOKE,
            obj({"__function_input": "x"}),
            [],
            {"__function_input": "x"},
            id="webhook-json",
        ),
        pytest.param(
            INVOKE + "?__function_input=q",
            fields({"k": "v"}),
            [],
            {"__function_input": "q", "k": "v"},
            id="webhook-query-and-form",
        ),
        pytest.param(
            "/v1/executions",
            obj({"function_id": "{function}", "input": '{"__function_input": [1, 2]}'}),
            [],
            {"__function_input": [1, 2]},
            id="execution-input-object",
        ),
        pytest.param(
            "/v1/executions",
            obj({"function_id": "{function}", "input": "[1, 2]"}),
            ["[1, 2]"],
            {},
            id="execution-input-array",
        ),
        pytest.param(
            "/v1/executions",
            obj({"function_id": "{function}", "input": '{"a": NaN}'}),
            ['{"a": NaN}'],
            {},
            id="execution-input-not-json",
        ),
    ],
)
def test_caller_keys_are_keyword_arguments_as_they_are(
    client, target, path, kwargs, args, keywords
):
    response = client.http.post(client.url + _aimed(path, target), **_aimed(kwargs, target))
    assert response.status_code in (201, 202), response.text
    answer = response.json()
    execution = _finished(client, answer.get("execution_id") or answer["id"])
    assert _output(execution) == {"args": args, "kwargs": keywords}
    shown = execution["input"]
    assert (json.loads(shown) if keywords else shown) == (keywords or args[0])


# 9. Types are strict: an integer is a JSON integer (in a form field or a path: ASCII
# digits), a boolean a JSON boolean. ``true``, ``5.5`` and "\u0665" were taken as numbers.
@pytest.mark.parametrize(
    ("method", "path", "kwargs", "message"),
    [
        case("PUT", FUNCTION, raw('{"timeout": true}'), "Invalid timeout", id="timeout-true"),
        case("PUT", FUNCTION, raw('{"timeout": 5.5}'), "Invalid timeout", id="timeout-5.5"),
        case("PUT", FUNCTION, raw('{"timeout": 5.0}'), "Invalid timeout", id="timeout-5.0"),
        case("PUT", FUNCTION, obj({"timeout": "\u0665"}), "Invalid timeout", id="timeout-arabic"),
        case("PUT", FUNCTION, obj({"timeout": "5"}), "Invalid timeout", id="timeout-json-string"),
        case("PUT", FUNCTION, raw('{"cpu": false}'), "Invalid cpu", id="cpu-false"),
        case("PUT", FUNCTION, raw('{"memory_size": 3.3e7}'), "Invalid memory", id="memory-float"),
        case("PUT", FUNCTION, fields({"timeout": "\u0665"}), "Invalid timeout", id="form-arabic"),
        case("PUT", FUNCTION, fields({"timeout": "5.0"}), "Invalid timeout", id="form-5.0"),
        case("PUT", FUNCTION, fields({"timeout": " 5"}), "Invalid timeout", id="form-space"),
        case("PUT", FUNCTION, fields({"timeout": "+5"}), "Invalid timeout", id="form-plus"),
        case("PUT", FUNCTION, fields({"timeout": "5_0"}), "Invalid timeout", id="form-underscore"),
        case(
            "PUT",
            FUNCTION,
            fields({"cpu": "\uff11\uff10\uff10"}),
            "Invalid cpu",
            id="form-fullwidth",
        ),
        case("PUT", FUNCTION + "?timeout=true", {}, "Invalid timeout", id="query-true"),
        case(
            "POST",
            "/v1/functions",
            fields(
                {
                    "runtime_id": "{runtime}",
                    "code": '{"source": "package"}',
                    "memory_size": "\u0663\u0663554432",
                },
                package=True,
            ),
            "Invalid memory",
            id="function-create-arabic",
        ),
        case("POST", FUNCTION + "/scale_up", raw('{"count": true}'), "count", id="count-true"),
        case("POST", FUNCTION + "/scale_down", raw('{"count": 1.5}'), "count", id="count-1.5"),
        case("POST", FUNCTION + "/scale_up", raw('{"count": "1"}'), "count", id="count-string"),
        case(
            "POST",
            FUNCTION + "/scale_up",
            raw('{"count": null}'),
            "count is required: an integer from 1.",
            id="count-null",
        ),
        case(
            "POST",
            "/v1/jobs",
            job(pattern="* * * * *", count=True),
            "count",
            id="job-count-true",
        ),
        case("POST", "/v1/jobs", job(pattern="* * * * *", count=2.5), "count", id="job-count-2.5"),
        case(
            "POST",
            "/v1/webhooks",
            obj({"function_id": "{function}", "rate_limit": True}),
            "rate_limit",
            id="rate-limit-true",
        ),
        case(
            "PUT",
            "/v1/webhooks/{webhook}",
            obj({"rate_limit": 1.0}),
            "rate_limit",
            id="rate-limit-1.0",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "function_version": True}),
            "function_version",
            id="version-true",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "function_version": 1.0}),
            "function_version",
            id="version-1.0",
        ),
        case(
            "PUT",
            "/v1/aliases/stable",
            obj({"function_version": "\u0661"}),
            "function_version",
            id="version-arabic-string",
        ),
        case(
            "PUT",
            "/v1/aliases/stable",
            obj({"function_version": "-1"}),
            "function_version",
            id="version-negative-string",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "sync": 1}),
            "A boolean (true or false) is required.",
            id="sync-1",
        ),
        case(
            "POST",
            "/v1/executions",
            obj({"function_id": "{function}", "sync": "false"}),
            "sync",
            id="sync-string",
        ),
        case(
            "POST",
            "/v1/runtimes",
            obj({"image": "x", "is_public": "yes"}),
            "is_public",
            id="is-public-yes",
        ),
        case("POST", "/v1/runtimes", obj({"image": "x", "trusted": 0}), "trusted", id="trusted-0"),
        case(
            "GET",
            FUNCTION + "/versions/\u0661",
            {},
            "Invalid version number",
            id="path-version-arabic",
        ),
        case(
            "GET", FUNCTION + "/versions/+1", {}, "Invalid version number", id="path-version-plus"
        ),
        case(
            "GET",
            FUNCTION + "/workers?function_version=1.0",
            {},
            "Invalid version number",
            id="query-version-1.0",
        ),
    ],
)
def test_types_are_strict(client, server, target, method, path, kwargs, message):
    attack(client, server, target, method, path, kwargs, 400, message)


def test_form_fields_and_the_cli_version_string_are_integers(client, target):
    """ASCII digits in a form field, and ``function_version`` as the string that
    ``openstack function alias update`` sends, are integers."""
    updated = client.put(f"/v1/functions/{target['function']}", data={"timeout": "7"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["timeout"] == 7
    moved = client.put("/v1/aliases/stable", json={"function_version": "1"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["function_version"] == 1
    back = client.put("/v1/aliases/stable", json={"function_version": 0})
    assert back.json()["function_version"] == 0

"""Hostile numbers against a real ``qinling-lite-serve``: integers beyond what the
database holds, and values of the wrong type (a boolean, a float or non-ASCII digits
where an integer belongs; a number or a string where a boolean belongs), in JSON
bodies, form fields, paths and query strings. Every attack is a 4xx in the one JSON
error shape, stores nothing, changes nothing, and leaves no traceback in the log.
"""

import pytest

from tests.functional.test_bad_input import assert_error
from tests.security.hostile import FUNCTION, attack, case, fields, job, obj, raw

pytestmark = pytest.mark.usefixtures("no_traceback_logged")
BIG = 10**30


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

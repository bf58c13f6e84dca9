"""Hostile values against a real ``qinling-lite-serve`` that are well typed but cannot be
honoured: schedules that never fire or leave the calendar, alias names that no URL
addresses, and caller keys that collide with the service's own argument names. A value
refused is a 4xx in the one JSON error shape that stores nothing and changes nothing;
no request leaves a traceback in the log.
"""

import json

import pytest

from tests.security.hostile import (
    ECHO,
    INVOKE,
    _aimed,
    _finished,
    _output,
    attack,
    case,
    fields,
    job,
    obj,
)

pytestmark = pytest.mark.usefixtures("no_traceback_logged")


# 6. Cron patterns that never fire (a 500) or with absurd steps (stored), and times at
# the ends of the calendar (a 500).
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

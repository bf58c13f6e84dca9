"""Webhook input templates: an Aodh event alarm's traits become the function's arguments."""

import json
import pathlib

from qinling_lite.services import webhook_auth
from tests.functional.conftest import wait_for

STAT_OBJECT = (
    "def stat_object(context, container, object):\n"
    "    return {'container': container, 'object': object}\n"
)
TEMPLATE = {"container": "trait:container", "object": "trait:object"}
ALARM = json.loads(
    (pathlib.Path(__file__).parent / "fixtures" / "aodh-alarm-event.json").read_text()
)


def upload_alarm(**traits):
    """The body Aodh posts for an ``objectstorage.object.upload`` event alarm."""
    event = {
        **ALARM["reason_data"]["event"],
        "event_type": "objectstorage.object.upload",
        "traits": [[name, 1, value] for name, value in traits.items()],
    }
    return {**ALARM, "reason_data": {"type": "event", "event": event}}


def executions_of(client, function_id):
    return client.get("/v1/executions", params={"function_id": function_id}).json()["executions"]


def stat_object(client, runtime, **fields):
    function = client.create_function(
        runtime["id"], source=STAT_OBJECT, module="objects", entry="objects.stat_object"
    )
    created = client.post(
        "/v1/webhooks",
        json={"function_id": function["id"], "input_template": TEMPLATE, **fields},
    )
    assert created.status_code == 201, created.text
    return function, created.json()


def assert_refused(answer, text):
    assert answer.status_code == 400, answer.text
    assert answer.json() == {"faultcode": "Client", "faultstring": text, "debuginfo": None}


def test_an_upload_alarm_calls_the_function_with_its_traits(client, runtime):
    function, webhook = stat_object(client, runtime)
    assert webhook["input_template"] == TEMPLATE
    assert client.get(f"/v1/webhooks/{webhook['id']}").json()["input_template"] == TEMPLATE
    body = upload_alarm(tenant_id="6f0b7a3e", container="photos", object="cat.png")
    expected = {"container": "photos", "object": "cat.png"}

    answer = client.http.post(webhook["webhook_url"] + "?ignored=1", json=body)
    assert answer.status_code == 202, answer.text
    path = f"/v1/executions/{answer.json()['execution_id']}"
    execution = wait_for(lambda: (e := client.get(path).json())["status"] == "success" and e, 30)
    assert execution, client.get(path).text
    assert json.loads(execution["input"]) == expected
    assert json.loads(execution["result"])["output"] == expected

    # The same mapping for a synchronous webhook.
    client.put(f"/v1/webhooks/{webhook['id']}", json={"sync": True})
    answer = client.http.post(webhook["webhook_url"], json=body)
    assert (answer.status_code, answer.json()) == (200, expected), answer.text


def test_a_body_without_the_traits_is_refused_and_records_nothing(client, runtime):
    function, webhook = stat_object(client, runtime)
    refusals = [
        (upload_alarm(tenant_id="t", container="photos"), "object (trait:object)"),
        (ALARM, "container (trait:container), object (trait:object)"),
        ({"alarm_id": "a"}, "container (trait:container), object (trait:object)"),
    ]
    for body, missing in refusals:
        answer = client.http.post(webhook["webhook_url"], json=body)
        assert_refused(answer, f"input_template cannot map the body: {missing}")
    send_json = "This webhook has an input_template: send a JSON body."
    assert_refused(client.http.post(webhook["webhook_url"], data={"container": "c"}), send_json)
    assert_refused(client.http.post(webhook["webhook_url"]), send_json)
    assert executions_of(client, function["id"]) == []


def test_an_anonymous_caller_learns_nothing_from_the_template(client, runtime):
    function, webhook = stat_object(client, runtime, auth="hmac")
    unsigned = client.http.post(webhook["webhook_url"], json={"alarm_id": "a"})
    assert unsigned.status_code == 401, unsigned.text
    assert "input_template" not in unsigned.text
    body = json.dumps(upload_alarm(container="photos", object="cat.png")).encode()
    signed = client.http.post(
        webhook["webhook_url"],
        data=body,
        headers={
            "Content-Type": "application/json",
            webhook_auth.SIGNATURE_HEADER: webhook_auth.signature(webhook["secret"], body),
        },
    )
    assert signed.status_code == 202, signed.text
    assert len(executions_of(client, function["id"])) == 1


def test_invalid_templates_are_refused_and_null_clears_it(client, runtime):
    function, webhook = stat_object(client, runtime)
    url = f"/v1/webhooks/{webhook['id']}"
    invalid = [
        ({"context": "trait:x"}, "input_template entry 'context': 'context' is reserved"),
        ({"object": "object"}, "input_template entry 'object': 'object' is neither"),
        ({"a": 1}, "input_template entry 'a': the source must be a string"),
        ("trait:x", "input_template must be a JSON object"),
    ]
    for template, text in invalid:
        created = {"function_id": function["id"], "input_template": template}
        for answer in (
            client.post("/v1/webhooks", json=created),
            client.put(url, json={"input_template": template}),
        ):
            assert answer.status_code == 400, answer.text
            assert answer.json()["faultstring"].startswith(text), answer.text
    assert client.get(url).json()["input_template"] == TEMPLATE

    assert client.put(url, json={"description": "d"}).json()["input_template"] == TEMPLATE
    cleared = client.put(url, json={"input_template": None})
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["input_template"] is None
    assert client.get(url).json()["input_template"] is None

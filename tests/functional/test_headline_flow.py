"""The headline flow: an Aodh alarm POSTs to a webhook and the function runs with its JSON."""

import json
import pathlib

from tests.functional.conftest import wait_for

AODH_EVENT = (pathlib.Path(__file__).parent / "fixtures" / "aodh-alarm-event.json").read_bytes()
BLOCKS = "import time\n\ndef main(**kwargs):\n    time.sleep(5)\n    return 'done'\n"


def test_aodh_alarm_runs_the_function_through_its_webhook(client, runtime):
    function = client.create_function(runtime["id"])
    created = client.post("/v1/webhooks", json={"function_id": function["id"]})
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["webhook_url"] == f"{client.url}/v1/webhooks/{webhook['id']}/invoke"

    answer = client.http.post(
        webhook["webhook_url"],
        data=AODH_EVENT,
        headers={"Content-Type": "application/json", "X-Auth-Token": ""},
    )
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]

    def finished():
        listed = client.get("/v1/executions", params={"function_id": function["id"]}).json()
        done = [e for e in listed["executions"] if e["status"] not in ("pending", "running")]
        return done and done[0]

    execution = wait_for(finished, timeout=5)
    assert execution, "the execution did not finish"
    assert execution["id"] == execution_id
    assert execution["status"] == "success"
    assert execution["description"] == f"Created by Webhook {webhook['id']}"
    assert json.loads(execution["input"]) == json.loads(AODH_EVENT)
    assert execution["sync"] is False
    result = json.loads(execution["result"])
    assert result["output"] == "Hello, World"
    assert isinstance(result["duration"], float)

    log = client.get(f"/v1/executions/{execution_id}/log")
    assert log.status_code == 200
    assert log.headers["Content-Type"].startswith("text/plain")
    assert f"Start execution: {execution_id}" in log.text
    assert f"Finished execution: {execution_id}" in log.text


def test_the_webhook_answers_before_the_function_finishes(client, runtime):
    """The webhook does not wait for the function: its 202 comes while the execution has
    not finished. The function runs for 5 s, a hundredfold the time the API takes to answer
    even on a loaded host; the test waits for it, so that no run outlives the test."""
    function = client.create_function(runtime["id"], source=BLOCKS, module="blocks", timeout=30)
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    answer = client.http.post(webhook["webhook_url"], json={})
    assert answer.status_code == 202, answer.text
    path = f"/v1/executions/{answer.json()['execution_id']}"
    assert client.get(path).json()["status"] in ("pending", "running")
    assert wait_for(lambda: client.get(path).json()["status"] == "success", timeout=60)


def test_sync_execution_answers_201_with_the_output(client, runtime):
    function = client.create_function(runtime["id"])
    execution = client.run(function["id"], input='{"name": "Qinling"}')
    assert execution["status"] == "success"
    assert json.loads(execution["result"])["output"] == "Hello, Qinling"
    assert json.loads(execution["input"]) == {"name": "Qinling"}
    assert client.get(f"/v1/functions/{function['id']}").json()["count"] == 1


def test_webhook_form_and_query_parameters_become_the_input(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    answer = client.http.post(
        webhook["webhook_url"] + "?name=Query", data={"tag": ["a", "b"], "n": "1"}
    )
    assert answer.status_code == 202, answer.text
    execution = wait_for(
        lambda: (
            (e := client.get(f"/v1/executions/{answer.json()['execution_id']}").json())
            and e["status"] == "success"
            and e
        ),
        timeout=5,
    )
    assert json.loads(execution["input"]) == {"name": "Query", "tag": ["a", "b"], "n": "1"}
    assert json.loads(execution["result"])["output"] == "Hello, Query"

"""CRUD of runtimes, functions, webhooks and executions, in Qinling's wire shapes."""

import re

from tests.functional.conftest import HELLO_WORLD, make_zip, wait_for

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
RUNTIME_FIELDS = {
    "id", "name", "description", "image", "status", "status_reason", "is_public", "trusted",
    "project_id", "created_at", "updated_at",
}  # fmt: skip
FUNCTION_FIELDS = {
    "id", "name", "description", "runtime_id", "code", "entry", "cpu", "memory_size", "timeout",
    "count", "latest_version", "project_id", "created_at", "updated_at",
    "retry_attempts", "retry_on", "dead_letter_function_id",  # qinling-lite's additions
}  # fmt: skip
EXECUTION_FIELDS = {
    "id", "function_id", "function_version", "function_alias", "description", "sync", "input",
    "status", "result", "project_id", "created_at", "updated_at",
    "retry_of", "retry_attempt", "not_before", "dead_letter_of",  # qinling-lite's additions
}  # fmt: skip
WEBHOOK_FIELDS = {
    "id", "function_id", "function_version", "function_alias", "description", "webhook_url",
    "project_id", "created_at", "updated_at",
    "auth", "secret", "rate_limit", "sync", "input_template",  # qinling-lite's additions
}  # fmt: skip


def test_version_documents(client):
    root = client.get("/").json()
    assert root == {
        "versions": [
            {
                "id": "v1.0",
                "status": "CURRENT",
                "links": [{"href": f"{client.url}/v1", "target": "v1", "rel": "self"}],
            }
        ]
    }
    assert client.get("/v1/").json() == {"uri": f"{client.url}/v1"}


def test_runtime_lifecycle(client):
    created = client.post(
        "/v1/runtimes", json={"image": "python3", "name": "py", "description": "d"}
    )
    assert created.status_code == 201, created.text
    runtime = created.json()
    assert set(runtime) == RUNTIME_FIELDS
    assert runtime["status"] == "creating"
    assert runtime["project_id"] == "default"
    assert runtime["is_public"] is True and runtime["trusted"] is True
    assert TIMESTAMP.match(runtime["created_at"]) and runtime["updated_at"] is None

    assert wait_for(
        lambda: client.get(f"/v1/runtimes/{runtime['id']}").json()["status"] == "available", 60
    )
    assert runtime["id"] in [r["id"] for r in client.get("/v1/runtimes").json()["runtimes"]]
    pool = client.get(f"/v1/runtimes/{runtime['id']}/pool").json()
    assert pool["name"] == runtime["id"]
    assert pool["capacity"]["total"] >= pool["capacity"]["available"] >= 1

    updated = client.put(f"/v1/runtimes/{runtime['id']}", json={"name": "renamed"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "renamed"
    assert TIMESTAMP.match(updated.json()["updated_at"])

    function = client.create_function(runtime["id"])
    refused = client.delete(f"/v1/runtimes/{runtime['id']}")
    assert refused.status_code == 403
    assert client.delete(f"/v1/functions/{function['id']}").status_code == 204
    assert client.delete(f"/v1/runtimes/{runtime['id']}").status_code == 204
    assert wait_for(lambda: client.get(f"/v1/runtimes/{runtime['id']}").status_code == 404, 10)


def test_function_lifecycle(client, runtime):
    function = client.create_function(runtime["id"], name="hello", timeout=7)
    assert set(function) == FUNCTION_FIELDS
    assert function["code"]["source"] == "package"
    assert (function["cpu"], function["memory_size"], function["timeout"]) == (100, 33554432, 7)

    listed = client.get("/v1/functions").json()["functions"]
    mine = next(f for f in listed if f["id"] == function["id"])
    assert isinstance(mine["code"], str)

    renamed = client.put(f"/v1/functions/{function['id']}", data={"name": "hi", "timeout": "9"})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["timeout"]) == ("hi", 9)

    new_code = HELLO_WORLD.replace("Hello", "Howdy")
    replaced = client.put(
        f"/v1/functions/{function['id']}",
        data={"source": "package"},
        files={"package": ("f.zip", make_zip({"hello_world.py": new_code}))},
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["code"]["md5sum"] != function["code"]["md5sum"]
    assert '"output": "Howdy, World"' in client.run(function["id"])["result"]

    assert client.delete(f"/v1/functions/{function['id']}").status_code == 204
    assert client.get(f"/v1/functions/{function['id']}").status_code == 404


def test_webhook_lifecycle(client, runtime):
    function = client.create_function(runtime["id"])
    other = client.create_function(runtime["id"])
    created = client.post(
        "/v1/webhooks", json={"function_id": function["id"], "function_version": 0}
    )
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert set(webhook) == WEBHOOK_FIELDS
    assert webhook["function_version"] == 0

    update = {"function_id": other["id"], "function_version": "0", "description": "moved"}
    moved = client.put(f"/v1/webhooks/{webhook['id']}", json=update)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["function_id"], moved.json()["description"]) == (other["id"], "moved")
    described = client.put(
        f"/v1/webhooks/{webhook['id']}",
        json={"function_id": None, "function_version": None, "description": "again"},
    )
    assert described.status_code == 200, described.text
    assert described.json()["function_id"] == other["id"]

    assert webhook["id"] in [w["id"] for w in client.get("/v1/webhooks").json()["webhooks"]]
    assert client.delete(f"/v1/webhooks/{webhook['id']}").status_code == 204
    assert client.http.post(webhook["webhook_url"], json={}).status_code == 404


def test_execution_show_list_delete(client, runtime):
    function = client.create_function(runtime["id"])
    execution = client.run(function["id"])
    assert set(execution) == EXECUTION_FIELDS
    assert execution["input"] is None
    shown = client.get(f"/v1/executions/{execution['id']}").json()
    assert shown == execution
    assert client.delete(f"/v1/executions/{execution['id']}").status_code == 204
    assert client.get(f"/v1/executions/{execution['id']}").status_code == 404

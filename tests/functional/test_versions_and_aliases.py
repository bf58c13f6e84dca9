"""Function versions (package snapshots) and aliases, and running them."""

import json

from tests.functional.conftest import make_zip, wait_for

V1 = "def main(**kwargs):\n    return 'one'\n"
V2 = "def main(**kwargs):\n    return 'two'\n"


def output(execution):
    return json.loads(execution["result"])["output"]


def replace_code(client, function_id, source):
    response = client.put(
        f"/v1/functions/{function_id}",
        data={"source": "package"},
        files={"package": ("f.zip", make_zip({"code.py": source}))},
    )
    assert response.status_code == 200, response.text


def run(client, **body):
    response = client.post("/v1/executions", json={"sync": True, **body})
    assert response.status_code == 201, response.text
    return response.json()


def test_versions_snapshot_the_package(client, runtime):
    function = client.create_function(runtime["id"], source=V1, module="code")
    fid = function["id"]
    created = client.post(f"/v1/functions/{fid}/versions", json={"description": "first"})
    assert created.status_code == 201, created.text
    v1 = created.json()
    assert (v1["version_number"], v1["description"], v1["function_id"]) == (1, "first", fid)
    assert set(v1) == {
        "id", "function_id", "description", "version_number", "count", "project_id",
        "created_at", "updated_at",
    }  # fmt: skip
    unchanged = client.post(f"/v1/functions/{fid}/versions", json={})
    assert unchanged.status_code == 403
    assert "not changed since the latest version 1" in unchanged.json()["faultstring"]

    replace_code(client, fid, V2)
    assert client.post(f"/v1/functions/{fid}/versions", json={}).json()["version_number"] == 2
    assert client.get(f"/v1/functions/{fid}").json()["latest_version"] == 2
    listed = client.get(f"/v1/functions/{fid}/versions").json()["function_versions"]
    assert [v["version_number"] for v in listed] == [1, 2]
    assert client.get(f"/v1/functions/{fid}/versions/1").json()["description"] == "first"

    download = client.get(f"/v1/functions/{fid}/versions/1", params={"download": "true"})
    assert download.headers["Content-Type"] == "application/zip"
    assert f'filename="{fid}_1.zip"' in download.headers["Content-Disposition"]
    assert download.content == make_zip({"code.py": V1})

    assert output(run(client, function_id=fid, function_version=1)) == "one"
    assert output(run(client, function_id=fid, function_version=2)) == "two"
    assert output(run(client, function_id=fid)) == "two"
    assert client.get(f"/v1/functions/{fid}/versions/1").json()["count"] == 1
    assert client.get(f"/v1/functions/{fid}").json()["count"] == 1

    assert client.delete(f"/v1/functions/{fid}/versions/2").status_code == 204
    assert client.get(f"/v1/functions/{fid}").json()["latest_version"] == 1
    assert client.get(f"/v1/functions/{fid}/versions/2").status_code == 404
    missing = client.post("/v1/executions", json={"function_id": fid, "function_version": 2})
    assert missing.status_code == 404


def test_the_number_of_versions_is_limited(client, runtime):
    function = client.create_function(runtime["id"], source=V1, module="code")
    fid = function["id"]
    for n in range(3):  # the functional server allows 3
        replace_code(client, fid, f"def main(**kwargs):\n    return {n}\n")
        assert client.post(f"/v1/functions/{fid}/versions", json={}).status_code == 201
    replace_code(client, fid, V2)
    refused = client.post(f"/v1/functions/{fid}/versions", json={})
    assert refused.status_code == 403
    assert refused.json()["faultstring"] == "Can not exceed maximum number(3) of versions"


def test_bad_version_numbers(client, runtime):
    function = client.create_function(runtime["id"])
    for number in ("0", "-1", "x"):
        response = client.get(f"/v1/functions/{function['id']}/versions/{number}")
        assert response.status_code == 400, number
        assert set(response.json()) == {"faultcode", "faultstring", "debuginfo"}


def test_aliases_name_a_version_for_executions_and_webhooks(client, runtime):
    function = client.create_function(runtime["id"], source=V1, module="code")
    fid = function["id"]
    client.post(f"/v1/functions/{fid}/versions", json={})
    replace_code(client, fid, V2)

    created = client.post(
        "/v1/aliases",
        json={"name": "stable", "function_id": fid, "function_version": 1, "description": ""},
    )
    assert created.status_code == 201, created.text
    alias = created.json()
    assert (alias["name"], alias["function_version"]) == ("stable", 1)
    duplicate = client.post("/v1/aliases", json={"name": "stable", "function_id": fid})
    assert duplicate.status_code == 409
    assert (
        client.post(
            "/v1/aliases", json={"name": "nowhere", "function_id": fid, "function_version": 9}
        ).status_code
        == 404
    )

    execution = run(client, function_alias="stable")
    assert output(execution) == "one"
    assert (execution["function_alias"], execution["function_version"]) == ("stable", 1)
    assert execution["function_id"] == fid

    webhook = client.post("/v1/webhooks", json={"function_alias": "stable"}).json()
    assert (webhook["function_id"], webhook["function_version"]) == (None, None)
    first = client.http.post(webhook["webhook_url"], json={}).json()["execution_id"]
    assert wait_for(lambda: client.get(f"/v1/executions/{first}").json()["status"] == "success", 5)
    assert output(client.get(f"/v1/executions/{first}").json()) == "one"

    # The alias moves; the webhook follows at its next invocation.
    moved = client.put(
        "/v1/aliases/stable",
        json={"function_id": None, "function_version": "0", "description": None},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["function_version"] == 0
    second = client.http.post(webhook["webhook_url"], json={}).json()["execution_id"]
    assert wait_for(lambda: client.get(f"/v1/executions/{second}").json()["status"] == "success", 5)
    assert output(client.get(f"/v1/executions/{second}").json()) == "two"

    names = [a["name"] for a in client.get("/v1/aliases").json()["function_aliases"]]
    assert "stable" in names
    assert client.delete("/v1/aliases/stable").status_code == 403  # the webhook uses it
    assert client.delete(f"/v1/functions/{fid}").status_code == 403
    assert client.delete(f"/v1/webhooks/{webhook['id']}").status_code == 204
    assert client.delete("/v1/aliases/stable").status_code == 204
    assert client.get("/v1/aliases/stable").status_code == 404


def test_a_version_an_alias_uses_cannot_be_deleted(client, runtime):
    function = client.create_function(runtime["id"], source=V1, module="code")
    fid = function["id"]
    client.post(f"/v1/functions/{fid}/versions", json={})
    client.post("/v1/aliases", json={"name": "pinned", "function_id": fid, "function_version": 1})
    refused = client.delete(f"/v1/functions/{fid}/versions/1")
    assert refused.status_code == 403
    assert "alias" in refused.json()["faultstring"]
    assert client.delete("/v1/aliases/pinned").status_code == 204
    assert client.delete(f"/v1/functions/{fid}/versions/1").status_code == 204

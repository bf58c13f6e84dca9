"""Admin calls: detach, scale up and down, workers, runtime pool and image update."""

from tests.functional.conftest import wait_for


def workers(client, function_id, version=None):
    params = {"function_version": version} if version is not None else {}
    response = client.get(f"/v1/functions/{function_id}/workers", params=params)
    assert response.status_code == 200, response.text
    return response.json()["workers"]


def test_scale_detach_and_workers(client, runtime):
    function = client.create_function(runtime["id"])
    fid = function["id"]
    assert workers(client, fid) == []
    client.run(fid)
    listed = workers(client, fid)
    assert [set(w) for w in listed] == [{"function_id", "function_version", "worker_name"}]
    assert (listed[0]["function_id"], listed[0]["function_version"]) == (fid, 0)

    scaled = client.post(f"/v1/functions/{fid}/scale_up", json={"count": 2})
    assert (scaled.status_code, scaled.text) == (202, "")
    assert wait_for(lambda: len(workers(client, fid)) == 3, timeout=10)
    assert client.post(f"/v1/functions/{fid}/scale_down", json={"count": 5}).status_code == 202
    assert wait_for(lambda: len(workers(client, fid)) == 1, timeout=10)

    assert client.post(f"/v1/functions/{fid}/detach").status_code == 202
    assert wait_for(lambda: workers(client, fid) == [], timeout=10)
    assert client.run(fid)["status"] == "success"


def test_scale_needs_a_count(client, runtime):
    fid = client.create_function(runtime["id"])["id"]
    assert client.post(f"/v1/functions/{fid}/scale_up", json={}).status_code == 400
    assert client.post(f"/v1/functions/{fid}/scale_up", json={"count": 0}).status_code == 400
    unknown = "6f0b7a3e-5c1d-4d8e-9a2b-3c4d5e6f7a8b"
    assert client.post(f"/v1/functions/{unknown}/detach").status_code == 404


def test_version_workers(client, runtime):
    fid = client.create_function(runtime["id"])["id"]
    client.post(f"/v1/functions/{fid}/versions", json={})
    run = client.post("/v1/executions", json={"function_id": fid, "function_version": 1})
    assert run.json()["status"] == "success"
    assert len(workers(client, fid, 1)) == 1
    scaled = client.post(f"/v1/functions/{fid}/versions/1/scale_up", json={"count": 1})
    assert scaled.status_code == 202
    assert wait_for(lambda: len(workers(client, fid, 1)) == 2, timeout=10)
    assert client.post(f"/v1/functions/{fid}/versions/1/detach").status_code == 202
    assert wait_for(lambda: workers(client, fid, 1) == [], timeout=10)
    assert client.post(f"/v1/functions/{fid}/versions/7/detach").status_code == 404


def test_runtime_image_update_rolls_the_pool(client):
    runtime = client.create_runtime("python3")
    updated = client.put(f"/v1/runtimes/{runtime['id']}", json={"image": "python3-next"})
    assert updated.status_code == 200, updated.text
    assert updated.json()["status"] == "upgrading"

    def rolled():
        current = client.get(f"/v1/runtimes/{runtime['id']}").json()
        return current["status"] == "available" and current

    current = wait_for(rolled, timeout=30)
    assert current["image"] == "python3-next"
    pool = client.get(f"/v1/runtimes/{runtime['id']}/pool").json()
    assert pool["capacity"]["available"] >= 1


def test_version_zero_is_the_function_itself(client, runtime):
    fid = client.create_function(runtime["id"])["id"]
    client.run(fid)
    assert len(workers(client, fid, 0)) == 1
    assert client.post(f"/v1/functions/{fid}/versions/0/detach").status_code == 202
    assert wait_for(lambda: workers(client, fid, 0) == [], timeout=10)
    assert (
        client.get(f"/v1/functions/{fid}/workers", params={"function_version": "x"}).status_code
        == 400
    )

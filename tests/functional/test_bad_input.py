"""Bad input: the right 4xx, one JSON error shape, and nothing left behind."""

import hashlib
import os

import pytest

from tests.functional.conftest import make_zip

HELLO_ZIP = make_zip({"hello_world.py": "def main(**kw):\n    return 1\n"})
UUID = "6f0b7a3e-5c1d-4d8e-9a2b-3c4d5e6f7a8b"


def assert_error(response, code):
    assert response.status_code == code, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo"}
    assert body["faultcode"] == ("Client" if code < 500 else "Server")
    assert body["faultstring"]
    return body["faultstring"]


def count(client, collection):
    return len(client.get(f"/v1/{collection}").json()[collection])


def package_files(server):
    root = server["data_dir"] / "packages"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        ("post", "/v1/runtimes", b"{not json", 400),
        ("post", "/v1/runtimes", b'{"image": 42}', 400),
        ("post", "/v1/runtimes", b'{"image": "x", "is_public": "maybe"}', 400),
        ("post", "/v1/runtimes", b'{"image": "x", "bogus": 1}', 400),
        ("post", "/v1/runtimes", b'{"image": "x", "status": "available"}', 400),
        ("post", "/v1/runtimes", b"{}", 400),
        ("post", "/v1/executions", b"[1, 2]", 400),
        ("post", "/v1/executions", b'{"function_id": "not-a-uuid"}', 400),
        ("post", "/v1/executions", b'{"function_id": "' + UUID.encode() + b'", "x": 1}', 400),
        ("post", "/v1/executions", b'{"input": "{}"}', 400),
        ("post", "/v1/executions", b'{"function_id": "' + UUID.encode() + b'"}', 404),
        ("post", "/v1/webhooks", b'{"function_id": "' + UUID.encode() + b'"}', 404),
        ("post", "/v1/webhooks", b'{"function_id": 7}', 400),
        ("get", "/v1/functions/not-a-uuid", None, 400),
        ("get", "/v1/runtimes/not-a-uuid", None, 400),
        ("get", "/v1/executions/not-a-uuid", None, 400),
        ("get", "/v1/executions/not-a-uuid/log", None, 400),
        ("get", "/v1/webhooks/not-a-uuid", None, 400),
        ("get", f"/v1/functions/{UUID}", None, 404),
        ("get", f"/v1/executions/{UUID}", None, 404),
        ("get", f"/v1/executions/{UUID}/log", None, 404),
        ("delete", f"/v1/webhooks/{UUID}", None, 404),
        ("get", "/v1/nothing-here", None, 404),
        ("get", "/v1/executions?bogus=1", None, 400),
        ("get", "/v1/executions?all_projects=perhaps", None, 400),
        ("post", f"/v1/webhooks/{UUID}/invoke", b"{}", 404),
        ("post", "/v1/webhooks/not-a-uuid/invoke", b"{}", 400),
        ("get", f"/v1/webhooks/{UUID}/invoke", None, 404),
        ("patch", "/v1/runtimes", None, 405),
    ],
)
def test_bad_requests_get_the_json_error_shape(client, method, path, body, code):
    headers = {"Content-Type": "application/json"} if body is not None else {}
    response = getattr(client, method)(path, data=body, headers=headers)
    assert_error(response, code)


def test_function_with_a_non_zip_package_leaves_nothing(client, server, runtime):
    before = count(client, "functions"), package_files(server)
    response = client.post(
        "/v1/functions",
        data={"runtime_id": runtime["id"], "code": '{"source": "package"}'},
        files={"package": ("f.zip", b"this is not a zip")},
    )
    assert assert_error(response, 400) == "Package is not a valid ZIP package."
    assert (count(client, "functions"), package_files(server)) == before


def test_function_with_an_md5_mismatch_leaves_nothing(client, server, runtime):
    before = count(client, "functions"), package_files(server)
    response = client.post(
        "/v1/functions",
        data={
            "runtime_id": runtime["id"],
            "code": '{"source": "package", "md5sum": "' + "0" * 32 + '"}',
        },
        files={"package": ("f.zip", HELLO_ZIP)},
    )
    assert assert_error(response, 400) == "Package md5 mismatch."
    assert (count(client, "functions"), package_files(server)) == before


def test_function_with_the_right_md5_is_created(client, server, runtime):
    md5 = hashlib.md5(HELLO_ZIP).hexdigest()
    response = client.post(
        "/v1/functions",
        data={"runtime_id": runtime["id"], "code": f'{{"source": "package", "md5sum": "{md5}"}}'},
        files={"package": ("f.zip", HELLO_ZIP)},
    )
    assert response.status_code == 201, response.text
    function = response.json()
    assert function["code"] == {"source": "package", "md5sum": md5}
    download = client.get(f"/v1/functions/{function['id']}", params={"download": "true"})
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "application/zip"
    assert download.content == HELLO_ZIP


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "Required param is missing. Required: {'code'}"),
        ({"code": "{nope"}, None),
        ({"code": '{"source": "ftp"}'}, None),
        ({"code": '{"source": "package"}', "cpu": "lots"}, None),
        ({"code": '{"source": "package"}', "timeout": "301"}, None),
        ({"code": '{"source": "package"}', "memory_size": "1"}, None),
        ({"code": '{"source": "package"}', "entry": "nodot"}, None),
        ({"code": '{"source": "package"}', "colour": "blue"}, None),
        ({"code": '{"source": "package"}', "runtime_id": "not-a-uuid"}, None),
    ],
)
def test_function_field_errors_leave_nothing(client, server, runtime, fields, message):
    before = count(client, "functions"), package_files(server)
    data = {"runtime_id": runtime["id"], **fields}
    response = client.post("/v1/functions", data=data, files={"package": ("f.zip", HELLO_ZIP)})
    faultstring = assert_error(response, 400)
    if message:
        assert faultstring == message
    assert (count(client, "functions"), package_files(server)) == before


def test_image_functions_need_the_kubernetes_orchestrator(client):
    """As ``openstack function create --image`` sends it, to the local orchestrator."""
    before = count(client, "functions")
    code = '{"source": "image", "image": "registry.example/fn:1"}'
    response = client.post("/v1/functions", data={"code": code})
    assert assert_error(response, 400) == (
        "Code source 'image' is not supported by this deployment: image functions need "
        "the Kubernetes orchestrator."
    )
    assert count(client, "functions") == before


def test_function_without_a_package_part_is_refused(client, runtime):
    response = client.post(
        "/v1/functions",
        data={"runtime_id": runtime["id"], "code": '{"source": "package"}'},
    )
    assert_error(response, 400)


@pytest.fixture(scope="module")
def webhook(client, runtime):
    function = client.create_function(runtime["id"])
    return client.post("/v1/webhooks", json={"function_id": function["id"]}).json()


def executions_of(client, webhook):
    """(id, function, created at, description, size of input) of each of the webhook's
    function's executions: short enough that a failed comparison shows them all."""
    listed = client.get("/v1/executions", params={"function_id": webhook["function_id"]})
    return sorted(
        (e["id"], e["function_id"], e["created_at"], e["description"], len(e["input"] or ""))
        for e in listed.json()["executions"]
    )


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"[1, 2, 3]", 400),
        (b'"just a string"', 400),
        (b"{broken", 400),
        (b"x" * (1024 * 1024 + 1), 413),
        (b'{"k": "' + b"x" * (1024 * 1024) + b'"}', 413),
    ],
)
def test_webhook_refuses_bad_bodies_and_records_nothing(client, webhook, body, code):
    before = executions_of(client, webhook)
    response = client.http.post(
        webhook["webhook_url"], data=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, code)
    assert executions_of(client, webhook) == before


def test_webhook_accepts_a_body_at_the_limit(client, webhook):
    body = b'{"k": "' + b"x" * (1024 * 1024 - 9) + b'"}'
    assert len(body) == 1024 * 1024
    response = client.http.post(
        webhook["webhook_url"], data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 202, response.text


def test_function_used_by_a_webhook_cannot_be_deleted(client, webhook):
    response = client.delete(f"/v1/functions/{webhook['function_id']}")
    assert_error(response, 403)
    assert client.get(f"/v1/functions/{webhook['function_id']}").status_code == 200


def test_oversized_package_is_413(client, runtime):
    limit = 50 * 1024 * 1024
    response = client.post(
        "/v1/functions",
        data={"runtime_id": runtime["id"], "code": '{"source": "package"}'},
        files={"package": ("f.zip", os.urandom(1024) * (limit // 1024 + 64))},
    )
    assert_error(response, 413)


def _chunks(data, size=64 * 1024):
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_webhook_refuses_an_oversized_chunked_body_and_records_nothing(client, webhook):
    before = executions_of(client, webhook)
    body = b'{"k": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = client.http.post(
        webhook["webhook_url"],
        data=_chunks(body),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 413)
    assert executions_of(client, webhook) == before


def test_webhook_accepts_a_small_chunked_body(client, webhook):
    response = client.http.post(
        webhook["webhook_url"],
        data=_chunks(b'{"name": "Chunked"}', size=4),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 202, response.text

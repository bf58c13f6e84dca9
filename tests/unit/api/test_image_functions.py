"""Image functions through the API application, in process, on SQLite: create, show,
list, download, update, versions, executions and delete, as the CLI sends them."""

import json

import pytest
import webob

from qinling_lite import config, storage
from qinling_lite.api import app as api_app
from qinling_lite.rpc import engine_api
from tests import db_backends

CONF = config.CONF
IMAGE = "registry.example/qinling/fn:1"
IMAGE_CODE = {"source": "image", "image": IMAGE}
REFUSED_CHANGE = "The image type function code can not be changed."


class RecordingEngine(engine_api.EngineClient):
    """An engine client that records what the API asks of the engines."""

    def __init__(self):
        self.calls = []

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        self.calls.append((method, kwargs))

    def _call(self, ctxt, method, timeout, **kwargs):
        self.calls.append((method, kwargs))


@pytest.fixture
def engine():
    return RecordingEngine()


@pytest.fixture
def app(tmp_path, engine, config_fixture):
    """The API without authentication, for an engine on the Kubernetes orchestrator."""
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="api", auth_enable=False)
    config_fixture.config(group="engine", orchestrator="kubernetes")
    with db_backends.migrated_sqlite(tmp_path):
        yield api_app.setup_app(CONF, engine, storage.load(CONF))


def call(app, method, path, **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


def create(app, code=IMAGE_CODE, **fields):
    """POST /v1/functions form-urlencoded, as ``openstack function create --image``."""
    return call(app, "POST", "/v1/functions", POST={"code": json.dumps(code), **fields})


def fault(response):
    assert response.content_type == "application/json"
    assert set(response.json) == {"faultcode", "faultstring", "debuginfo"}
    return response.json["faultstring"]


@pytest.fixture
def function(app):
    response = create(app, name="fn", timeout="7")
    assert response.status_int == 201, response.text
    return response.json


def test_create_show_list_and_delete(app, engine, function):
    assert function["code"] == IMAGE_CODE
    assert (function["runtime_id"], function["entry"]) == (None, None)
    assert (function["cpu"], function["memory_size"], function["timeout"]) == (100, 33554432, 7)
    assert call(app, "GET", f"/v1/functions/{function['id']}").json == function
    (listed,) = call(app, "GET", "/v1/functions").json["functions"]
    assert json.loads(listed["code"]) == IMAGE_CODE
    assert call(app, "DELETE", f"/v1/functions/{function['id']}").status_int == 204
    assert engine.calls == [("release_function", {"function_id": function["id"], "version": None})]


def test_runtime_and_entry_are_ignored_and_a_json_body_works(app):
    form = create(app, runtime_id="not even a uuid", entry="main.main", cpu="200")
    assert form.status_int == 201, form.text
    assert (form.json["runtime_id"], form.json["entry"], form.json["cpu"]) == (None, None, 200)
    body = json.dumps({"code": IMAGE_CODE, "memory_size": 67108864}).encode()
    response = call(app, "POST", "/v1/functions", body=body, content_type="application/json")
    assert response.status_int == 201, response.text
    assert (response.json["code"], response.json["memory_size"]) == (IMAGE_CODE, 67108864)


@pytest.mark.parametrize(
    "code",
    [
        {"source": "image"},
        {"source": "image", "image": ""},
        {"source": "image", "image": 42},
        {"source": "image", "image": "two words"},
        {"source": "image", "image": "tab\there"},
        {"source": "image", "image": "x" * 256},
    ],
)
def test_an_invalid_image_reference_is_refused(app, code):
    response = create(app, code)
    assert response.status_int == 400
    assert fault(response).startswith("code.image must be an image reference")


def test_limits_are_checked_as_for_packages(app):
    response = create(app, timeout="301")
    assert response.status_int == 400
    assert fault(response).startswith("timeout resource limitation not within")


def test_an_image_function_takes_no_package(app):
    response = call(
        app,
        "POST",
        "/v1/functions",
        POST={"code": json.dumps(IMAGE_CODE), "package": ("f.zip", b"PK")},
    )
    assert response.status_int == 400
    assert fault(response) == "An image function takes no package."


def test_the_local_orchestrator_cannot_have_image_functions(app, config_fixture):
    config_fixture.config(group="engine", orchestrator="local")
    response = create(app)
    assert response.status_int == 400
    assert "need the Kubernetes orchestrator" in fault(response)
    assert call(app, "GET", "/v1/functions").json["functions"] == []


def test_swift_functions_need_keystone(app):
    response = create(app, {"source": "swift", "swift": {"container": "c", "object": "o"}})
    assert response.status_int == 400
    assert fault(response).startswith("Swift object not supported: Swift-sourced functions ")
    assert call(app, "GET", "/v1/functions").json["functions"] == []


def test_download_is_not_allowed(app, function):
    response = call(app, "GET", f"/v1/functions/{function['id']}?download=true")
    assert response.status_int == 405
    assert response.json == {
        "faultcode": "Client",
        "faultstring": "Download image function is not allowed.",
        "debuginfo": None,
    }


def test_name_description_and_timeout_may_change(app, engine, function):
    response = call(
        app,
        "PUT",
        f"/v1/functions/{function['id']}",
        POST={"name": "renamed", "description": "d", "timeout": "9"},
    )
    assert response.status_int == 200, response.text
    updated = response.json
    assert (updated["name"], updated["description"], updated["timeout"]) == ("renamed", "d", 9)
    assert updated["code"] == IMAGE_CODE
    assert engine.calls == []  # nothing runs that would need releasing


@pytest.mark.parametrize(
    "fields",
    [
        {"code": json.dumps({"source": "image", "image": "registry.example/other:2"})},
        {"entry": "main.main"},
        {"cpu": "200"},
        {"memory_size": "67108864"},
        {"name": "renamed", "source": "package"},
        {"package": ("f.zip", b"PK")},
    ],
)
def test_anything_else_is_refused(app, function, fields):
    response = call(app, "PUT", f"/v1/functions/{function['id']}", POST=fields)
    assert response.status_int == 400
    assert fault(response) == REFUSED_CHANGE
    assert call(app, "GET", f"/v1/functions/{function['id']}").json == function


def test_versions_are_refused(app, function):
    path = f"/v1/functions/{function['id']}/versions"
    response = call(app, "POST", path, body=b"{}", content_type="application/json")
    assert response.status_int == 403
    assert fault(response) == "Function versioning only allowed for package type function."
    assert call(app, "GET", path).json == {"function_versions": []}


def test_executions_go_to_the_engine(app, engine, function):
    body = json.dumps({"function_id": function["id"], "input": "a b", "sync": False})
    response = call(
        app, "POST", "/v1/executions", body=body.encode(), content_type="application/json"
    )
    assert response.status_int == 201, response.text
    assert engine.calls == [("create_execution", {"execution_id": response.json["id"]})]


@pytest.mark.parametrize("action", ["scale_up", "scale_down"])
def test_image_functions_have_no_workers_to_scale(app, engine, function, action):
    body = json.dumps({"count": 1}).encode()
    path = f"/v1/functions/{function['id']}/{action}"
    response = call(app, "POST", path, body=body, content_type="application/json")
    assert response.status_int == 400
    assert "no workers to scale" in fault(response)
    assert engine.calls == []

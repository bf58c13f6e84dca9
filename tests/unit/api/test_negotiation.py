"""Content negotiation on every route of the v1 API, in process against the real
application (SQLite, a recording engine): what each ``Accept`` header gets, and that every
refusal is a 406 in the one JSON error shape, decided before the route does anything.

The routes are those of doc/source/api-reference.rst (a test checks that the table below
lists each of them); test_openapi.py checks them against the application's routes.
"""

import contextlib
import json
import pathlib
import re

import oslo_config.fixture
import pytest
import webob
from oslo_config import cfg

from qinling_lite import config, status, storage
from qinling_lite.api import app as api_app
from qinling_lite.api import negotiation
from qinling_lite.db import executions as executions_db
from qinling_lite.db import runtimes as runtimes_db
from tests import db_backends, packages
from tests.unit.api.test_image_functions import RecordingEngine

CONF = config.CONF
API_REFERENCE = pathlib.Path(__file__).parents[3] / "doc" / "source" / "api-reference.rst"
LOG = "Start execution: x\nhello\nFinished execution: x\n"
PACKAGE = packages.make_zip({"main.py": packages.HELLO_WORLD})
MISSING = "00000000-0000-4000-8000-000000000000"

JSON = "application/json"
TEXT = "text/plain"
ZIP = "application/zip"

# What every route takes: no header, anything, and lists that admit its type.
ADMIT_JSON = [
    None,
    "",
    "*/*",
    JSON,
    "application/*",
    f"{JSON}; charset=utf-8",
    f"text/html, {JSON};q=0.9",
    f"{TEXT};q=0, */*;q=0.1",
    "not a media type",
]
ADMIT_TEXT = [
    None,
    "",
    "*/*",
    TEXT,
    "text/*",
    f"{TEXT}; charset=utf-8",
    f"{JSON}, {TEXT};q=0.5",
    f"{JSON}, */*;q=0.1",
]
# ... and headers that admit nothing it serves.
REFUSE_JSON = [TEXT, "text/html", ZIP, "application/xml", f"{JSON};q=0, {TEXT}", "*/*;q=0"]
REFUSE_TEXT = [JSON, "text/html", ZIP, f"{TEXT};q=0, {JSON}"]
REFUSE_JSON_OR_TEXT = ["text/html", ZIP, "application/xml", f"{JSON};q=0, {TEXT};q=0"]


def form(**fields):
    return {"POST": fields}


def body(value):
    return {"body": json.dumps(value).encode(), "content_type": JSON}


# The doc's route -> (method, path, request arguments, what it serves, its answer to */*).
# Paths name the resources of ``world``; MISSING ones answer 404 (still negotiated).
ROUTES = {
    "GET /": ("GET", "/", {}, JSON, 200),
    "GET /v1/": ("GET", "/v1/", {}, JSON, 200),
    "GET /v1/openapi.json": ("GET", "/v1/openapi.json", {}, JSON, 200),
    "POST /v1/runtimes": ("POST", "/v1/runtimes", body({"image": "img"}), JSON, 201),
    "GET /v1/runtimes": ("GET", "/v1/runtimes", {}, JSON, 200),
    "GET /v1/runtimes/{id}": ("GET", "/v1/runtimes/{runtime}", {}, JSON, 200),
    "PUT /v1/runtimes/{id}": (
        "PUT",
        "/v1/runtimes/{runtime}",
        body({"description": "d"}),
        JSON,
        200,
    ),
    "DELETE /v1/runtimes/{id}": ("DELETE", f"/v1/runtimes/{MISSING}", {}, JSON, 404),
    "GET /v1/runtimes/{id}/pool": ("GET", "/v1/runtimes/{runtime}/pool", {}, JSON, 200),
    "POST /v1/functions": (
        "POST",
        "/v1/functions",
        form(
            code='{"source": "package"}',
            runtime_id="{runtime}",
            entry="main.main",
            package=("f.zip", PACKAGE),
        ),
        JSON,
        201,
    ),
    "GET /v1/functions": ("GET", "/v1/functions", {}, JSON, 200),
    "GET /v1/functions/{id}": ("GET", "/v1/functions/{function}", {}, JSON, 200),
    "GET /v1/functions/{id}?download=true": (
        "GET",
        "/v1/functions/{function}?download=true",
        {},
        ZIP,
        200,
    ),
    "PUT /v1/functions/{id}": ("PUT", "/v1/functions/{function}", form(name="n"), JSON, 200),
    "DELETE /v1/functions/{id}": ("DELETE", f"/v1/functions/{MISSING}", {}, JSON, 404),
    "POST /v1/functions/{id}/detach": ("POST", "/v1/functions/{function}/detach", {}, JSON, 202),
    "POST /v1/functions/{id}/scale_up": (
        "POST",
        "/v1/functions/{function}/scale_up",
        body({"count": 1}),
        JSON,
        202,
    ),
    "POST /v1/functions/{id}/scale_down": (
        "POST",
        "/v1/functions/{function}/scale_down",
        body({"count": 1}),
        JSON,
        202,
    ),
    "GET /v1/functions/{id}/workers": ("GET", "/v1/functions/{function}/workers", {}, JSON, 200),
    "POST /v1/functions/{id}/versions": (
        "POST",
        "/v1/functions/{function}/versions",
        body({}),
        JSON,
        403,
    ),
    "GET /v1/functions/{id}/versions": ("GET", "/v1/functions/{function}/versions", {}, JSON, 200),
    "GET /v1/functions/{id}/versions/{n}": (
        "GET",
        "/v1/functions/{function}/versions/1",
        {},
        JSON,
        200,
    ),
    "GET /v1/functions/{id}/versions/{n}?download=true": (
        "GET",
        "/v1/functions/{function}/versions/1?download=true",
        {},
        ZIP,
        200,
    ),
    "DELETE /v1/functions/{id}/versions/{n}": (
        "DELETE",
        "/v1/functions/{function}/versions/9",
        {},
        JSON,
        404,
    ),
    "POST /v1/functions/{id}/versions/{n}/detach": (
        "POST",
        "/v1/functions/{function}/versions/1/detach",
        {},
        JSON,
        202,
    ),
    "POST /v1/functions/{id}/versions/{n}/scale_up": (
        "POST",
        "/v1/functions/{function}/versions/1/scale_up",
        body({"count": 1}),
        JSON,
        202,
    ),
    "POST /v1/functions/{id}/versions/{n}/scale_down": (
        "POST",
        "/v1/functions/{function}/versions/1/scale_down",
        body({"count": 1}),
        JSON,
        202,
    ),
    "POST /v1/aliases": (
        "POST",
        "/v1/aliases",
        body({"name": "a2", "function_id": "{function}"}),
        JSON,
        201,
    ),
    "GET /v1/aliases": ("GET", "/v1/aliases", {}, JSON, 200),
    "GET /v1/aliases/{name}": ("GET", "/v1/aliases/a1", {}, JSON, 200),
    "PUT /v1/aliases/{name}": ("PUT", "/v1/aliases/a1", body({"description": "d"}), JSON, 200),
    "DELETE /v1/aliases/{name}": ("DELETE", "/v1/aliases/missing", {}, JSON, 404),
    "POST /v1/executions": (
        "POST",
        "/v1/executions",
        body({"function_id": "{function}", "sync": False}),
        JSON,
        201,
    ),
    "GET /v1/executions": ("GET", "/v1/executions", {}, JSON, 200),
    "GET /v1/executions/{id}": ("GET", "/v1/executions/{execution}", {}, JSON, 200),
    "DELETE /v1/executions/{id}": ("DELETE", f"/v1/executions/{MISSING}", {}, JSON, 404),
    "GET /v1/executions/{id}/log": ("GET", "/v1/executions/{execution}/log", {}, TEXT, 200),
    "POST /v1/jobs": (
        "POST",
        "/v1/jobs",
        body({"function_id": "{function}", "pattern": "0 * * * *"}),
        JSON,
        201,
    ),
    "GET /v1/jobs": ("GET", "/v1/jobs", {}, JSON, 200),
    "GET /v1/jobs/{id}": ("GET", "/v1/jobs/{job}", {}, JSON, 200),
    "PUT /v1/jobs/{id}": ("PUT", "/v1/jobs/{job}", body({"name": "j"}), JSON, 200),
    "DELETE /v1/jobs/{id}": ("DELETE", f"/v1/jobs/{MISSING}", {}, JSON, 404),
    "POST /v1/webhooks": ("POST", "/v1/webhooks", body({"function_id": "{function}"}), JSON, 201),
    "GET /v1/webhooks": ("GET", "/v1/webhooks", {}, JSON, 200),
    "GET /v1/webhooks/{id}": ("GET", "/v1/webhooks/{webhook}", {}, JSON, 200),
    "PUT /v1/webhooks/{id}": (
        "PUT",
        "/v1/webhooks/{webhook}",
        body({"description": "d"}),
        JSON,
        200,
    ),
    "DELETE /v1/webhooks/{id}": ("DELETE", f"/v1/webhooks/{MISSING}", {}, JSON, 404),
    "POST /v1/webhooks/{id}/invoke": (
        "POST",
        "/v1/webhooks/{webhook}/invoke",
        body({}),
        f"{JSON} {TEXT}",
        202,
    ),
}


class Engine(RecordingEngine):
    """Records what the API asks of the engines, and answers its calls."""

    ANSWERS = {"get_function_workers": [], "get_runtime_pool": {"total": 0, "available": 0}}

    def _call(self, ctxt, method, timeout, **kwargs):
        super()._call(ctxt, method, timeout, **kwargs)
        return self.ANSWERS.get(method)


def call(app, method, path, accept=None, **kwargs):
    headers = {} if accept is None else {"Accept": accept}
    return webob.Request.blank(path, method=method, headers=headers, **kwargs).get_response(app)


def fault(response):
    assert response.content_type == JSON
    assert set(response.json) == {"faultcode", "faultstring", "debuginfo"}
    return response.json["faultstring"]


def _fill(text, ids):
    for name, id in ids.items():
        text = text.replace("{" + name + "}", id)
    return text


def request_of(route, ids):
    """(method, path, request arguments) of a route of ROUTES, with the ids of ``world``."""
    method, path, kwargs, _, _ = ROUTES[route]
    kwargs = dict(kwargs)
    if "body" in kwargs:
        kwargs["body"] = _fill(kwargs["body"].decode(), ids).encode()
    if "POST" in kwargs:
        kwargs["POST"] = {
            k: _fill(v, ids) if isinstance(v, str) else v for k, v in kwargs["POST"].items()
        }
    return method, _fill(path, ids), kwargs


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The application, its engine, and one of each resource's ids."""
    with contextlib.suppress(cfg.RequiredOptError):
        CONF([], project="qinling-lite")
    overrides = oslo_config.fixture.Config(CONF)
    overrides.setUp()
    tmp_path = tmp_path_factory.mktemp("negotiation")
    overrides.config(state_path=str(tmp_path))
    overrides.config(group="api", auth_enable=False)
    try:
        with db_backends.migrated_sqlite(tmp_path):
            engine = Engine()
            app = api_app.setup_app(CONF, engine, storage.load(CONF))
            ids = {}

            def create(name, route, **extra):
                method, path, kwargs = request_of(route, ids)
                response = call(app, method, path, **{**kwargs, **extra})
                assert response.status_int == 201, response.text
                ids[name] = response.json["id"]

            create("runtime", "POST /v1/runtimes")
            runtimes_db.update_status(ids["runtime"], status.AVAILABLE)
            create("function", "POST /v1/functions")
            create("version", "POST /v1/functions/{id}/versions")
            alias = {"name": "a1", "function_id": ids["function"], "function_version": 1}
            create("alias", "POST /v1/aliases", **body(alias))
            create("execution", "POST /v1/executions")
            assert executions_db.claim(ids["execution"], "engine", 60)
            outcome = {"output": "hi", "duration": 0.1}
            finished = executions_db.finish(
                ids["execution"], "engine", status.SUCCESS, outcome, LOG
            )
            assert finished
            create("job", "POST /v1/jobs")
            create("webhook", "POST /v1/webhooks")
            yield app, engine, ids
    finally:
        overrides.cleanUp()


def test_the_table_lists_every_route_of_the_api_reference():
    documented = {
        f"{method} {path}"
        for method, path in re.findall(
            r"^``(GET|POST|PUT|DELETE|PATCH) (/\S*)``", API_REFERENCE.read_text(), re.M
        )
    }
    assert len(documented) > 40
    assert documented == set(ROUTES)


def _admitted_and_refused(serves):
    if serves == JSON:
        return ADMIT_JSON, REFUSE_JSON
    if serves == TEXT:
        return ADMIT_TEXT, REFUSE_TEXT
    if serves == ZIP:  # a download: whatever the Accept header says
        return ADMIT_JSON + REFUSE_JSON, []
    return ADMIT_JSON + [TEXT, "text/*"], REFUSE_JSON_OR_TEXT


@pytest.mark.parametrize("route", ROUTES)
def test_route(world, route):
    app, engine, ids = world
    method, path, kwargs = request_of(route, ids)
    serves, first_status = ROUTES[route][3:]
    admitted, refused = _admitted_and_refused(serves)

    for accept in refused:  # first: nothing may have happened
        calls = len(engine.calls)
        response = call(app, method, path, accept, **kwargs)
        assert response.status_int == 406, (accept, response.text)
        expected = " or ".join(serves.split())
        assert fault(response) == (
            f"This route answers {expected} only; the Accept header admits none of them."
        )
        assert len(engine.calls) == calls

    for n, accept in enumerate(admitted):
        response = call(app, method, path, accept, **kwargs)
        if n == 0:
            assert response.status_int == first_status, response.text
        assert response.status_int != 406, (accept, response.text)
        if response.status_int >= 400:
            fault(response)
        elif response.body:
            assert response.content_type == (JSON if serves.startswith(JSON) else serves)


def test_the_log_is_text_to_text_clients(world):
    app, _, ids = world
    for accept in ADMIT_TEXT:
        response = call(app, "GET", f"/v1/executions/{ids['execution']}/log", accept)
        assert response.status_int == 200
        assert response.headers["Content-Type"] == "text/plain; charset=UTF-8"
        assert response.text == LOG


def test_downloads_are_zips_whatever_the_accept(world):
    app, _, ids = world
    for path in (f"/v1/functions/{ids['function']}", f"/v1/functions/{ids['function']}/versions/1"):
        for accept in ADMIT_JSON + REFUSE_JSON:
            response = call(app, "GET", f"{path}?download=true", accept)
            assert response.status_int == 200
            assert response.content_type == ZIP
            assert response.body == PACKAGE
        assert fault(call(app, "GET", f"{path}?download=maybe", TEXT)) == (
            "Invalid boolean for download: 'maybe'."
        )


@pytest.mark.parametrize("accept", [None, "*/*", JSON, TEXT, "text/html", f"{JSON};q=0"])
def test_every_error_keeps_the_one_shape(world, accept):
    app, _, ids = world
    assert fault(call(app, "GET", "/nowhere", accept)) == "Not Found."
    assert fault(call(app, "GET", f"/v1/runtimes/{MISSING}/nowhere", accept)) == "Not Found."
    response = call(app, "PATCH", "/v1/runtimes", accept)
    assert (response.status_int, fault(response)) == (405, "Method Not Allowed.")
    assert response.headers["Allow"] == "DELETE, GET, POST, PUT"
    response = call(app, "GET", f"/v1/webhooks/{ids['webhook']}/invoke", accept)
    assert (response.status_int, fault(response)) == (404, "Not Found.")
    too_large = b"{}" + b" " * CONF.api.max_webhook_body_size
    invoke = f"/v1/webhooks/{ids['webhook']}/invoke"
    response = call(app, "POST", invoke, accept, body=too_large, content_type=JSON)
    assert response.status_int == 413
    fault(response)
    response = call(app, "GET", "/v1/executions/not-a-uuid", accept)
    assert response.status_int in (400, 406)
    fault(response)


@pytest.mark.parametrize(
    ("header", "admitted"),
    [
        (None, [JSON, TEXT]),
        ("", [JSON, TEXT]),
        ("  ", [JSON, TEXT]),
        ("not a media type", [JSON, TEXT]),
        ("*/*", [JSON, TEXT]),
        ("text/*", [TEXT]),
        ("application/*", [JSON]),
        (f"{JSON}; charset=utf-8", [JSON]),
        (f"{JSON};q=0.1, {TEXT};q=0.2", [TEXT, JSON]),
        (f"{JSON};q=0, */*", [TEXT]),
        ("*/*;q=0", []),
        ("text/html", []),
    ],
)
def test_acceptable(header, admitted):
    assert negotiation.acceptable(header, [JSON, TEXT]) == admitted

"""oslo.middleware around the API: ``/healthcheck`` without authentication, and a request
id on every answer, errors included, which is the id of the request's context."""

import json
import re

import pytest
import webob

from qinling_lite import config, storage
from qinling_lite.api import app as api_app
from qinling_lite.rpc import engine_api
from tests import db_backends

CONF = config.CONF
REQUEST_ID = re.compile(r"req-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CALLERS_ID = "req-0f5d2f6a-3c3e-4a8b-9a53-1b2c3d4e5f60"


class ContextRecorder(engine_api.EngineClient):
    """An engine client that keeps the contexts the API sends with its requests."""

    def __init__(self):
        self.contexts = []

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        self.contexts.append(ctxt)

    def _call(self, ctxt, method, timeout, **kwargs):
        self.contexts.append(ctxt)


@pytest.fixture
def engine():
    return ContextRecorder()


@pytest.fixture(params=[False, True], ids=["no-auth", "keystone"])
def app(request, tmp_path, engine, config_fixture):
    """The API, without and with Keystone authentication (no Keystone is reached: no
    request here carries a token)."""
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="api", auth_enable=request.param)
    if request.param:
        config_fixture.config(
            group="keystone_authtoken", www_authenticate_uri="http://keystone.invalid:5000"
        )
    with db_backends.migrated_sqlite(tmp_path):
        yield api_app.setup_app(CONF, engine, storage.load(CONF))


def call(app, method, path, **kwargs):
    return webob.Request.blank(path, method=method, **kwargs).get_response(app)


def request_id(response):
    value = response.headers["X-OpenStack-Request-Id"]
    assert REQUEST_ID.fullmatch(value), value
    return value


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_healthcheck_answers_without_authentication(app, method):
    response = call(app, method, "/healthcheck")
    assert response.status_int == (200 if method == "GET" else 204)
    request_id(response)


def test_healthcheck_shows_no_details_by_default(app):
    response = call(app, "GET", "/healthcheck", headers={"Accept": "application/json"})
    assert response.status_int == 200
    assert response.json == {"detailed": False, "reasons": []}


def test_healthcheck_is_that_path_only(app):
    response = call(app, "GET", "/healthcheck/more")
    assert response.status_int in (401, 404)


def test_every_answer_has_its_own_request_id(app):
    answers = [call(app, "GET", "/") for _ in range(2)]
    assert [a.status_int for a in answers] == [200, 200]
    assert request_id(answers[0]) != request_id(answers[1])


def test_errors_have_a_request_id(app):
    not_found = call(app, "GET", "/nowhere")
    assert not_found.status_int in (401, 404)
    assert not_found.content_type == "application/json"
    request_id(not_found)
    missing = call(app, "GET", "/v1/webhooks/0f5d2f6a-3c3e-4a8b-9a53-1b2c3d4e5f60/invoke")
    assert missing.status_int in (404, 405)
    request_id(missing)


def test_a_refused_caller_gets_a_request_id(app, config_fixture):
    if not CONF.api.auth_enable:
        pytest.skip("without authentication nobody is refused")
    refused = call(app, "GET", "/v1/runtimes")
    assert refused.status_int == 401
    assert "faultstring" in refused.json
    request_id(refused)


def test_the_request_id_is_the_contexts(app, engine):
    if CONF.api.auth_enable:
        pytest.skip("creating a runtime needs a token")
    response = call(
        app,
        "POST",
        "/v1/runtimes",
        body=json.dumps({"image": "python3", "name": "rt"}).encode(),
        content_type="application/json",
        headers={"X-OpenStack-Request-Id": CALLERS_ID},
    )
    assert response.status_int == 201, response.text
    (ctxt,) = engine.contexts
    assert ctxt.request_id == request_id(response) != CALLERS_ID
    assert ctxt.global_request_id == CALLERS_ID  # the caller's own id goes along

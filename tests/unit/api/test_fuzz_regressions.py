"""Bugs Schemathesis found (tests/functional/test_api_fuzz.py), in process against the
real application: each was a 500 or an answer that broke the OpenAPI document."""

import pytest
import webob

from qinling_lite.api import openapi_schemas
from qinling_lite.api import types as api_types
from tests.unit.api.test_negotiation import MISSING, call, fault, world  # noqa: F401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", f"/v1/jobs/{MISSING}"),
        ("DELETE", "/v1/functions/{function}"),
        ("POST", "/v1/functions/{function}/detach"),
        ("POST", "/v1/functions/{function}/versions/1/detach"),
    ],
)
def test_a_form_type_without_its_boundary_is_a_400_without_a_body_too(world, method, path):  # noqa: F811
    """pecan parses form bodies while routing: webob's ValueError was a 500."""
    app, engine, ids = world
    calls = len(engine.calls)
    request = webob.Request.blank(path.format(**ids), method=method)
    request.content_type = "multipart/form-data"
    response = request.get_response(app)
    assert response.status_int == 400
    assert fault(response) == (
        "The form body is malformed: Invalid boundary in multipart form: b''."
    )
    assert len(engine.calls) == calls


@pytest.mark.parametrize("path", ["/v1/functions", "/v1/functions/"])
def test_put_on_the_functions_collection_is_a_400(world, path):  # noqa: F811
    """The plain pecan route had no default for the id: a TypeError, a 500."""
    app, _, _ = world
    response = call(app, "PUT", path, POST={"name": "n"})
    assert response.status_int == 400
    assert fault(response) == 'Missing argument: "id"'


def test_a_list_attribute_may_be_null():
    """A function's ``retry_on`` is null until set: the schema said an array only."""
    schema = openapi_schemas.representation(api_types.Function)
    assert schema["properties"]["retry_on"]["nullable"] is True


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/functions"),
        ("PUT", "/v1/functions/{function}"),
        ("POST", "/v1/webhooks/{webhook}/invoke"),
    ],
)
def test_a_form_part_without_a_name_is_a_400(world, method, path):  # noqa: F811
    """pecan passed the nameless part as a keyword argument None: a TypeError, a 500."""
    app, engine, ids = world
    calls = len(engine.calls)
    request = webob.Request.blank(path.format(**ids), method=method)
    request.content_type = "multipart/form-data; boundary=XX"
    request.body = b"--XX\r\nContent-Disposition: form-data\r\n\r\nabc\r\n--XX--\r\n"
    response = request.get_response(app)
    assert response.status_int == 400
    assert fault(response) == "The form body is malformed: a part has no name."
    assert len(engine.calls) == calls


def test_a_null_image_leaves_a_runtime_as_it_is(world):  # noqa: F811
    """``{"image": null}`` started an update to no image, which the engines failed to
    record (NOT NULL): the runtime stayed ``upgrading``."""
    app, engine, ids = world
    calls = len(engine.calls)
    path = f"/v1/runtimes/{ids['runtime']}"
    response = call(app, "PUT", path, body=b'{"image": null}', content_type="application/json")
    assert response.status_int == 200, response.text
    assert (response.json["image"], response.json["status"]) == ("img", "available")
    assert len(engine.calls) == calls

"""The OpenAPI document (``qinling_lite.api.openapi``) in step with the code and the docs:
the routes of the application, the WSME types, the function form fields, and
doc/source/api-reference.rst; and served at ``GET /v1/openapi.json``."""

import re

import pytest
import schemathesis
import webob
from pecan import rest
from pecan import util as pecan_util
from schemathesis.specs.openapi import definitions
from wsme import types as wtypes

from qinling_lite.api import auth, openapi
from qinling_lite.api import openapi_operations as ops
from qinling_lite.api.controllers import root
from qinling_lite.services import functions as functions_service
from tests.unit.api.test_negotiation import API_REFERENCE, ROUTES, world  # noqa: F401

COLLECTION = {"get_all": "GET", "post": "POST"}
ITEM = {"get_one": "GET", "put": "PUT", "delete": "DELETE"}


def normalized(method, path):
    """``METHOD path`` with every path parameter as ``{}``, no query and no final ``/``."""
    path = re.sub(r"{[^}]*}", "{}", path.split("?", 1)[0]).rstrip("/") or "/"
    return f"{method} {path}"


def _required(method):
    """The number of a controller method's arguments without a default (self aside)."""
    spec = pecan_util._cfg(method)["argspec"]
    return len(spec.args) - 1 - len(spec.defaults or ())


def _collection_method(controller):
    cls = type(controller)
    return next(getattr(cls, n) for n in ("get", *COLLECTION) if hasattr(cls, n))


def _walk(controller, path, depth):
    """``(METHOD, path, method)`` of every route under a RestController at ``path``,
    whose collection routes take ``depth`` path parameters."""
    item = f"{path}/{{}}"
    cls = type(controller)
    if hasattr(cls, "get"):  # the version documents
        yield "GET", path or "/", cls.get
    for name, verb in COLLECTION.items():
        if hasattr(cls, name):
            yield verb, path, getattr(cls, name)
    for name, verb in ITEM.items():
        if hasattr(cls, name):
            yield verb, item, getattr(cls, name)
    for name, verbs in getattr(cls, "_custom_actions", {}).items():
        for verb in verbs:
            yield verb, f"{item}/{name}", getattr(cls, name)
    for name in dir(cls):
        child = getattr(cls, name)
        if isinstance(child, rest.RestController):
            nested = _required(_collection_method(child)) - depth
            assert nested in (0, 1), name
            yield from _walk(child, f"{item if nested else path}/{name}", depth + nested)


def app_routes():
    return list(_walk(root.RootController(), "", 0))


def document_routes():
    return {
        normalized(method.upper(), path)
        for path, operations in openapi.document()["paths"].items()
        for method in operations
    }


def test_the_walk_finds_the_routes_of_the_api_reference():
    found = {normalized(verb, path) for verb, path, _ in app_routes()}
    assert {normalized(*route.split(" ", 1)) for route in ROUTES} == found


def test_every_route_of_the_app_is_in_the_document_and_back():
    assert {normalized(verb, path) for verb, path, _ in app_routes()} == document_routes()


def test_every_operation_is_documented_in_the_api_reference_and_back():
    documented = {
        normalized(method, path)
        for method, path in re.findall(
            r"^``(GET|POST|PUT|DELETE|PATCH) (/\S*)``", API_REFERENCE.read_text(), re.M
        )
    }
    assert documented == document_routes()


def _wsme_types():
    """Every complex type a WSME route answers or takes, and those inside them."""
    found = set()
    pending = []
    for _, _, method in app_routes():
        definition = getattr(method, "_wsme_definition", None)
        if definition is not None:
            pending += [definition.return_type, definition.body_type]
    while pending:
        datatype = pending.pop()
        if isinstance(datatype, wtypes.ArrayType):
            pending.append(datatype.item_type)
        elif wtypes.iscomplex(datatype) and datatype not in found:
            found.add(datatype)
            pending += [attr.datatype for attr in wtypes.list_attributes(datatype)]
    return found


def test_every_wsme_type_of_the_routes_has_its_schema():
    answered = set(openapi.REPRESENTATIONS.values()) | set(openapi.BODIES.values())
    assert _wsme_types() == answered


@pytest.mark.parametrize("name", sorted(openapi.REPRESENTATIONS))
def test_a_representation_has_every_attribute_of_its_type(name):
    schema = openapi.components()[name]
    keys = [attr.key for attr in wtypes.list_attributes(openapi.REPRESENTATIONS[name])]
    assert list(schema["properties"]) == keys
    assert schema["required"] == keys
    assert schema["additionalProperties"] is False


@pytest.mark.parametrize("name", sorted(openapi.BODIES))
def test_a_body_has_every_writable_attribute_of_its_type(name):
    schema = openapi.components()[name]
    attributes = wtypes.list_attributes(openapi.BODIES[name])
    assert list(schema["properties"]) == [a.key for a in attributes if not a.readonly]
    assert schema.get("required", []) == [a.key for a in attributes if a.mandatory]


def test_the_function_forms_have_the_fields_the_service_takes():
    bodies = openapi.document()["paths"]["/v1/functions"]["post"]["requestBody"]["content"]
    assert set(bodies["multipart/form-data"]["schema"]["properties"]) == set(
        functions_service.CREATE_FIELDS
    )
    update = openapi.document()["paths"]["/v1/functions/{function_id}"]["put"]
    fields = update["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    assert set(fields) == set(functions_service.UPDATE_FIELDS)


def test_public_operations_are_the_public_routes():
    for op in ops.OPERATIONS:
        path = re.sub(r"{[^}]*}", "x", op.path)
        assert bool(auth.PUBLIC_ROUTES.match(path)) == op.public, op.path


def test_the_document_is_valid_openapi_3_0():
    definitions.OPENAPI_30_VALIDATOR.validate(openapi.served("http://localhost"))


def test_schemathesis_loads_every_operation():
    schema = schemathesis.openapi.from_dict(openapi.served("http://localhost"))
    loaded = {f"{op.ok().method} {op.ok().path}" for op in schema.get_all_operations()}
    assert len(loaded) == len(ops.OPERATIONS) == len(document_routes())


def test_the_document_is_served(world):  # noqa: F811
    app, _, _ = world
    response = webob.Request.blank("/v1/openapi.json").get_response(app)
    assert response.status_int == 200
    assert response.content_type == "application/json"
    assert response.json == openapi.served("http://localhost")

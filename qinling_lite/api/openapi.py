"""The OpenAPI 3.0 document of the v1 API, served at ``GET /v1/openapi.json``.

Operations are declared in ``openapi_operations``; body schemas are generated from the
WSME types (``openapi_schemas``). tests/unit/api/test_openapi.py keeps the document in
step with the routes of the application and with doc/source/api-reference.rst.
"""

import functools
import re
from typing import Any

from qinling_lite.api import openapi_operations as ops
from qinling_lite.api import openapi_schemas as schemas
from qinling_lite.api import params, types
from qinling_lite.services import functions as functions_service

# Path parameters, by name.
PATH = {
    "name": {"type": "string", "minLength": 1, "maxLength": 255},
    "version_number": {"type": "integer", "minimum": 1, "maximum": params.INT_MAX},
    **{
        name: {"type": "string", "format": "uuid"}
        for name in ("runtime_id", "function_id", "execution_id", "job_id", "webhook_id")
    },
}
BOOLEAN = {"type": "boolean"}
TEXT = {"type": "string"}
# Query parameters, by name.
QUERY = {
    "all_projects": BOOLEAN,
    "project_id": TEXT,
    "download": BOOLEAN,
    "function_version": {"type": "integer", "minimum": 0, "maximum": params.INT_MAX},
    **dict.fromkeys(
        (
            "function_id",
            "status",
            "description",
            "retry_of",
            "dead_letter_of",
            "name",
            "image",
            "runtime_id",
            "function_alias",
        ),
        TEXT,
    ),
}

# Representations: component name -> WSME type (and attributes rendered otherwise).
REPRESENTATIONS = {
    cls.__name__: cls
    for cls in (
        types.APIVersions,
        types.APIVersion,
        types.Link,
        types.V1Root,
        types.Runtime,
        types.Runtimes,
        types.RuntimePool,
        types.Function,
        types.Functions,
        types.FunctionVersion,
        types.FunctionVersions,
        types.FunctionAlias,
        types.FunctionAliases,
        types.Execution,
        types.Executions,
        types.Job,
        types.Jobs,
        types.Worker,
        types.Workers,
        types.Webhook,
        types.Webhooks,
    )
}
# JSON request bodies: component name -> WSME type.
BODIES = {
    "RuntimeBody": types.Runtime,
    "RuntimeUpdateBody": types.RuntimeUpdate,
    "FunctionVersionBody": types.FunctionVersion,
    "FunctionAliasBody": types.FunctionAlias,
    "ExecutionBody": types.Execution,
    "JobBody": types.Job,
    "WebhookBody": types.Webhook,
    "ScaleInfoBody": types.ScaleInfo,
}

# A function's form fields (``functions_service``): text, integers as digits, a ZIP.
_FORM_FIELD = {
    **dict.fromkeys(functions_service.INTEGERS, {"type": "integer"}),
    "package": {"type": "string", "format": "binary"},
}


def _function_form(fields, required=()):
    """Form and JSON bodies of function create and update, with ``fields``."""
    properties = {name: _FORM_FIELD.get(name, TEXT) for name in sorted(fields)}
    form = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        form["required"] = list(required)
    without_file = {**form, "properties": {k: v for k, v in properties.items() if k != "package"}}
    return {
        "multipart/form-data": {"schema": form},
        "application/x-www-form-urlencoded": {"schema": without_file},
        ops.JSON: {"schema": {"type": "object"}},
    }


def _request_bodies():
    """``Operation.body`` -> the OpenAPI request body."""
    bodies = {
        name: {"required": True, "content": {ops.JSON: {"schema": schemas.ref(name)}}}
        for name in BODIES
    }
    text_fields = {"type": "object", "additionalProperties": TEXT}
    return {
        **bodies,
        "FunctionCreateForm": {
            "required": True,
            "content": _function_form(functions_service.CREATE_FIELDS, ["code"]),
        },
        "FunctionUpdateForm": {"content": _function_form(functions_service.UPDATE_FIELDS)},
        "InvocationBody": {
            "content": {
                ops.JSON: {"schema": {"type": "object"}},
                "application/x-www-form-urlencoded": {"schema": text_fields},
                "multipart/form-data": {"schema": text_fields},
            }
        },
    }


def components():
    """The schemas: representations, request bodies, and the other answers."""
    found = {name: schemas.representation(cls) for name, cls in REPRESENTATIONS.items()}
    found["FunctionShown"] = schemas.representation(
        types.Function, code={"type": "object", "nullable": True}
    )
    found.update((name, schemas.body(cls)) for name, cls in BODIES.items())
    return {
        **found,
        "Error": schemas.ERROR,
        "OpenAPI": {"type": "object", "required": ["openapi", "paths"]},
        "Log": TEXT,
        "Invoked": {
            "type": "object",
            "required": ["execution_id"],
            "properties": {"execution_id": {"type": "string", "format": "uuid"}},
            "additionalProperties": False,
        },
        "Package": {"type": "string", "format": "binary"},
    }


def _answer(status, schema, media):
    if schema is None:
        return {"description": f"{status}: no body."}
    content = {}
    for media_type in media:
        name = "Package" if media_type == ops.ZIP else schema
        content[media_type] = {"schema": schemas.ref(name)}
    return {"description": f"{status}.", "content": content}


def _responses(op):
    responses = {str(op.status): _answer(op.status, op.schema, op.media)}
    if op.output:
        output = {ops.JSON: {"schema": {}}, ops.TEXT: {"schema": TEXT}}
        responses["200"] = {"description": "200: the function's output.", "content": output}
    for status in op.errors:
        responses[str(status)] = {
            "description": f"{status}: an error.",
            "content": {ops.JSON: {"schema": schemas.ref("Error")}},
        }
    return dict(sorted(responses.items()))


def _parameters(op):
    path = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": op.path_schemas.get(name, PATH[name]),
        }
        for name in re.findall(r"{(\w+)}", op.path)
    ]
    return path + [{"name": name, "in": "query", "schema": QUERY[name]} for name in op.query]


def _operation(op, bodies):
    operation = {
        "operationId": f"{op.method.lower()}{re.sub(r'[^a-z0-9_]+', '_', op.path)}".rstrip("_"),
        "summary": op.summary,
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.body:
        operation["requestBody"] = bodies[op.body]
    if op.public:
        operation["security"] = []
    return operation


@functools.cache
def document() -> dict[str, Any]:
    """The document, without ``servers`` (see ``served``). Not to be modified."""
    bodies = _request_bodies()
    paths: dict[str, dict[str, Any]] = {}
    for op in ops.OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, bodies)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "qinling-lite v1 API",
            "version": "1.0",
            "description": "OpenStack Qinling's v1 API, as qinling-lite implements it "
            "(doc/source/api-reference.rst).",
        },
        "paths": paths,
        "components": {
            "schemas": components(),
            "securitySchemes": {
                "keystone": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}
            },
        },
        "security": [{"keystone": []}],
    }


def served(application_url: str) -> dict[str, Any]:
    """The document as served: ``application_url`` is its server."""
    return {**document(), "servers": [{"url": application_url}]}

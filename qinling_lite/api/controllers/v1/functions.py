"""``/v1/functions``: create (multipart), show, download, list, update, delete."""

import pecan
from pecan import rest
from webob import compat as webob_compat
from wsme import types as wtypes

from qinling_lite import exceptions, function_code
from qinling_lite.api import (
    caller_swift,
    decoding,
    downloads,
    errors,
    function_trusts,
    negotiation,
    params,
    policy,
    types,
)
from qinling_lite.api.controllers.v1 import function_versions, function_workers
from qinling_lite.db import functions as functions_db
from qinling_lite.services import functions as functions_service
from qinling_lite.services import validation
from qinling_lite.storage import swift as swift_storage


def _fields(request):
    """Query string plus form fields or the keys of a JSON object body, for the service.

    Integers given as text (query string, form fields) are read as ASCII decimal digits;
    a multipart file part is handed on as its file.
    """
    text = dict(request.GET)
    json_body = request.content_type == "application/json"
    if not json_body:
        text.update(request.POST)
    fields = {k: _text_field(k, v) for k, v in text.items()}
    if json_body:
        fields.update(decoding.json_object(request))
    return fields


def _text_field(name, value):
    if isinstance(value, webob_compat.cgi_FieldStorage):
        return value.file
    return params.text_int(value) if name in functions_service.INTEGERS else value


class FunctionsController(rest.RestController):
    versions = function_versions.FunctionVersionsController()
    workers = function_workers.WorkersController()
    _custom_actions = {"detach": ["POST"], "scale_up": ["POST"], "scale_down": ["POST"]}

    @errors.wsexpose(None, types.UUID, status_code=202)
    def detach(self, id):
        function_workers.detach(id, 0)

    @errors.wsexpose(None, types.UUID, body=types.ScaleInfo, status_code=202)
    def scale_up(self, id, scale):
        function_workers.scale_up(id, 0, scale.count)

    @errors.wsexpose(None, types.UUID, body=types.ScaleInfo, status_code=202)
    def scale_down(self, id, scale):
        function_workers.scale_down(id, 0, scale.count)

    @pecan.expose("json")
    def post(self, **kwargs):
        request = pecan.request
        policy.enforce(request.context, "function:create")
        function = functions_service.create(
            request.context,
            request.conf,
            request.storage,
            function_trusts.of_request(request),
            _fields(request),
            caller_swift.of_request(request),
        )
        pecan.response.status = 201
        return types.function_view(function)

    @errors.wsexpose(types.Functions, *[wtypes.text] * 4)
    def get_all(self, all_projects=None, project_id=None, name=None, runtime_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "function", all_projects, project_id
        )
        filters.update(params.filters(name=name, runtime_id=runtime_id))
        functions = functions_db.list_all(project, filters)
        return types.Functions(functions=[types.Function.from_db(f) for f in functions])

    @negotiation.any_accept_if(negotiation.download_asked)
    @pecan.expose("json")
    def get_one(self, id, **kwargs):
        ctx = pecan.request.context
        function = policy.authorize(
            ctx, "function:get", functions_db.get(validation.uuid(id), ctx.scope)
        )
        if params.boolean(kwargs.get("download"), "download"):
            if function.code["source"] == function_code.SWIFT:
                where = swift_storage.recorded(function.code)
                return downloads.swift_object(
                    caller_swift.of_request(pecan.request), where, function.id
                )
            md5 = functions_service.package_md5(function)
            return downloads.package(function.project_id, function.id, md5)
        return types.function_view(function)

    @pecan.expose("json")
    def put(self, id=None, **kwargs):
        if id is None:  # ``PUT /v1/functions``: as the WSME routes answer it
            raise exceptions.InputError('Missing argument: "id"')
        request = pecan.request
        ctx = request.context
        function = policy.authorize(
            ctx, "function:update", functions_db.get(validation.uuid(id), ctx.scope)
        )
        updated = functions_service.update(
            ctx,
            request.conf,
            request.storage,
            request.engine,
            function,
            _fields(request),
            caller_swift.of_request(request),
        )
        return types.function_view(updated)

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        request = pecan.request
        ctx = request.context
        policy.authorize(ctx, "function:delete", functions_db.get(id, ctx.scope))
        functions_service.delete(
            ctx, request.storage, request.engine, function_trusts.of_request(request), id
        )

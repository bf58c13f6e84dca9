"""``/v1/functions/{id}/versions``: numbered snapshots of a function's package."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite.api import caller_swift, downloads, errors, negotiation, params, policy, types
from qinling_lite.api.controllers.v1 import function_workers
from qinling_lite.db import functions as functions_db
from qinling_lite.db import versions as versions_db
from qinling_lite.services import validation
from qinling_lite.services import versions as versions_service


class FunctionVersionsController(rest.RestController):
    _custom_actions = {"detach": ["POST"], "scale_up": ["POST"], "scale_down": ["POST"]}

    @errors.wsexpose(None, types.UUID, wtypes.text, status_code=202)
    def detach(self, function_id, number):
        function_workers.detach(function_id, params.version_number(number, minimum=0))

    @errors.wsexpose(None, types.UUID, wtypes.text, body=types.ScaleInfo, status_code=202)
    def scale_up(self, function_id, number, scale):
        function_workers.scale_up(
            function_id, params.version_number(number, minimum=0), scale.count
        )

    @errors.wsexpose(None, types.UUID, wtypes.text, body=types.ScaleInfo, status_code=202)
    def scale_down(self, function_id, number, scale):
        function_workers.scale_down(
            function_id, params.version_number(number, minimum=0), scale.count
        )

    @errors.wsexpose(types.FunctionVersion, types.UUID, body=types.FunctionVersion, status_code=201)
    def post(self, function_id, body):
        request = pecan.request
        ctx = request.context
        function = policy.authorize(
            ctx, "function_version:create", functions_db.get(function_id, ctx.scope)
        )
        version = versions_service.create(
            request.conf,
            request.storage,
            function,
            body.to_values().get("description"),
            caller_swift.of_request(request),
        )
        return types.FunctionVersion.from_db(version)

    @errors.wsexpose(types.FunctionVersions, types.UUID)
    def get_all(self, function_id):
        ctx = pecan.request.context
        function = policy.authorize(
            ctx, "function_version:get_all", functions_db.get(function_id, ctx.scope)
        )
        versions = versions_db.list_all(function.id, function.project_id)
        return types.FunctionVersions(
            function_versions=[types.FunctionVersion.from_db(v) for v in versions]
        )

    @negotiation.any_accept_if(negotiation.download_asked)
    @pecan.expose("json")
    def get_one(self, function_id, number, **kwargs):
        ctx = pecan.request.context
        version = versions_db.get(
            validation.uuid(function_id, "function_id"), params.version_number(number), ctx.scope
        )
        policy.authorize(ctx, "function_version:get", version)
        if params.boolean(kwargs.get("download"), "download"):
            return downloads.package(
                version.project_id, version.function_id, version.package_md5, version.version_number
            )
        return types.plain_view(types.FunctionVersion, version)

    @errors.wsexpose(None, types.UUID, wtypes.text, status_code=204)
    def delete(self, function_id, number):
        request = pecan.request
        ctx = request.context
        number = params.version_number(number)
        version = versions_db.get(function_id, number, ctx.scope)
        policy.authorize(ctx, "function_version:delete", version)
        versions_service.delete(ctx, request.storage, request.engine, function_id, number)

"""``/v1/aliases``: a project's names for function versions, addressed by name."""

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite.api import errors, params, policy, types
from qinling_lite.db import aliases as aliases_db
from qinling_lite.services import aliases as aliases_service

# Names in paths: any an alias may have (names made before
# ``services.aliases.NEW_NAME`` stay reachable).
NAME = wtypes.StringType(min_length=1, max_length=255)


def _authorizer(ctx, rule):
    """The check of ``rule`` on the function an alias is to name."""
    return lambda target: policy.authorize(ctx, rule, target)


class AliasesController(rest.RestController):
    @errors.wsexpose(types.FunctionAlias, body=types.FunctionAlias, status_code=201)
    def post(self, body):
        ctx = pecan.request.context
        alias = aliases_service.create(
            ctx, body.to_values(), _authorizer(ctx, "function_alias:create")
        )
        return types.FunctionAlias.from_db(alias)

    @errors.wsexpose(types.FunctionAliases, *[wtypes.text] * 4)
    def get_all(self, all_projects=None, project_id=None, name=None, function_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "function_alias", all_projects, project_id
        )
        filters.update(params.filters(name=name, function_id=function_id))
        aliases = aliases_db.list_all(project, filters)
        return types.FunctionAliases(
            function_aliases=[types.FunctionAlias.from_db(a) for a in aliases]
        )

    @errors.wsexpose(types.FunctionAlias, NAME)
    def get_one(self, name):
        ctx = pecan.request.context
        alias = policy.authorize(ctx, "function_alias:get", aliases_db.get(name, ctx.project_id))
        return types.FunctionAlias.from_db(alias)

    @errors.wsexpose(types.FunctionAlias, NAME, body=types.FunctionAlias)
    def put(self, name, body):
        ctx = pecan.request.context
        alias = policy.authorize(ctx, "function_alias:update", aliases_db.get(name, ctx.project_id))
        updated = aliases_service.update(
            ctx, alias, body.to_values(), _authorizer(ctx, "function_alias:update")
        )
        return types.FunctionAlias.from_db(updated)

    @errors.wsexpose(None, NAME, status_code=204)
    def delete(self, name):
        ctx = pecan.request.context
        policy.authorize(ctx, "function_alias:delete", aliases_db.get(name, ctx.project_id))
        aliases_service.delete(ctx, name)

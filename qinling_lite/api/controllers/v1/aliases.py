"""``/v1/aliases``: a project's names for function versions, addressed by name."""

import re

import pecan
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions
from qinling_lite.api import errors, params, policy, types
from qinling_lite.api.controllers.v1 import executions
from qinling_lite.db import aliases as aliases_db

# Names in paths: any an alias may have (names made before NEW_NAME stay reachable).
NAME = wtypes.StringType(min_length=1, max_length=255)
# What a new alias may be named: RFC 3986 unreserved characters, so that the name is one
# path segment as it is (no "/", no percent-encoding), and not a dot segment.
NEW_NAME = re.compile(r"[A-Za-z0-9._~-]{1,255}")


def _checked(ctx, values, rule):
    """``values`` with a function id and version that exist and ``ctx`` may do ``rule``
    on (Qinling checked neither)."""
    target, version = executions.resolve_target(ctx, {**values, "function_alias": None}, rule)
    return {**values, "function_version": version, "project_id": target.project_id}


class AliasesController(rest.RestController):
    @errors.wsexpose(types.FunctionAlias, body=types.FunctionAlias, status_code=201)
    def post(self, body):
        values = body.to_values()
        if not values.get("name") or not values.get("function_id"):
            raise exceptions.InputError(
                "Required param is missing. Required: {'name', 'function_id'}"
            )
        if not NEW_NAME.fullmatch(values["name"]) or values["name"] in (".", ".."):
            raise exceptions.InputError(
                "An alias name is 1 to 255 of the characters A-Z, a-z, 0-9, '.', '_', '~' "
                "and '-', and not '.' or '..'."
            )
        alias = aliases_db.create(_checked(pecan.request.context, values, "function_alias:create"))
        return types.FunctionAlias.from_db(alias)

    @errors.wsexpose(types.FunctionAliases, wtypes.text, wtypes.text)
    def get_all(self, all_projects=None, project_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "function_alias", all_projects, project_id
        )
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
        changes = {k: v for k, v in body.to_values().items() if v is not None}
        if changes.pop("name", name) != name:
            raise exceptions.InputError("The name of an alias cannot change.")
        merged = {
            "function_id": alias.function_id,
            "function_version": alias.function_version,
            "description": alias.description,
            **changes,
        }
        checked = _checked(ctx, merged, "function_alias:update")
        checked.pop("project_id")
        return types.FunctionAlias.from_db(aliases_db.update(name, checked, ctx.project_id))

    @errors.wsexpose(None, NAME, status_code=204)
    def delete(self, name):
        ctx = pecan.request.context
        policy.authorize(ctx, "function_alias:delete", aliases_db.get(name, ctx.project_id))
        aliases_db.delete(name, ctx.project_id)

"""Function aliases: a project's names for function versions.

``authorize(target)`` is the caller's policy check on the function an alias is to name
(its ``project_id``); it raises to refuse.
"""

import re
from collections.abc import Mapping
from typing import Any

from qinling_lite import context, exceptions
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import executions as executions_db
from qinling_lite.db import models
from qinling_lite.services import executions as executions_service

# What a new alias may be named: RFC 3986 unreserved characters, so that the name is one
# path segment as it is (no "/", no percent-encoding), and not a dot segment.
NEW_NAME = re.compile(r"[A-Za-z0-9._~-]{1,255}")


def create(
    ctx: context.RequestContext, values: Mapping[str, Any], authorize: executions_service.Authorize
) -> models.FunctionAlias:
    """A new alias, in the project of the function it names."""
    if not values.get("name") or not values.get("function_id"):
        raise exceptions.InputError("Required param is missing. Required: {'name', 'function_id'}")
    if not NEW_NAME.fullmatch(values["name"]) or values["name"] in (".", ".."):
        raise exceptions.InputError(
            "An alias name is 1 to 255 of the characters A-Z, a-z, 0-9, '.', '_', '~' "
            "and '-', and not '.' or '..'."
        )
    return aliases_db.create(_checked(ctx, values, authorize))


def update(
    ctx: context.RequestContext,
    alias: models.FunctionAlias,
    changes: Mapping[str, Any],
    authorize: executions_service.Authorize,
) -> models.FunctionAlias:
    """Point the alias elsewhere or describe it anew; its name cannot change."""
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes.pop("name", alias.name) != alias.name:
        raise exceptions.InputError("The name of an alias cannot change.")
    merged = {
        "function_id": alias.function_id,
        "function_version": alias.function_version,
        "description": alias.description,
        **changes,
    }
    checked = _checked(ctx, merged, authorize)
    checked.pop("project_id")
    return aliases_db.update(alias.name, checked, ctx.project_id)


def delete(ctx: context.RequestContext, name: str) -> None:
    """Delete the caller's alias ``name``, unless a webhook or unfinished job uses it."""
    aliases_db.delete(name, ctx.project_id)


def _checked(
    ctx: context.RequestContext, values: Mapping[str, Any], authorize: executions_service.Authorize
) -> dict[str, Any]:
    """``values`` with a function id and version that exist and the caller may name
    (Qinling checked neither), and the function's project."""
    version = values.get("function_version") or 0
    target = executions_db.get_target(values["function_id"], ctx.scope, version)
    authorize(target)
    return {**values, "function_version": version, "project_id": target.project_id}

"""Webhooks: their rows, the target an invocation runs, and the invocation rate count.

``project_id=None`` means unscoped (an admin asking for every project).
"""

from collections.abc import Mapping
from typing import Any, NamedTuple

import sqlalchemy as sa

from qinling_lite import exceptions
from qinling_lite.db import crud, models
from qinling_lite.db import executions as executions_db
from qinling_lite.db import session as db_session

_W = models.Base.metadata.tables["webhooks"]
_A = models.Base.metadata.tables["function_aliases"]
_F = models.Base.metadata.tables["functions"]
_R = models.Base.metadata.tables["runtimes"]


def create(values: Mapping[str, Any]) -> models.Webhook:
    return crud.create(models.Webhook, values)


def get(id: str, project_id: str | None = None) -> models.Webhook:
    return crud.get(models.Webhook, id, project_id, "Webhook")


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.Webhook]:
    return crud.list_all(models.Webhook, project_id, filters)


def update(id: str, values: Mapping[str, Any], project_id: str | None = None) -> models.Webhook:
    return crud.update(models.Webhook, id, values, project_id, "Webhook")


def delete(id: str, project_id: str | None = None) -> None:
    crud.delete(models.Webhook, id, project_id, "Webhook")


class WebhookTarget(NamedTuple):
    """What invoking a webhook needs: how it authenticates, its rate limit, whether the
    invocation waits for the function, how the body becomes the input (its template,
    None: as it is) and the function version it runs (an alias already resolved)."""

    webhook_id: str
    auth: str
    secret: str | None
    rate_limit: int | None
    sync: bool
    input_template: dict[str, str] | None
    function_alias: str | None
    function_version: int
    function: executions_db.ExecutionTarget


# Built once: constructing and keying a statement costs more than running it. The
# alias is resolved at invoke time: the webhook's own version, else its alias's.
_ALIAS_JOIN = sa.and_(_A.c.name == _W.c.function_alias, _A.c.project_id == _W.c.project_id)
_TARGET_QUERY = (
    sa.select(
        *executions_db.TARGET_COLUMNS,
        _W.c.id.label("webhook_id"),
        _W.c.auth,
        _W.c.secret,
        _W.c.rate_limit,
        _W.c.sync,
        _W.c.input_template,
        _W.c.function_alias,
        sa.func.coalesce(_W.c.function_version, _A.c.function_version, 0).label("function_version"),
    )
    .select_from(
        _W.outerjoin(_A, _ALIAS_JOIN)
        .join(_F, _F.c.id == sa.func.coalesce(_W.c.function_id, _A.c.function_id))
        .outerjoin(_R, _R.c.id == _F.c.runtime_id)
    )
    .where(_W.c.id == sa.bindparam("webhook_id"))
)


def get_target(id: str) -> WebhookTarget:
    """The webhook's target, unscoped: invoking needs no token. An alias is resolved
    now, at invoke time; NotFound if the webhook, its alias or its function is gone."""
    with db_session.read_connection() as connection:
        row = connection.execute(_TARGET_QUERY, {"webhook_id": id}).first()
    if row is None:
        raise exceptions.NotFound("Webhook", id=id)
    values = row._mapping
    return WebhookTarget(
        webhook_id=values["webhook_id"],
        auth=values["auth"],
        secret=values["secret"],
        rate_limit=values["rate_limit"],
        sync=values["sync"],
        input_template=values["input_template"],
        function_alias=values["function_alias"],
        function_version=values["function_version"],
        function=executions_db.target_of(values),
    )


def count_invocation(id: str, limit: int, window: int) -> bool:
    """Count an invocation of the webhook in ``window`` (a minute number); False, and
    nothing counted, if the window already had ``limit``. One statement: atomic across
    API processes."""
    counts_here = _W.c.rate_window == window
    statement = (
        sa.update(_W)
        .where(
            _W.c.id == id, sa.or_(~counts_here, _W.c.rate_window.is_(None), _W.c.rate_count < limit)
        )
        # MySQL assigns left to right: the count must be computed from the old window.
        .ordered_values(
            (_W.c.rate_count, sa.case((counts_here, _W.c.rate_count + 1), else_=1)),
            (_W.c.rate_window, window),
        )
    )
    with db_session.write_connection() as connection:
        return connection.execute(statement).rowcount == 1

"""The functions repository.

``project_id=None`` means unscoped (an admin asking for every project); any other
value limits reads and writes to that project.
"""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from qinling_lite import exceptions, status
from qinling_lite.db import crud, models
from qinling_lite.db import session as db_session

# A job that may still start executions.
UNFINISHED_JOB = models.Job.status.in_([status.RUNNING, status.PAUSED])


def create(values: Mapping[str, Any]) -> models.Function:
    return crud.create(models.Function, values)


def get(id: str, project_id: str | None = None) -> models.Function:
    return crud.get(models.Function, id, project_id, "Function")


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.Function]:
    return crud.list_all(models.Function, project_id, filters)


def update(id: str, values: Mapping[str, Any], project_id: str | None = None) -> models.Function:
    return crud.update(models.Function, id, values, project_id, "Function")


def replace_code(id: str, expected: Mapping[str, Any], code: Mapping[str, Any]) -> bool:
    """Set the function's ``code`` if it is still ``expected``; whether it was."""
    with db_session.writer() as session:
        function = session.scalars(
            sa.select(models.Function)
            .where(models.Function.id == id)
            .with_for_update(of=models.Function)
        ).first()
        if function is None or function.code != expected:
            return False
        function.code = dict(code)
        return True


def refuse_if_used(session: orm.Session, function_id: str, version: int | None = None) -> None:
    """NotAllowed while a webhook, an alias or an unfinished job points at the function
    (or at that version of it), or, for the function itself, while it is another
    function's dead-letter function."""
    users = (
        (models.Webhook, "webhook(s)", None),
        (models.FunctionAlias, "alias(es)", None),
        (models.Job, "running job(s)", UNFINISHED_JOB),
    )
    target = f"Function {function_id}" + (f" version {version}" if version else "")
    for model, what, condition in users:
        query = sa.select(sa.func.count()).where(model.function_id == function_id)
        if version is not None:
            query = query.where(model.function_version == version)
        if condition is not None:
            query = query.where(condition)
        if session.scalar(query):
            raise exceptions.NotAllowed(f"{target} is still associated with {what}.")
    if version is None:
        senders = session.scalars(
            sa.select(models.Function.id)
            .where(models.Function.dead_letter_function_id == function_id)
            .order_by(models.Function.id)
            .limit(3)
        ).all()
        if senders:
            raise exceptions.NotAllowed(
                f"{target} is still the dead-letter function of function(s) {', '.join(senders)}."
            )


def delete(id: str, project_id: str | None = None) -> models.Function:
    """Delete a function nothing points at (its versions go with it); return it."""
    with db_session.writer() as session:
        function = crud.one(session, models.Function, id, project_id, "Function")
        refuse_if_used(session, id)
        session.delete(function)
    return function

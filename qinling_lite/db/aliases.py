"""The function aliases repository: a project's names for function versions.

Aliases are addressed by name within a project; ``project_id=None`` means unscoped.
"""

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from qinling_lite import exceptions
from qinling_lite.db import crud, models
from qinling_lite.db import functions as functions_db
from qinling_lite.db import session as db_session


def create(values: Mapping[str, Any]) -> models.FunctionAlias:
    return crud.create(models.FunctionAlias, values)


def _one(session: orm.Session, name: str, project_id: str | None) -> models.FunctionAlias:
    query = crud.scoped(sa.select(models.FunctionAlias), models.FunctionAlias, project_id)
    alias = session.scalars(query.where(models.FunctionAlias.name == name)).first()
    if alias is None:
        raise exceptions.NotFound("FunctionAlias", name=name)
    return alias


def get(name: str, project_id: str | None = None) -> models.FunctionAlias:
    with db_session.reader() as session:
        return _one(session, name, project_id)


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.FunctionAlias]:
    return crud.list_all(models.FunctionAlias, project_id, filters)


def update(
    name: str, values: Mapping[str, Any], project_id: str | None = None
) -> models.FunctionAlias:
    with db_session.writer() as session:
        alias = _one(session, name, project_id)
        alias.update(values)
    return alias


def delete(name: str, project_id: str | None = None) -> None:
    """Delete an alias no webhook or unfinished job uses."""
    with db_session.writer() as session:
        alias = _one(session, name, project_id)
        for model, what, condition in (
            (models.Webhook, "webhook(s)", sa.true()),
            (models.Job, "running job(s)", functions_db.UNFINISHED_JOB),
        ):
            used = session.scalar(
                sa.select(sa.func.count()).where(
                    model.function_alias == name, model.project_id == alias.project_id, condition
                )
            )
            if used:
                raise exceptions.NotAllowed(f"Alias {name} is still associated with {what}.")
        session.delete(alias)

"""The runtimes repository: worker images, public or a project's own.

``project_id=None`` means unscoped; any other value shows public runtimes and the
project's own.
"""

import datetime
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils

from qinling_lite import exceptions, status
from qinling_lite.db import crud, models
from qinling_lite.db import session as db_session


def _visible(project_id: str | None) -> sa.ColumnElement[bool] | None:
    if project_id is None:
        return None
    return sa.or_(models.Runtime.is_public.is_(True), models.Runtime.project_id == project_id)


def create(values: Mapping[str, Any]) -> models.Runtime:
    return crud.create(models.Runtime, values)


def get(id: str, project_id: str | None = None) -> models.Runtime:
    """A runtime that is public or the project's own."""
    query = sa.select(models.Runtime).where(models.Runtime.id == id)
    visible = _visible(project_id)
    if visible is not None:
        query = query.where(visible)
    with db_session.reader() as session:
        runtime = session.scalars(query).first()
    if runtime is None:
        raise exceptions.NotFound("Runtime", id=id)
    return runtime


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.Runtime]:
    return crud.list_all(models.Runtime, None, filters, extra=_visible(project_id))


def update(id: str, values: Mapping[str, Any]) -> models.Runtime:
    return crud.update(models.Runtime, id, values, None, "Runtime")


def update_status(id: str, new_status: str, reason: str | None = None, **values: Any) -> None:
    """Record the engine's verdict on a runtime; a vanished runtime is ignored."""
    with db_session.writer() as session:
        session.execute(
            sa.update(models.Runtime)
            .where(models.Runtime.id == id)
            .values(
                status=new_status, status_reason=reason, updated_at=timeutils.utcnow(), **values
            )
        )


def list_with_status(
    statuses: Iterable[str], before: datetime.datetime | None = None
) -> list[models.Runtime]:
    """Runtimes in one of ``statuses`` (created before ``before``, if given)."""
    condition: sa.ColumnElement[bool] = models.Runtime.status.in_(statuses)
    if before is not None:
        condition = sa.and_(condition, models.Runtime.created_at < before)
    return crud.list_all(models.Runtime, None, extra=condition)


def mark_deleting(id: str) -> models.Runtime:
    """Refuse while any function (of any project) uses the runtime, else set ``deleting``."""
    with db_session.writer() as session:
        runtime = crud.one(session, models.Runtime, id, None, "Runtime")
        in_use = session.scalar(sa.select(sa.func.count()).where(models.Function.runtime_id == id))
        if in_use:
            raise exceptions.NotAllowed(f"Runtime {id} is still in use.")
        runtime.status = status.DELETING
    return runtime


def delete(id: str) -> None:
    with db_session.writer() as session:
        session.execute(sa.delete(models.Runtime).where(models.Runtime.id == id))

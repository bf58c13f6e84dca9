"""Create, read, update and list any model, scoped to a project.

``project_id=None`` means unscoped (an admin asking for every project); any other
value limits reads and writes to that project.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from oslo_db import exception as db_exc
from sqlalchemy import orm

from qinling_lite import exceptions
from qinling_lite.db import filters as db_filters
from qinling_lite.db import models
from qinling_lite.db import session as db_session

M = TypeVar("M", bound=models.Base)
S = TypeVar("S", bound=sa.Select[Any])


def scoped(query: S, model: type[models.Base], project_id: str | None) -> S:
    """``query`` limited to ``project_id`` unless that is None."""
    return query if project_id is None else query.where(model.project_id == project_id)


def one(session: orm.Session, model: type[M], id: str, project_id: str | None, resource: str) -> M:
    """The ``model`` row ``id`` in the project; NotFound names it ``resource``."""
    obj = session.scalars(scoped(sa.select(model).where(model.id == id), model, project_id)).first()
    if obj is None:
        raise exceptions.NotFound(resource, id=id)
    return obj


def get(model: type[M], id: str, project_id: str | None, resource: str) -> M:
    with db_session.reader() as session:
        return one(session, model, id, project_id, resource)


def list_all(
    model: type[M],
    project_id: str | None,
    filters: Mapping[str, str] | None = None,
    extra: sa.ColumnElement[bool] | None = None,
) -> list[M]:
    """Rows of the project matching Qinling-style ``filters`` and the ``extra``
    condition, oldest first."""
    query = scoped(sa.select(model), model, project_id)
    if extra is not None:
        query = query.where(extra)
    query = db_filters.apply(query, model, filters or {})
    with db_session.reader() as session:
        return list(session.scalars(query.order_by(model.created_at, model.id)))


def create(model: type[M], values: Mapping[str, Any]) -> M:
    """Insert a row; a duplicate is a Conflict, a dangling reference bad input."""
    obj = model(**values)
    try:
        with db_session.writer() as session:
            session.add(obj)
    except db_exc.DBDuplicateEntry as e:
        raise exceptions.Conflict(f"{model.__name__} already exists: {e.columns}") from e
    except db_exc.DBReferenceError as e:
        raise exceptions.InputError(f"Referenced {e.key} does not exist.") from e
    return obj


def update(
    model: type[M], id: str, values: Mapping[str, Any], project_id: str | None, resource: str
) -> M:
    with db_session.writer() as session:
        obj = one(session, model, id, project_id, resource)
        obj.update(values)
    return obj


def delete(model: type[M], id: str, project_id: str | None, resource: str) -> M:
    """Delete the row; return it (detached)."""
    with db_session.writer() as session:
        obj = one(session, model, id, project_id, resource)
        session.delete(obj)
    return obj

"""The function versions repository: numbered snapshots of a function's package.

``project_id=None`` means unscoped; any other value limits reads and writes to that
project.
"""

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy import orm

from qinling_lite import exceptions, function_code
from qinling_lite.db import crud, models
from qinling_lite.db import functions as functions_db
from qinling_lite.db import session as db_session

_V = models.FunctionVersion


def create(
    function_id: str,
    project_id: str | None,
    description: str | None,
    max_versions: int,
    snapshot: Callable[[int, str], None],
) -> models.FunctionVersion:
    """Number the function's current package as its next version.

    ``snapshot(version_number, md5)`` copies the package; it runs inside the
    transaction, so a failed copy records nothing. Refused for a function that has no
    package (an image function), that has ``max_versions`` versions or whose package
    has not changed since the latest one.
    """
    with db_session.writer() as session:
        function = session.scalars(
            crud.scoped(sa.select(models.Function), models.Function, project_id)
            .where(models.Function.id == function_id)
            .with_for_update(of=models.Function)  # not the joined runtime (PostgreSQL)
        ).first()
        if function is None:
            raise exceptions.NotFound("Function", id=function_id)
        if function.code.get("source") not in (function_code.PACKAGE, function_code.SWIFT):
            raise exceptions.NotAllowed(
                "Function versioning only allowed for package type function."
            )
        versions = session.scalars(
            sa.select(_V).where(_V.function_id == function_id).order_by(_V.version_number)
        ).all()
        md5 = function.code["md5sum"]
        if versions and versions[-1].package_md5 == md5:
            raise exceptions.NotAllowed(
                f"Function package not changed since the latest version "
                f"{versions[-1].version_number}."
            )
        if len(versions) >= max_versions:
            raise exceptions.NotAllowed(
                f"Can not exceed maximum number({max_versions}) of versions"
            )
        number = function.latest_version + 1
        version = _V(
            function_id=function_id,
            project_id=function.project_id,
            version_number=number,
            description=description,
            package_md5=md5,
        )
        session.add(version)
        function.latest_version = number
        snapshot(number, md5)
    return version


def _one(
    session: orm.Session, function_id: str, number: int, project_id: str | None
) -> models.FunctionVersion:
    version = session.scalars(
        crud.scoped(sa.select(_V), _V, project_id).where(
            _V.function_id == function_id, _V.version_number == number
        )
    ).first()
    if version is None:
        raise exceptions.NotFound("FunctionVersion", function_id=function_id, version_number=number)
    return version


def get(function_id: str, number: int, project_id: str | None = None) -> models.FunctionVersion:
    with db_session.reader() as session:
        return _one(session, function_id, number, project_id)


def list_all(function_id: str, project_id: str | None = None) -> list[models.FunctionVersion]:
    """The function's versions, by number; NotFound if the function is not there."""
    functions_db.get(function_id, project_id)
    query = (
        crud.scoped(sa.select(_V), _V, project_id)
        .where(_V.function_id == function_id)
        .order_by(_V.version_number)
    )
    with db_session.reader() as session:
        return list(session.scalars(query))


def delete(function_id: str, number: int, project_id: str | None = None) -> models.FunctionVersion:
    """Delete a version nothing uses; the function's latest version becomes the highest
    left. Return the deleted version."""
    with db_session.writer() as session:
        version = _one(session, function_id, number, project_id)
        functions_db.refuse_if_used(session, function_id, number)
        session.delete(version)
        session.flush()
        latest = session.scalar(
            sa.select(sa.func.max(_V.version_number)).where(_V.function_id == function_id)
        )
        session.execute(
            sa.update(models.Function)
            .where(models.Function.id == function_id)
            .values(latest_version=latest or 0)
        )
    return version

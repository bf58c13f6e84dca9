"""Executions: recording them, the claim that gives each to one engine, and its outcome.

The hot path (target, create, claim, renew, release, finish) runs SQLAlchemy Core
statements on plain connections; its projections are the NamedTuples defined here.
``project_id=None`` means unscoped (an admin asking for every project).
"""

import datetime
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from oslo_utils import timeutils, uuidutils

from qinling_lite import exceptions, status
from qinling_lite.db import crud, models
from qinling_lite.db import session as db_session

_E = models.Base.metadata.tables["executions"]
_F = models.Base.metadata.tables["functions"]
_R = models.Base.metadata.tables["runtimes"]
_V = models.Base.metadata.tables["function_versions"]


class ExecutionTarget(NamedTuple):
    """The function an execution is for, as starting one needs it."""

    function_id: str
    project_id: str
    timeout: int
    runtime_id: str | None
    runtime_status: str | None  # None: the function has no runtime (an image function)


# The columns of an ExecutionTarget, for queries that join a function and its runtime.
TARGET_COLUMNS = (
    _F.c.id.label("function_id"),
    _F.c.project_id,
    _F.c.timeout,
    _F.c.runtime_id,
    _R.c.status.label("runtime_status"),
)


def target_of(row: Mapping[str, Any]) -> ExecutionTarget:
    """The ExecutionTarget in a row selected with TARGET_COLUMNS."""
    return ExecutionTarget(**{field: row[field] for field in ExecutionTarget._fields})


def _target_query(scoped: bool) -> sa.Select[Any]:
    query = (
        sa.select(*TARGET_COLUMNS)
        .select_from(_F.outerjoin(_R, _R.c.id == _F.c.runtime_id))
        .where(_F.c.id == sa.bindparam("function_id"))
    )
    return query.where(_F.c.project_id == sa.bindparam("project_id")) if scoped else query


# The hot path's statements are built once, with bound parameters: building and keying
# a statement costs more than running it.
_TARGET_QUERIES = {scoped: _target_query(scoped) for scoped in (False, True)}
_VERSION_EXISTS = sa.select(_V.c.id).where(
    _V.c.function_id == sa.bindparam("function_id"),
    _V.c.version_number == sa.bindparam("version"),
)


def get_target(
    function_id: str, project_id: str | None = None, version: int = 0
) -> ExecutionTarget:
    """The execution target of the function in the project; a version other than 0 must
    exist (NotFound otherwise)."""
    params = {"function_id": function_id, "project_id": project_id, "version": version}
    with db_session.read_connection() as connection:
        row = connection.execute(_TARGET_QUERIES[project_id is not None], params).first()
        if row is not None and version:
            if connection.scalar(_VERSION_EXISTS, params) is None:
                raise exceptions.NotFound(
                    "FunctionVersion", function_id=function_id, version_number=version
                )
    if row is None:
        raise exceptions.NotFound("Function", id=function_id)
    return target_of(row._mapping)


def new_row(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of a new pending execution, ``values`` over the defaults."""
    row: dict[str, Any] = {column.key: None for column in _E.columns}
    row.update(
        id=uuidutils.generate_uuid(),
        created_at=timeutils.utcnow(),
        function_version=0,
        sync=True,
        status=status.PENDING,
        attempts=0,
        retry_attempt=0,
    )
    row.update(values)
    return row


_INSERT = sa.insert(_E)


def insert(connection: sa.Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    """Insert a new pending execution within ``connection``'s transaction; its row."""
    row = new_row(values)
    connection.execute(_INSERT, row)
    return row


def create(values: Mapping[str, Any]) -> models.Execution:
    """Insert an execution; return it as a (detached) model without reading it back."""
    with db_session.write_connection() as connection:
        row = insert(connection, values)
    return models.Execution(**row)


def _pending_up_to(limit: str, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
    """The number of pending executions matching ``where``, counted up to the bound
    parameter ``limit``."""
    rows = (
        sa.select(sa.literal(1))
        .where(_E.c.status == status.PENDING, *where)
        .limit(sa.bindparam(limit, type_=sa.Integer))
    )
    return sa.select(sa.func.count()).select_from(rows.subquery()).scalar_subquery()


_COUNT_PENDING = sa.select(
    _pending_up_to("function_limit", _E.c.function_id == sa.bindparam("function_id")),
    _pending_up_to("total_limit"),
)


def count_pending(function_id: str, function_limit: int, total_limit: int) -> tuple[int, int]:
    """Pending executions of the function and of every function, each counted up to its
    limit only: two index range scans of at most ``limit`` entries, in one query."""
    params = {
        "function_id": function_id,
        "function_limit": function_limit,
        "total_limit": total_limit,
    }
    with db_session.read_connection() as connection:
        function_count, total_count = connection.execute(_COUNT_PENDING, params).one()
    return function_count, total_count


def get(id: str, project_id: str | None = None) -> models.Execution:
    with db_session.reader() as session:
        return crud.one(session, models.Execution, id, project_id, "Execution")


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.Execution]:
    return crud.list_all(models.Execution, project_id, filters)


def delete(id: str, project_id: str | None = None) -> None:
    crud.delete(models.Execution, id, project_id, "Execution")


class WorkerTarget(NamedTuple):
    """A function version as a worker of it needs it.

    ``function_exists`` is False once the function is deleted (its columns are then
    None); ``version_md5`` is the package of a version other than 0, None if it is gone.
    """

    function_id: str
    function_version: int
    function_exists: bool
    version_md5: str | None
    project_id: str | None
    runtime_id: str | None
    runtime_image: str | None
    entry: str | None
    code: dict[str, Any] | None
    cpu: int | None
    memory_size: int | None
    timeout: int | None


class RetrySettings(NamedTuple):
    """A function's retry columns as stored (all None once the function is deleted)."""

    retry_attempts: int | None
    retry_on: str | None
    dead_letter_function_id: str | None


class ClaimedExecution(NamedTuple):
    """An execution an engine has claimed, with what running it needs: its own ``id,
    input, attempts`` (this claim's number), its function's ``trust_id`` and its
    function version; and what a retry or a dead-letter execution of it copies."""

    id: str
    input: Any
    attempts: int
    trust_id: str | None
    function: WorkerTarget
    project_id: str
    sync: bool
    function_alias: str | None
    description: str | None
    retry_attempt: int
    dead_letter_of: str | None
    retry: RetrySettings
    created_at: datetime.datetime | None = None  # None only where tests build one by hand


# The function's columns a worker needs; the function id tells whether it still exists.
_WORKER_COLUMNS = (
    _V.c.package_md5.label("version_md5"),
    _F.c.id.label("function_row_id"),
    _F.c.project_id,
    _F.c.runtime_id,
    _R.c.image.label("runtime_image"),
    _F.c.entry,
    _F.c.code,
    _F.c.cpu,
    _F.c.memory_size,
    _F.c.timeout,
)


def _worker_target(row: sa.Row[Any]) -> WorkerTarget:
    """The WorkerTarget of a row selected with ``function_id``, ``function_version`` and
    _WORKER_COLUMNS."""
    values = row._mapping
    return WorkerTarget(
        **{name: values[name] for name in WorkerTarget._fields if name in values},
        function_exists=values["function_row_id"] is not None,
    )


def get_worker_target(function_id: str, version: int) -> WorkerTarget:
    """What a worker of the function version needs; NotFound if the function is gone."""
    query = (
        sa.select(
            _F.c.id.label("function_id"),
            sa.literal(version).label("function_version"),
            *_WORKER_COLUMNS,
        )
        .select_from(
            _F.outerjoin(
                _V, sa.and_(_V.c.function_id == _F.c.id, _V.c.version_number == version)
            ).outerjoin(_R, _R.c.id == _F.c.runtime_id)
        )
        .where(_F.c.id == function_id)
    )
    with db_session.read_connection() as connection:
        row = connection.execute(query).first()
    if row is None:
        raise exceptions.NotFound("Function", id=function_id)
    return _worker_target(row)


# A time: a value, or the bound parameter of a statement built once.
Moment = datetime.datetime | sa.BindParameter[Any]


def _due(now: Moment) -> sa.ColumnElement[bool]:
    """Not held back: no ``not_before`` (not a retry) or a backoff that is over."""
    return sa.or_(_E.c.not_before.is_(None), _E.c.not_before <= now)


def _claimable(now: Moment) -> sa.ColumnElement[bool]:
    """Pending and due, or running under a lease that ran out (its engine died)."""
    return sa.or_(
        sa.and_(_E.c.status == status.PENDING, _due(now)),
        sa.and_(_E.c.status == status.RUNNING, _E.c.lease_expires_at < now),
    )


_NOW = sa.bindparam("now", type_=_E.c.updated_at.type)
_CLAIM = (
    sa.update(_E)
    .where(_E.c.id == sa.bindparam("execution_id"), _claimable(_NOW))
    .values(
        status=status.RUNNING,
        engine_id=sa.bindparam("claimant", type_=_E.c.engine_id.type),
        lease_expires_at=sa.bindparam("lease_until", type_=_E.c.lease_expires_at.type),
        attempts=_E.c.attempts + 1,
        updated_at=_NOW,
    )
)
_CLAIMED = (
    sa.select(
        _E.c.id,
        _E.c.input,
        _E.c.attempts,
        _F.c.trust_id,
        _E.c.function_id,
        _E.c.function_version,
        *_WORKER_COLUMNS,
        _E.c.project_id.label("execution_project_id"),
        _E.c.sync,
        _E.c.function_alias,
        _E.c.description.label("execution_description"),
        _E.c.retry_attempt,
        _E.c.dead_letter_of,
        _E.c.created_at,
        _F.c.retry_attempts,
        _F.c.retry_on,
        _F.c.dead_letter_function_id,
    )
    .select_from(
        _E.outerjoin(_F, _F.c.id == _E.c.function_id)
        .outerjoin(
            _V,
            sa.and_(
                _V.c.function_id == _E.c.function_id,
                _V.c.version_number == _E.c.function_version,
            ),
        )
        .outerjoin(_R, _R.c.id == _F.c.runtime_id)
    )
    .where(_E.c.id == sa.bindparam("execution_id"))
)


def claim(id: str, engine_id: str, lease: float) -> ClaimedExecution | None:
    """Take an execution for ``engine_id`` for ``lease`` seconds; None if another holds it.

    One UPDATE decides the winner, so any number of engines can race for the same
    execution and exactly one runs it; an execution whose lease ran out is taken over
    the same way. The function's execution count is bumped on the first attempt only.
    """
    now = timeutils.utcnow()
    params = {
        "execution_id": id,
        "now": now,
        "claimant": engine_id,
        "lease_until": now + datetime.timedelta(seconds=lease),
    }
    with db_session.write_connection() as connection:
        if not connection.execute(_CLAIM, params).rowcount:
            return None
        row = connection.execute(_CLAIMED, params).one()
    execution = ClaimedExecution(
        id=row.id,
        input=row.input,
        attempts=row.attempts,
        trust_id=row.trust_id,
        function=_worker_target(row),
        project_id=row.execution_project_id,
        sync=row.sync,
        function_alias=row.function_alias,
        description=row.execution_description,
        retry_attempt=row.retry_attempt,
        dead_letter_of=row.dead_letter_of,
        retry=RetrySettings(row.retry_attempts, row.retry_on, row.dead_letter_function_id),
        created_at=row.created_at,
    )
    if execution.attempts == 1:
        _count(execution.function.function_id, execution.function.function_version)
    return execution


_COUNT_FUNCTION = (
    sa.update(_F).where(_F.c.id == sa.bindparam("counted_function")).values(count=_F.c.count + 1)
)
_COUNT_VERSION = (
    sa.update(_V)
    .where(
        _V.c.function_id == sa.bindparam("counted_function"),
        _V.c.version_number == sa.bindparam("counted_version"),
    )
    .values(count=_V.c.count + 1)
)


def _count(function_id: str, version: int) -> None:
    """Count an execution on its function or version, in a transaction of its own: the
    counter row is shared by every execution of the function, and holding its lock for
    a whole claim made concurrent claims queue on it."""
    with db_session.write_connection() as connection:
        connection.execute(
            _COUNT_VERSION if version else _COUNT_FUNCTION,
            {"counted_function": function_id, "counted_version": version},
        )


def renew_leases(engine_id: str, ids: Sequence[str], lease: float) -> None:
    """Extend the leases ``engine_id`` holds on these running executions."""
    if not ids:
        return
    with db_session.write_connection() as connection:
        connection.execute(
            sa.update(_E)
            .where(
                _E.c.id.in_(ids),
                _E.c.engine_id == engine_id,
                _E.c.status == status.RUNNING,
            )
            .values(lease_expires_at=timeutils.utcnow() + datetime.timedelta(seconds=lease))
        )


def release(id: str, engine_id: str) -> None:
    """Hand a claimed execution back (pending again) for a later attempt."""
    with db_session.write_connection() as connection:
        connection.execute(
            sa.update(_E)
            .where(_E.c.id == id, _E.c.engine_id == engine_id, _E.c.status == status.RUNNING)
            .values(status=status.PENDING, engine_id=None, lease_expires_at=None)
        )


def list_stale(pending_before: datetime.datetime, limit: int) -> list[str]:
    """Ids of executions no engine is running: pending since before ``pending_before``
    (UTC) and due (a retry whose backoff is not over is not stale), or running under a
    lease that ran out. Oldest first."""
    now = timeutils.utcnow()
    query = (
        sa.select(_E.c.id)
        .where(
            sa.or_(
                sa.and_(
                    _E.c.status == status.PENDING,
                    _E.c.created_at < pending_before,
                    _due(now),
                ),
                _lease_ran_out(now),
            )
        )
        .order_by(_E.c.created_at)
        .limit(limit)
    )
    with db_session.read_connection() as connection:
        return list(connection.scalars(query))


def list_lease_ran_out(limit: int) -> list[str]:
    """Ids of executions running under a lease that ran out (their engine is gone),
    oldest first: those of ``list_stale`` an engine takes over."""
    query = (
        sa.select(_E.c.id)
        .where(_lease_ran_out(timeutils.utcnow()))
        .order_by(_E.c.created_at)
        .limit(limit)
    )
    with db_session.read_connection() as connection:
        return list(connection.scalars(query))


def _lease_ran_out(now: datetime.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(_E.c.status == status.RUNNING, _E.c.lease_expires_at < now)


def list_due_retries(now: datetime.datetime, limit: int) -> list[str]:
    """Ids of pending retries whose backoff is over at ``now`` (UTC), earliest first."""
    query = (
        sa.select(_E.c.id)
        .where(_E.c.status == status.PENDING, _E.c.not_before <= now)
        .order_by(_E.c.not_before)
        .limit(limit)
    )
    with db_session.read_connection() as connection:
        return list(connection.scalars(query))


_FINISH = (
    sa.update(_E)
    .where(
        _E.c.id == sa.bindparam("execution_id"),
        _E.c.status == status.RUNNING,
        _E.c.engine_id == sa.bindparam("holder"),
    )
    .values(
        status=sa.bindparam("outcome", type_=_E.c.status.type),
        result=sa.bindparam("outcome_result", type_=_E.c.result.type),
        logs=sa.bindparam("outcome_logs", type_=_E.c.logs.type),
        lease_expires_at=None,
        updated_at=sa.bindparam("finished_at", type_=_E.c.updated_at.type),
    )
)


def finish(
    id: str,
    engine_id: str,
    new_status: str,
    result: Any,
    logs: str,
    follow_up: Mapping[str, Any] | None = None,
) -> datetime.datetime | None:
    """Record the one outcome of an execution ``engine_id`` still holds: when it was
    recorded (its ``updated_at``), or None if the engine lost it.

    ``follow_up``, the values of a new pending execution (a retry of this one, or a
    dead-letter execution), is inserted in the same transaction, so it exists if and
    only if this outcome is recorded: once, whoever else finished or took over.
    """
    finished_at = timeutils.utcnow()
    params = {
        "execution_id": id,
        "holder": engine_id,
        "outcome": new_status,
        "outcome_result": result,
        "outcome_logs": logs,
        "finished_at": finished_at,
    }
    with db_session.write_connection() as connection:
        finished = connection.execute(_FINISH, params).rowcount
        if finished and follow_up is not None:
            insert(connection, follow_up)
    return finished_at if finished else None

"""The one place that talks SQL: a small query API on oslo.db's enginefacade.

``project_id=None`` means unscoped (an admin asking for every project); any other
value limits reads and writes to that project.
"""

import datetime

import sqlalchemy as sa
from oslo_utils import timeutils, uuidutils

from qinling_lite import exceptions, status
from qinling_lite.db import crud, models
from qinling_lite.db import session as db_session

# Jobs


def create_job(values):
    return crud.create(models.Job, values)


def get_job(id, project_id=None):
    with db_session.reader() as session:
        return crud.one(session, models.Job, id, project_id, "Job")


def list_jobs(project_id=None, filters=None):
    return crud.list_all(models.Job, project_id, filters)


def update_job(id, values, project_id=None):
    return crud.update(models.Job, id, values, project_id, "Job")


def delete_job(id, project_id=None):
    with db_session.writer() as session:
        session.delete(crud.one(session, models.Job, id, project_id, "Job"))


def list_due_jobs(now, limit):
    """Running jobs whose next execution time has come, oldest first."""
    query = (
        sa.select(models.Job)
        .where(models.Job.status == status.RUNNING, models.Job.next_execution_time <= now)
        .order_by(models.Job.next_execution_time)
        .limit(limit)
    )
    with db_session.reader() as session:
        return list(session.scalars(query))


def fire_job(job, next_time, execution_values):
    """Advance ``job`` past the tick it is due for and, unless ``execution_values`` is
    None (a skipped tick), record that tick's execution; return its id, or None.

    The UPDATE only matches while the job still waits for that very tick, so with any
    number of engines each tick fires once; the execution is inserted in the same
    transaction, so a tick is never lost in between. A job whose count runs out, and
    a one-shot job (``next_time`` None), is done.
    """
    fired = execution_values is not None
    count = job.count - 1 if fired and job.count is not None else job.count
    done = next_time is None or count == 0
    values = {
        "next_execution_time": job.next_execution_time if done else next_time,
        "count": count,
        "status": status.DONE if done else status.RUNNING,
        "updated_at": timeutils.utcnow(),
    }
    with db_session.write_connection() as connection:
        won = connection.execute(
            sa.update(_J)
            .where(
                _J.c.id == job.id,
                _J.c.status == status.RUNNING,
                _J.c.next_execution_time == job.next_execution_time,
            )
            .values(values)
        ).rowcount
        if not (won and fired):
            return None
        execution = _execution_row(execution_values)
        connection.execute(sa.insert(_E).values(execution))
    return execution["id"]


# Executions

_E = models.Execution.__table__
_F = models.Function.__table__
_R = models.Runtime.__table__
_W = models.Webhook.__table__
_V = models.FunctionVersion.__table__
_A = models.FunctionAlias.__table__
_J = models.Job.__table__

# What starting an execution needs to know of its function.
_TARGET_COLUMNS = (
    _F.c.id.label("function_id"),
    _F.c.project_id,
    _F.c.timeout,
    _F.c.runtime_id,
    _R.c.status.label("runtime_status"),
)


def _target_query():
    return sa.select(*_TARGET_COLUMNS).select_from(_F.outerjoin(_R, _R.c.id == _F.c.runtime_id))


def get_execution_target(function_id, project_id=None, version=0):
    """The function an execution is for, as ``function_id, project_id, timeout,
    runtime_id, runtime_status``; a version other than 0 must exist."""
    query = _target_query().where(_F.c.id == function_id)
    if project_id is not None:
        query = query.where(_F.c.project_id == project_id)
    with db_session.read_connection() as connection:
        target = connection.execute(query).first()
        if target is not None and version:
            exists = connection.scalar(
                sa.select(_V.c.id).where(
                    _V.c.function_id == function_id, _V.c.version_number == version
                )
            )
            if exists is None:
                raise exceptions.NotFound(
                    "FunctionVersion", function_id=function_id, version_number=version
                )
    if target is None:
        raise exceptions.NotFound("Function", id=function_id)
    return target


def _execution_row(values):
    """Every column of a new pending execution, ``values`` over the defaults."""
    row = {column.key: None for column in _E.columns}
    row.update(
        id=uuidutils.generate_uuid(),
        created_at=timeutils.utcnow(),
        function_version=0,
        sync=True,
        status=status.PENDING,
        attempts=0,
    )
    row.update(values)
    return row


def create_execution(values):
    """Insert an execution; return it as a (detached) model without reading it back."""
    row = _execution_row(values)
    with db_session.write_connection() as connection:
        connection.execute(sa.insert(_E).values(row))
    return models.Execution(**row)


def get_execution(id, project_id=None):
    with db_session.reader() as session:
        return crud.one(session, models.Execution, id, project_id, "Execution")


def list_executions(project_id=None, filters=None):
    return crud.list_all(models.Execution, project_id, filters)


def delete_execution(id, project_id=None):
    with db_session.writer() as session:
        session.delete(crud.one(session, models.Execution, id, project_id, "Execution"))


# What a worker needs of a function version.
_WORKER_COLUMNS = (
    _V.c.package_md5.label("version_md5"),
    _F.c.id.label("function_exists"),
    _F.c.project_id,
    _F.c.runtime_id,
    _F.c.entry,
    _F.c.code,
    _F.c.cpu,
    _F.c.memory_size,
    _F.c.timeout,
)
_CLAIM_COLUMNS = (
    _E.c.id,
    _E.c.input,
    _E.c.function_version,
    _E.c.function_id,
    _E.c.attempts,
    _F.c.trust_id,
    *_WORKER_COLUMNS,
)


def get_worker_target(function_id, version):
    """What a worker of the function version needs (as in ``claim_execution``)."""
    query = (
        sa.select(
            _F.c.id.label("function_id"),
            sa.literal(version).label("function_version"),
            *_WORKER_COLUMNS,
        )
        .select_from(
            _F.outerjoin(_V, sa.and_(_V.c.function_id == _F.c.id, _V.c.version_number == version))
        )
        .where(_F.c.id == function_id)
    )
    with db_session.read_connection() as connection:
        target = connection.execute(query).first()
    if target is None:
        raise exceptions.NotFound("Function", id=function_id)
    return target


def _claimable(now):
    """Pending, or running under a lease that ran out (its engine died)."""
    return sa.or_(
        _E.c.status == status.PENDING,
        sa.and_(_E.c.status == status.RUNNING, _E.c.lease_expires_at < now),
    )


def claim_execution(id, engine_id, lease):
    """Take an execution for ``engine_id`` for ``lease`` seconds; what running it needs, or None.

    One UPDATE decides the winner, so any number of engines can race for the same
    execution and exactly one runs it; an execution whose lease ran out is taken over
    the same way. The function's execution count is bumped on the first attempt only.
    The row has the execution's ``id, input, function_version, function_id,
    attempts`` and its function's ``project_id, runtime_id, entry, code, cpu,
    memory_size, timeout`` (``function_exists`` is None when the function was deleted;
    ``version_md5`` is the package of a version other than 0, None if it is gone).
    """
    now = timeutils.utcnow()
    with db_session.write_connection() as connection:
        claimed = connection.execute(
            sa.update(_E)
            .where(_E.c.id == id, _claimable(now))
            .values(
                status=status.RUNNING,
                engine_id=engine_id,
                lease_expires_at=now + datetime.timedelta(seconds=lease),
                attempts=_E.c.attempts + 1,
                updated_at=now,
            )
        ).rowcount
        if not claimed:
            return None
        version_join = sa.and_(
            _V.c.function_id == _E.c.function_id, _V.c.version_number == _E.c.function_version
        )
        execution = connection.execute(
            sa.select(*_CLAIM_COLUMNS)
            .select_from(_E.outerjoin(_F, _F.c.id == _E.c.function_id).outerjoin(_V, version_join))
            .where(_E.c.id == id)
        ).one()
    if execution.attempts == 1:
        _count(execution.function_id, execution.function_version)
    return execution


def _count(function_id, version):
    """Count an execution on its function or version, in a transaction of its own: the
    counter row is shared by every execution of the function, and holding its lock for
    a whole claim made concurrent claims queue on it."""
    if version == 0:
        counted = sa.update(_F).where(_F.c.id == function_id).values(count=_F.c.count + 1)
    else:
        counted = (
            sa.update(_V)
            .where(_V.c.function_id == function_id, _V.c.version_number == version)
            .values(count=_V.c.count + 1)
        )
    with db_session.write_connection() as connection:
        connection.execute(counted)


def renew_leases(engine_id, ids, lease):
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


def release_execution(id, engine_id):
    """Hand a claimed execution back (pending again) for a later attempt."""
    with db_session.write_connection() as connection:
        connection.execute(
            sa.update(_E)
            .where(_E.c.id == id, _E.c.engine_id == engine_id, _E.c.status == status.RUNNING)
            .values(status=status.PENDING, engine_id=None, lease_expires_at=None)
        )


def list_stale_executions(pending_before, limit):
    """Ids of executions no engine is running: pending since before ``pending_before``
    (UTC), or running under a lease that ran out. Oldest first."""
    now = timeutils.utcnow()
    query = (
        sa.select(_E.c.id)
        .where(
            sa.or_(
                sa.and_(_E.c.status == status.PENDING, _E.c.created_at < pending_before),
                sa.and_(_E.c.status == status.RUNNING, _E.c.lease_expires_at < now),
            )
        )
        .order_by(_E.c.created_at)
        .limit(limit)
    )
    with db_session.read_connection() as connection:
        return list(connection.scalars(query))


def finish_execution(id, engine_id, new_status, result, logs):
    """Record the one outcome of an execution ``engine_id`` still holds; False if it lost it."""
    with db_session.write_connection() as connection:
        return bool(
            connection.execute(
                sa.update(_E)
                .where(
                    _E.c.id == id,
                    _E.c.status == status.RUNNING,
                    _E.c.engine_id == engine_id,
                )
                .values(
                    status=new_status,
                    result=result,
                    logs=logs,
                    lease_expires_at=None,
                    updated_at=timeutils.utcnow(),
                )
            ).rowcount
        )


# Webhooks


def create_webhook(values):
    return crud.create(models.Webhook, values)


def get_webhook(id, project_id=None):
    with db_session.reader() as session:
        return crud.one(session, models.Webhook, id, project_id, "Webhook")


def list_webhooks(project_id=None, filters=None):
    return crud.list_all(models.Webhook, project_id, filters)


def update_webhook(id, values, project_id=None):
    return crud.update(models.Webhook, id, values, project_id, "Webhook")


def delete_webhook(id, project_id=None):
    with db_session.writer() as session:
        session.delete(crud.one(session, models.Webhook, id, project_id, "Webhook"))


def count_webhook_invocation(id, limit, window):
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


def get_webhook_target(id):
    """The webhook's ``webhook_id, function_alias, function_version`` and its function's
    execution target (see ``get_execution_target``), unscoped: invoking needs no token.
    An alias is resolved now, at invoke time."""
    alias_join = sa.and_(_A.c.name == _W.c.function_alias, _A.c.project_id == _W.c.project_id)
    query = (
        sa.select(
            *_TARGET_COLUMNS,
            _W.c.id.label("webhook_id"),
            _W.c.auth,
            _W.c.secret,
            _W.c.rate_limit,
            _W.c.function_alias,
            sa.func.coalesce(_W.c.function_version, _A.c.function_version, 0).label(
                "function_version"
            ),
        )
        .select_from(
            _W.outerjoin(_A, alias_join)
            .join(_F, _F.c.id == sa.func.coalesce(_W.c.function_id, _A.c.function_id))
            .outerjoin(_R, _R.c.id == _F.c.runtime_id)
        )
        .where(_W.c.id == id)
    )
    with db_session.read_connection() as connection:
        target = connection.execute(query).first()
    if target is None:
        raise exceptions.NotFound("Webhook", id=id)
    return target

"""Jobs: their rows, the due ones, and firing a tick with its execution.

``project_id=None`` means unscoped (an admin asking for every project).
"""

import datetime
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from oslo_utils import timeutils

from qinling_lite import status
from qinling_lite.db import crud, models
from qinling_lite.db import executions as executions_db
from qinling_lite.db import session as db_session

_J = models.Base.metadata.tables["jobs"]


def create(values: Mapping[str, Any]) -> models.Job:
    return crud.create(models.Job, values)


def get(id: str, project_id: str | None = None) -> models.Job:
    return crud.get(models.Job, id, project_id, "Job")


def list_all(
    project_id: str | None = None, filters: Mapping[str, str] | None = None
) -> list[models.Job]:
    return crud.list_all(models.Job, project_id, filters)


def update(id: str, values: Mapping[str, Any], project_id: str | None = None) -> models.Job:
    return crud.update(models.Job, id, values, project_id, "Job")


def delete(id: str, project_id: str | None = None) -> None:
    crud.delete(models.Job, id, project_id, "Job")


def list_due(now: datetime.datetime, limit: int) -> list[models.Job]:
    """Running jobs whose next execution time has come, oldest first."""
    query = (
        sa.select(models.Job)
        .where(models.Job.status == status.RUNNING, models.Job.next_execution_time <= now)
        .order_by(models.Job.next_execution_time)
        .limit(limit)
    )
    with db_session.reader() as session:
        return list(session.scalars(query))


def fire(
    job: models.Job,
    next_time: datetime.datetime | None,
    execution_values: Mapping[str, Any] | None,
) -> str | None:
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
        if not (won and execution_values is not None):
            return None
        execution = executions_db.insert(connection, execution_values)
    return execution["id"]

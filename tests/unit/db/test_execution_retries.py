"""Retries in the database: the follow-up row lives and dies with the outcome it follows,
a retry is not claimed before its time, and the 0008 migration goes both ways."""

import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from oslo_utils import timeutils

from qinling_lite import exceptions, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import migration
from qinling_lite.db import session as db_session
from tests import db_backends
from tests.unit.services import rows

LEASE = 30


@pytest.fixture(autouse=True)
def database(tmp_path):
    with db_backends.migrated_sqlite(tmp_path):
        yield


def _pending(function, **values):
    return executions_db.create(
        {"function_id": function.id, "project_id": function.project_id, "sync": False, **values}
    )


def _retry_of(execution, seconds=0.0):
    """The values of a retry of ``execution`` due in ``seconds``."""
    return {
        "function_id": execution.function_id,
        "project_id": execution.project_id,
        "sync": False,
        "retry_of": execution.id,
        "retry_attempt": 1,
        "not_before": timeutils.utcnow() + datetime.timedelta(seconds=seconds),
    }


def _ids_retrying(execution_id):
    return [e.id for e in executions_db.list_all(filters={"retry_of": execution_id})]


def test_the_follow_up_is_recorded_with_the_outcome_and_by_its_winner_only():
    function = rows.function()
    execution = _pending(function)
    executions_db.claim(execution.id, "engine-a", LEASE)
    # Engine a's lease ran out and engine b took the execution over ...
    with db_session.write_connection() as connection:
        connection.execute(
            sa.update(executions_db._E)
            .where(executions_db._E.c.id == execution.id)
            .values(lease_expires_at=timeutils.utcnow() - datetime.timedelta(seconds=1))
        )
    assert executions_db.claim(execution.id, "engine-b", LEASE) is not None
    # ... so a's late outcome, and the retry with it, are dropped; b's are recorded.
    follow_up = _retry_of(execution, seconds=60)
    assert not executions_db.finish(execution.id, "engine-a", status.FAILED, {}, "", follow_up)
    assert _ids_retrying(execution.id) == []
    assert executions_db.finish(execution.id, "engine-b", status.FAILED, {}, "", follow_up)
    assert len(_ids_retrying(execution.id)) == 1
    # Finishing again (a duplicate delivery) records neither an outcome nor a retry.
    assert not executions_db.finish(execution.id, "engine-b", status.FAILED, {}, "", follow_up)
    assert len(_ids_retrying(execution.id)) == 1


def test_a_second_retry_of_one_execution_is_refused_by_the_schema():
    function = rows.function()
    execution = _pending(function)
    executions_db.create(_retry_of(execution))
    with pytest.raises(Exception, match="(?i)unique"):
        executions_db.create(_retry_of(execution))


def test_a_dead_letter_execution_and_its_retry_report_the_same_failure():
    function = rows.function()
    failed = _pending(function)
    dead_letter = _pending(function, dead_letter_of=failed.id)
    executions_db.claim(dead_letter.id, "engine-a", LEASE)
    retry = {**_retry_of(dead_letter), "dead_letter_of": failed.id}
    assert executions_db.finish(dead_letter.id, "engine-a", status.FAILED, {}, "", retry)
    reporting = executions_db.list_all(filters={"dead_letter_of": failed.id})
    assert sorted(e.retry_attempt for e in reporting) == [0, 1]


def test_a_retry_is_neither_claimed_nor_swept_nor_due_before_its_time():
    function = rows.function()
    first = _pending(function)
    retry = executions_db.create(_retry_of(first, seconds=60))
    later = timeutils.utcnow() + datetime.timedelta(hours=1)
    assert executions_db.claim(retry.id, "engine-a", LEASE) is None
    assert executions_db.list_stale(later, 10) == [first.id]
    assert executions_db.list_due_retries(timeutils.utcnow(), 10) == []
    assert executions_db.list_due_retries(later, 10) == [retry.id]


def test_a_due_retry_is_listed_claimed_once_and_then_no_longer_due():
    function = rows.function()
    retry = executions_db.create(_retry_of(_pending(function), seconds=-1))
    assert executions_db.list_due_retries(timeutils.utcnow(), 10) == [retry.id]
    claimed = executions_db.claim(retry.id, "engine-a", LEASE)
    assert (claimed.retry_attempt, claimed.sync) == (1, False)
    assert executions_db.claim(retry.id, "engine-b", LEASE) is None
    assert executions_db.list_due_retries(timeutils.utcnow(), 10) == []


def test_the_claim_carries_the_functions_retry_settings():
    dead_letter = rows.function()
    function = rows.function(
        retry_attempts=2, retry_on="timeout", dead_letter_function_id=dead_letter.id
    )
    claimed = executions_db.claim(_pending(function, input={"a": 1}).id, "engine-a", LEASE)
    assert claimed.retry == executions_db.RetrySettings(2, "timeout", dead_letter.id)
    assert (claimed.input, claimed.project_id, claimed.retry_attempt) == ({"a": 1}, rows.P1, 0)


def test_a_dead_letter_function_cannot_be_deleted_while_it_is_one():
    dead_letter = rows.function()
    function = rows.function(dead_letter_function_id=dead_letter.id)
    with pytest.raises(exceptions.NotAllowed, match=f"dead-letter function of .*{function.id}"):
        functions_db.delete(dead_letter.id)
    functions_db.update(function.id, {"dead_letter_function_id": None})
    functions_db.delete(dead_letter.id)


def test_migration_0008_downgrades_and_upgrades_again():
    function = rows.function(retry_attempts=1)
    executions_db.create(_retry_of(_pending(function)))
    with migration._config() as config:
        command.downgrade(config, "0007")
        columns = {c["name"] for c in sa.inspect(db_session.get_engine()).get_columns("executions")}
        assert not {"retry_of", "retry_attempt", "not_before", "dead_letter_of"} & columns
        command.upgrade(config, "0008")
    assert [e.retry_attempt for e in executions_db.list_all()] == [0, 0]

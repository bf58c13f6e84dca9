"""The repositories of ``qinling_lite.db`` on the backend named by ``QINLING_LITE_TEST_DB``.

``tools/run-tests`` runs tests/functional on SQLite, MariaDB and PostgreSQL in turn. The
module gets one throwaway database, migrated to head (the schema under test is the
migrations', not ``create_all``'s); every test leaves the tables empty.
"""

import datetime
import threading
from concurrent import futures

import pytest

from qinling_lite import exceptions, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import migration, models
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.db import session as db_session
from qinling_lite.db import webhooks as webhooks_db
from tests import db_backends

P1, P2 = "project-1", "project-2"
ENGINE = "engine-1"
T0 = datetime.datetime(2024, 5, 1, 12, 0, 0)


@pytest.fixture(scope="module")
def backend():
    backend = db_backends.selected_backend()
    url = db_backends.create_database(backend)
    try:
        with db_backends.use_database(url):
            assert db_session.get_engine().dialect.name == backend
            migration.upgrade()
            yield backend
    finally:
        db_backends.drop_database(url)


@pytest.fixture(autouse=True)
def _empty_tables(backend):
    yield
    with db_session.get_engine().begin() as connection:
        for table in reversed(models.Base.metadata.sorted_tables):
            connection.execute(table.delete())


def _runtime(project_id=P1, **values):
    return runtimes_db.create({"image": "python3", "project_id": project_id, **values})


def _function(runtime, project_id=P1, **values):
    return functions_db.create(
        {
            "runtime_id": runtime.id,
            "project_id": project_id,
            "code": {"source": "package"},
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
            **values,
        }
    )


def _execution(function, **values):
    return executions_db.create(
        {"function_id": function.id, "project_id": function.project_id, **values}
    )


def _webhook(function, **values):
    return webhooks_db.create(
        {"function_id": function.id, "project_id": function.project_id, **values}
    )


def _ids(rows):
    return [row.id for row in rows]


def test_runtime_lifecycle():
    runtime = _runtime(name="python", is_public=False)
    assert runtime.status == status.CREATING

    runtimes_db.update(runtime.id, {"image": "python3.12"})
    runtimes_db.update_status(runtime.id, status.ERROR, "image pull failed")
    got = runtimes_db.get(runtime.id, P1)
    assert (got.name, got.image, got.status) == ("python", "python3.12", status.ERROR)
    assert got.status_reason == "image pull failed"
    assert _ids(runtimes_db.list_with_status([status.ERROR])) == [runtime.id]
    assert runtimes_db.list_with_status([status.AVAILABLE]) == []

    assert runtimes_db.mark_deleting(runtime.id).status == status.DELETING
    runtimes_db.delete(runtime.id)
    with pytest.raises(exceptions.NotFound):
        runtimes_db.get(runtime.id)


def test_runtimes_visible_when_public_or_own():
    public = _runtime(P2, created_at=T0)
    own = _runtime(P1, is_public=False, created_at=T0 + datetime.timedelta(seconds=1))
    foreign = _runtime(P2, is_public=False, created_at=T0 + datetime.timedelta(seconds=2))

    assert _ids(runtimes_db.list_all(P1)) == [public.id, own.id]
    assert _ids(runtimes_db.list_all()) == [public.id, own.id, foreign.id]
    assert runtimes_db.get(public.id, P1).id == public.id
    assert runtimes_db.get(own.id, P1).id == own.id
    with pytest.raises(exceptions.NotFound):
        runtimes_db.get(foreign.id, P1)


def test_function_lifecycle():
    runtime = _runtime()
    function = _function(runtime, name="hello", code={"source": "package", "md5sum": "abc"})

    got = functions_db.get(function.id, P1)
    assert got.code == {"source": "package", "md5sum": "abc"}
    assert (got.count, got.latest_version) == (0, 0)
    assert got.runtime.image == "python3"  # loaded with the function

    functions_db.update(function.id, {"name": "renamed", "memory_size": 2**33}, P1)
    got = functions_db.get(function.id)
    assert (got.name, got.memory_size) == ("renamed", 2**33)
    assert _ids(functions_db.list_all(P1, {"runtime_id": runtime.id})) == [function.id]

    assert functions_db.delete(function.id, P1).id == function.id
    with pytest.raises(exceptions.NotFound):
        functions_db.get(function.id)


def test_create_function_with_unknown_runtime_is_input_error():
    with pytest.raises(exceptions.InputError):
        _function(_runtime(), runtime_id="no-such-runtime")


def test_create_with_existing_id_is_conflict():
    runtime = _runtime()
    with pytest.raises(exceptions.Conflict):
        _runtime(id=runtime.id)


def test_execution_lifecycle():
    function = _function(_runtime())
    execution = _execution(function, input={"name": "world"}, description="first")

    got = executions_db.get(execution.id, P1)
    assert (got.status, got.sync, got.function_version) == (status.PENDING, True, 0)
    assert got.input == {"name": "world"}
    assert (got.result, got.logs) == (None, None)
    assert _ids(executions_db.list_all(P1, {"function_id": function.id})) == [execution.id]

    executions_db.delete(execution.id, P1)
    with pytest.raises(exceptions.NotFound):
        executions_db.get(execution.id)


def test_webhook_lifecycle():
    function = _function(_runtime())
    webhook = _webhook(function, description="on push")

    assert webhooks_db.get(webhook.id, P1).description == "on push"
    webhooks_db.update(webhook.id, {"function_version": 2}, P1)
    assert webhooks_db.get(webhook.id).function_version == 2
    assert _ids(webhooks_db.list_all(P1, {"function_id": function.id})) == [webhook.id]

    target = webhooks_db.get_target(webhook.id)
    assert (target.webhook_id, target.function_version, target.function.function_id) == (
        webhook.id,
        2,
        function.id,
    )
    assert (target.function.project_id, target.function.timeout) == (P1, function.timeout)
    assert (target.function.runtime_id, target.function.runtime_status) == (
        function.runtime_id,
        status.CREATING,
    )

    webhooks_db.delete(webhook.id, P1)
    for get in (webhooks_db.get, webhooks_db.get_target):
        with pytest.raises(exceptions.NotFound):
            get(webhook.id)


def test_other_projects_rows_are_not_found_nor_listed():
    function = _function(_runtime())
    execution = _execution(function)
    webhook = _webhook(function)

    for get, id in (
        (functions_db.get, function.id),
        (executions_db.get, execution.id),
        (webhooks_db.get, webhook.id),
    ):
        assert get(id).id == get(id, P1).id == id
        with pytest.raises(exceptions.NotFound):
            get(id, P2)
    for list_ in (functions_db.list_all, executions_db.list_all, webhooks_db.list_all):
        assert len(list_(P1)) == len(list_()) == 1
        assert list_(P2) == []

    for change in (
        lambda: functions_db.update(function.id, {"name": "x"}, P2),
        lambda: webhooks_db.update(webhook.id, {"description": "x"}, P2),
        lambda: executions_db.delete(execution.id, P2),
        lambda: webhooks_db.delete(webhook.id, P2),
        lambda: functions_db.delete(function.id, P2),
    ):
        with pytest.raises(exceptions.NotFound):
            change()
    assert functions_db.get(function.id).name is None


def test_list_filters():
    function = _function(_runtime())
    hour = datetime.timedelta(hours=1)
    a = _execution(function, status=status.SUCCESS, description="nightly", created_at=T0)
    b = _execution(function, status=status.FAILED, description="adhoc", created_at=T0 + hour)
    c = _execution(
        function, status=status.RUNNING, description="100%_done", created_at=T0 + 2 * hour
    )

    cases = [
        ({"status": "success"}, [a]),
        ({"status": "eq:success"}, [a]),
        ({"status": "neq:success"}, [b, c]),
        ({"status": "in:success,failed"}, [a, b]),
        ({"status": "nin:success,failed"}, [c]),
        ({"status": "gt:running"}, [a]),
        ({"status": "lt:running"}, [b]),
        ({"description": "has:ht"}, [a]),
        ({"description": "has:%_d"}, [c]),  # LIKE wildcards are matched literally
        ({"created_at": "gt:2024-05-01 12:30:00"}, [b, c]),
        ({"created_at": "lt:2024-05-01 13:30:00"}, [a, b]),
        ({"created_at": "gte:2024-05-01 13:00:00", "status": "neq:failed"}, [c]),
        ({"description": "not-an-operator:x"}, []),
    ]
    for filters, expected in cases:
        assert _ids(executions_db.list_all(P1, filters)) == _ids(expected), filters


@pytest.mark.parametrize("key", ["nope", "runtime", "to_dict", "__table__"])
def test_unknown_filter_is_input_error(key):
    with pytest.raises(exceptions.InputError):
        functions_db.list_all(P1, {key: "x"})


def test_lists_are_ordered_by_created_at_then_id():
    function = _function(_runtime())
    second = datetime.timedelta(seconds=1)
    for id, created_at in (
        ("00000000-0000-0000-0000-000000000003", T0 + second),
        ("00000000-0000-0000-0000-000000000002", T0),
        ("00000000-0000-0000-0000-000000000001", T0),
        ("00000000-0000-0000-0000-000000000000", T0 + 2 * second),
    ):
        _execution(function, id=id, created_at=created_at)

    assert [id[-1] for id in _ids(executions_db.list_all(P1))] == ["1", "2", "3", "0"]


def test_claim_execution_exactly_once():
    function = _function(_runtime())
    execution = _execution(function)
    threads = 8
    barrier = threading.Barrier(threads, timeout=10)

    def claim(_):
        barrier.wait()
        return executions_db.claim(execution.id, ENGINE, 30)

    with futures.ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(claim, range(threads)))

    winners = [result for result in results if result is not None]
    assert len(winners) == 1
    claimed = winners[0]
    assert (claimed.id, claimed.function.function_id, claimed.function.function_exists) == (
        execution.id,
        function.id,
        True,
    )
    assert (claimed.function.entry, claimed.function.code, claimed.function.timeout) == (
        function.entry,
        function.code,
        function.timeout,
    )
    assert executions_db.get(execution.id).status == status.RUNNING
    assert functions_db.get(function.id).count == 1
    assert executions_db.claim(execution.id, ENGINE, 30) is None


def test_claim_of_an_execution_whose_function_is_gone():
    execution = _execution(_function(_runtime()), function_id="0" * 36)
    claimed = executions_db.claim(execution.id, ENGINE, 30)
    assert (claimed.function.function_id, claimed.function.function_exists) == ("0" * 36, False)


def test_execution_target_is_scoped():
    function = _function(_runtime())
    target = executions_db.get_target(function.id, P1)
    assert (target.function_id, target.project_id) == (function.id, P1)
    with pytest.raises(exceptions.NotFound):
        executions_db.get_target(function.id, "another-project")


def test_claim_of_a_version_leaves_the_count_alone():
    function = _function(_runtime())
    assert executions_db.claim(_execution(function, function_version=1).id, ENGINE, 30) is not None
    assert functions_db.get(function.id).count == 0


def test_finish_execution_only_from_running():
    execution = _execution(_function(_runtime()))
    assert not executions_db.finish(execution.id, ENGINE, status.SUCCESS, {"output": 1}, "early")

    executions_db.claim(execution.id, ENGINE, 30)
    assert executions_db.finish(execution.id, ENGINE, status.SUCCESS, {"output": 1}, "done")
    assert not executions_db.finish(execution.id, ENGINE, status.FAILED, None, "late")

    got = executions_db.get(execution.id)
    assert (got.status, got.result, got.logs) == (status.SUCCESS, {"output": 1}, "done")


def test_delete_function_refused_while_a_webhook_points_at_it():
    function = _function(_runtime())
    webhook = _webhook(function)
    with pytest.raises(exceptions.NotAllowed):
        functions_db.delete(function.id, P1)
    assert functions_db.get(function.id).id == function.id

    webhooks_db.delete(webhook.id)
    functions_db.delete(function.id, P1)


def test_mark_runtime_deleting_refused_while_a_function_uses_it():
    runtime = _runtime(status=status.AVAILABLE)
    function = _function(runtime, project_id=P2)
    with pytest.raises(exceptions.NotAllowed):
        runtimes_db.mark_deleting(runtime.id)
    assert runtimes_db.get(runtime.id).status == status.AVAILABLE

    functions_db.delete(function.id)
    assert runtimes_db.mark_deleting(runtime.id).status == status.DELETING


def test_mebibyte_input_and_logs_round_trip():
    # Beyond the 64 KiB of TEXT: MySQL needs the MEDIUMTEXT variant.
    big = {"payload": "x" * 1024 * 1024}
    execution = _execution(_function(_runtime()), input=big)
    executions_db.claim(execution.id, ENGINE, 30)
    executions_db.finish(execution.id, ENGINE, status.SUCCESS, big, "y" * 1024 * 1024)

    got = executions_db.get(execution.id)
    assert got.input == got.result == big
    assert len(got.logs) == 1024 * 1024


def test_stale_executions_are_listed_oldest_first():
    function = _function(_runtime())
    now = datetime.datetime(2026, 1, 1, 12, 0, 0)
    old = _execution(function, created_at=now - datetime.timedelta(minutes=2))
    older = _execution(function, created_at=now - datetime.timedelta(minutes=3))
    _execution(function, created_at=now)  # too recent
    claimed = _execution(function, created_at=now - datetime.timedelta(minutes=4))
    executions_db.claim(claimed.id, ENGINE, 30)
    orphan = _execution(function, created_at=now - datetime.timedelta(minutes=5))
    executions_db.claim(orphan.id, "dead-engine", 0)  # its lease ran out at once
    cutoff = now - datetime.timedelta(minutes=1)
    assert executions_db.list_stale(cutoff, 10) == [orphan.id, older.id, old.id]
    assert executions_db.list_stale(cutoff, 1) == [orphan.id]


def test_a_lease_that_ran_out_is_taken_over_and_the_old_owner_cannot_finish():
    function = _function(_runtime())
    execution = _execution(function)
    assert executions_db.claim(execution.id, "dead-engine", 0).attempts == 1
    taken = executions_db.claim(execution.id, ENGINE, 30)
    assert taken.attempts == 2
    assert executions_db.claim(execution.id, "third-engine", 30) is None
    assert not executions_db.finish(execution.id, "dead-engine", status.SUCCESS, {}, "")
    assert executions_db.finish(execution.id, ENGINE, status.SUCCESS, {"output": 1}, "")
    assert functions_db.get(function.id).count == 1, "counted once, on the first attempt"


def test_renewed_leases_are_not_taken_over():
    function = _function(_runtime())
    execution = _execution(function)
    executions_db.claim(execution.id, ENGINE, 0)
    executions_db.renew_leases("other-engine", [execution.id], 60)  # not its lease: no effect
    assert executions_db.get(execution.id).lease_expires_at <= datetime.datetime.now(
        datetime.UTC
    ).replace(tzinfo=None)
    executions_db.renew_leases(ENGINE, [execution.id], 60)
    assert executions_db.claim(execution.id, "other-engine", 30) is None
    assert executions_db.list_stale(datetime.datetime(2000, 1, 1), 10) == []


def test_a_released_execution_is_pending_again():
    function = _function(_runtime())
    execution = _execution(function)
    executions_db.claim(execution.id, ENGINE, 30)
    executions_db.release(execution.id, "other-engine")  # not its claim: no effect
    assert executions_db.get(execution.id).status == status.RUNNING
    executions_db.release(execution.id, ENGINE)
    released = executions_db.get(execution.id)
    assert (released.status, released.engine_id, released.attempts) == (status.PENDING, None, 1)
    assert executions_db.claim(execution.id, "other-engine", 30).attempts == 2

"""The executions service on SQLite: resolving targets across projects, starting."""

import pytest

from qinling_lite import exceptions, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import versions as versions_db
from qinling_lite.services import executions as executions_service
from tests.unit.services import rows


class RecordingEngine:
    """An engine client that records what it is asked and checks the row is committed;
    a sync call finishes the execution as an engine would."""

    def __init__(self, fail=False, answer=False):
        self.fail = fail
        self.answer = answer  # answer the outcome as recorded, as the engine's runner does
        self.calls = []

    def create_execution(self, ctxt, execution_id, sync, timeout):
        self.calls.append((execution_id, sync, timeout))
        assert executions_db.get(execution_id).status == status.PENDING
        if self.fail:
            raise ConnectionError("broker down")
        if sync:
            executions_db.claim(execution_id, "engine-1", 30)
            finished_at = executions_db.finish(
                execution_id, "engine-1", status.SUCCESS, {"output": 1}, ""
            )
            if self.answer:
                outcome = {"status": status.SUCCESS, "result": {"output": 1}}
                return {**outcome, "updated_at": finished_at.isoformat()}


def _resolve(ctx, **fields):
    return executions_service.resolve_target(ctx, fields, rows.Authorizer())


def test_a_function_is_resolved_in_the_callers_project_only():
    function = rows.function(rows.P1)
    authorize = rows.Authorizer()
    resolved = executions_service.resolve_target(
        rows.caller(rows.P1), {"function_id": function.id}, authorize
    )
    assert resolved == (
        executions_db.ExecutionTarget(
            function.id, rows.P1, function.timeout, function.runtime_id, status.AVAILABLE
        ),
        0,
    )
    assert authorize.targets == [resolved.target]

    with pytest.raises(exceptions.NotFound):
        _resolve(rows.caller(rows.P2), function_id=function.id)
    assert _resolve(rows.admin(), function_id=function.id).target.project_id == rows.P1


def test_an_alias_is_a_name_in_the_callers_project():
    function = rows.function(rows.P1)
    rows.alias("prod", function)
    assert _resolve(rows.caller(rows.P1), function_alias="prod").target.function_id == function.id
    with pytest.raises(exceptions.NotFound):
        _resolve(rows.caller(rows.P2), function_alias="prod")


def test_an_alias_cannot_carry_a_target_into_another_project():
    victim = rows.function(rows.P1)
    rows.alias("stolen", victim, project_id=rows.P2)  # as if the alias check were bypassed
    with pytest.raises(exceptions.NotFound):
        _resolve(rows.caller(rows.P2), function_alias="stolen")


def test_a_missing_version_or_no_function_at_all_is_refused():
    function = rows.function()
    with pytest.raises(exceptions.NotFound):
        _resolve(rows.caller(), function_id=function.id, function_version=1)
    versions_db.create(function.id, rows.P1, None, 10, lambda number, md5: None)
    assert _resolve(rows.caller(), function_id=function.id, function_version=1).version == 1
    with pytest.raises(exceptions.InputError):
        _resolve(rows.caller())


def test_a_refused_target_records_nothing():
    function = rows.function()
    with pytest.raises(exceptions.NotAllowed):
        executions_service.resolve_target(
            rows.caller(), {"function_id": function.id}, rows.Authorizer(allow=False)
        )
    assert executions_db.list_all() == []


def test_an_async_start_is_committed_before_the_engine_hears_of_it():
    function = rows.function()
    engine = RecordingEngine()
    resolved = _resolve(rows.caller(), function_id=function.id)
    execution = executions_service.start(
        rows.caller(), engine, resolved, {"input": {"a": 1}}, sync=False, timeout_margin=7
    )
    assert engine.calls == [(execution.id, False, function.timeout + 7)]
    stored = executions_db.get(execution.id, rows.P1)
    assert (stored.status, stored.sync, stored.input) == (status.PENDING, False, {"a": 1})


def test_a_sync_start_answers_the_final_row():
    function = rows.function()
    resolved = _resolve(rows.caller(), function_id=function.id)
    execution = executions_service.start(
        rows.caller(), RecordingEngine(), resolved, {}, sync=True, timeout_margin=0
    )
    assert (execution.status, execution.result) == (status.SUCCESS, {"output": 1})


def test_a_sync_start_takes_the_final_row_from_the_engines_answer(monkeypatch):
    """An engine's answer that says when the outcome was recorded is the final row: it is
    not read back (one transaction less on every sync execution)."""
    function = rows.function()
    resolved = _resolve(rows.caller(), function_id=function.id)
    reads = []
    get = executions_db.get
    monkeypatch.setattr(executions_db, "get", lambda *a: reads.append(a) or get(*a))
    execution = executions_service.start(
        rows.caller(), RecordingEngine(answer=True), resolved, {}, sync=True, timeout_margin=0
    )
    assert len(reads) == 1  # the engine's own check that the row is pending
    stored = get(execution.id)
    columns = ("id", "status", "result", "created_at", "updated_at", "input", "sync")
    assert {c: getattr(execution, c) for c in columns} == {c: getattr(stored, c) for c in columns}


def test_an_unreachable_engine_leaves_the_execution_pending_for_the_sweep():
    function = rows.function()
    resolved = _resolve(rows.caller(), function_id=function.id)
    execution = executions_service.start(
        rows.caller(), RecordingEngine(fail=True), resolved, {}, sync=True, timeout_margin=0
    )
    assert execution.status == status.PENDING
    assert executions_db.list_stale(execution.created_at.replace(year=2100), 10) == [execution.id]


@pytest.mark.parametrize(
    "runtime_status, runs",
    [
        (status.AVAILABLE, True),
        (status.UPGRADING, True),
        (status.CREATING, False),
        (status.ERROR, False),
    ],
)
def test_only_a_runnable_runtime_takes_executions(runtime_status, runs):
    function = rows.function(runtime_status=runtime_status)
    resolved = _resolve(rows.caller(), function_id=function.id)
    engine = RecordingEngine()
    if runs:
        executions_service.start(rows.caller(), engine, resolved, {}, sync=False, timeout_margin=0)
    else:
        with pytest.raises(exceptions.RuntimeNotAvailable):
            executions_service.start(
                rows.caller(), engine, resolved, {}, sync=False, timeout_margin=0
            )
    assert len(engine.calls) == len(executions_db.list_all()) == int(runs)

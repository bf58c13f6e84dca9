"""Backpressure on SQLite: the backlog of pending executions, counted up to its limits,
refuses new asynchronous executions with 429 (a function's) or 503 (every function's)."""

import pytest

from qinling_lite import config, exceptions, status
from qinling_lite.db import executions as executions_db
from qinling_lite.services import executions as executions_service
from qinling_lite.services import webhook_auth
from qinling_lite.services import webhooks as webhooks_service
from tests.unit.services import rows

NOW = 29_000_000 * 60.0  # the start of a rate window


@pytest.fixture
def conf(config_fixture):
    config_fixture.config(group="api", auth_enable=False)
    config_fixture.config(group="execution", max_pending_per_function=2, max_pending_executions=3)
    return config.CONF


class Engine:
    """An engine client that hears of executions and runs none: they stay pending."""

    def create_execution(self, ctxt, execution_id, sync, timeout):
        pass


def _webhook(conf, function, **values):
    return webhooks_service.create(
        rows.caller(), conf, {"function_id": function.id, **values}, rows.Authorizer()
    )


def _invoke(conf, webhook):
    """Admit and record an invocation of ``webhook``, as the API does."""
    invocation = webhook_auth.Invocation(
        authenticated=False, headers={}, body=b"", authorize=rows.Authorizer(), received_at=NOW
    )
    target = webhooks_service.admit(conf, webhook.id, invocation)
    return webhooks_service.invoke(rows.caller(), Engine(), target, {})


def _finish(execution_id):
    executions_db.claim(execution_id, "engine-1", 30)
    executions_db.finish(execution_id, "engine-1", status.SUCCESS, {"output": None}, "")


def _assert_retry_after(refused):
    retry_after = int(refused.value.headers["Retry-After"])
    base = executions_service.BACKLOG_RETRY_AFTER
    assert base <= retry_after <= 2 * base


def test_pending_executions_are_counted_up_to_the_limits_only():
    function, other = rows.function(), rows.function()
    for _ in range(3):
        executions_db.create({"function_id": function.id, "project_id": rows.P1})
    executions_db.create({"function_id": other.id, "project_id": rows.P1})
    executions_db.create(
        {"function_id": function.id, "project_id": rows.P1, "status": status.SUCCESS}
    )
    assert executions_db.count_pending(function.id, 10, 10) == (3, 4)
    assert executions_db.count_pending(function.id, 2, 3) == (2, 3)
    assert executions_db.count_pending(other.id, 0, 0) == (0, 0)  # 0: not counted


def test_a_full_functions_backlog_is_429_and_counts_nothing(conf):
    function = rows.function()
    webhook = _webhook(conf, function, rate_limit=3)
    admitted = [_invoke(conf, webhook) for _ in range(2)]
    with pytest.raises(exceptions.TooManyRequests, match="max_pending_per_function") as refused:
        _invoke(conf, webhook)
    assert refused.value.code == 429 and function.id in refused.value.message
    _assert_retry_after(refused)
    assert len(executions_db.list_all()) == 2

    # Drained, it admits again: the refused call did not count against the rate limit.
    for execution in admitted:
        _finish(execution.id)
    _invoke(conf, webhook)
    with pytest.raises(exceptions.TooManyRequests, match="3 invocations a minute"):
        _invoke(conf, webhook)


def test_a_full_backlog_of_every_function_is_503(conf):
    first, second = rows.function(), rows.function()
    for _ in range(2):
        _invoke(conf, _webhook(conf, first))
    second_webhook = _webhook(conf, second)
    _invoke(conf, second_webhook)
    with pytest.raises(exceptions.Busy, match="max_pending_executions") as refused:
        _invoke(conf, second_webhook)
    assert refused.value.code == 503
    _assert_retry_after(refused)
    assert len(executions_db.list_all()) == 3


def test_synchronous_invocations_are_not_refused_for_the_backlog(conf):
    function = rows.function()
    for _ in range(2):
        _invoke(conf, _webhook(conf, function))
    invocation = webhook_auth.Invocation(
        authenticated=False, headers={}, body=b"", authorize=rows.Authorizer(), received_at=NOW
    )
    target = webhooks_service.admit(conf, _webhook(conf, function, sync=True).id, invocation)
    assert target.sync


def test_limits_of_0_admit_any_backlog(conf, config_fixture):
    config_fixture.config(group="execution", max_pending_per_function=0, max_pending_executions=0)
    webhook = _webhook(conf, rows.function())
    for _ in range(4):
        _invoke(conf, webhook)
    executions_service.admit_async(conf, webhook.function_id)

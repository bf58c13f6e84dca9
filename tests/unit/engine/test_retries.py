"""What follows a failed attempt: the retry policy on its own, then the engine running a
chain of attempts on real workers and a real database."""

import datetime

import pytest
from oslo_utils import timeutils

from qinling_lite import retry_reasons, status
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.engine import retries
from qinling_lite.runtime import protocol
from tests.unit.engine.test_engine import _function, _pending, local_only

FAILS_TWICE = (
    "def main(context=None, **kwargs):\n"
    "    if context['retry_attempt'] < 2:\n"
    "        raise RuntimeError('attempt %d failed' % context['retry_attempt'])\n"
    "    return 'done on attempt %d' % context['retry_attempt']\n"
)
ALWAYS_FAILS = "def main(**kwargs):\n    raise RuntimeError('broken')\n"
DEAD_LETTER_ID = "99999999-2222-3333-4444-555555555555"


@pytest.fixture
def policy_conf(config_fixture):
    config_fixture.config(
        group="execution",
        default_retry_attempts=1,
        max_retry_attempts=3,
        retry_backoff_base=2.0,
        retry_backoff_max=5.0,
    )
    return config_fixture.conf


def _claimed(
    sync=False,
    retry_attempt=0,
    retry_attempts=None,
    retry_on=None,
    dead_letter_function_id=DEAD_LETTER_ID,
    dead_letter_of=None,
    function_exists=True,
):
    """A claimed execution as ``db.executions.claim`` returns one."""
    function = executions_db.WorkerTarget(
        function_id="11111111-2222-3333-4444-555555555555",
        function_version=3,
        function_exists=function_exists,
        version_md5=None,
        project_id="p1",
        runtime_id=None,
        runtime_image=None,
        entry=None,
        code=None,
        cpu=None,
        memory_size=None,
        timeout=None,
    )
    return executions_db.ClaimedExecution(
        id="e-1",
        input={"alarm": "cpu"},
        attempts=1,
        trust_id=None,
        function=function,
        project_id="p1",
        sync=sync,
        function_alias="prod",
        description="Created by Webhook w",
        retry_attempt=retry_attempt,
        dead_letter_of=dead_letter_of,
        retry=executions_db.RetrySettings(retry_attempts, retry_on, dead_letter_function_id),
    )


FAILED_RESULT = {"duration": 0.1, "output": "broken"}
TIMEOUT_RESULT = {"duration": 5.0, "output": protocol.TIMEOUT_OUTPUT}


@pytest.mark.parametrize(
    ("outcome", "result", "engine_side", "expected"),
    [
        (status.SUCCESS, {"output": 1}, False, None),
        (status.FAILED, FAILED_RESULT, False, retry_reasons.FAILED),
        (status.FAILED, TIMEOUT_RESULT, False, retry_reasons.TIMEOUT),
        # A worker that died.
        (status.FAILED, {"output": "The worker failed."}, True, retry_reasons.ERROR),
        (status.ERROR, {"output": "No worker in time."}, True, retry_reasons.ERROR),
    ],
)
def test_an_attempt_fails_for_one_reason(outcome, result, engine_side, expected):
    assert retries.reason(outcome, result, engine_side) == expected


def test_the_backoff_doubles_up_to_its_maximum_with_jitter_from_half(policy_conf):
    highest = retries.Policy(policy_conf, rand=lambda low, high: high)
    lowest = retries.Policy(policy_conf, rand=lambda low, high: low)
    assert [highest.backoff(n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 5.0, 5.0]
    assert [lowest.backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 2.5, 2.5]


def test_a_retry_copies_the_execution_and_links_to_it(policy_conf):
    before = timeutils.utcnow()
    retry = retries.Policy(policy_conf, rand=lambda low, high: high).follow_up(
        _claimed(), status.FAILED, FAILED_RESULT
    )
    not_before = retry.pop("not_before")
    assert before + datetime.timedelta(seconds=2) <= not_before
    assert not_before <= timeutils.utcnow() + datetime.timedelta(seconds=2)
    assert retry == {
        "function_id": "11111111-2222-3333-4444-555555555555",
        "function_version": 3,
        "function_alias": "prod",
        "project_id": "p1",
        "description": "Created by Webhook w",
        "input": {"alarm": "cpu"},
        "sync": False,
        "retry_of": "e-1",
        "retry_attempt": 1,
        "dead_letter_of": None,
    }


def test_the_last_attempt_dead_letters_its_input_and_error(policy_conf):
    last = _claimed(retry_attempt=1)  # the default allows one retry
    dead_letter = retries.Policy(policy_conf).follow_up(last, status.FAILED, FAILED_RESULT)
    assert dead_letter == {
        "function_id": DEAD_LETTER_ID,
        "project_id": "p1",
        "description": "Dead letter of execution e-1",
        "sync": False,
        "dead_letter_of": "e-1",
        "input": {
            "function_id": "11111111-2222-3333-4444-555555555555",
            "function_version": 3,
            "execution_id": "e-1",
            "retry_attempt": 1,
            "status": status.FAILED,
            "input": {"alarm": "cpu"},
            "error": "broken",
        },
    }


@pytest.mark.parametrize(
    ("claimed", "result", "follows"),
    [
        (_claimed(retry_on="timeout"), FAILED_RESULT, "dead letter"),
        (_claimed(retry_on="timeout"), TIMEOUT_RESULT, "retry"),
        (_claimed(retry_on=""), TIMEOUT_RESULT, "dead letter"),
        (_claimed(retry_attempts=0), FAILED_RESULT, "dead letter"),
        (_claimed(retry_attempts=3, retry_attempt=2), FAILED_RESULT, "retry"),
        # A function asking for more than the maximum (lowered since) gets the maximum.
        (_claimed(retry_attempts=9, retry_attempt=3), FAILED_RESULT, "dead letter"),
        (_claimed(retry_attempt=1, dead_letter_function_id=None), FAILED_RESULT, None),
        # Sync executions never retry nor dead-letter: their caller saw the failure.
        (_claimed(sync=True), FAILED_RESULT, None),
        # A dead-letter execution retries but never dead-letters (no loops).
        (_claimed(dead_letter_of="e-0"), FAILED_RESULT, "retry"),
        (_claimed(dead_letter_of="e-0", retry_attempt=1), FAILED_RESULT, None),
        (_claimed(function_exists=False), FAILED_RESULT, None),
    ],
)
def test_what_follows_a_failed_attempt(policy_conf, claimed, result, follows):
    follow_up = retries.Policy(policy_conf).follow_up(claimed, status.FAILED, result)
    kind = follow_up and ("retry" if "retry_of" in follow_up else "dead letter")
    assert kind == follows


def test_a_success_has_no_follow_up(policy_conf):
    assert retries.Policy(policy_conf).follow_up(_claimed(), status.SUCCESS, {"output": 1}) is None


@local_only
def test_the_engine_runs_a_chain_of_attempts_to_its_success(engine, conf, config_fixture):
    config_fixture.config(group="execution", retry_backoff_base=0)
    runtime, function = _function(conf, source=FAILS_TWICE)
    functions_db.update(function.id, {"retry_attempts": 3})
    engine.manager.start_pool(runtime)
    first = _pending(function, input={"n": 1}, sync=False)

    outcomes = [engine.manager.create_execution(None, first.id)["status"]]
    while due := executions_db.list_due_retries(timeutils.utcnow(), 10):
        outcomes += [engine.manager.create_execution(None, id_)["status"] for id_ in due]

    assert outcomes == [status.FAILED, status.FAILED, status.SUCCESS]
    chain = sorted(executions_db.list_all(), key=lambda e: e.retry_attempt)
    assert [(e.retry_attempt, e.status, e.input) for e in chain] == [
        (0, status.FAILED, {"n": 1}),
        (1, status.FAILED, {"n": 1}),
        (2, status.SUCCESS, {"n": 1}),
    ]
    assert [e.retry_of for e in chain] == [None, chain[0].id, chain[1].id]
    assert chain[2].result["output"] == "done on attempt 2"
    assert [e.result["output"] for e in chain[:2]] == ["attempt 0 failed", "attempt 1 failed"]
    # Each retry counts as an execution of the function.
    assert functions_db.get(function.id).count == 3


@local_only
def test_a_sync_execution_that_fails_is_final(engine, conf, config_fixture):
    config_fixture.config(group="execution", default_retry_attempts=3, retry_backoff_base=0)
    runtime, function = _function(conf, source=ALWAYS_FAILS)
    engine.manager.start_pool(runtime)
    execution = _pending(function, sync=True)
    assert engine.manager.create_execution(None, execution.id)["status"] == status.FAILED
    assert [e.id for e in executions_db.list_all()] == [execution.id]

"""Retries through engine crashes, in the production shape (``benchmarks.deployments``:
a gunicorn API and engines over RabbitMQ and MariaDB).

A retry is a row recorded with the outcome of the attempt before it, not a timer in an
engine: killing engines mid-run and between two attempts neither loses a retry nor runs
one twice, and each chain's last failure reaches the dead-letter function once.
"""

import concurrent.futures

import pytest
import requests

from benchmarks import deployments
from tests.functional.conftest import Client, wait_for

CHAINS = 30
RETRIES = 2
# Backoffs of 2 to 4 s: long enough to kill every engine while retries wait.
OPTIONS = {
    "execution": {
        "retry_backoff_base": 4,
        "retry_backoff_max": 4,
        "retry_check_interval": 0.2,
    }
}
SETTLE_TIMEOUT = 180
# Attempts overlap, so that the first engine killed dies holding some.
SLOW_FAILURE = (
    "import time\n\ndef main(**kwargs):\n    time.sleep(0.3)\n    raise RuntimeError('down')\n"
)
RECORDS_ITS_INPUT = "def main(context=None, **kwargs):\n    return kwargs\n"


@pytest.fixture
def shape(tmp_path):
    with deployments.ProductionShape(tmp_path, engines=2, options=OPTIONS) as shape:
        yield shape


def _statuses(shape, function_id):
    return dict(
        shape.query(
            "SELECT status, COUNT(*) FROM executions WHERE function_id = :f GROUP BY status",
            f=function_id,
        )
    )


def _settled(shape, function_id, count):
    statuses = _statuses(shape, function_id)
    return (
        statuses
        if sum(statuses.values()) == count and not {"pending", "running"} & statuses.keys()
        else None
    )


def _kill_live_engines(shape):
    for index, (_, process) in enumerate(shape.engines):
        if process.poll() is None:
            shape.kill_engine(index)


def test_retries_survive_engines_killed_mid_run_and_between_attempts(shape):
    client = Client(shape.url)
    runtime_id = client.create_runtime()["id"]
    dead_letter = client.create_function(runtime_id, source=RECORDS_ITS_INPUT, module="dl")
    function = client.create_function(
        runtime_id,
        source=SLOW_FAILURE,
        module="slow_failure",
        retry_attempts=RETRIES,
        dead_letter_function_id=dead_letter["id"],
    )
    url = shape.create_webhook(function["id"])

    def invoke(n):
        response = requests.post(url, json={"n": n}, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()["execution_id"]

    with concurrent.futures.ThreadPoolExecutor(8) as senders:
        firsts = list(senders.map(invoke, range(CHAINS)))

    # Mid-run: kill an engine holding first attempts (their leases run out, another
    # engine runs them again and records their one outcome) and start another.
    def running_on(prefix):
        return shape.query(
            "SELECT id FROM executions WHERE status = 'running' AND engine_id LIKE :p",
            p=f"{prefix}%",
        )

    assert wait_for(lambda: running_on("engine-0-"), timeout=60, interval=0.02)
    held = running_on(shape.kill_engine(0))
    assert held, "engine 0 died holding no attempt: it was not killed mid-run"
    shape.start_engine()

    # Between attempts: once retries wait for their backoff, kill every engine. Nothing
    # but the database holds them; a new engine must run each of them once.
    def waiting_retries():
        return shape.query(
            "SELECT id FROM executions WHERE function_id = :f AND status = 'pending' "
            "AND retry_attempt > 0",
            f=function["id"],
        )

    waiting = wait_for(waiting_retries, timeout=60, interval=0.05)
    assert waiting, "no retry waited for its backoff"
    _kill_live_engines(shape)
    shape.start_engine()

    attempts = CHAINS * (1 + RETRIES)
    statuses = wait_for(lambda: _settled(shape, function["id"], attempts), SETTLE_TIMEOUT, 0.5)
    assert statuses == {"failed": attempts}, _statuses(shape, function["id"])
    reports = wait_for(lambda: _settled(shape, dead_letter["id"], CHAINS), SETTLE_TIMEOUT, 0.5)
    assert reports == {"success": CHAINS}, _statuses(shape, dead_letter["id"])

    rows = shape.query(
        "SELECT id, retry_of, retry_attempt FROM executions WHERE function_id = :f",
        f=function["id"],
    )
    by_id = {row.id: row for row in rows}
    retried = [row.retry_of for row in rows if row.retry_of is not None]
    assert len(retried) == len(set(retried)) == CHAINS * RETRIES  # one retry per attempt
    for first in firsts:  # each chain: the first attempt, then retries 1 and 2
        chain = [first]
        while len(chain) <= RETRIES:
            (next_id,) = [row.id for row in rows if row.retry_of == chain[-1]]
            chain.append(next_id)
        assert [by_id[id_].retry_attempt for id_ in chain] == list(range(1 + RETRIES))
    last_attempts = {row.id for row in rows if row.retry_attempt == RETRIES}
    reported = shape.query(
        "SELECT dead_letter_of FROM executions WHERE function_id = :f", f=dead_letter["id"]
    )
    assert sorted(row.dead_letter_of for row in reported) == sorted(last_attempts)
    assert {row.id for row in waiting} <= set(by_id)

"""Faults in the production shape: an engine killed mid-run, the broker restarted.

Two engines and a gunicorn API over RabbitMQ and MariaDB (``benchmarks.deployments``).
Restarting the local RabbitMQ takes ``rabbitmqctl`` with the rights to run it (root).
"""

import concurrent.futures
import contextlib
import signal
import subprocess
import time

import pytest
import requests

from benchmarks import deployments
from tests.functional.conftest import Client, wait_for

INVOCATIONS = 500
RATE = 60  # invocations per second, so that the faults happen while they arrive
THREADS = 16
OUTAGE = 1.5  # seconds RabbitMQ stays stopped, while a sixth of the invocations come
SETTLE_TIMEOUT = 90
# Executions overlap, so that the killed engine dies holding some.
SLEEPER = "import time\n\ndef main(n=None, **kwargs):\n    time.sleep(0.2)\n    return n\n"


@pytest.fixture(scope="module")
def shape(tmp_path_factory):
    with deployments.ProductionShape(tmp_path_factory.mktemp("production"), engines=2) as shape:
        yield shape


@pytest.fixture(scope="module")
def runtime_id(shape):
    return shape.client.create_runtime()["id"]


def _webhook(shape, runtime_id):
    """A new function and its webhook: (function id, invocation URL)."""
    client = Client(shape.url)
    function = client.create_function(runtime_id, source=SLEEPER, module="sleeper")
    return function["id"], shape.create_webhook(function["id"])


def _rabbitmqctl(command):
    subprocess.run(["rabbitmqctl", command], check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def _broker_stopped():
    """RabbitMQ's application stopped meanwhile: connections drop, non-durable queues go."""
    _rabbitmqctl("stop_app")
    try:
        yield
    finally:
        _rabbitmqctl("start_app")


def _invoke(url, n):
    """Invoke the webhook; return the execution id of its 202 and when that came."""
    response = requests.post(url, json={"n": n}, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["execution_id"], time.monotonic()


def _paced(count, rate):
    """0 .. count - 1, one every ``1 / rate`` seconds, or later when the caller was slow."""
    for n in range(count):
        started = time.monotonic()
        yield n
        time.sleep(max(0.0, started + 1 / rate - time.monotonic()))


def _running_on(shape, engine_id_prefix):
    rows = shape.query(
        "SELECT id FROM executions WHERE status = 'running' AND engine_id LIKE :prefix",
        prefix=f"{engine_id_prefix}%",
    )
    return {row.id for row in rows}


def _invoke_through_faults(shape, url):
    """Invoke ``INVOCATIONS`` times. A third of the way, kill engine 0 (and start another,
    as systemd would); two thirds of the way, stop RabbitMQ for ``OUTAGE`` seconds.

    Return the (execution id, answered at) of every invocation, the executions the
    killed engine was running when it died, and when RabbitMQ was down.
    """
    down = up = None
    with (
        concurrent.futures.ThreadPoolExecutor(THREADS) as senders,
        concurrent.futures.ThreadPoolExecutor(2) as faults,
    ):
        sent = []
        try:
            for n in _paced(INVOCATIONS, RATE):
                if n == INVOCATIONS // 3:
                    held = _running_on(shape, shape.kill_engine(0))
                    replaced = faults.submit(shape.start_engine)
                if n == 2 * INVOCATIONS // 3:
                    _rabbitmqctl("stop_app")
                    down = time.monotonic()
                if up is None and down is not None and time.monotonic() - down >= OUTAGE:
                    up = time.monotonic()
                    started = faults.submit(_rabbitmqctl, "start_app")
                sent.append(senders.submit(_invoke, url, n))
        finally:
            if down is not None and up is None:
                _rabbitmqctl("start_app")
        assert up is not None, "the invocations ended within the outage: lower OUTAGE"
        started.result()
        replaced.result()
        return [future.result() for future in sent], held, (down, up)


def _statuses(shape, function_id):
    return dict(
        shape.query(
            "SELECT status, COUNT(*) FROM executions WHERE function_id = :f GROUP BY status",
            f=function_id,
        )
    )


def _settled(shape, function_id):
    """The statuses of the function's executions once none is pending or running."""
    statuses = _statuses(shape, function_id)
    return statuses if not {"pending", "running"} & statuses.keys() else None


def _report(capsys, record_testsuite_property, name, value):
    """Show a figure in the CI log (past output capture) and in the JUnit XML."""
    record_testsuite_property(name, value)
    with capsys.disabled():
        print(f"\n{name}: {value}")


def test_invocations_survive_a_killed_engine_and_a_broker_restart(
    shape, runtime_id, capsys, record_testsuite_property
):
    function_id, url = _webhook(shape, runtime_id)
    answers, held, (down, up) = _invoke_through_faults(shape, url)
    assert held, "the killed engine held no execution: it was not killed mid-run"
    while_down = sum(down <= answered <= up for _, answered in answers)
    assert while_down, "no invocation was answered while RabbitMQ was down"

    statuses = wait_for(lambda: _settled(shape, function_id), SETTLE_TIMEOUT, interval=0.5)
    assert statuses == {"success": INVOCATIONS}, statuses or _statuses(shape, function_id)
    rows = shape.query("SELECT id, attempts FROM executions WHERE function_id = :f", f=function_id)
    assert sorted(row.id for row in rows) == sorted(execution_id for execution_id, _ in answers)
    repeated = {row.id for row in rows if row.attempts > 1}
    for name, value in (
        ("invocations_answered_while_rabbitmq_was_down", while_down),
        ("executions_held_by_the_killed_engine", len(held)),
        ("executions_attempted_more_than_once", len(repeated)),
    ):
        _report(capsys, record_testsuite_property, name, value)
    # Only the crash may run a function twice: what the dead engine held is retried.
    assert repeated <= held, f"retried although no engine died holding them: {repeated - held}"


def test_an_invocation_while_the_broker_is_down_runs_without_help(shape, runtime_id):
    function_id, url = _webhook(shape, runtime_id)
    with _broker_stopped():
        # Answered and stored before the broker starts again: the API did not wait for it.
        execution_id, _ = _invoke(url, 0)
        stored = shape.query("SELECT status FROM executions WHERE id = :id", id=execution_id)
        assert [row.status for row in stored] == ["pending"]
    engines = shape.live_engines()
    assert wait_for(lambda: shape.consumers() == engines, timeout=60, interval=0.2), (
        "the engines did not consume their topic again"
    )

    def status():
        return shape.query(
            "SELECT status, attempts FROM executions WHERE id = :id", id=execution_id
        )[0]

    assert wait_for(lambda: status().status == "success", timeout=30, interval=0.2), status()
    assert status().attempts == 1


def test_sigterm_lets_an_engine_finish_what_it_runs(tmp_path):
    """SIGTERM: the engine stops consuming, finishes its execution in flight, then exits."""
    slow = "import time\n\ndef main(**kwargs):\n    time.sleep(3)\n    return 'done'\n"
    with deployments.ProductionShape(tmp_path, engines=1) as shape:
        runtime = shape.client.create_runtime()
        function = Client(shape.url).create_function(runtime["id"], source=slow, module="slow")
        url = shape.create_webhook(function["id"])
        execution_id = requests.post(url, json={}, timeout=30).json()["execution_id"]

        def status():
            return shape.client.get(f"/v1/executions/{execution_id}").json()["status"]

        assert wait_for(lambda: status() == "running", timeout=30)
        _, engine = shape.engines[0]
        engine.send_signal(signal.SIGTERM)
        engine.wait(timeout=60)  # generous: the engine needs about the 3 s its function runs
        assert status() == "success"
        attempts = shape.query("SELECT attempts FROM executions WHERE id = :id", id=execution_id)
        assert [row.attempts for row in attempts] == [1]

"""Retries of failed asynchronous executions and dead-letter functions, through the API
of a real ``qinling-lite-serve`` with short backoffs.

A function sees which attempt it is in ``context["retry_attempt"]`` and reports when it
started (its sandbox shares the host's clock), so the tests can tell each attempt apart
and check that none ran before its ``not_before``.
"""

import datetime
import json
import time

import pytest
import sqlalchemy as sa

from qinling_lite.db import models
from tests.functional.conftest import Client, serving, wait_for

MAX_RETRIES = 3
CONFIG = (
    f"[execution]\nmax_retry_attempts = {MAX_RETRIES}\nretry_backoff_base = 0.5\n"
    "retry_backoff_max = 1\nretry_check_interval = 0.2\n"
    "[local_orchestrator]\npool_size = 2\n"
    "[engine]\npending_sweep_interval = 1\npending_grace = 1\n"
)
FAILS_TWICE = (
    "import time\n\n"
    "def main(context=None, **kwargs):\n"
    "    started = time.time()\n"
    "    if context['retry_attempt'] < 2:\n"
    "        raise RuntimeError(repr(started))\n"
    "    return repr(started)\n"
)
ALWAYS_FAILS = "def main(**kwargs):\n    raise RuntimeError('broken')\n"
RECORDS_ITS_INPUT = "def main(context=None, **kwargs):\n    return kwargs\n"
# Longer than the longest backoff and several retry checks: time for what should not happen.
QUIET = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("retries"), CONFIG) as description:
        yield description


@pytest.fixture(scope="module")
def client(server):
    return Client(server["url"])


@pytest.fixture(scope="module")
def runtime(client):
    return client.create_runtime()


def _executions(client, **filters):
    """The executions matching ``filters``, by attempt number."""
    listed = client.get("/v1/executions", params=filters).json()["executions"]
    return sorted(listed, key=lambda e: (e["retry_attempt"], e["created_at"]))


def _settled(client, count, **filters):
    """The ``count`` executions matching ``filters`` once all of them are final."""
    executions = _executions(client, **filters)
    final = [e for e in executions if e["status"] not in ("pending", "running")]
    return executions if len(final) == len(executions) == count else None


def _not_before(server, execution_id):
    """An execution's ``not_before`` to the microsecond, as seconds since the epoch."""
    table = models.Base.metadata.tables["executions"]
    engine = sa.create_engine(server["database"], poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            value = connection.scalar(
                sa.select(table.c.not_before).where(table.c.id == execution_id)
            )
    finally:
        engine.dispose()
    return value.replace(tzinfo=datetime.UTC).timestamp()


def _started(execution):
    """When the attempt's function started: what FAILS_TWICE reports."""
    return float(json.loads(execution["result"])["output"])


def test_a_function_that_fails_twice_succeeds_on_its_second_retry(client, server, runtime):
    function = client.create_function(
        runtime["id"], source=FAILS_TWICE, module="flaky", retry_attempts=MAX_RETRIES
    )
    assert function["retry_attempts"] == MAX_RETRIES
    first = client.run(function["id"], input='{"n": 1}', sync=False)

    chain = wait_for(lambda: _settled(client, 3, function_id=function["id"]), timeout=60)
    assert chain, _executions(client, function_id=function["id"])
    assert [(e["retry_attempt"], e["status"]) for e in chain] == [
        (0, "failed"),
        (1, "failed"),
        (2, "success"),
    ]
    assert [e["retry_of"] for e in chain] == [None, first["id"], chain[1]["id"]]
    assert chain[0]["id"] == first["id"] and chain[0]["not_before"] is None
    assert {e["input"] for e in chain} == {'{"n": 1}'}
    assert all(e["sync"] is False for e in chain)
    # The chain is followed forwards with the retry_of filter, too.
    assert [e["id"] for e in _executions(client, retry_of=first["id"])] == [chain[1]["id"]]
    # No retry ran before its time: retry n waits at least half of 0.5 * 2 ** (n - 1) s.
    for n in (1, 2):
        assert _started(chain[n]) >= _not_before(server, chain[n]["id"])
        assert _started(chain[n]) - _started(chain[n - 1]) >= 0.25 * 2 ** (n - 1)
    time.sleep(QUIET)
    assert len(_executions(client, function_id=function["id"])) == 3


def _failing_with_dead_letter(client, runtime, **retry_settings):
    """(a dead-letter function that returns its input, a function that always fails and
    reports to it with ``retry_settings``)."""
    dead_letter = client.create_function(
        runtime["id"], source=RECORDS_ITS_INPUT, module="dead_letter"
    )
    function = client.create_function(
        runtime["id"],
        source=ALWAYS_FAILS,
        module="broken",
        dead_letter_function_id=dead_letter["id"],
        **retry_settings,
    )
    return dead_letter, function


def test_a_function_that_always_fails_dead_letters_its_input_once(client, runtime):
    dead_letter, function = _failing_with_dead_letter(
        client, runtime, retry_attempts=2, retry_on="failed,timeout"
    )
    assert function["retry_on"] == ["failed", "timeout"]
    assert function["dead_letter_function_id"] == dead_letter["id"]
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    answer = client.http.post(webhook["webhook_url"], json={"alarm": "cpu high"})
    assert answer.status_code == 202, answer.text

    chain = wait_for(lambda: _settled(client, 3, function_id=function["id"]), timeout=60)
    assert chain, _executions(client, function_id=function["id"])
    assert [(e["retry_attempt"], e["status"]) for e in chain] == [(n, "failed") for n in range(3)]
    assert chain[0]["id"] == answer.json()["execution_id"]
    reports = wait_for(lambda: _settled(client, 1, function_id=dead_letter["id"]), timeout=30)
    assert reports, _executions(client, function_id=dead_letter["id"])
    report = reports[0]
    expected = {
        "function_id": function["id"],
        "function_version": 0,
        "execution_id": chain[-1]["id"],
        "retry_attempt": 2,
        "status": "failed",
        "input": {"alarm": "cpu high"},
        "error": "broken",
    }
    assert json.loads(report["input"]) == expected
    assert report["dead_letter_of"] == chain[-1]["id"]
    assert report["sync"] is False
    assert (report["status"], json.loads(report["result"])["output"]) == ("success", expected)
    assert [e["id"] for e in _executions(client, dead_letter_of=chain[-1]["id"])] == [report["id"]]

    time.sleep(QUIET)
    assert len(_executions(client, function_id=function["id"])) == 3
    assert len(_executions(client, function_id=dead_letter["id"])) == 1


def test_a_sync_execution_never_retries_nor_dead_letters(client, runtime):
    dead_letter, function = _failing_with_dead_letter(client, runtime, retry_attempts=MAX_RETRIES)
    execution = client.run(function["id"], sync=True)
    assert (execution["status"], execution["retry_attempt"]) == ("failed", 0)
    time.sleep(QUIET)
    assert [e["id"] for e in _executions(client, function_id=function["id"])] == [execution["id"]]
    assert _executions(client, function_id=dead_letter["id"]) == []


def test_retry_settings_are_checked_and_a_dead_letter_function_is_kept(client, runtime):
    dead_letter = client.create_function(runtime["id"], module="dead_letter")
    function = client.create_function(runtime["id"], dead_letter_function_id=dead_letter["id"])
    path = f"/v1/functions/{function['id']}"

    too_many = client.put(path, json={"retry_attempts": MAX_RETRIES + 1})
    assert too_many.status_code == 400
    assert too_many.json()["faultstring"] == (
        f"retry_attempts must be an integer from 0 to {MAX_RETRIES} (the most this "
        "deployment allows), or null for its default."
    )
    unknown = client.put(path, json={"retry_on": ["failed", "oom"]})
    assert unknown.status_code == 400 and "retry_on" in unknown.json()["faultstring"]
    itself = client.put(path, json={"dead_letter_function_id": function["id"]})
    assert itself.status_code == 400
    missing = client.put(
        path, json={"dead_letter_function_id": "00000000-0000-0000-0000-000000000000"}
    )
    assert missing.status_code == 404

    refused = client.delete(f"/v1/functions/{dead_letter['id']}")
    assert refused.status_code == 403
    assert function["id"] in refused.json()["faultstring"]

    cleared = client.put(path, json={"dead_letter_function_id": None, "retry_on": []})
    assert cleared.status_code == 200, cleared.text
    shown = client.get(path).json()
    assert (shown["dead_letter_function_id"], shown["retry_on"], shown["retry_attempts"]) == (
        None,
        [],
        None,
    )
    assert client.delete(f"/v1/functions/{dead_letter['id']}").status_code == 204

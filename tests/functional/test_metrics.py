"""Prometheus metrics of ``qinling-lite-serve``: ``/metrics`` after webhook and API runs."""

import uuid

import pytest
import requests
from prometheus_client import parser

from tests.functional.conftest import Client, serving, wait_for

SLEEPS = "import time\n\ndef main(**kwargs):\n    time.sleep(3)\n    return 'done'\n"


@pytest.fixture(scope="module")
def metered(tmp_path_factory):
    """A server with metrics on; one worker per function, given up on after 1 s, and a
    handed-back execution left pending (no sweep takes it within the tests)."""
    config = (
        "[metrics]\nenabled = true\n"
        "[local_orchestrator]\npool_size = 1\nmax_workers_per_function = 1\n"
        "[engine]\nworker_wait = 1\npending_grace = 300\n"
    )
    with serving(tmp_path_factory.mktemp("data"), config) as description:
        client = Client(description["url"])
        yield client, client.create_runtime()


def scrape(client):
    """``{(sample name, frozenset of labels): value}`` of one scrape of /metrics."""
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in parser.text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def delta(before, after, name, **labels):
    return value(after, name, **labels) - value(before, name, **labels)


def webhook_run(client, function):
    """Invoke a new webhook of ``function``; the execution's id."""
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    answer = client.http.post(webhook["webhook_url"], json={"name": "Prometheus"})
    assert answer.status_code == 202, answer.text
    return answer.json()["execution_id"]


def final(client, execution_id, timeout=10):
    def done():
        execution = client.get(f"/v1/executions/{execution_id}").json()
        return execution["status"] not in ("pending", "running") and execution

    execution = wait_for(done, timeout=timeout, interval=0.05)
    assert execution, f"execution {execution_id} did not finish"
    return execution


def test_a_webhook_run_and_an_api_run_move_the_counters(metered):
    client, runtime = metered
    function = client.create_function(runtime["id"])
    before = scrape(client)

    execution_id = webhook_run(client, function)
    unknown = client.http.post(f"{client.url}/v1/webhooks/{uuid.uuid4()}/invoke", json={})
    assert unknown.status_code == 404
    assert final(client, execution_id)["status"] == "success"
    assert client.run(function["id"])["status"] == "success"  # sync, through the API
    after = scrape(client)

    responses = "qinling_lite_webhook_responses_total"
    assert delta(before, after, responses, code="202") == 1
    assert delta(before, after, responses, code="404") == 1
    executions = "qinling_lite_executions_total"
    assert delta(before, after, executions, status="success", trigger="webhook") == 1
    assert delta(before, after, executions, status="success", trigger="api") == 1
    assert delta(before, after, executions, status="failed", trigger="webhook") == 0
    assert delta(before, after, "qinling_lite_execution_run_seconds_count") == 2
    assert value(after, "qinling_lite_execution_run_seconds_bucket", le="+Inf") == value(
        after, "qinling_lite_execution_run_seconds_count"
    )
    assert value(after, "qinling_lite_execution_takeovers_total") == 0
    assert value(after, "qinling_lite_executions_waiting") == 0
    # The function's worker is warm and idle; the pool keeps its pre-warmed one.
    assert value(after, "qinling_lite_workers", runtime=runtime["id"], state="idle") == 1
    assert value(after, "qinling_lite_workers", runtime=runtime["id"], state="busy") == 0
    free = frozenset({"runtime": runtime["id"], "state": "free"}.items())
    assert ("qinling_lite_workers", free) in after
    assert value(after, "process_cpu_seconds_total") > 0


def test_a_webhook_run_is_timed_from_its_creation(metered):
    client, runtime = metered
    function = client.create_function(runtime["id"])
    before = scrape(client)
    assert final(client, webhook_run(client, function))["status"] == "success"
    after = scrape(client)
    name = "qinling_lite_execution_end_to_end_seconds_count"
    assert delta(before, after, name, trigger="webhook") == 1


def test_busy_workers_and_the_backlog(metered):
    """Two invocations of a function with one worker: the first keeps it busy for 3 s,
    the second finds none within 1 s and is handed back, pending (and stays so)."""
    client, runtime = metered
    function = client.create_function(runtime["id"], source=SLEEPS, module="sleeps", timeout=10)
    running = webhook_run(client, function)
    webhook_run(client, function)

    def backlog():
        samples = scrape(client)
        return value(samples, "qinling_lite_executions_waiting") == 1 and samples

    samples = wait_for(backlog, timeout=1.8, interval=0.1)
    assert samples, "the second execution was not handed back"
    assert value(samples, "qinling_lite_workers", runtime=runtime["id"], state="busy") == 1
    assert final(client, running)["status"] == "success"


def test_metrics_are_off_unless_enabled(server):
    assert requests.get(server["url"] + "/metrics", timeout=5).status_code == 404

"""Backpressure against a live server with tiny backlog limits: while a slow execution
holds the only engine thread, new asynchronous executions stay pending, and beyond the
limits webhook invocations answer 429 (the function's backlog) or 503 (every function's)
with Retry-After, recording nothing; every 202 still reaches success."""

import concurrent.futures

import pytest

from tests.functional.conftest import Client, serving, wait_for

SLEEPS = "import time\n\ndef main(seconds=0, **kwargs):\n    time.sleep(seconds)\n    return 'ok'\n"
PER_FUNCTION, TOTAL = 3, 5
CONFIG = (
    "[local_orchestrator]\npool_size = 2\n"
    "[engine]\nexecution_threads = 1\n"
    f"[execution]\nmax_pending_per_function = {PER_FUNCTION}\n"
    f"max_pending_executions = {TOTAL}\n"
)
CALLS = 12  # more than the API's threads: some find the limit reached


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("backpressure"), CONFIG) as server:
        yield Client(server["url"])


def webhook(client, function_id, **fields):
    created = client.post("/v1/webhooks", json={"function_id": function_id, **fields})
    assert created.status_code == 201, created.text
    return created.json()["webhook_url"]


def executions(client, **params):
    return client.get("/v1/executions", params=params).json()["executions"]


def assert_refused(answer, code, option):
    """A backlog refusal: the error shape, the limit named, a Retry-After of 5 to 10 s."""
    assert answer.status_code == code, answer.text
    assert 5 <= int(answer.headers["Retry-After"]) <= 10
    body = answer.json()
    assert body["faultcode"] == ("Client" if code == 429 else "Server")
    assert option in body["faultstring"] and "Retry-After" in body["faultstring"]


def test_a_full_backlog_refuses_cleanly_and_every_202_succeeds(client):
    runtime = client.create_runtime()
    first = client.create_function(runtime["id"], SLEEPS, module="sleeps", timeout=10)["id"]
    second = client.create_function(runtime["id"], SLEEPS, module="sleeps")["id"]
    # The engine's only thread runs this one: what comes next stays pending.
    blocker = client.run(first, input='{"seconds": 6}', sync=False)["id"]
    assert wait_for(lambda: status(client, blocker) == "running", 10)

    url = webhook(client, first)
    with concurrent.futures.ThreadPoolExecutor(CALLS) as pool:
        answers = list(pool.map(lambda _: client.http.post(url, json={}), range(CALLS)))
    accepted = [a.json()["execution_id"] for a in answers if a.status_code == 202]
    # Concurrent admissions may overshoot the limit, by fewer than their number.
    assert PER_FUNCTION <= len(accepted) < CALLS
    for answer in answers:
        if answer.status_code != 202:
            assert_refused(answer, 429, "max_pending_per_function")
    assert len(executions(client, function_id=first)) == 1 + len(accepted)

    # The API's asynchronous executions are refused alike; synchronous ones are not.
    refused = client.post("/v1/executions", json={"function_id": first, "sync": False})
    assert_refused(refused, 429, "max_pending_per_function")
    assert len(executions(client, function_id=first)) == 1 + len(accepted)
    assert client.run(first)["status"] == "success"
    answer = client.http.post(webhook(client, first, sync=True), json={})
    assert answer.status_code == 200 and answer.json() == "ok"
    # A refused invocation does not count against the webhook's rate limit.
    limited = webhook(client, first, rate_limit=1)
    assert_refused(client.http.post(limited, json={}), 429, "max_pending_per_function")

    # Every function's backlog: the second function is refused once it is full.
    url = webhook(client, second)
    second_accepted = []
    for _ in range(TOTAL):
        answer = client.http.post(url, json={})
        if answer.status_code != 202:
            break
        second_accepted.append(answer.json()["execution_id"])
    assert_refused(answer, 503, "max_pending_executions")
    assert len(executions(client, function_id=second)) == len(second_accepted)

    accepted += second_accepted + [blocker]
    assert wait_for(lambda: all(status(client, id) == "success" for id in accepted), 30)
    assert client.http.post(limited, json={}).status_code == 202
    answer = client.http.post(limited, json={})
    assert answer.status_code == 429 and "1 invocations a minute" in answer.json()["faultstring"]


def status(client, execution_id):
    return client.get(f"/v1/executions/{execution_id}").json()["status"]

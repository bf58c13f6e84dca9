"""Synchronous webhooks: the invocation answers the function's output, or an error naming
the execution; every execution is recorded as an asynchronous webhook's is."""

import json
import threading

import pytest
import requests

from tests.functional.conftest import Client, serving, wait_for

EXECUTION_ID = "X-Qinling-Execution-Id"
RAISES = "def main(**kwargs):\n    raise ValueError('no such thing as %s' % kwargs.get('x'))\n"
SLEEPS = (
    "import time\n\ndef main(seconds=30, **kwargs):\n    time.sleep(seconds)\n    return 'woke'\n"
)
RETURNS_AN_OBJECT = "def main(a, b, **kwargs):\n    return {'sum': a + b}\n"


def sync_webhook(client, function_id, **fields):
    created = client.post("/v1/webhooks", json={"function_id": function_id, "sync": True, **fields})
    assert created.status_code == 201, created.text
    return created.json()


def executions_of(client, function_id):
    return client.get("/v1/executions", params={"function_id": function_id}).json()["executions"]


def assert_failure(answer, code):
    """A failed invocation's answer: the API's error shape plus the execution's id."""
    assert answer.status_code == code, answer.text
    body = answer.json()
    assert set(body) == {"faultcode", "faultstring", "debuginfo", "execution_id"}
    assert body["faultcode"] == "Server"
    assert body["execution_id"] == answer.headers[EXECUTION_ID]
    assert body["execution_id"] in body["faultstring"]
    return body


def test_a_sync_webhook_answers_the_output_and_records_the_execution(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = sync_webhook(client, function["id"])
    assert client.get(f"/v1/webhooks/{webhook['id']}").json()["sync"] is True

    answer = client.http.post(webhook["webhook_url"], json={"name": "Qinling"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.json() == "Hello, Qinling"
    as_text = client.http.post(
        webhook["webhook_url"], json={"name": "Text"}, headers={"Accept": "text/plain"}
    )
    assert as_text.status_code == 200, as_text.text
    assert as_text.headers["Content-Type"].startswith("text/plain")
    assert as_text.text == "Hello, Text"

    listed = {e["id"]: e for e in executions_of(client, function["id"])}
    assert set(listed) == {answer.headers[EXECUTION_ID], as_text.headers[EXECUTION_ID]}
    execution = listed[answer.headers[EXECUTION_ID]]
    assert (execution["status"], execution["sync"]) == ("success", True)
    assert execution["description"] == f"Created by Webhook {webhook['id']}"
    assert json.loads(execution["input"]) == {"name": "Qinling"}

    # Back to Qinling's kind: 202 at once.
    made_async = client.put(f"/v1/webhooks/{webhook['id']}", json={"sync": False})
    assert made_async.json()["sync"] is False
    answer = client.http.post(webhook["webhook_url"], json={"name": "Later"})
    assert answer.status_code == 202, answer.text
    assert EXECUTION_ID not in answer.headers


def test_a_webhook_without_sync_stays_asynchronous(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    assert webhook["sync"] is False
    kept = client.put(f"/v1/webhooks/{webhook['id']}", json={"description": "d"}).json()
    assert kept["sync"] is False
    assert client.http.post(webhook["webhook_url"], json={}).status_code == 202
    refused = client.post("/v1/webhooks", json={"function_id": function["id"], "sync": "yes"})
    assert refused.status_code == 400, refused.text


def test_a_string_without_a_utf8_form_is_still_answered(client, runtime):
    source = "def main(**kwargs):\n    return 'half \\ud800 a pair'\n"
    function = client.create_function(runtime["id"], source=source, module="surrogate")
    webhook = sync_webhook(client, function["id"])
    as_json = client.http.post(webhook["webhook_url"], json={})
    assert (as_json.status_code, as_json.json()) == (200, "half \ud800 a pair"), as_json.text
    as_text = client.http.post(webhook["webhook_url"], headers={"Accept": "text/plain"})
    assert (as_text.status_code, as_text.text) == (200, "half ? a pair"), as_text.text


def test_a_non_string_output_is_json_whatever_the_caller_accepts(client, runtime):
    function = client.create_function(runtime["id"], source=RETURNS_AN_OBJECT, module="obj")
    webhook = sync_webhook(client, function["id"])
    for accept in ("text/plain", "text/plain;q=1, application/json;q=0.5", "*/*"):
        answer = client.http.post(webhook["webhook_url"], json={"b": 1, "a": 2},
                                  headers={"Accept": accept})  # fmt: skip
        assert answer.status_code == 200, (accept, answer.text)
        assert answer.headers["Content-Type"].startswith("application/json")
        assert answer.json() == {"sum": 3}
    # A type the API cannot answer in: 406 before anything runs, as for any webhook.
    async_hook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    refused = [
        client.http.post(hook["webhook_url"], json={}, headers={"Accept": "image/png"})
        for hook in (webhook, async_hook)
    ]
    assert [r.status_code for r in refused] == [406, 406], refused[0].text
    assert len(executions_of(client, function["id"])) == 3


def test_a_raising_function_is_502_with_the_error_and_the_execution(client, runtime):
    function = client.create_function(runtime["id"], source=RAISES, module="raises")
    webhook = sync_webhook(client, function["id"])
    body = assert_failure(client.http.post(webhook["webhook_url"], json={"x": "magic"}), 502)
    assert "no such thing as magic" in body["faultstring"]
    (execution,) = executions_of(client, function["id"])
    assert (execution["id"], execution["status"]) == (body["execution_id"], "failed")


def test_a_function_past_its_timeout_is_504(client, runtime):
    function = client.create_function(runtime["id"], source=SLEEPS, module="sleeps", timeout=1)
    webhook = sync_webhook(client, function["id"])
    body = assert_failure(client.http.post(webhook["webhook_url"], json={}), 504)
    assert "timeout of 1 s" in body["faultstring"]
    execution = client.get(f"/v1/executions/{body['execution_id']}").json()
    assert json.loads(execution["result"])["output"] == "Function execution timeout."


def test_a_rate_limited_sync_webhook_answers_429_with_retry_after(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = sync_webhook(client, function["id"], rate_limit=1)
    answers = [client.http.post(webhook["webhook_url"], json={}) for _ in range(3)]
    codes = [a.status_code for a in answers]
    # One per minute; two if a minute boundary falls between the calls.
    assert codes[0] == 200 and 429 in codes and set(codes) <= {200, 429}, codes
    limited = next(a for a in answers if a.status_code == 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "1 invocations a minute" in limited.json()["faultstring"]
    assert len(executions_of(client, function["id"])) == codes.count(200)


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b'"a string"', {}),
        (b"{not json", {"Content-Type": "application/json"}),
        (b"x" * (1024 * 1024 + 1), {"Content-Type": "application/json"}),
        ('{"a": "é"}'.encode("latin-1"), {"Content-Type": "application/json; charset=latin-1"}),
        (b"--b\r\nbroken", {"Content-Type": "multipart/form-data"}),
    ],
    ids=["array", "string", "not-json", "huge", "latin-1", "bad-form"],
)
def test_a_hostile_body_gets_the_errors_of_an_async_webhook(client, runtime, body, headers):
    function = client.create_function(runtime["id"])
    async_hook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    sync_hook = sync_webhook(client, function["id"])
    answers = [
        client.http.post(hook["webhook_url"], data=body, headers=headers)
        for hook in (async_hook, sync_hook)
    ]
    assert 400 <= answers[0].status_code < 500, answers[0].text
    assert [a.status_code for a in answers] == [answers[0].status_code] * 2
    assert answers[1].json() == answers[0].json()
    assert executions_of(client, function["id"]) == []


def test_a_file_upload_is_refused_like_an_async_webhooks(client, runtime):
    function = client.create_function(runtime["id"])
    hook = sync_webhook(client, function["id"])
    answer = client.http.post(hook["webhook_url"], files={"f": ("f.txt", b"data")})
    assert answer.status_code == 400, answer.text
    assert "text form fields only" in answer.json()["faultstring"]


@pytest.fixture(scope="module")
def narrow(tmp_path_factory):
    """A server that waits for one synchronous invocation at a time."""
    config = "[local_orchestrator]\npool_size = 2\n[webhook]\nmax_sync_invocations = 1\n"
    with serving(tmp_path_factory.mktemp("narrow"), config) as description:
        yield Client(description["url"])


def test_a_sync_invocation_beyond_the_limit_is_503_at_once(narrow):
    runtime = narrow.create_runtime()
    function = narrow.create_function(runtime["id"], source=SLEEPS, module="sleeps", timeout=20)
    webhook = sync_webhook(narrow, function["id"])
    first = {}
    waiting = threading.Thread(
        target=lambda: first.update(answer=requests.post(
            webhook["webhook_url"], json={"seconds": 6}, timeout=60
        ))
    )  # fmt: skip
    waiting.start()
    try:
        assert wait_for(
            lambda: [e["status"] for e in executions_of(narrow, function["id"])] == ["running"],
            timeout=10,
        )
        refused = narrow.http.post(webhook["webhook_url"], json={"seconds": 0})
        assert refused.status_code == 503, refused.text
        # Refused while the first still runs: not queued behind it.
        assert [e["status"] for e in executions_of(narrow, function["id"])] == ["running"]
        assert refused.headers["Retry-After"] == "5"
        assert "Too many synchronous webhook invocations" in refused.json()["faultstring"]
        assert len(executions_of(narrow, function["id"])) == 1  # the refused one: nothing
    finally:
        waiting.join(timeout=60)
    assert first["answer"].status_code == 200 and first["answer"].json() == "woke"
    # The slot is free again; asynchronous webhooks never needed one.
    assert narrow.http.post(webhook["webhook_url"], json={"seconds": 0}).json() == "woke"

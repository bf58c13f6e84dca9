"""One request id from a webhook POST to the engine's and the worker's log lines.

``qinling-lite-serve`` runs the API and the engine in one process, whose log (oslo.log,
INFO, to its stderr) is ``serve.log`` in its data directory. A local worker's log (its
runtime server's stderr) is a memory file the engine holds: the test reads it where
that process holds it, ``/proc/<pid>/fd``, as an operator's tools would read it, and
as the engine reads its end when a worker fails.
"""

import os
import re
import uuid

import pytest

from tests.functional.conftest import Client, serving, wait_for

REQUEST_ID = "X-OpenStack-Request-Id"
WORKER_LOG = "/memfd:worker-log"
CONFIG = "[DEFAULT]\ndebug = false\n[local_orchestrator]\npool_size = 1\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("data"), CONFIG) as description:
        yield description


def worker_logs(pid):
    """What every local worker of the process ``pid`` logged so far."""
    texts = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        path = f"/proc/{pid}/fd/{fd}"
        try:
            if not os.readlink(path).startswith(WORKER_LOG):
                continue
            with open(path, "rb") as log:
                texts.append(log.read().decode("utf-8", "replace"))
        except OSError:  # closed meanwhile
            continue
    return "\n".join(texts)


def lines_naming(text, *words):
    return [line for line in text.splitlines() if all(word in line for word in words)]


def test_a_webhooks_request_id_reaches_the_engine_and_the_worker(served):
    client = Client(served["url"])
    runtime = client.create_runtime()
    function = client.create_function(runtime["id"])
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]})
    assert webhook.status_code == 201, webhook.text

    answer = client.http.post(webhook.json()["webhook_url"], json={"name": "ids"})
    assert answer.status_code == 202, answer.text
    request_id = answer.headers[REQUEST_ID]
    assert re.fullmatch(r"req-[0-9a-f-]{36}", request_id)
    execution_id = answer.json()["execution_id"]

    serve_log = served["data_dir"] / "serve.log"
    engine_lines = wait_for(
        lambda: lines_naming(serve_log.read_text(), execution_id, request_id), timeout=30
    )
    assert engine_lines, serve_log.read_text()[-3000:]
    assert client.get(f"/v1/executions/{execution_id}").json()["status"] == "success"

    worker_lines = lines_naming(worker_logs(served["process"].pid), execution_id)
    assert worker_lines == [
        worker_lines[0].split(" Running ")[0]
        + f" Running execution {execution_id} request_id={request_id}"
    ]


def test_healthcheck_and_request_ids_on_errors(served):
    client = Client(served["url"])
    health = client.get("/healthcheck")
    assert health.status_code == 200
    missing = client.get(f"/v1/functions/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.headers[REQUEST_ID] != health.headers[REQUEST_ID]

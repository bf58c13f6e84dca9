"""What users see when their function raises, hangs, eats memory or prints."""

import json
import time

from tests.functional.conftest import wait_for

RAISES = "def main(**kwargs):\n    raise ValueError('no such thing as %s' % kwargs.get('x'))\n"
SLEEPS = "import time\n\ndef main(**kwargs):\n    time.sleep(30)\n"
ALLOCATES = "def main(**kwargs):\n    block = bytearray(256 * 1024 * 1024)\n    return len(block)\n"
PRINTS = (
    "import sys\n\n"
    "def main(**kwargs):\n"
    "    print('to stdout')\n"
    "    print('to stderr', file=sys.stderr)\n"
    "    return 42\n"
)


def output(execution):
    return json.loads(execution["result"])["output"]


def test_a_raising_function_fails_with_the_error_text(client, runtime):
    function = client.create_function(runtime["id"], source=RAISES, module="raises")
    execution = client.run(function["id"], input='{"x": "magic"}')
    assert execution["status"] == "failed"
    assert output(execution) == "no such thing as magic"


def test_a_function_past_its_timeout_fails_and_the_pool_recovers(client, runtime):
    function = client.create_function(runtime["id"], source=SLEEPS, module="sleeps", timeout=1)
    started = time.monotonic()
    execution = client.run(function["id"])
    # The timeout is the property: the run ends at 1 s, not at the 30 s the function sleeps.
    # The bound leaves a loaded host plenty of slack.
    assert time.monotonic() - started < 20
    assert execution["status"] == "failed"
    assert output(execution) == "Function execution timeout."

    hello = client.create_function(runtime["id"])
    assert client.run(hello["id"])["status"] == "success"
    assert client.run(function["id"])["status"] == "failed"


def test_a_function_beyond_its_memory_fails(client, runtime):
    function = client.create_function(
        runtime["id"], source=ALLOCATES, module="allocates", memory_size=32 * 1024 * 1024
    )
    execution = client.run(function["id"])
    assert execution["status"] == "failed"
    assert "memory" in output(execution) or "resource" in output(execution)


def test_what_a_function_prints_is_in_its_log(client, runtime):
    function = client.create_function(runtime["id"], source=PRINTS, module="prints")
    execution = client.run(function["id"])
    assert execution["status"] == "success"
    assert output(execution) == 42
    log = client.get(f"/v1/executions/{execution['id']}/log").text
    assert "to stdout" in log
    assert "to stderr" in log


def test_positional_input_reaches_the_function(client, runtime):
    function = client.create_function(runtime["id"])
    execution = client.run(function["id"], input="Positional")
    assert output(execution) == "Hello, Positional"
    assert execution["input"] == "Positional"


def test_async_execution_is_listed_with_filters(client, runtime):
    function = client.create_function(runtime["id"])
    created = client.run(function["id"], sync=False)
    assert created["status"] in ("pending", "running", "success")
    done = wait_for(
        lambda: client.get(f"/v1/executions/{created['id']}").json()["status"] == "success",
        timeout=5,
    )
    assert done
    listed = client.get(
        "/v1/executions", params={"function_id": function["id"], "status": "neq:failed"}
    ).json()["executions"]
    assert [e["id"] for e in listed] == [created["id"]]
    none = client.get(
        "/v1/executions", params={"function_id": function["id"], "status": "in:failed,error"}
    ).json()["executions"]
    assert none == []

"""Functions returning too much, against a real ``qinling-lite-serve`` at its defaults.

A function that returned 150 MB had it stored, and ``GET /v1/executions`` then answered
210 MB in 10.7 s. An output is now capped at ``[resource_limits] max_result_size``
(1 MiB of JSON): over it, the execution fails and says why, and nothing big is kept. The
runtime server refuses it, stops reading a report past the cap whatever the function
writes to the report pipe, and the engine reads no more than a bounded answer.
"""

import json

import pytest

from tests.packages import report_pipe_flood

pytestmark = pytest.mark.usefixtures("no_traceback_logged")

MIB = 1024 * 1024
TOO_LARGE = "Function output of {} bytes exceeds the limit of 1048576 bytes."

RETURNS = "def main(size, char='x', **kwargs):\n    return char * size\n"
LOUD = (
    "import sys\n"
    "def main(size, **kwargs):\n"
    "    sys.stdout.write('\\x01' * (2 * 1024 * 1024))\n"
    "    return '\\x02' * size\n"
)
# User code can reach the pipe its result goes back through: it floods it.
FLOOD = report_pipe_flood(512 * MIB)
IMPORT_ERROR = "raise ValueError('i' * {})\ndef main(**kwargs):\n    return 1\n"


@pytest.fixture(scope="module")
def functions(client, runtime):
    """One function of each kind, with the memory to build what it returns."""
    made = {}
    for name, source in [("returns", RETURNS), ("loud", LOUD), ("flood", FLOOD)]:
        made[name] = client.create_function(
            runtime["id"], source=source, module=name, memory_size=128 * MIB, timeout=20
        )
    return made


def run(client, function, **inputs):
    """(status, output) of a synchronous execution."""
    execution = client.run(function["id"], input=json.dumps(inputs))
    return execution["status"], json.loads(execution["result"])["output"]


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (MIB - 2, ("success", None)),  # its JSON: exactly 1 MiB
        (MIB - 1, ("failed", TOO_LARGE.format(MIB + 1))),
        (10 * MIB, ("failed", TOO_LARGE.format(10 * MIB + 2))),
    ],
    ids=["at-the-cap", "one-byte-over", "10-mib"],
)
def test_an_output_over_the_cap_fails_with_the_reason(client, functions, size, expected):
    status, output = run(client, functions["returns"], size=size)
    if expected[0] == "success":
        expected = ("success", "x" * size)
    assert (status, output) == expected


def test_the_cap_counts_json_escapes(client, functions):
    """6 bytes of JSON per control character: 174,763 of them are over 1 MiB."""
    assert run(client, functions["returns"], size=174_762, char="\x03")[0] == "success"
    status, output = run(client, functions["returns"], size=174_763, char="\x03")
    assert (status, output) == ("failed", TOO_LARGE.format(6 * 174_763 + 2))


def test_an_output_at_the_cap_with_a_full_log_comes_back(client, functions):
    """The engine's bound on what it reads of a worker leaves room for both caps, in
    their most escaped JSON."""
    status, output = run(client, functions["loud"], size=174_762)
    assert (status, output) == ("success", "\x02" * 174_762)


def test_a_function_flooding_its_report_pipe_fails_quickly(client, functions):
    status, output = run(client, functions["flood"])
    assert (status, output) == ("failed", "Function output exceeds the limit of 1048576 bytes.")


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (3 * MIB, TOO_LARGE.format(3 * MIB + 14)),
        (8 * MIB, "answered /load with more than"),
    ],
    ids=["in-the-answer", "over-the-answer-bound"],
)
def test_an_import_error_is_capped_too(client, runtime, size, expected):
    function = client.create_function(
        runtime["id"], source=IMPORT_ERROR.format(size), module="imports", memory_size=128 * MIB
    )
    status, output = run(client, function)
    assert status == "failed"
    assert expected in output


def test_the_list_of_executions_stays_small(client, functions):
    """Every output above was refused or within the cap: listing them all is small."""
    for function in functions.values():
        response = client.get("/v1/executions", params={"function_id": function["id"]})
        assert response.status_code == 200
        executions = response.json()["executions"]
        assert executions
        for execution in executions:
            assert len(execution["result"]) < 1.5 * MIB
    flooded = client.get("/v1/executions", params={"function_id": functions["flood"]["id"]})
    assert len(flooded.content) < 16 * 1024

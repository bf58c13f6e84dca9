"""The runtime server's cap on what an execution returns, and on what it reads of a
child's report, whatever the child writes there (user code can reach the pipe)."""

import json

import pytest

from qinling_lite.runtime import protocol
from tests.packages import REPORT_PIPE, report_pipe_flood
from tests.unit.runtime.test_server import MIB, execute_body

TOO_LARGE = protocol.OUTPUT_TOO_LARGE
OVER_LIMIT = protocol.OUTPUT_OVER_LIMIT


def loaded(worker, source):
    assert worker.load({"fn.py": source}, entry="fn.main")[0] == 200
    return worker


def run(worker, **body):
    """(success, output) of one execution."""
    answer = worker.execute(**body)
    return answer["success"], answer["output"]


RETURNS_TEXT = "def main(size, **kwargs):\n    return 'x' * size\n"


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (998, (True, "x" * 998)),  # its JSON: exactly 1,000 bytes
        (999, (False, TOO_LARGE % (1001, 1000))),
        (10 * MIB, (False, TOO_LARGE % (10 * MIB + 2, 1000))),
    ],
)
def test_an_output_is_capped_at_the_requested_size(worker, size, expected):
    loaded(worker, RETURNS_TEXT)
    assert run(worker, input={"size": size}, max_result_size=1000) == expected


def test_the_cap_counts_the_output_s_json_escapes(worker):
    loaded(worker, "def main(**kwargs):\n    return '\\x00' * 200\n")
    assert run(worker, max_result_size=1201) == (False, TOO_LARGE % (1202, 1201))
    assert run(worker, max_result_size=1202) == (True, "\x00" * 200)


@pytest.mark.parametrize(
    ("size", "success"),
    [(MIB - 2, True), (MIB - 1, False)],
)
def test_without_a_cap_in_the_request_it_is_1_mib(worker, size, success):
    loaded(worker, RETURNS_TEXT)
    assert run(worker, input={"size": size})[0] is success


@pytest.mark.parametrize(
    "source",
    [
        "def main(**kwargs):\n    raise ValueError('e' * 5000)\n",
        "class Big:\n    def __str__(self):\n        return 'b' * 5000\n"
        "def main(**kwargs):\n    return Big()\n",
    ],
    ids=["exception", "not-json"],
)
def test_failures_and_text_outputs_are_capped_too(worker, source):
    loaded(worker, source)
    assert run(worker, max_result_size=1000) == (False, TOO_LARGE % (5002, 1000))


def test_an_import_error_is_capped_as_an_output(worker):
    source = "raise ValueError('i' * 5000)\ndef main(**kwargs):\n    return 1\n"
    assert worker.load({"fn.py": source}, entry="fn.main")[0] == 200
    assert run(worker, max_result_size=1000) == (False, TOO_LARGE % (5000 + 14, 1000))
    assert run(worker)[1] == "ValueError: " + "i" * 5000


@pytest.mark.parametrize("value", [0, -1, True, "1000", 1.5, None])
def test_a_bad_cap_is_refused(worker, value):
    loaded(worker, RETURNS_TEXT)
    body = json.dumps(execute_body(max_result_size=value)).encode()
    assert worker.call("POST", "/execute", body)[0] == 400


def vm_peak(worker):
    with open(f"/proc/{worker.process.pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


FLOOD = report_pipe_flood(2048 * MIB)


@pytest.mark.parametrize("cap", [1000, None])
def test_a_child_flooding_its_report_pipe_is_stopped(worker, cap):
    """The server reads no more than a report within the cap can hold, then ends the
    execution: its memory does not grow with what the child writes."""
    loaded(worker, FLOOD)
    before = vm_peak(worker)
    body = {"timeout": 30} if cap is None else {"timeout": 30, "max_result_size": cap}
    success, output = run(worker, **body)
    # Ended at the cap, not at its timeout (which would be TIMEOUT_OUTPUT).
    assert (success, output) == (False, OVER_LIMIT % (cap or MIB))
    assert vm_peak(worker) - before < 16 * MIB
    assert run(worker, **body)[0] is False  # and the next execution runs


FORGED = (
    REPORT_PIPE
    + """
def main(declared, size, **kwargs):
    line = b'{"success": true, "output": "' + b'x' * (size - 2) + b'"}'
    write_all(report_pipe(), b'%d\\n%s\\n' % (declared, line))
    os._exit(0)
"""
)


@pytest.mark.parametrize(
    ("declared", "size", "expected"),
    [
        (10, 1000, (True, "x" * 998)),  # the size line is only believed when it refuses
        (2000, 10, (False, TOO_LARGE % (2000, 1000))),
        (10, 1010, (False, TOO_LARGE % (1010, 1000))),  # within what is read: measured
        (10, 5000, (False, OVER_LIMIT % 1000)),  # more than is read
    ],
)
def test_a_forged_report_cannot_pass_more_than_the_cap(worker, declared, size, expected):
    loaded(worker, FORGED)
    body = {"input": {"declared": declared, "size": size}, "max_result_size": 1000}
    assert run(worker, **body) == expected


@pytest.mark.parametrize("lines", [1, 2])  # two: the second line is no report either
def test_a_report_without_a_size_line_is_no_result(worker, lines):
    source = REPORT_PIPE + (
        "def main(**kwargs):\n"
        f'    write_all(report_pipe(), b\'{{"success": true, "output": 1}}\\n\' * {lines})\n'
        "    os._exit(0)\n"
    )
    loaded(worker, source)
    assert run(worker) == (False, protocol.NO_RESULT_OUTPUT)


RETURNS_MAPPINGS = """import collections.abc, types
class Headers(collections.abc.Mapping):  # as clients' case-insensitive header dicts
    def __init__(self, items):
        self._items = dict(items)
    def __getitem__(self, key):
        return self._items[key.lower()]
    def __iter__(self):
        return iter(self._items)
    def __len__(self):
        return len(self._items)
class Thing:
    def __str__(self):
        return "a thing"
def main(thing=False, **kwargs):
    if thing:
        return [Thing()]
    return {"headers": Headers({"etag": "abc"}), "proxy": types.MappingProxyType({"a": 1})}
"""


def test_mappings_are_json_objects_and_other_objects_make_the_str_of_the_output(worker):
    loaded(worker, RETURNS_MAPPINGS)
    assert run(worker) == (True, {"headers": {"etag": "abc"}, "proxy": {"a": 1}})
    success, output = run(worker, input={"thing": True})
    assert success is True
    assert output.startswith("[<fn.Thing object at 0x")  # str() of the list

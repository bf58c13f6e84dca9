"""The report an execution's child writes to the server: the size of its output's JSON in
bytes on a line, then ``{"success": .., "output": ..}`` on a line.

The server reads the size first: it refuses an output over the limit without reading it.
User code can reach the report's pipe, so whatever it holds is read within a bound.
"""

import collections.abc
import json

from .protocol import OUTPUT_OVER_LIMIT, OUTPUT_TOO_LARGE, oversized_output

# What a report holds besides its output.
REPORT_OVERHEAD = 64


def encode(success, output):
    """The report of an outcome. Mappings that are not dicts (the headers clients return,
    such as python-swiftclient's ``head_object``) are JSON objects; any other output that
    is not JSON becomes its str()."""
    try:
        encoded = json.dumps(output, allow_nan=False, default=_mapping)
    except (TypeError, ValueError, RecursionError):
        encoded = json.dumps(str(output))
    head = b'%d\n{"success": %s, "output": ' % (len(encoded), b"true" if success else b"false")
    return b"".join((head, encoded.encode(), b"}\n"))


def _mapping(value):
    if isinstance(value, collections.abc.Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def is_complete(report, max_bytes):
    """Whether the server has all it reads of a report: its two lines, a first line that
    is no size within ``max_bytes``, or more bytes than a report within ``max_bytes``
    holds."""
    if len(report) > max_bytes + REPORT_OVERHEAD:
        return True
    end = report.find(b"\n")
    if end < 0:
        return False
    size = report[:end]
    if not (size.isdigit() and len(size) <= 20 and int(size) <= max_bytes):
        return True
    return report.find(b"\n", end + 1) >= 0


def decode(data, max_bytes):
    """Return (success, output) of a report, or None without one. An output whose JSON is
    over ``max_bytes`` fails the execution, refused by the size the report declares, by a
    report longer than one within the limit, or by the size of the output itself."""
    size, newline, rest = data.partition(b"\n")
    if newline and size.isdigit() and len(size) <= 20 and int(size) > max_bytes:
        return False, OUTPUT_TOO_LARGE % (int(size), max_bytes)
    if len(data) > max_bytes + REPORT_OVERHEAD:
        return False, OUTPUT_OVER_LIMIT % max_bytes
    line, newline, _ = rest.partition(b"\n")
    if not (newline and size.isdigit() and len(size) <= 20):
        return None  # no report, or not one the child wrote: it starts with its size
    try:
        report = json.loads(line)
        success, output = bool(report["success"]), report["output"]
    except (ValueError, KeyError, TypeError):
        return None
    too_large = oversized_output(output, max_bytes)
    return (False, too_large) if too_large else (success, output)

"""JSON text from outside the service, read strictly (RFC 8259) and within bounds.

Request bodies, and JSON carried in string fields (an execution's ``input``, a function's
``code``, a job's ``function_input``), are read here and nowhere else. Besides what
``json.loads`` checks:

* bytes must be UTF-8 (RFC 8259, section 8.1);
* ``NaN``, ``Infinity`` and numbers too large for a float are not JSON numbers;
* nesting is at most ``MAX_DEPTH`` levels, checked before parsing: Python's parser
  recurses once per level and fails with RecursionError near 1000, and what is stored
  is serialized again later, deeper in the stack;
* strings must be Unicode text a database can store: no lone surrogate (a ``\\ud800``
  escape without its pair) and no NUL (``\\u0000``).
"""

import json
import math
import re
import sys

MAX_DEPTH = 64

# A JSON string (escapes included), a bracket, or a quote that opens no complete string.
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|([\[\]{}])|"', re.DOTALL)
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Escapes that may decode to a surrogate or NUL; only then are the strings searched.
_SUSPECT_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")
_BAD_CHARACTER = re.compile(r"[\x00\ud800-\udfff]")


class NotJson(ValueError):
    """The text is not JSON."""


class Refused(ValueError):
    """The text is JSON, of a kind the service does not take."""


def loads(data):
    """The value of the JSON text ``data`` (bytes, read as UTF-8, or str).

    Raises NotJson or Refused, whose message says what is wrong.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise NotJson(f"not UTF-8: invalid byte 0x{data[e.start]:02x} at {e.start}") from None
    _check_depth(data)
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite_float)
    except NotJson:
        raise
    except json.JSONDecodeError as e:
        raise NotJson(str(e)) from None
    except ValueError:  # what Python refuses to convert to an int
        raise Refused(
            f"integers of more than {sys.get_int_max_str_digits()} digits are refused"
        ) from None
    if _SUSPECT_ESCAPE.search(data) and _has_bad_character(value):
        raise Refused("strings must not hold a lone surrogate (\\ud800-\\udfff) or NUL (\\u0000)")
    return value


def _check_depth(text):
    """Refuse nesting deeper than MAX_DEPTH, without recursing: the largest running count
    of open brackets outside strings, which bounds how deep the parser would go.

    One pass, linear in the text: a quote that opens no complete string ends it (the
    rest is no JSON, which the parser then says), instead of a search for strings
    starting again inside it, which took quadratic time (17 s for 80 kB of ``"\\"``).
    """
    depth = 0
    for token in _TOKEN.finditer(text):
        bracket = token.group(1)
        if bracket is not None:
            depth += _STEP[bracket]
            if depth > MAX_DEPTH:
                raise Refused(f"nested deeper than {MAX_DEPTH} levels")
        elif token.end() - token.start() == 1:
            return


def _no_constant(name):
    raise NotJson(f"{name} is not a JSON number")


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise NotJson(f"the number {text[:40]} is out of range")
    return value


def _has_bad_character(value):
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _BAD_CHARACTER.search(item):
                return True
        elif isinstance(item, dict):
            pending.extend(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False

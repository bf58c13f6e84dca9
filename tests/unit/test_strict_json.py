"""Strict JSON: what is not JSON, and JSON the service does not take, without recursing."""

import pytest

from qinling_lite import strict_json

DEPTH = strict_json.MAX_DEPTH


def nested(depth):
    """Lists nested ``depth`` deep: ``[[...]]``."""
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": [1, 2.5, null, true]}', {"a": [1, 2.5, None, True]}),
        (b'{"caf\xc3\xa9": "\\u00e9"}', {"caf\u00e9": "\u00e9"}),
        ('{"k": "\\ud83d\\ude00"}', {"k": "\U0001f600"}),  # a surrogate pair is text
        ('{"k": "\\\\ud800 \\\\u0000"}', {"k": "\\ud800 \\u0000"}),  # escaped backslashes
        ('{"k": "[[[[{{{{"}', {"k": "[[[[{{{{"}),  # brackets in strings do not nest
        ('{"k": "\\"[["}', {"k": '"[['}),
        ("[" * DEPTH + "]" * DEPTH, nested(DEPTH)),
        ('{"n": ' + "9" * 4300 + "}", {"n": int("9" * 4300)}),
    ],
)
def test_json_within_bounds_is_read(text, value):
    assert strict_json.loads(text) == value


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b'{"a": "caf\xe9"}', "not UTF-8: invalid byte 0xe9 at 10"),
        (b'{"a": "\xed\xa0\x80"}', "not UTF-8: invalid byte 0xed at 7"),  # encoded surrogate
        ('{"a": 1}'.encode("utf-16"), "not UTF-8: invalid byte 0xff at 0"),
        (b"\xef\xbb\xbf{}", "Unexpected UTF-8 BOM"),
        ('{"a": NaN}', "NaN is not a JSON number"),
        ('{"a": -Infinity}', "-Infinity is not a JSON number"),
        ('{"a": 1e400}', "the number 1e400 is out of range"),
        ('{"a": 1', "Expecting ',' delimiter"),
        ("{", "Expecting property name"),
        ("", "Expecting value"),
        ('["' + "[" * 100, "Unterminated string"),  # brackets in an unterminated string
        # A scan for strings that started again at each escaped quote took hours here.
        ('"' + '\\"' * 500_000, "Unterminated string"),
    ],
)
def test_what_is_not_json(text, message):
    with pytest.raises(strict_json.NotJson, match=message):
        strict_json.loads(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * (DEPTH + 1) + "]" * (DEPTH + 1), "nested deeper than 64 levels"),
        ('{"a":' * 1500 + "1" + "}" * 1500, "nested deeper than 64 levels"),
        ("[" * 100_000, "nested deeper than 64 levels"),  # unbalanced: the parser would recurse
        ('{"a": [' + "{" * DEPTH, "nested deeper than 64 levels"),
        ('{"a": "\\ud800"}', "lone surrogate"),
        ('{"\\udc00": 1}', "lone surrogate"),
        ('[["x", {"k": "\\ud800\\ud800"}]]', "lone surrogate"),
        ('{"a": "x\\u0000y"}', "NUL"),
        ('{"n": ' + "9" * 4301 + "}", "integers of more than 4300 digits are refused"),
    ],
)
def test_json_that_is_refused(text, message):
    with pytest.raises(strict_json.Refused, match=message):
        strict_json.loads(text)


def test_a_long_body_of_shallow_brackets_is_read():
    text = "[" + ",".join(["[]"] * 200_000) + "]"
    assert len(strict_json.loads(text)) == 200_000

"""Execution inputs: what a caller's string becomes, and back."""

import pytest

from qinling_lite import function_input


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (None, None),
        ("", None),
        ('{"name": "x"}', {"name": "x"}),
        ("plain words", {"__function_input": "plain words"}),
        ("42", {"__function_input": "42"}),
        ("[1, 2]", {"__function_input": "[1, 2]"}),
        ('"quoted"', {"__function_input": '"quoted"'}),
        ("null", {"__function_input": "null"}),
    ],
)
def test_parse(raw, stored):
    assert function_input.parse(raw) == stored


@pytest.mark.parametrize("raw", ['{"a": 1}', "words", "[1]"])
def test_render_gives_back_what_was_parsed(raw):
    assert function_input.render(function_input.parse(raw)).replace(" ", "") == raw.replace(" ", "")

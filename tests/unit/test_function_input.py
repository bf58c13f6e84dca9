"""Execution inputs: what a caller's string becomes, back, and an image's arguments."""

import pytest

from qinling_lite import exceptions, function_input


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


@pytest.mark.parametrize(
    ("raw", "args"),
    [
        (None, []),
        ("a b  c", ["a", "b", "c"]),
        ("a 'b c' \"d e\"", ["a", "b c", "d e"]),
        ("42", ["42"]),
        ('{"name": "x"}', ['{"name": "x"}']),
    ],
)
def test_as_args_splits_like_a_shell_and_passes_objects_as_json(raw, args):
    assert function_input.as_args(function_input.parse(raw)) == args


def test_as_args_refuses_an_unbalanced_quote():
    with pytest.raises(exceptions.InputError, match="not a valid argument list"):
        function_input.as_args(function_input.parse("'open"))

"""Execution inputs: what a caller's string becomes, back, and an image's arguments."""

import pytest

from qinling_lite import exceptions, function_input


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (None, None),
        ("", None),
        ('{"name": "x"}', {"name": "x"}),
        ('{"__function_input": "x"}', {"__function_input": "x"}),
        ("plain words", "plain words"),
        ("42", "42"),
        ("[1, 2]", "[1, 2]"),
        ('"quoted"', '"quoted"'),
        ("null", "null"),
        ("{not json", "{not json"),
        ('{"a": NaN}', '{"a": NaN}'),
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


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"a":' * 65 + "1" + "}" * 65, "nested deeper than 64 levels"),
        ('{"a": "\\ud800"}', "lone surrogate"),
    ],
)
def test_an_object_beyond_the_bounds_is_refused_not_made_text(raw, message):
    with pytest.raises(exceptions.InputError, match=f"The input is refused: .*{message}"):
        function_input.parse(raw)


def test_only_text_is_positional():
    assert function_input.positional(function_input.parse("words"))
    assert not function_input.positional(function_input.parse('{"__function_input": "x"}'))
    assert not function_input.positional(None)

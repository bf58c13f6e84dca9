"""Webhook input templates: checking them, and mapping a body with them."""

import json
import pathlib

import pytest

from qinling_lite import exceptions
from qinling_lite.services import input_templates

ALARM = json.loads(
    (pathlib.Path(__file__).parents[2] / "functional/fixtures/aodh-alarm-event.json").read_text()
)
BODY = {
    "a": {"b": [10, {"c": "deep"}], "x/y": 1, "m~n": 2, "": 3, "nothing": None},
    "list": ["zero", "one"],
    "reason_data": {
        "event": {
            "traits": [["container", 1, "photos"], ["size", 2, 12], ["container", 1, "second"]]
        }
    },
}


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ("", BODY),
        ("/a/b/0", 10),
        ("/a/b/1/c", "deep"),
        ("/a/x~1y", 1),
        ("/a/m~0n", 2),
        ("/a/", 3),  # the key ""
        ("/a/nothing", None),  # present, and null
        ("/list/1", "one"),
        ("trait:container", "photos"),  # the first of that name
        ("trait:size", 12),
    ],
)
def test_sources_pick_their_values(source, value):
    assert input_templates.validate({"arg": source}) == {"arg": source}
    assert input_templates.apply({"arg": source}, BODY) == {"arg": value}


def test_escapes_decode_tilde_one_before_tilde_zero():
    assert input_templates.apply({"v": "/~01"}, {"~1": "tilde one", "/": "slash"}) == {
        "v": "tilde one"
    }


def test_the_input_is_exactly_the_template_entries_in_order():
    template = {"vm": "trait:vm_id", "project": "trait:project_id", "alarm": "/alarm_id"}
    assert list(input_templates.apply(template, ALARM).items()) == [
        ("vm", "2bd366ce-0ef6-4eb0-8163-84cc8825b187"),
        ("project", "6f0b7a3e5c1d4d8e9a2b3c4d5e6f7a8b"),
        ("alarm", "0b323052-9585-45bc-bd65-891b608d8c14"),
    ]
    assert input_templates.apply({}, ALARM) == {}


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("/missing", BODY),
        ("/a/b/2", BODY),  # past the end
        ("/a/b/-", BODY),  # the element after the last
        ("/list/01", BODY),  # a leading zero is no index
        ("/list/+1", BODY),
        ("/list/one", BODY),
        ("/a/b/0/deeper", BODY),  # into a number
        ("/1", ["a list body"]),
        ("trait:absent", BODY),
        ("trait:container", {"reason_data": {"event": {}}}),  # no traits
        ("trait:container", {"reason_data": {"event": {"traits": "container"}}}),
        ("trait:container", {"reason_data": {"event": {"traits": [["container", 1]]}}}),
        ("trait:container", {"reason_data": "event"}),
        ("trait:container", {"alarm": "threshold"}),
        ("trait:container", ["not", "an", "object"]),
    ],
)
def test_a_source_not_in_the_body_is_missing(source, body):
    with pytest.raises(exceptions.InputError) as raised:
        input_templates.apply({"arg": source}, body)
    assert raised.value.message == f"input_template cannot map the body: arg ({source})"


def test_every_missing_entry_is_listed():
    template = {"container": "trait:container", "object": "trait:object", "alarm": "/alarm_id"}
    with pytest.raises(exceptions.InputError) as raised:
        input_templates.apply(template, ALARM)
    assert raised.value.code == 400
    assert raised.value.message == (
        "input_template cannot map the body: container (trait:container), object (trait:object)"
    )


def test_null_is_no_template():
    assert input_templates.validate(None) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("/a", "input_template must be a JSON object"),
        (["/a"], "input_template must be a JSON object"),
        ({f"a{n}": "/a" for n in range(65)}, "input_template has 65 entries; at most 64"),
        ({"9lives": "/a"}, "entry '9lives': the argument name must be a Python identifier"),
        ({"a-b": "/a"}, "entry 'a-b': the argument name must be a Python identifier"),
        ({"": "/a"}, "entry '': the argument name must be a Python identifier"),
        ({"class": "/a"}, "entry 'class': the argument name must be a Python identifier"),
        ({"context": "/a"}, "entry 'context': 'context' is reserved"),
        ({"a" * 256: "/a"}, "entry '" + "a" * 64 + "...': the argument name has more than 255"),
        ({"ok": "/a", "bad": 5}, "entry 'bad': the source must be a string"),
        ({"bad": None}, "entry 'bad': the source must be a string"),
        ({"bad": {"pointer": "/a"}}, "entry 'bad': the source must be a string"),
        ({"bad": "/" + "a" * 1024}, "entry 'bad': the source has more than 1024 characters"),
        ({"bad": "a/b"}, "entry 'bad': 'a/b' is neither a JSON Pointer"),
        ({"bad": "#/a"}, "entry 'bad': '#/a' is neither a JSON Pointer"),
        ({"bad": "Trait:x"}, "entry 'bad': 'Trait:x' is neither a JSON Pointer"),
        ({"bad": "trait:"}, "entry 'bad': trait: needs a trait name"),
        ({"bad": "/a~2"}, "entry 'bad': '/a~2' is not a JSON Pointer: '~' must be followed"),
        ({"bad": "/a~"}, "entry 'bad': '/a~' is not a JSON Pointer"),
        ({"bad": "/~~01"}, "entry 'bad': '/~~01' is not a JSON Pointer"),
    ],
)
def test_invalid_templates_are_refused_naming_the_entry(template, message):
    with pytest.raises(exceptions.InputError) as raised:
        input_templates.validate(template)
    assert raised.value.code == 400
    assert raised.value.message.startswith("input_template ")
    assert message in raised.value.message


def test_the_limits_themselves_are_allowed():
    template = {f"a{n}": "/" + "a" * 1023 for n in range(64)}
    assert input_templates.validate(template) == template
    assert input_templates.validate({"a" * 255: "trait:x", "match": "/m", "é": "/e"})

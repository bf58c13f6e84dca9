"""Wire forms of the v1 API types, built from real (transient) DB model objects."""

import datetime
import json

import pytest
from wsme import exc as wsme_exc
from wsme import types as wtypes
from wsme.rest import json as wsme_json

from qinling_lite import function_input
from qinling_lite.api import types
from qinling_lite.db import models

UUID = "0f3b5a52-7c1c-4a4e-9b8d-3e5f2c1d9a77"
FUNCTION_ID = "5f0c6e4e-9b7a-4d5e-8a51-7a8f7f0f4a11"
T0 = datetime.datetime(2024, 5, 1, 12, 3, 4)


class TestExecutionInput:
    def test_none(self):
        assert function_input.render(None) is None

    def test_raw_function_input_is_given_back_as_is(self):
        assert function_input.render("hello") == "hello"
        assert function_input.render("[1, 2]") == "[1, 2]"

    def test_dict_becomes_json_text(self):
        stored = {"name": "qinling", "n": 3, "nested": {"a": [1, None]}}
        text = function_input.render(stored)
        assert isinstance(text, str)
        assert json.loads(text) == stored

    @pytest.mark.parametrize(
        "stored", [{"__function_input": "x"}, {"__function_input": "x", "o": 1}]
    )
    def test_an_object_is_json_text_whatever_its_keys(self, stored):
        assert json.loads(function_input.render(stored)) == stored

    def test_empty_dict(self):
        assert function_input.render({}) == "{}"


class TestFormatTime:
    def test_format(self):
        assert types.format_time(T0) == "2024-05-01T12:03:04Z"

    def test_microseconds_dropped(self):
        assert types.format_time(T0.replace(microsecond=987654)) == "2024-05-01T12:03:04Z"

    def test_none(self):
        assert types.format_time(None) is None


def _runtime(**values):
    return models.Runtime(
        **{
            "id": UUID,
            "project_id": "project-1",
            "created_at": T0,
            "updated_at": None,
            "name": "python3",
            "description": None,
            "image": "python:3.11",
            "status": "available",
            "status_reason": None,
            "is_public": False,
            "trusted": True,
            **values,
        }
    )


def _function(**values):
    return models.Function(
        **{
            "id": FUNCTION_ID,
            "project_id": "project-1",
            "created_at": T0,
            "updated_at": T0 + datetime.timedelta(seconds=1),
            "name": "hello",
            "description": None,
            "runtime_id": UUID,
            "code": {"source": "package", "md5sum": "abc"},
            "entry": "main.main",
            "cpu": 100,
            "memory_size": 33554432,
            "timeout": 5,
            "count": 2,
            "latest_version": 0,
            "trust_id": "secret-trust",
            **values,
        }
    )


def _execution(**values):
    return models.Execution(
        **{
            "id": UUID,
            "project_id": "project-1",
            "created_at": T0,
            "updated_at": None,
            "function_id": FUNCTION_ID,
            "function_version": 0,
            "function_alias": None,
            "description": None,
            "sync": True,
            "input": {"name": "x"},
            "status": "success",
            "result": {"duration": 0.1, "output": "hi"},
            "logs": "some logs",
            **values,
        }
    )


class TestFromDb:
    def test_runtime_fills_every_attribute_including_nulls(self):
        view = types.Runtime.from_db(_runtime())
        values = {a.key: getattr(view, a.key) for a in wtypes.list_attributes(types.Runtime)}
        assert values == {
            "id": UUID,
            "project_id": "project-1",
            "created_at": "2024-05-01T12:03:04Z",
            "updated_at": None,
            "name": "python3",
            "description": None,
            "image": "python:3.11",
            "status": "available",
            "status_reason": None,
            "is_public": False,
            "trusted": True,
        }
        # Null attributes are set (rendered as null), not Unset (left out of the body).
        assert all(v is not wtypes.Unset for v in values.values())

    def test_extra_overrides_the_db_value(self):
        view = types.Runtime.from_db(_runtime(), status="error", name=None)
        assert view.status == "error"
        assert view.name is None

    def test_function_code_is_a_json_string_and_private_columns_are_left_out(self):
        view = types.Function.from_db(_function())
        assert view.code == json.dumps({"source": "package", "md5sum": "abc"})
        assert view.updated_at == "2024-05-01T12:03:05Z"
        assert view.description is None
        assert not hasattr(view, "trust_id")

    def test_execution_result_is_a_json_string(self):
        view = types.Execution.from_db(_execution())
        assert isinstance(view.result, str)
        assert json.loads(view.result) == {"duration": 0.1, "output": "hi"}
        assert json.loads(view.input) == {"name": "x"}
        assert view.sync is True
        assert view.function_alias is None
        assert not hasattr(view, "logs")

    @pytest.mark.parametrize(
        ("stored", "wire"),
        [(None, None), ("raw text", "raw text")],
    )
    def test_execution_input_wire_form(self, stored, wire):
        assert types.Execution.from_db(_execution(input=stored)).input == wire

    def test_execution_without_result(self):
        view = types.Execution.from_db(_execution(result=None, status="running"))
        assert view.result is None
        assert view.status == "running"

    def test_execution_with_string_result(self):
        view = types.Execution.from_db(_execution(result="plain"))
        assert view.result == '"plain"'


class TestFunctionView:
    def test_code_is_an_object_and_every_attribute_present(self):
        function = _function()
        view = types.function_view(function)
        assert view["code"] == {"source": "package", "md5sum": "abc"}
        assert set(view) == {a.key for a in wtypes.list_attributes(types.Function)}
        assert view["id"] == FUNCTION_ID
        assert view["created_at"] == "2024-05-01T12:03:04Z"
        assert view["description"] is None
        assert view["count"] == 2
        assert "trust_id" not in view
        # The view serializes as JSON as is.
        assert json.loads(json.dumps(view))["code"]["md5sum"] == "abc"


class TestBodyToValues:
    def test_only_set_attributes(self):
        body = types.RuntimeUpdate(name="n")
        assert body.to_values() == {"name": "n"}

    def test_explicit_none_is_kept(self):
        body = types.RuntimeUpdate(description=None, image="img")
        assert body.to_values() == {"description": None, "image": "img"}


class TestStrictTypes:
    """Bodies as WSME reads them: integers are JSON integers, booleans JSON booleans."""

    @pytest.mark.parametrize(
        ("cls", "values", "attribute", "expected"),
        [
            (types.ScaleInfo, {"count": 3}, "count", 3),
            (types.Execution, {"function_version": 2, "sync": False}, "sync", False),
            (types.Execution, {"function_version": 2}, "function_version", 2),
            # As ``openstack function alias update --function-version 2`` sends it.
            (types.FunctionAlias, {"function_version": "2"}, "function_version", 2),
            (types.Webhook, {"rate_limit": 0}, "rate_limit", 0),
            (types.Job, {"count": 2147483647}, "count", 2147483647),
            (types.Runtime, {"image": "x", "is_public": True}, "is_public", True),
        ],
    )
    def test_taken(self, cls, values, attribute, expected):
        assert getattr(wsme_json.fromjson(cls, values), attribute) == expected

    @pytest.mark.parametrize(
        ("cls", "values", "message"),
        [
            (types.ScaleInfo, {"count": True}, "An integer is required."),
            (types.ScaleInfo, {"count": 1.0}, "An integer is required."),
            (types.ScaleInfo, {"count": "1"}, "An integer is required."),
            (types.ScaleInfo, {"count": 0}, "The value must be from 1 to 2147483647."),
            (types.Execution, {"function_version": 1.5}, "An integer is required."),
            (types.Execution, {"function_version": "\u0661"}, "An integer is required."),
            (types.Execution, {"function_version": -1}, "The value must be from 0"),
            (types.Execution, {"function_version": 10**30}, "The value must be from 0"),
            (types.Execution, {"sync": 1}, "A boolean (true or false) is required."),
            (types.Execution, {"sync": "true"}, "A boolean (true or false) is required."),
            (types.Webhook, {"rate_limit": 2**31}, "The value must be from 0 to 2147483647."),
            (types.Job, {"count": -(2**31) - 1}, "The value must be from -2147483648"),
            (types.Runtime, {"image": "x", "trusted": 0}, "A boolean (true or false)"),
        ],
    )
    def test_refused_naming_the_attribute(self, cls, values, message):
        with pytest.raises(wsme_exc.InvalidInput) as e:
            wsme_json.fromjson(cls, values)
        (attribute,) = set(values) - {"image"}
        assert e.value.faultstring.startswith(f"Invalid input for field/attribute {attribute}.")
        assert message in e.value.faultstring


def test_attributes_keep_their_declaration_order_without_reading_source(monkeypatch):
    """``types.Base`` gives WSME the order; WSME's fallback parses source files (slow)."""

    def no_source(*args):
        raise AssertionError("WSME read source code to order the attributes")

    monkeypatch.setattr("inspect.getsourcelines", no_source)

    class Parent(types.Base):
        zeta = wtypes.text
        alpha = wtypes.wsattr(wtypes.text)

        def method(self):
            return None

    class Child(Parent):
        mid = int

    assert [attr.key for attr in wtypes.list_attributes(Child)] == ["mid", "zeta", "alpha"]
    assert [attr.key for attr in wtypes.list_attributes(types.Execution)][-4:] == [
        "id",
        "project_id",
        "created_at",
        "updated_at",
    ]

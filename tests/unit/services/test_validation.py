"""The checks of the values a caller sends, which the services and the API share."""

import pytest

from qinling_lite import exceptions
from qinling_lite.services import validation

UUID = "0f3b5a52-7c1c-4a4e-9b8d-3e5f2c1d9a77"


class TestUuid:
    def test_valid_uuid_is_returned(self):
        assert validation.uuid(UUID) == UUID

    @pytest.mark.parametrize("value", ["not-a-uuid", "", "1234", UUID[:-1], None])
    def test_invalid_uuid_is_400(self, value):
        with pytest.raises(exceptions.InputError) as e:
            validation.uuid(value, name="function_id")
        assert e.value.code == 400
        assert e.value.message == f"Expected a uuid for function_id but received {value!r}."

    def test_default_name_is_id(self):
        with pytest.raises(exceptions.InputError, match="^Expected a uuid for id but"):
            validation.uuid("x")


class TestBoundedInt:
    def _check(self, value):
        return validation.bounded_int(value, "cpu", 100, 300, "millicpu")

    @pytest.mark.parametrize(("value", "expected"), [(100, 100), (300, 300), (250, 250)])
    def test_within_range_inclusive(self, value, expected):
        assert self._check(value) == expected

    @pytest.mark.parametrize(
        "value", ["abc", "1.5", "", None, "1e3", "250", True, 250.0, "\u0662\u0665\u0660"]
    )
    def test_not_an_integer(self, value):
        with pytest.raises(exceptions.InputError) as e:
            self._check(value)
        assert e.value.code == 400
        assert e.value.message == "Invalid cpu resource specified. An integer is required."

    @pytest.mark.parametrize("value", [99, 301, -5, 0, 10**30])
    def test_out_of_range(self, value):
        with pytest.raises(exceptions.InputError) as e:
            self._check(value)
        assert e.value.code == 400
        assert e.value.message == (
            "cpu resource limitation not within the allowable range: 100 ~ 300(millicpu)."
        )

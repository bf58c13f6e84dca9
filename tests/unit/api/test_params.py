"""Request parameter checks of the v1 API."""

import contextlib

import pytest
from oslo_config import cfg

from qinling_lite import config, context, exceptions
from qinling_lite.api import params
from qinling_lite.services import validation


@pytest.fixture(autouse=True)
def conf():
    """The policy enforcer reads the (parsed) configuration."""
    # Other tests may have registered keystonemiddleware's options, some required: the
    # configuration is parsed all the same, only their check fails.
    with contextlib.suppress(cfg.RequiredOptError):
        config.CONF([], project="qinling-lite")


def _ctx(is_admin, project_id="project-1"):
    return context.RequestContext(project_id=project_id, is_admin=is_admin, overwrite=False)


class TestBoolean:
    @pytest.mark.parametrize("value", ["true", "True", "TRUE", "1", "yes", "on", "y", "t"])
    def test_true(self, value):
        assert params.boolean(value, "all_projects") is True

    @pytest.mark.parametrize("value", ["false", "False", "0", "no", "off", "n", "f"])
    def test_false(self, value):
        assert params.boolean(value, "all_projects") is False

    @pytest.mark.parametrize("value", ["", None])
    def test_empty_or_absent_is_false(self, value):
        assert params.boolean(value, "all_projects") is False

    @pytest.mark.parametrize("value", ["garbage", "2", "tru", "-1", "yes please"])
    def test_garbage_is_400(self, value):
        with pytest.raises(exceptions.InputError) as e:
            params.boolean(value, "all_projects")
        assert e.value.code == 400
        assert e.value.message == f"Invalid boolean for all_projects: {value!r}."


class TestInteger:
    @pytest.mark.parametrize("value", [0, 7, -(2**31), 2**31 - 1])
    def test_json_integers_within_the_column_range(self, value):
        assert params.integer(value) == value

    @pytest.mark.parametrize("value", [True, False, 5.0, 5.5, "5", "\u0665", None, [1], {"a": 1}])
    def test_anything_else_is_not_an_integer(self, value):
        with pytest.raises(ValueError, match="An integer is required."):
            params.integer(value)

    @pytest.mark.parametrize("value", [2**31, -(2**31) - 1, 10**30])
    def test_beyond_the_column_range(self, value):
        with pytest.raises(ValueError, match="The value must be from -2147483648 to 2147483647."):
            params.integer(value)

    @pytest.mark.parametrize(("value", "expected"), [("0", 0), ("007", 7), (3, 3)])
    def test_text_takes_ascii_digits(self, value, expected):
        assert params.integer(value, text=True) == expected

    @pytest.mark.parametrize(
        "value", ["", " 5", "5 ", "+5", "-5", "5_0", "5.0", "1e3", "\u0665", "\uff15", "\u00b2"]
    )
    def test_text_takes_nothing_else(self, value):
        with pytest.raises(ValueError, match="An integer is required."):
            params.integer(value, text=True)

    def test_text_of_more_digits_than_python_converts(self):
        assert params.text_int("9" * 5000) == "9" * 5000
        with pytest.raises(ValueError):
            params.integer("9" * 5000, text=True)


class TestVersionNumber:
    @pytest.mark.parametrize(("value", "expected"), [("1", 1), ("2147483647", 2**31 - 1)])
    def test_valid(self, value, expected):
        assert params.version_number(value) == expected

    @pytest.mark.parametrize(
        "value", ["0", "-1", "x", "1.0", "\u0661", "2147483648", "99999999999999999999999"]
    )
    def test_invalid_is_400(self, value):
        with pytest.raises(exceptions.InputError) as e:
            params.version_number(value)
        assert e.value.message == f"Invalid version number: {value!r}."

    def test_zero_where_allowed(self):
        assert params.version_number("0", minimum=0) == 0


def test_a_form_field_is_read_by_text_int_then_checked():
    assert validation.bounded_int(params.text_int("250"), "cpu", 100, 300, "millicpu") == 250


class TestListScope:
    def test_default_is_own_project(self):
        assert params.list_scope(_ctx(False), "function", None, None) == ("project-1", {})
        assert params.list_scope(_ctx(True, "admin-project"), "function", None, None) == (
            "admin-project",
            {},
        )

    def test_all_projects_false_is_own_project(self):
        assert params.list_scope(_ctx(False), "function", "false", None) == ("project-1", {})
        assert params.list_scope(_ctx(False), "function", "0", "") == ("project-1", {})

    @pytest.mark.parametrize(
        ("all_projects", "project_id"), [("true", None), ("1", None), (None, "other"), ("yes", "x")]
    )
    def test_non_admin_cannot_widen_scope(self, all_projects, project_id):
        with pytest.raises(exceptions.NotAllowed) as e:
            params.list_scope(_ctx(False), "function", all_projects, project_id)
        assert e.value.code == 403

    def test_admin_all_projects(self):
        assert params.list_scope(_ctx(True), "function", "true", None) == (None, {})

    def test_admin_project_id_filters_on_that_project(self):
        assert params.list_scope(_ctx(True), "function", None, "other") == (
            None,
            {"project_id": "other"},
        )
        assert params.list_scope(_ctx(True), "function", "true", "other") == (
            None,
            {"project_id": "other"},
        )

    def test_garbage_all_projects_is_400_even_for_non_admin(self):
        with pytest.raises(exceptions.InputError):
            params.list_scope(_ctx(False), "function", "maybe", None)

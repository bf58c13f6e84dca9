"""The function versions and aliases services on SQLite."""

import io

import pytest

from qinling_lite import exceptions
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import versions as versions_db
from qinling_lite.services import aliases as aliases_service
from qinling_lite.services import versions as versions_service
from tests.packages import HELLO_WORLD, make_zip
from tests.unit.services import fakes, rows

PACKAGE = make_zip({"main.py": HELLO_WORLD})


@pytest.fixture
def conf(config_fixture, tmp_path):
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="api", max_function_versions=2)
    return config_fixture.conf


@pytest.fixture
def function(store):
    function = rows.function()
    md5 = store.store(function.project_id, function.id, io.BytesIO(PACKAGE))
    return functions_db.update(function.id, {"code": {"source": "package", "md5sum": md5}})


class FailingSnapshots:
    """A package store whose snapshots fail, as a full disk would."""

    def snapshot(self, project_id, function_id, md5, version):
        raise OSError("No space left on device")


def test_a_version_snapshots_the_package_once_per_change(conf, store, function):
    version = versions_service.create(conf, store, function, "first")
    assert (version.version_number, version.description) == (1, "first")
    md5 = function.code["md5sum"]
    assert store.read(function.project_id, function.id, md5, 1) == PACKAGE
    assert functions_db.get(function.id).latest_version == 1

    with pytest.raises(exceptions.NotAllowed, match="not changed since the latest version 1"):
        versions_service.create(conf, store, function, None)


def test_versions_are_limited_by_config(conf, store, function):
    for number in (1, 2):
        versions_db.create(function.id, rows.P1, None, 10, lambda *_: None)
        functions_db.update(function.id, {"code": {"source": "package", "md5sum": f"m{number}"}})
    with pytest.raises(exceptions.NotAllowed, match=r"maximum number\(2\)"):
        versions_service.create(conf, store, functions_db.get(function.id), None)


def test_a_failed_snapshot_records_no_version(conf, function):
    with pytest.raises(OSError):
        versions_service.create(conf, FailingSnapshots(), function, None)
    assert versions_db.list_all(function.id) == []
    assert functions_db.get(function.id).latest_version == 0


def test_deleting_a_version_removes_its_package_and_workers(conf, store, function):
    versions_service.create(conf, store, function, None)
    engine = fakes.Engine()

    versions_service.delete(rows.caller(), store, engine, function.id, 1)

    assert versions_db.list_all(function.id) == []
    assert functions_db.get(function.id).latest_version == 0
    with pytest.raises(exceptions.NotFound):
        store.read(function.project_id, function.id, function.code["md5sum"], 1)
    assert engine.calls == [("release_function", function.id, 1)]


def test_a_version_an_alias_names_is_kept(conf, store, function):
    versions_service.create(conf, store, function, None)
    rows.alias("prod", function, version=1)
    engine = fakes.Engine()
    with pytest.raises(exceptions.NotAllowed, match="version 1 is still associated with alias"):
        versions_service.delete(rows.caller(), store, engine, function.id, 1)
    assert [v.version_number for v in versions_db.list_all(function.id)] == [1]
    assert engine.calls == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"name": "prod"}, "Required: {'name', 'function_id'}"),
        ({"name": "a/b", "function_id": "f"}, "An alias name is 1 to 255"),
        ({"name": "..", "function_id": "f"}, "and not '.' or '..'"),
    ],
)
def test_alias_names_and_required_fields(values, message):
    authorize = rows.Authorizer()
    with pytest.raises(exceptions.InputError, match=message.replace("(", r"\(")):
        aliases_service.create(rows.caller(), values, authorize)
    assert authorize.targets == []


def test_an_alias_names_a_version_that_exists_and_the_caller_may_use(function):
    caller = rows.caller()
    with pytest.raises(exceptions.NotFound):
        aliases_service.create(
            caller,
            {"name": "prod", "function_id": function.id, "function_version": 1},
            rows.Authorizer(),
        )
    with pytest.raises(exceptions.NotFound):  # another project's function
        aliases_service.create(
            rows.caller(rows.P2), {"name": "prod", "function_id": function.id}, rows.Authorizer()
        )
    with pytest.raises(exceptions.NotAllowed):
        aliases_service.create(
            caller, {"name": "prod", "function_id": function.id}, rows.Authorizer(allow=False)
        )
    assert aliases_db.list_all() == []

    authorize = rows.Authorizer()
    alias = aliases_service.create(caller, {"name": "prod", "function_id": function.id}, authorize)
    assert (alias.project_id, alias.function_version) == (rows.P1, 0)
    assert [target.function_id for target in authorize.targets] == [function.id]


def test_an_alias_moves_but_keeps_its_name(conf, store, function):
    versions_service.create(conf, store, function, None)
    alias = rows.alias("prod", function)
    caller = rows.caller()

    with pytest.raises(exceptions.InputError, match="cannot change"):
        aliases_service.update(caller, alias, {"name": "other"}, rows.Authorizer())
    moved = aliases_service.update(
        caller, alias, {"function_version": 1, "description": None}, rows.Authorizer()
    )
    assert (moved.name, moved.function_id, moved.function_version) == ("prod", function.id, 1)

    aliases_service.delete(caller, "prod")
    assert aliases_db.list_all() == []

"""The functions service on SQLite with a package store in a temporary directory."""

import hashlib
import io
import json
import os

import pytest

from qinling_lite import exceptions, status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.services import functions as functions_service
from tests.packages import HELLO_WORLD, make_zip
from tests.unit.services import fakes, rows

PACKAGE = make_zip({"main.py": HELLO_WORLD})
NEW_PACKAGE = make_zip({"main.py": HELLO_WORLD + "\n# changed\n"})
PACKAGE_CODE = json.dumps({"source": "package"})
IMAGE_CODE = {"source": "image", "image": "registry.example/fn:1"}
MISSING_ID = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def conf(config_fixture, tmp_path):
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="engine", orchestrator="local")
    return config_fixture.conf


@pytest.fixture
def runtime():
    return runtimes_db.create(
        {"image": "python3", "project_id": rows.P1, "status": status.AVAILABLE}
    )


def _packages(conf):
    """The package files kept, as paths relative to the store's directory."""
    root = conf.storage.file_system_dir
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _, names in os.walk(root)
        for name in names
    )


def _create(conf, store, runtime, trusts=None, **fields):
    fields = {
        "code": PACKAGE_CODE,
        "runtime_id": runtime.id,
        "package": io.BytesIO(PACKAGE),
        **fields,
    }
    return functions_service.create(rows.caller(), conf, store, trusts or fakes.Trusts(), fields)


def test_a_package_function_gets_its_package_a_trust_and_default_limits(conf, store, runtime):
    trusts = fakes.Trusts()
    function = _create(conf, store, runtime, trusts, name="hello")

    md5 = hashlib.md5(PACKAGE, usedforsecurity=False).hexdigest()
    stored = functions_db.get(function.id, rows.P1)
    assert stored.code == {"source": "package", "md5sum": md5}
    assert (stored.name, stored.entry, stored.trust_id) == ("hello", "main.main", "trust-1")
    limits = conf.resource_limits
    assert (stored.cpu, stored.memory_size, stored.timeout) == (
        limits.default_cpu,
        limits.default_memory,
        limits.default_timeout,
    )
    assert store.read(rows.P1, function.id, md5) == PACKAGE


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"swift": "x"}, "Unknown attribute(s): swift"),
        ({"cpu": 1}, "cpu resource limitation not within the allowable range"),
        ({"timeout": "5"}, "Invalid timeout resource specified"),
        ({"entry": "main"}, "entry must be of the form 'module.function'."),
        ({"name": "x" * 256}, "name must be a string of at most 255 characters"),
        ({"package": "not a file"}, "needs its ZIP file as the multipart part 'package'"),
        ({"code": '{"source": "swift"}'}, "Swift object not supported: Swift-sourced functions"),
    ],
)
def test_bad_fields_are_refused_before_anything_is_kept(conf, store, runtime, fields, message):
    trusts = fakes.Trusts()
    with pytest.raises(
        exceptions.InputError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        _create(conf, store, runtime, trusts, **fields)
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])


def test_a_runtime_that_is_not_available_is_refused(conf, store):
    creating = runtimes_db.create({"image": "python3", "project_id": rows.P1})
    with pytest.raises(exceptions.InputError, match="is not available"):
        _create(conf, store, creating)
    assert _packages(conf) == []


def test_a_failed_insert_removes_the_stored_package_and_the_trust(conf, store, runtime):
    # The runtime is deleted while the trust is made: the insert's reference fails.
    trusts = fakes.Trusts(on_create=lambda: runtimes_db.delete(runtime.id))
    with pytest.raises(exceptions.InputError, match="does not exist"):
        _create(conf, store, runtime, trusts)
    assert functions_db.list_all() == []
    assert _packages(conf) == []
    assert trusts.deleted == trusts.created == ["trust-1"]


def test_a_failed_trust_removes_the_stored_package(conf, store, runtime):
    def keystone_down():
        raise exceptions.IdentityUnavailable()

    trusts = fakes.Trusts(on_create=keystone_down)
    with pytest.raises(exceptions.IdentityUnavailable):
        _create(conf, store, runtime, trusts)
    assert (functions_db.list_all(), _packages(conf), trusts.deleted) == ([], [], [])


def test_image_functions_need_an_orchestrator_that_runs_them(conf, store, config_fixture):
    with pytest.raises(exceptions.InputError, match="need the Kubernetes orchestrator"):
        functions_service.create(rows.caller(), conf, store, fakes.Trusts(), {"code": IMAGE_CODE})

    config_fixture.config(group="engine", orchestrator="kubernetes")
    with pytest.raises(exceptions.InputError, match="takes no package"):
        functions_service.create(
            rows.caller(),
            conf,
            store,
            fakes.Trusts(),
            {"code": IMAGE_CODE, "package": io.BytesIO(PACKAGE)},
        )
    trusts = fakes.Trusts()
    function = functions_service.create(
        rows.caller(), conf, store, trusts, {"code": IMAGE_CODE, "entry": "ignored.entry"}
    )
    assert (function.code, function.runtime_id, function.entry) == (IMAGE_CODE, None, None)
    assert (function.trust_id, trusts.created, _packages(conf)) == (None, [], [])


def test_a_new_package_replaces_the_old_one_and_releases_the_workers(conf, store, runtime):
    function = _create(conf, store, runtime)
    old = function.code["md5sum"]
    engine = fakes.Engine()

    updated = functions_service.update(
        rows.caller(), conf, store, engine, function, {"package": io.BytesIO(NEW_PACKAGE)}
    )

    new = hashlib.md5(NEW_PACKAGE, usedforsecurity=False).hexdigest()
    assert updated.code == {"source": "package", "md5sum": new}
    assert _packages(conf) == [f"{rows.P1}/{function.id}/0_{new}.zip"]
    assert engine.calls == [("release_function", function.id, 0)]
    assert old != new


def test_name_description_and_timeout_changes_keep_the_workers(conf, store, runtime):
    function = _create(conf, store, runtime)
    engine = fakes.Engine()
    fields = {"name": "renamed", "description": "d", "timeout": 9}
    updated = functions_service.update(rows.caller(), conf, store, engine, function, fields)
    assert (updated.name, updated.description, updated.timeout) == ("renamed", "d", 9)
    assert engine.calls == []

    functions_service.update(rows.caller(), conf, store, engine, function, {"cpu": 200})
    assert engine.calls == [("release_function", function.id, 0)]


def test_a_failed_update_removes_the_new_package(conf, store, runtime):
    function = _create(conf, store, runtime)
    functions_db.delete(function.id)  # by someone else, after the caller read it
    before = _packages(conf)

    with pytest.raises(exceptions.NotFound):
        functions_service.update(
            rows.caller(),
            conf,
            store,
            fakes.Engine(),
            function,
            {"package": io.BytesIO(NEW_PACKAGE)},
        )
    assert _packages(conf) == before


def test_an_image_function_changes_only_its_name_description_and_timeout(
    conf, store, config_fixture
):
    config_fixture.config(group="engine", orchestrator="kubernetes")
    function = functions_service.create(
        rows.caller(), conf, store, fakes.Trusts(), {"code": IMAGE_CODE}
    )
    for fields in ({"entry": "a.b"}, {"cpu": 200}, {"package": io.BytesIO(PACKAGE)}):
        with pytest.raises(exceptions.InputError, match="can not be changed"):
            functions_service.update(rows.caller(), conf, store, fakes.Engine(), function, fields)
    updated = functions_service.update(
        rows.caller(), conf, store, fakes.Engine(), function, {"timeout": 30}
    )
    assert updated.timeout == 30
    with pytest.raises(exceptions.MethodNotAllowed):
        functions_service.package_md5(updated)


def test_delete_removes_the_trust_the_packages_and_the_workers(conf, store, runtime):
    trusts = fakes.Trusts()
    function = _create(conf, store, runtime, trusts)
    engine = fakes.Engine()

    functions_service.delete(rows.caller(), store, engine, trusts, function.id)

    assert functions_db.list_all() == []
    assert (_packages(conf), trusts.deleted) == ([], ["trust-1"])
    assert engine.calls == [("release_function", function.id, None)]


def test_delete_is_refused_while_an_alias_names_the_function(conf, store, runtime):
    trusts = fakes.Trusts()
    function = _create(conf, store, runtime, trusts)
    aliases_db.create({"name": "prod", "function_id": function.id, "project_id": rows.P1})
    engine = fakes.Engine()

    with pytest.raises(exceptions.NotAllowed, match="alias"):
        functions_service.delete(rows.caller(), store, engine, trusts, function.id)
    assert functions_db.get(function.id).id == function.id
    assert len(_packages(conf)) == 1
    assert (trusts.deleted, engine.calls) == ([], [])


def _update(conf, store, function, ctx=None, engine=None, **fields):
    return functions_service.update(
        ctx or rows.caller(), conf, store, engine or fakes.Engine(), function, fields
    )


def test_retry_settings_are_set_at_create_changed_and_reset_to_null(conf, store, runtime):
    dead_letter = _create(conf, store, runtime)
    # As a JSON body sends them ...
    function = _create(
        conf,
        store,
        runtime,
        retry_attempts=2,
        retry_on=["timeout", "failed"],
        dead_letter_function_id=dead_letter.id,
    )
    assert (function.retry_attempts, function.retry_on) == (2, "failed,timeout")
    assert function.dead_letter_function_id == dead_letter.id
    # ... and as form fields (the controller reads integers); empty is null, the default.
    engine = fakes.Engine()
    updated = _update(conf, store, function, engine=engine, retry_attempts=0, retry_on="error")
    assert (updated.retry_attempts, updated.retry_on) == (0, "error")
    assert engine.calls == []  # the warm workers are kept
    updated = _update(
        conf, store, function, retry_attempts="", retry_on="", dead_letter_function_id=""
    )
    assert (updated.retry_attempts, updated.retry_on, updated.dead_letter_function_id) == (
        None,
        None,
        None,
    )
    assert _update(conf, store, function, retry_on=[]).retry_on == ""  # retry on nothing


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"retry_attempts": 6}, "retry_attempts must be an integer from 0 to 5"),
        ({"retry_attempts": -1}, "retry_attempts must be an integer from 0 to 5"),
        ({"retry_attempts": True}, "retry_attempts must be an integer"),
        ({"retry_attempts": "2"}, "retry_attempts must be an integer"),  # not a form's digits
        ({"retry_on": ["failed", "crashed"]}, "retry_on must be a list of outcomes among"),
        ({"retry_on": "failed;timeout"}, "retry_on must be a list of outcomes among"),
        ({"retry_on": {"failed": True}}, "retry_on must be a list of outcomes among"),
        ({"dead_letter_function_id": "nope"}, "Expected a uuid for dead_letter_function_id"),
    ],
)
def test_bad_retry_settings_are_refused(conf, store, runtime, fields, message):
    with pytest.raises(exceptions.InputError, match=message):
        _create(conf, store, runtime, **fields)
    assert functions_db.list_all() == []


def test_the_maximum_retries_are_the_operators(conf, store, runtime, config_fixture):
    config_fixture.config(group="execution", max_retry_attempts=8)
    assert _create(conf, store, runtime, retry_attempts=8).retry_attempts == 8
    with pytest.raises(exceptions.InputError, match="from 0 to 8"):
        _create(conf, store, runtime, retry_attempts=9)


def test_a_dead_letter_function_is_one_the_caller_sees_in_the_same_project(conf, store, runtime):
    function = _create(conf, store, runtime)
    elsewhere = rows.function(rows.P2)
    # Another project's function is not found for its caller ...
    with pytest.raises(exceptions.NotFound):
        _update(conf, store, function, dead_letter_function_id=elsewhere.id)
    # ... and an admin, who sees it, still cannot point across projects.
    with pytest.raises(exceptions.InputError, match="must be in the function's project"):
        _update(conf, store, function, rows.admin(), dead_letter_function_id=elsewhere.id)
    with pytest.raises(exceptions.InputError, match="cannot be its own dead-letter"):
        _update(conf, store, function, dead_letter_function_id=function.id)
    with pytest.raises(exceptions.NotFound):
        _update(conf, store, function, dead_letter_function_id=MISSING_ID)
    assert functions_db.get(function.id).dead_letter_function_id is None


def test_an_image_function_takes_retry_settings(conf, store, config_fixture):
    config_fixture.config(group="engine", orchestrator="kubernetes")
    function = functions_service.create(
        rows.caller(), conf, store, fakes.Trusts(), {"code": IMAGE_CODE, "retry_attempts": 1}
    )
    assert function.retry_attempts == 1
    assert _update(conf, store, function, retry_on=["timeout"]).retry_on == "timeout"


def test_delete_is_refused_while_the_function_is_a_dead_letter_function(conf, store, runtime):
    trusts = fakes.Trusts()
    dead_letter = _create(conf, store, runtime, trusts)
    function = _create(conf, store, runtime, trusts, dead_letter_function_id=dead_letter.id)
    with pytest.raises(exceptions.NotAllowed, match="dead-letter function of function"):
        functions_service.delete(rows.caller(), store, fakes.Engine(), trusts, dead_letter.id)
    _update(conf, store, function, dead_letter_function_id=None)
    functions_service.delete(rows.caller(), store, fakes.Engine(), trusts, dead_letter.id)
    assert [f.id for f in functions_db.list_all()] == [function.id]

"""Swift-sourced functions in the functions and versions services, on SQLite and the file
system package store; Swift is SwiftObjects over the fake Session of
tests/unit/storage/test_swift.py (``None`` when the deployment has no Keystone)."""

import io
import json
import os

import pytest
from keystoneauth1 import exceptions as ks_exceptions

from qinling_lite import exceptions, status
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.db import versions as versions_db
from qinling_lite.services import functions as functions_service
from qinling_lite.services import versions as versions_service
from qinling_lite.storage import swift as swift_storage
from tests.packages import HELLO_WORLD, make_zip
from tests.unit.services import fakes, rows
from tests.unit.storage.test_swift import FakeSession, md5

PACKAGE = make_zip({"main.py": HELLO_WORLD})
NEW_PACKAGE = make_zip({"main.py": HELLO_WORLD + "\n# changed\n"})
LOCATION = {"container": "functions", "object": "hello/main.zip"}
SWIFT_CODE = {"source": "swift", "swift": LOCATION}
OTHER_LOCATION = {"container": "project-2-functions", "object": "hello.zip"}
OTHER_PROJECT = tuple(OTHER_LOCATION.values())


@pytest.fixture
def conf(config_fixture, tmp_path):
    config_fixture.config(state_path=str(tmp_path))
    config_fixture.config(group="engine", orchestrator="local")
    config_fixture.config(group="api", max_function_versions=5)
    return config_fixture.conf


@pytest.fixture
def runtime():
    return runtimes_db.create(
        {"image": "python3", "project_id": rows.P1, "status": status.AVAILABLE}
    )


@pytest.fixture
def session():
    """The caller's Swift account: its function object, and another project's container
    that it may not read."""
    fake = FakeSession({("functions", "hello/main.zip"): PACKAGE, OTHER_PROJECT: PACKAGE})
    fake.refusals[OTHER_PROJECT] = 403
    return fake


@pytest.fixture
def swift(session, conf):
    return swift_storage.SwiftObjects(session, conf)


def _packages(conf):
    """The package files kept, as paths relative to the store's directory."""
    root = conf.storage.file_system_dir
    return sorted(
        os.path.relpath(os.path.join(directory, name), root)
        for directory, _, names in os.walk(root)
        for name in names
    )


def _create(conf, store, runtime, swift, trusts=None, **fields):
    fields = {"code": SWIFT_CODE, "runtime_id": runtime.id, **fields}
    return functions_service.create(
        rows.caller(), conf, store, trusts or fakes.Trusts(), fields, swift
    )


def _update(conf, store, function, objects, engine=None, **fields):
    return functions_service.update(
        rows.caller(), conf, store, engine or fakes.Engine(), function, fields, objects
    )


def _code(location, package):
    return {
        "source": "swift",
        "swift": {**location, "etag": md5(package)},
        "md5sum": md5(package),
    }


def _kept(function, package, version=0):
    return f"{function.project_id}/{function.id}/{version}_{md5(package)}.zip"


# --- create --------------------------------------------------------------------------


def test_without_keystone_a_swift_function_is_refused_before_anything_is_kept(conf, store, runtime):
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError) as raised:
        _create(conf, store, runtime, None, trusts)
    assert raised.value.message.startswith("Swift object not supported: ")
    assert "[api] auth_enable" in raised.value.message
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])


def test_a_swift_function_gets_the_object_as_its_package_and_a_trust(
    conf, store, runtime, swift, session
):
    trusts = fakes.Trusts()
    function = _create(conf, store, runtime, swift, trusts, name="hello")

    stored = functions_db.get(function.id, rows.P1)
    assert stored.code == _code(LOCATION, PACKAGE)
    assert (stored.name, stored.entry, stored.trust_id) == ("hello", "main.main", "trust-1")
    assert store.read(rows.P1, function.id, md5(PACKAGE)) == PACKAGE
    assert _packages(conf) == [_kept(function, PACKAGE)]
    assert [call[:2] for call in session.calls] == [("GET", "functions/hello/main.zip")]


def test_code_as_json_text_from_a_form_is_read_the_same(conf, store, runtime, swift):
    function = _create(conf, store, runtime, swift, code=json.dumps(SWIFT_CODE))
    assert function.code == _code(LOCATION, PACKAGE)


def test_a_swift_function_takes_no_package_part(conf, store, runtime, swift, session):
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError, match="A Swift function takes no package"):
        _create(conf, store, runtime, swift, trusts, package=io.BytesIO(PACKAGE))
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])
    assert session.calls == []


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ({"source": "swift"}, "code.swift.container is required"),
        ({"source": "swift", "swift": "functions/hello.zip"}, "code.swift must be an object"),
        ({"source": "swift", "swift": {"container": "functions"}}, "code.swift.object"),
        ({"source": "swift", "swift": {**LOCATION, "etag": "x"}}, "not etag"),
        ({"source": "swift", "swift": {**LOCATION, "container": "a/b"}}, "without '/'"),
    ],
)
def test_a_bad_location_is_refused_before_swift_is_asked(
    conf, store, runtime, swift, session, code, message
):
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError, match=message):
        _create(conf, store, runtime, swift, trusts, code=code)
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])
    assert session.calls == []


@pytest.mark.parametrize(
    ("location", "answer"),
    [
        ({"container": "functions", "object": "missing.zip"}, "404 for functions/missing.zip"),
        (OTHER_LOCATION, "403 for project-2-functions/"),
    ],
)
def test_an_object_swift_refuses_is_a_400_and_leaves_nothing(
    conf, store, runtime, swift, location, answer
):
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError) as raised:
        _create(conf, store, runtime, swift, trusts, code={"source": "swift", "swift": location})
    assert raised.value.message.startswith("Failed to validate object in Swift: Swift answered ")
    assert answer in raised.value.message
    assert raised.value.code == 400
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])


def test_an_object_that_is_no_package_leaves_nothing(conf, store, runtime, swift, session):
    session.put(("functions", "hello/main.zip"), b"not a zip")
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError, match="not a valid ZIP package"):
        _create(conf, store, runtime, swift, trusts)
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])


def test_swift_unreachable_is_a_400_and_leaves_nothing(conf, store, runtime, swift, session):
    session.error = ks_exceptions.EndpointNotFound()
    trusts = fakes.Trusts()
    with pytest.raises(exceptions.InputError, match="Failed to validate object in Swift: No "):
        _create(conf, store, runtime, swift, trusts)
    assert (functions_db.list_all(), _packages(conf), trusts.created) == ([], [], [])


def test_a_failed_trust_removes_the_fetched_package(conf, store, runtime, swift):
    def keystone_down():
        raise exceptions.IdentityUnavailable()

    trusts = fakes.Trusts(on_create=keystone_down)
    with pytest.raises(exceptions.IdentityUnavailable):
        _create(conf, store, runtime, swift, trusts)
    assert (functions_db.list_all(), _packages(conf), trusts.deleted) == ([], [], [])


def test_a_failed_insert_removes_the_package_and_the_trust(conf, store, runtime, swift):
    trusts = fakes.Trusts(on_create=lambda: runtimes_db.delete(runtime.id))
    with pytest.raises(exceptions.InputError, match="does not exist"):
        _create(conf, store, runtime, swift, trusts)
    assert (functions_db.list_all(), _packages(conf)) == ([], [])
    assert trusts.deleted == trusts.created == ["trust-1"]


# --- update --------------------------------------------------------------------------


@pytest.fixture
def function(conf, store, runtime, swift, session):
    created = _create(conf, store, runtime, swift)
    session.calls.clear()
    return created


def test_a_new_object_in_the_same_container_replaces_the_package(
    conf, store, function, swift, session
):
    session.put(("functions", "v2.zip"), NEW_PACKAGE)
    engine = fakes.Engine()

    updated = _update(
        conf,
        store,
        function,
        swift,
        engine,
        code={"source": "swift", "swift": {"object": "v2.zip"}},
    )

    new_location = {"container": "functions", "object": "v2.zip"}
    assert updated.code == _code(new_location, NEW_PACKAGE)
    assert functions_db.get(function.id).code == updated.code
    assert [call[:2] for call in session.calls] == [("GET", "functions/v2.zip")]
    assert _packages(conf) == [_kept(function, NEW_PACKAGE)]
    assert engine.calls == [("release_function", function.id, 0)]


def test_code_again_fetches_the_changed_object_at_the_same_place(
    conf, store, function, swift, session
):
    session.put(("functions", "hello/main.zip"), NEW_PACKAGE)
    engine = fakes.Engine()

    updated = _update(conf, store, function, swift, engine, code=json.dumps({"source": "swift"}))

    assert updated.code == _code(LOCATION, NEW_PACKAGE)
    assert _packages(conf) == [_kept(function, NEW_PACKAGE)]
    assert engine.calls == [("release_function", function.id, 0)]


def test_code_of_an_unchanged_object_keeps_the_package_and_the_workers(
    conf, store, function, swift, session
):
    engine = fakes.Engine()
    updated = _update(conf, store, function, swift, engine, code=SWIFT_CODE, name="renamed")

    assert (updated.code, updated.name) == (function.code, "renamed")
    assert session.methods() == ["GET"]
    assert _packages(conf) == [_kept(function, PACKAGE)]
    assert engine.calls == []


def test_another_object_with_the_same_bytes_keeps_the_package(
    conf, store, function, swift, session
):
    session.put(("archive", "hello-copy.zip"), PACKAGE)
    engine = fakes.Engine()
    copy = {"container": "archive", "object": "hello-copy.zip"}

    updated = _update(conf, store, function, swift, engine, code={"source": "swift", "swift": copy})

    assert updated.code == _code(copy, PACKAGE)
    assert _packages(conf) == [_kept(function, PACKAGE)]
    assert engine.calls == [("release_function", function.id, 0)]


def test_other_changes_do_not_ask_swift(conf, store, function, swift, session):
    engine = fakes.Engine()
    updated = _update(conf, store, function, swift, engine, description="d", timeout=9)
    assert (updated.description, updated.timeout, updated.code) == ("d", 9, function.code)
    assert (session.calls, engine.calls) == ([], [])

    # The CLI's flattened source/swift fields carry nothing.
    _update(conf, store, function, swift, engine, source="swift", swift="x")
    assert session.calls == []

    _update(conf, store, function, swift, engine, entry="main.other")
    assert (session.calls, engine.calls) == ([], [("release_function", function.id, 0)])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"code": {"source": "package"}}, "The function code type can not be changed."),
        ({"code": {"source": "image", "image": "a:1"}}, "code type can not be changed."),
        ({"package": io.BytesIO(NEW_PACKAGE)}, "A Swift function takes no package"),
        ({"code": SWIFT_CODE, "package": io.BytesIO(PACKAGE)}, "takes no package"),
        ({"code": {"source": "swift", "swift": {"container": "a/b"}}}, "without '/'"),
        ({"code": {"source": "swift", "swift": {"object": ""}}}, "code.swift.object"),
        ({"code": {"source": "swift", "swift": {"etag": "e"}}}, "not etag"),
        ({"code": {"source": "swift", "swift": []}}, "code.swift must be an object"),
    ],
)
def test_refused_code_changes_leave_the_function_as_it_was(
    conf, store, function, swift, session, fields, message
):
    engine = fakes.Engine()
    with pytest.raises(exceptions.InputError, match=message):
        _update(conf, store, function, swift, engine, name="renamed", **fields)
    assert functions_db.get(function.id).code == function.code
    assert functions_db.get(function.id).name == function.name
    assert _packages(conf) == [_kept(function, PACKAGE)]
    assert (session.calls, engine.calls) == ([], [])


def test_a_package_function_cannot_become_a_swift_function(conf, store, runtime, swift, session):
    package_function = functions_service.create(
        rows.caller(),
        conf,
        store,
        fakes.Trusts(),
        {"code": {"source": "package"}, "runtime_id": runtime.id, "package": io.BytesIO(PACKAGE)},
    )
    with pytest.raises(exceptions.InputError, match="code type can not be changed"):
        _update(conf, store, package_function, swift, code=SWIFT_CODE, package=io.BytesIO(PACKAGE))
    # Without a package too: the code is not silently ignored.
    with pytest.raises(exceptions.InputError, match="code type can not be changed"):
        _update(conf, store, package_function, swift, code=SWIFT_CODE, name="renamed")
    assert functions_db.get(package_function.id).name == package_function.name
    assert session.calls == []


@pytest.mark.parametrize(
    ("location", "answer"),
    [
        ({"object": "missing.zip"}, "Swift answered 404 for functions/missing.zip."),
        (OTHER_LOCATION, "Swift answered 403 for project-2"),
    ],
)
def test_an_object_swift_refuses_leaves_the_function_as_it_was(
    conf, store, function, swift, location, answer
):
    engine = fakes.Engine()
    with pytest.raises(exceptions.InputError) as raised:
        _update(conf, store, function, swift, engine, code={"source": "swift", "swift": location})
    assert raised.value.message.startswith(f"Failed to validate object in Swift: {answer}")
    assert functions_db.get(function.id).code == function.code
    assert _packages(conf) == [_kept(function, PACKAGE)]
    assert engine.calls == []


def test_without_keystone_the_code_cannot_be_fetched_again(conf, store, function):
    with pytest.raises(exceptions.InputError, match="^Swift object not supported: "):
        _update(conf, store, function, None, code=SWIFT_CODE)
    assert functions_db.get(function.id).code == function.code
    # What does not need Swift still changes.
    assert _update(conf, store, function, None, name="renamed").name == "renamed"


def test_a_failed_update_removes_the_new_package_and_keeps_the_old(
    conf, store, function, swift, session
):
    session.put(("functions", "hello/main.zip"), NEW_PACKAGE)
    functions_db.delete(function.id)  # by someone else, after the caller read it
    with pytest.raises(exceptions.NotFound):
        _update(conf, store, function, swift, code=SWIFT_CODE)
    assert _packages(conf) == [_kept(function, PACKAGE)]


# --- versions ------------------------------------------------------------------------


def test_a_version_of_a_changed_object_records_and_snapshots_the_new_package(
    conf, store, function, swift, session
):
    session.put(("functions", "hello/main.zip"), NEW_PACKAGE)

    version = versions_service.create(conf, store, function, "v1", swift)

    assert (version.version_number, version.package_md5) == (1, md5(NEW_PACKAGE))
    assert functions_db.get(function.id).code == _code(LOCATION, NEW_PACKAGE)
    assert session.methods() == ["HEAD", "GET"]
    assert _packages(conf) == [_kept(function, NEW_PACKAGE), _kept(function, NEW_PACKAGE, 1)]
    assert store.read(rows.P1, function.id, md5(NEW_PACKAGE), 1) == NEW_PACKAGE


def test_a_version_of_an_unchanged_object_snapshots_the_package(
    conf, store, function, swift, session
):
    version = versions_service.create(conf, store, function, None, swift)

    assert (version.version_number, version.package_md5) == (1, md5(PACKAGE))
    assert functions_db.get(function.id).code == function.code
    assert session.methods() == ["HEAD"]
    assert _packages(conf) == [_kept(function, PACKAGE), _kept(function, PACKAGE, 1)]

    with pytest.raises(exceptions.NotAllowed, match="not changed since the latest version 1"):
        versions_service.create(conf, store, functions_db.get(function.id), None, swift)
    assert session.methods() == ["HEAD", "HEAD"]

    session.put(("functions", "hello/main.zip"), NEW_PACKAGE)
    version = versions_service.create(conf, store, functions_db.get(function.id), None, swift)
    assert (version.version_number, version.package_md5) == (2, md5(NEW_PACKAGE))
    # Version 1 keeps its own copy of the replaced package.
    assert _packages(conf) == sorted(
        [
            _kept(function, NEW_PACKAGE),
            _kept(function, PACKAGE, 1),
            _kept(function, NEW_PACKAGE, 2),
        ]
    )


def test_a_version_of_an_object_swift_refuses_records_nothing(
    conf, store, function, swift, session
):
    session.refusals[("functions", "hello/main.zip")] = 403
    with pytest.raises(exceptions.InputError) as raised:
        versions_service.create(conf, store, function, None, swift)
    assert raised.value.message == (
        "Failed to validate object in Swift: Swift answered 403 for functions/hello/main.zip."
    )
    assert versions_db.list_all(function.id) == []
    assert _packages(conf) == [_kept(function, PACKAGE)]


def test_without_keystone_a_swift_function_gets_no_version(conf, store, function):
    with pytest.raises(exceptions.InputError, match="^Swift object not supported"):
        versions_service.create(conf, store, function, None, None)
    assert versions_db.list_all(function.id) == []
    assert functions_db.get(function.id).latest_version == 0

"""The engine's Swift-sourced functions: before each execution of the current code (version
0) the object is looked at, as its owner through the function's trust, and fetched again
when it changed. Swift is SwiftObjects over the fake Session of
tests/unit/storage/test_swift.py; the executions run on the local orchestrator."""

import os
import types

import pytest
from keystoneauth1 import exceptions as ks_exceptions

from qinling_lite import exceptions, status, storage
from qinling_lite.db import executions as executions_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.db import versions as versions_db
from qinling_lite.engine import executions, retries
from qinling_lite.storage import swift as swift_storage
from tests.packages import make_zip
from tests.unit.storage.test_swift import FakeSession, md5

pytestmark = pytest.mark.parametrize("conf", ["local"], indirect=True)

PROJECT = "p1"
FUNCTION_ID = "11111111-2222-3333-4444-555555555555"
WHERE = swift_storage.Location("functions", "hello/main.zip")
PACKAGE = make_zip(
    {"main.py": "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"}
)
NEW_PACKAGE = make_zip({"main.py": "def main(**kwargs):\n    return 'new code'\n"})


class FakeTrustee:
    """The trustee of an engine: ``enabled`` when functions have trusts."""

    def __init__(self, enabled=True):
        self.enabled = enabled

    def worker_credentials(self, trust_id):
        return {
            "auth_url": "http://keystone.invalid/v3",
            "token": f"token-of-{trust_id}",
            "expires_at": "2030-01-01T00:00:00+00:00",
            "user_id": "owner",
            "project_id": PROJECT,
            "catalog": [],
        }


class OwnerSwift:
    """The engine's ``swift(trust_id)``: Swift as the owner of the trust (one fake
    account), recording the trusts it was asked for."""

    def __init__(self, session, conf):
        self.session = session
        self.conf = conf
        self.trusts = []

    def __call__(self, trust_id):
        self.trusts.append(trust_id)
        return swift_storage.SwiftObjects(self.session, self.conf)


@pytest.fixture
def store(conf):
    return storage.load(conf)


@pytest.fixture
def session():
    return FakeSession({tuple(WHERE): PACKAGE})


@pytest.fixture
def owner_swift(session, conf):
    return OwnerSwift(session, conf)


@pytest.fixture
def runtime(database):
    return runtimes_db.create({"image": "python3", "project_id": PROJECT, "status": "available"})


@pytest.fixture
def function(runtime, store, session, conf):
    code = swift_storage.SwiftObjects(session, conf).fetch(store, PROJECT, FUNCTION_ID, WHERE)
    session.calls.clear()
    return functions_db.create(
        {
            "id": FUNCTION_ID,
            "project_id": PROJECT,
            "runtime_id": runtime.id,
            "code": code,
            "entry": "main.main",
            "trust_id": "trust-1",
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
        }
    )


def _runner(store, owner_swift, trustee=None, orchestrator=None, conf=None):
    return executions.ExecutionRunner(
        orchestrator,
        store,
        worker_wait=5,
        engine_id="e-swift",
        lease=30,
        retry_policy=retries.Policy(conf) if conf is not None else None,
        trustee=FakeTrustee() if trustee is None else trustee,
        swift=owner_swift,
    )


def _claimed(function, trust_id="trust-1"):
    """What ``_current_swift_code`` reads of a claimed execution."""
    return types.SimpleNamespace(
        trust_id=trust_id, function=executions_db.get_worker_target(function.id, 0)
    )


def _kept(store, package):
    try:
        return store.read(PROJECT, FUNCTION_ID, md5(package)) == package
    except exceptions.NotFound:
        return False


def _files(store):
    return sorted(
        os.path.relpath(os.path.join(d, f), store.root)
        for d, _, files in os.walk(store.root)
        for f in files
    )


# --- _current_swift_code -------------------------------------------------------------


def test_an_unchanged_object_keeps_the_function_as_it_is(store, owner_swift, session, function):
    execution = _claimed(function)
    current = _runner(store, owner_swift)._current_swift_code(execution)

    assert current is execution.function
    assert owner_swift.trusts == ["trust-1"]
    assert [call[:2] for call in session.calls] == [("HEAD", "functions/hello/main.zip")]
    assert functions_db.get(function.id).code == function.code
    assert _kept(store, PACKAGE)


def test_a_changed_object_is_fetched_recorded_and_the_old_package_deleted(
    store, owner_swift, session, function
):
    session.put(WHERE, NEW_PACKAGE)
    runner = _runner(store, owner_swift)

    current = runner._current_swift_code(_claimed(function))

    new_code = {
        "source": "swift",
        "swift": {**WHERE._asdict(), "etag": md5(NEW_PACKAGE)},
        "md5sum": md5(NEW_PACKAGE),
    }
    assert current.code == new_code
    assert current == executions_db.get_worker_target(function.id, 0)
    assert functions_db.get(function.id).code == new_code
    assert session.methods() == ["HEAD", "GET"]
    assert (_kept(store, PACKAGE), _kept(store, NEW_PACKAGE)) == (False, True)
    spec, package = runner.worker_for(current)
    assert (spec.package_md5, package()) == (md5(NEW_PACKAGE), NEW_PACKAGE)

    # The next execution finds the recorded code current.
    session.calls.clear()
    again = _claimed(function)
    assert runner._current_swift_code(again) is again.function
    assert session.methods() == ["HEAD"]


def test_a_new_etag_of_the_same_bytes_is_recorded_and_the_package_kept(
    store, owner_swift, session, function
):
    session.headers = {"Etag": "segments-manifest-etag"}
    current = _runner(store, owner_swift)._current_swift_code(_claimed(function))
    swift = {**function.code["swift"], "etag": "segments-manifest-etag"}
    assert current.code == {**function.code, "swift": swift}
    assert functions_db.get(function.id).code == current.code
    assert _kept(store, PACKAGE)


@pytest.mark.parametrize(
    ("trust_id", "trustee", "has_swift"),
    [
        (None, FakeTrustee(), True),  # a function made without Keystone
        ("trust-1", FakeTrustee(enabled=False), True),  # an engine without trustee
        ("trust-1", FakeTrustee(), False),  # an engine not given Swift
    ],
)
def test_without_the_owners_trust_the_code_cannot_be_read(
    store, owner_swift, session, function, trust_id, trustee, has_swift
):
    runner = _runner(store, owner_swift if has_swift else None, trustee)
    with pytest.raises(exceptions.StorageError) as raised:
        runner._current_swift_code(_claimed(function, trust_id))
    assert raised.value.message == (
        f"Function {FUNCTION_ID} is in Swift, which only its owner's trust reaches: this "
        "engine has no trustee, or the function no trust."
    )
    assert (owner_swift.trusts, session.calls) == ([], [])


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("refused", "Swift answered 403 for functions/hello/main.zip."),
        ("missing", "Swift answered 404 for functions/hello/main.zip."),
        ("no endpoint", "No object-store endpoint in the catalog for functions/hello/main.zip."),
        ("not a zip", "Package is not a valid ZIP package."),
    ],
)
def test_swift_failing_is_a_storage_error_that_changes_nothing(
    store, owner_swift, session, function, fault, message
):
    if fault == "refused":
        session.refusals[tuple(WHERE)] = 403
    elif fault == "missing":
        del session.objects[tuple(WHERE)]
    elif fault == "no endpoint":
        session.error = ks_exceptions.EndpointNotFound()
    else:
        session.put(WHERE, b"not a zip")

    with pytest.raises(exceptions.StorageError) as raised:
        _runner(store, owner_swift)._current_swift_code(_claimed(function))

    assert raised.value.message == f"The function's code could not be read from Swift: {message}"
    assert raised.value.__cause__ is None
    assert functions_db.get(function.id).code == function.code
    assert _files(store) == [f"{PROJECT}/{FUNCTION_ID}/0_{md5(PACKAGE)}.zip"]


# --- executions ----------------------------------------------------------------------


def _run(runner, function, **values):
    execution = executions_db.create(
        {"function_id": function.id, "project_id": function.project_id, **values}
    )
    return runner.run(execution.id)


def test_the_execution_after_an_upload_runs_the_new_code(
    engine, conf, store, owner_swift, session, runtime, function
):
    engine.manager.start_pool(runtime)
    runner = _runner(store, owner_swift, orchestrator=engine.orchestrator, conf=conf)

    outcome = _run(runner, function, input={"name": "Swift"})
    assert (outcome["status"], outcome["result"]["output"]) == (status.SUCCESS, "Hello, Swift")

    # Version 1 snapshots the package; its executions never look at Swift.
    versions_db.create(
        function.id, PROJECT, None, 10, lambda n, m: store.snapshot(PROJECT, function.id, m, n)
    )
    session.put(WHERE, NEW_PACKAGE)
    session.calls.clear()
    outcome = _run(runner, function, function_version=1)
    assert (outcome["status"], outcome["result"]["output"]) == (status.SUCCESS, "Hello, World")
    assert session.calls == []

    outcome = _run(runner, function)
    assert (outcome["status"], outcome["result"]["output"]) == (status.SUCCESS, "new code")
    assert session.methods() == ["HEAD", "GET"]
    assert owner_swift.trusts == ["trust-1", "trust-1"]
    assert functions_db.get(function.id).code["md5sum"] == md5(NEW_PACKAGE)
    assert (_kept(store, PACKAGE), _kept(store, NEW_PACKAGE)) == (False, True)
    assert store.read(PROJECT, function.id, md5(PACKAGE), 1) == PACKAGE


def test_an_execution_whose_code_swift_refuses_ends_in_error(
    engine, conf, store, owner_swift, session, function
):
    session.refusals[tuple(WHERE)] = 401
    runner = _runner(store, owner_swift, orchestrator=engine.orchestrator, conf=conf)

    outcome = _run(runner, function)

    assert outcome["status"] == status.ERROR
    assert outcome["result"]["output"] == (
        "The function's code could not be read from Swift: Swift answered 401 for "
        "functions/hello/main.zip."
    )
    assert executions_db.list_all()[0].status == status.ERROR

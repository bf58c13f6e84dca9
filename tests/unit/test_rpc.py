"""The API-to-engine contract with no broker: in process, and over oslo.messaging's
in-process ``fake://`` transport (versions, the version cap, rolling upgrades).

``EngineContract`` is run here over ``fake://`` and over RabbitMQ in
tests/functional/test_rpc_rabbit.py.
"""

import concurrent.futures
import re
import threading
import time
import uuid

import futurist._thread
import oslo_messaging as messaging
import pytest
from oslo_messaging import opts as messaging_opts

from qinling_lite import config, context, exceptions
from qinling_lite.rpc import call_pool, engine_api, in_process, transport

CONF = config.CONF
WAIT = 5
CALL_THREADS = 4


def register_messaging_opts():
    """oslo.messaging registers its options when first used; register them to set them."""
    for group, opts in messaging_opts.list_opts():
        if group in (None, "oslo_messaging_rabbit"):
            CONF.register_opts(opts, group=group)


def endpoint_target(version):
    return messaging.Target(namespace=transport.NAMESPACE, version=version)


class PreviousEngine:
    """An engine of the previous release (RPC 1.0): records what it receives, answers
    what it was asked."""

    target = endpoint_target("1.0")

    def __init__(self):
        self.received = []
        self._changed = threading.Condition()
        self.release = threading.Event()

    def _record(self, method, ctxt, **kwargs):
        with self._changed:
            self.received.append(
                {"method": method, "ctxt": ctxt, "thread": threading.current_thread().name} | kwargs
            )
            self._changed.notify_all()

    def wait_for(self, predicate, timeout=WAIT):
        """The first record matching ``predicate``; fails after ``timeout`` seconds."""
        with self._changed:
            found = []
            ok = self._changed.wait_for(
                lambda: found.extend(r for r in self.received if predicate(r)) or found,
                timeout,
            )
        assert ok, f"nothing matching arrived within {timeout}s; got {self.received!r}"
        return found[0]

    def methods(self):
        with self._changed:
            return [r["method"] for r in self.received]

    def create_execution(self, ctxt, execution_id):
        self._record("create_execution", ctxt, execution_id=execution_id)
        if execution_id.startswith("slow-"):
            self.release.wait(WAIT)
        return {
            "execution_id": execution_id,
            "project_id": ctxt.project_id,
            "is_admin": ctxt.is_admin,
            "context_type": type(ctxt).__name__,
        }

    def create_runtime(self, ctxt, runtime_id):
        self._record("create_runtime", ctxt, runtime_id=runtime_id)

    def delete_runtime(self, ctxt, runtime_id):
        self._record("delete_runtime", ctxt, runtime_id=runtime_id)

    def get_runtime_pool(self, ctxt, runtime_id):
        self._record("get_runtime_pool", ctxt, runtime_id=runtime_id)
        return {"name": runtime_id, "capacity": {"total": 3, "available": 2}}

    def release_function(self, ctxt, function_id, version=None):
        self._record("release_function", ctxt, function_id=function_id, version=version)


class Engine(PreviousEngine):
    """An engine of this release: 1.1 added the methods below."""

    target = endpoint_target(engine_api.RPC_API_VERSION)

    def update_runtime(self, ctxt, runtime_id, image):
        self._record("update_runtime", ctxt, runtime_id=runtime_id, image=image)

    def scale_up_function(self, ctxt, function_id, version, count):
        self._record(
            "scale_up_function", ctxt, function_id=function_id, version=version, count=count
        )

    def scale_down_function(self, ctxt, function_id, version, count):
        self._record(
            "scale_down_function", ctxt, function_id=function_id, version=version, count=count
        )

    def get_function_workers(self, ctxt, function_id, version):
        self._record("get_function_workers", ctxt, function_id=function_id, version=version)
        return [f"worker-{function_id}"]


class NextEngine(Engine):
    """An engine of a release that adds ``describe_function_workers`` at 1.2."""

    target = endpoint_target("1.2")

    def describe_function_workers(self, ctxt, function_id, version):
        self._record("describe_function_workers", ctxt, function_id=function_id)
        return [{"name": f"worker-{function_id}", "idle": True}]


class NextEngineClient(engine_api.RPCEngineClient):
    """The API of that release: it lists workers with 1.2's new method, or as 1.1 did
    while the API is capped below 1.2."""

    def get_function_workers(self, ctxt, function_id, version):
        if not self.can_send_version("1.2"):
            return super().get_function_workers(ctxt, function_id, version)
        workers = self._prepare("1.2").call(
            ctxt, "describe_function_workers", function_id=function_id, version=version
        )
        return [worker["name"] for worker in workers]


def _ctx(project_id="project-1", is_admin=False):
    return context.RequestContext(project_id=project_id, is_admin=is_admin, overwrite=False)


def _id(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex}"


class EngineContract:
    """What the API relies on from any transport; subclasses provide ``endpoint`` and
    ``client`` fixtures (an RPC client of this release reaching a ``Engine``)."""

    def test_sync_execution_returns_the_value(self, endpoint, client):
        execution_id = _id()
        answer = client.create_execution(_ctx(), execution_id, sync=True, timeout=WAIT)
        assert answer["execution_id"] == execution_id
        assert endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)

    def test_get_runtime_pool_returns_the_value(self, client):
        runtime_id = _id("runtime")
        assert client.get_runtime_pool(_ctx(), runtime_id) == {
            "name": runtime_id,
            "capacity": {"total": 3, "available": 2},
        }

    def test_get_function_workers_returns_the_value(self, client):
        assert client.get_function_workers(_ctx(), "f-1", 2) == ["worker-f-1"]

    @pytest.mark.parametrize(("project_id", "is_admin"), [("p-user", False), ("p-admin", True)])
    def test_context_round_trips(self, endpoint, client, project_id, is_admin):
        ctx = _ctx(project_id, is_admin)
        execution_id = _id()
        answer = client.create_execution(ctx, execution_id, sync=True, timeout=WAIT)
        assert (answer["project_id"], answer["is_admin"]) == (project_id, is_admin)
        received = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)["ctxt"]
        assert isinstance(received, context.RequestContext)
        assert (received.project_id, received.is_admin) == (project_id, is_admin)
        assert received.request_id == ctx.request_id

    def test_the_callers_token_stays_in_the_api(self, endpoint, client):
        ctx = context.RequestContext(
            project_id="p-1", user_id="u-1", roles=["member"], auth_token="secret-token",
            overwrite=False,
        )  # fmt: skip
        execution_id = _id()
        client.create_execution(ctx, execution_id, sync=True, timeout=WAIT)
        received = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)["ctxt"]
        assert (received.user_id, received.roles) == ("u-1", ["member"])
        assert received.auth_token is None
        assert ctx.auth_token == "secret-token"  # the API's own context is untouched

    def test_async_execution_is_a_cast(self, endpoint, client):
        execution_id = _id()
        assert client.create_execution(_ctx("p-cast"), execution_id, sync=False, timeout=1) is None
        record = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)
        assert record["ctxt"].project_id == "p-cast"

    def test_casts_deliver_their_arguments(self, endpoint, client):
        ctx = _ctx()
        runtime_id, function_id = _id("runtime"), _id("function")
        client.create_runtime(ctx, runtime_id)
        client.delete_runtime(ctx, runtime_id)
        client.update_runtime(ctx, runtime_id, "python3:next")
        client.release_function(ctx, function_id, version=2)
        client.release_function(ctx, function_id)
        client.scale_up_function(ctx, function_id, 0, 2)
        client.scale_down_function(ctx, function_id, 0, 1)
        for method in ("create_runtime", "delete_runtime"):
            endpoint.wait_for(
                lambda r, m=method: r["method"] == m and r["runtime_id"] == runtime_id
            )
        update = endpoint.wait_for(
            lambda r: r["method"] == "update_runtime" and r["runtime_id"] == runtime_id
        )
        assert update["image"] == "python3:next"
        for version in (2, None):
            endpoint.wait_for(
                lambda r, v=version: (
                    r["method"] == "release_function"
                    and (r["function_id"], r["version"]) == (function_id, v)
                )
            )
        for method, count in (("scale_up_function", 2), ("scale_down_function", 1)):
            record = endpoint.wait_for(
                lambda r, m=method: r["method"] == m and r["function_id"] == function_id
            )
            assert (record["version"], record["count"]) == (0, count)


@pytest.fixture
def fake_transport(config_fixture):
    """The in-process ``fake://`` transport, on a topic of this test."""
    register_messaging_opts()
    config_fixture.config(transport_url="fake://", rpc_response_timeout=WAIT)
    config_fixture.config(group="engine", topic=_id("topic"), host="test-engine")
    rpc_transport = transport.get_transport()
    yield rpc_transport
    rpc_transport.cleanup()


@pytest.fixture
def serve(fake_transport, monkeypatch):
    """``serve(endpoint)`` runs an engine RPC server for ``endpoint`` until the test ends."""
    # A stopping server waits for its idle executor threads, which look up from an
    # empty queue once a second: a second per test here.
    monkeypatch.setattr(futurist._thread.ThreadWorker, "MAX_IDLE_FOR", 0.02)
    servers = []

    def start(endpoint):
        server = transport.get_server(fake_transport, endpoint)
        server.start()
        servers.append((server, endpoint))
        return endpoint

    yield start
    for server, endpoint in servers:
        endpoint.release.set()
        server.stop()
        server.wait()


@pytest.fixture
def new_client(fake_transport, config_fixture):
    """``new_client(cap=None, cls=RPCEngineClient)``: an API client, capped at ``cap``."""

    def make(cap=None, cls=engine_api.RPCEngineClient):
        config_fixture.config(group="engine", rpc_version_cap=cap)
        return cls(fake_transport, call_threads=CALL_THREADS)

    return make


class TestOverFakeTransport(EngineContract):
    @pytest.fixture
    def endpoint(self, serve):
        return serve(Engine())

    @pytest.fixture
    def client(self, endpoint, new_client):
        return new_client()

    def test_a_call_no_engine_answers_is_unavailable_after_its_timeout(self, new_client):
        client = new_client()  # no server on the topic
        with pytest.raises(exceptions.EngineUnavailable) as e:
            client.create_execution(_ctx(), _id(), sync=True, timeout=0.2)
        assert isinstance(e.value.__cause__, messaging.MessagingTimeout)

    def test_concurrent_calls_share_a_bounded_set_of_threads(self, client):
        before = set(threading.enumerate())
        with concurrent.futures.ThreadPoolExecutor(3 * CALL_THREADS) as callers:
            answers = list(
                callers.map(lambda i: client.get_runtime_pool(_ctx(), f"r-{i}"), range(30))
            )
        assert [a["name"] for a in answers] == [f"r-{i}" for i in range(30)]
        new = [t for t in set(threading.enumerate()) - before if t.name.startswith("rpc-call")]
        assert 1 <= len(new) <= CALL_THREADS


class TestRollingUpgrade:
    """Engines are upgraded first; the API is held at the oldest engine's version."""

    def test_an_api_capped_at_the_old_version_is_served_by_an_old_engine(self, serve, new_client):
        old_engine = serve(PreviousEngine())
        client = new_client(cap="1.0")
        execution_id = _id()
        assert client.create_execution(_ctx(), execution_id, sync=True, timeout=WAIT)[
            "execution_id"
        ] == execution_id  # fmt: skip
        assert client.get_runtime_pool(_ctx(), "r-1")["name"] == "r-1"
        client.create_runtime(_ctx(), "r-2")
        client.release_function(_ctx(), "f-1")
        old_engine.wait_for(lambda r: r["method"] == "create_runtime")
        old_engine.wait_for(lambda r: r["method"] == "release_function")

    @pytest.mark.parametrize(
        "request_",
        [
            lambda c: c.update_runtime(_ctx(), "r-1", "python3:next"),
            lambda c: c.scale_up_function(_ctx(), "f-1", 0, 1),
            lambda c: c.scale_down_function(_ctx(), "f-1", 0, 1),
            lambda c: c.get_function_workers(_ctx(), "f-1", 0),
        ],
        ids=["update_runtime", "scale_up", "scale_down", "get_function_workers"],
    )
    def test_newer_methods_are_refused_under_the_cap_without_being_sent(
        self, serve, new_client, request_
    ):
        old_engine = serve(PreviousEngine())
        client = new_client(cap="1.0")
        with pytest.raises(exceptions.EngineUnavailable, match=r"needs engine RPC version 1\.1"):
            request_(client)
        # A 1.0 message sent afterwards arrives alone: nothing went before it.
        client.get_runtime_pool(_ctx(), "r-after")
        assert old_engine.methods() == ["get_runtime_pool"]

    def test_without_the_cap_an_old_engine_refuses_newer_methods(self, serve, new_client):
        serve(PreviousEngine())
        client = new_client()
        with pytest.raises(exceptions.EngineUnavailable, match="too old") as e:
            client.get_function_workers(_ctx(), "f-1", 0)
        assert isinstance(e.value.__cause__, messaging.UnsupportedVersion)
        assert e.value.__cause__.version == "1.1"

    def test_a_future_method_falls_back_under_the_cap(self, serve, new_client):
        """An API of the next release, capped at this one, is served by this engine."""
        engine = serve(Engine())
        client = new_client(cap=engine_api.RPC_API_VERSION, cls=NextEngineClient)
        assert client.get_function_workers(_ctx(), "f-1", 0) == ["worker-f-1"]
        assert engine.methods() == ["get_function_workers"]

    def test_a_future_method_is_refused_by_an_engine_of_this_release(self, serve, new_client):
        serve(Engine())
        client = new_client(cap="1.2", cls=NextEngineClient)  # the next release's newest
        with pytest.raises(exceptions.EngineUnavailable) as e:
            client.get_function_workers(_ctx(), "f-1", 0)
        assert isinstance(e.value.__cause__, messaging.UnsupportedVersion)

    def test_a_future_method_reaches_an_engine_that_has_it(self, serve, new_client):
        engine = serve(NextEngine())
        client = new_client(cap="1.2", cls=NextEngineClient)
        assert client.get_function_workers(_ctx(), "f-1", 0) == ["worker-f-1"]
        assert engine.methods() == ["describe_function_workers"]

    def test_a_cap_of_another_major_version_is_rejected(self, config_fixture):
        for cap in ("2.0", "1", "latest"):
            with pytest.raises(ValueError):
                config_fixture.config(group="engine", rpc_version_cap=cap)


class _VersionRecorder(engine_api.EngineClient):
    """Records the version each RPC method is prepared at."""

    def __init__(self):
        self.versions = {}

    def _prepare(self, version, fanout=False, swept=False, timeout=None):
        recorder = self

        class Sender:
            def cast(self, ctxt, method, **kwargs):
                recorder.versions[method] = version

            call = cast

        return Sender()


def test_the_version_history_lists_every_method_at_the_version_it_is_sent():
    history = {}
    for version, methods in re.findall(
        r"^ {4}(\d+\.\d+) - (.+?)(?=^ {4}\d|^$)", engine_api.__doc__, re.MULTILINE | re.DOTALL
    ):
        for method in re.sub(r"\(.*?\)", "", methods).replace(",", " ").split():
            history[method] = version
    recorder = _VersionRecorder()
    ctx = _ctx()
    recorder.create_execution(ctx, "e", sync=True, timeout=1)
    recorder.create_runtime(ctx, "r")
    recorder.delete_runtime(ctx, "r")
    recorder.update_runtime(ctx, "r", "image")
    recorder.get_runtime_pool(ctx, "r")
    recorder.release_function(ctx, "f")
    recorder.scale_up_function(ctx, "f", 0, 1)
    recorder.scale_down_function(ctx, "f", 0, 1)
    recorder.get_function_workers(ctx, "f", 0)
    assert recorder.versions == history
    assert max(history.values(), key=lambda v: tuple(map(int, v.split(".")))) == (
        engine_api.RPC_API_VERSION
    )


class TestLocalEngineClient:
    @pytest.fixture
    def executor(self):
        pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="local-engine")
        yield pool
        pool.shutdown(wait=True, cancel_futures=True)

    @pytest.fixture
    def endpoint(self):
        endpoint = Engine()
        yield endpoint
        endpoint.release.set()

    @pytest.fixture
    def client(self, endpoint, executor):
        return in_process.LocalEngineClient(endpoint, executor)

    def test_sync_execution_returns_the_endpoint_answer_in_the_calling_thread(
        self, client, endpoint
    ):
        ctx = _ctx("p-7", is_admin=True)
        answer = client.create_execution(ctx, "e-1", sync=True, timeout=5)
        assert answer == {
            "execution_id": "e-1",
            "project_id": "p-7",
            "is_admin": True,
            "context_type": "RequestContext",
        }
        [record] = endpoint.received
        assert record["ctxt"] is ctx
        assert record["thread"] == threading.current_thread().name

    def test_calls_return_the_endpoint_answer(self, client):
        assert client.get_runtime_pool(_ctx(), "r-1")["capacity"] == {"total": 3, "available": 2}
        assert client.get_function_workers(_ctx(), "f-1", 0) == ["worker-f-1"]

    def test_async_execution_runs_on_the_executor(self, client, endpoint):
        assert client.create_execution(_ctx(), "slow-1", sync=False, timeout=5) is None
        # The endpoint is blocked on ``release`` on the executor's thread, not this one.
        record = endpoint.wait_for(lambda r: r["execution_id"] == "slow-1")
        assert record["thread"].startswith("local-engine")
        endpoint.release.set()

    def test_casts_reach_the_endpoint_with_their_arguments(self, client, endpoint):
        ctx = _ctx()
        client.create_runtime(ctx, "r-1")
        client.delete_runtime(ctx, "r-2")
        client.release_function(ctx, "f-1")
        client.release_function(ctx, "f-2", version=3)
        got = [
            endpoint.wait_for(lambda r, m=m, k=k, v=v: r["method"] == m and r.get(k) == v)
            for m, k, v in [
                ("create_runtime", "runtime_id", "r-1"),
                ("delete_runtime", "runtime_id", "r-2"),
                ("release_function", "function_id", "f-1"),
                ("release_function", "function_id", "f-2"),
            ]
        ]
        assert [r["version"] for r in got[2:]] == [None, 3]
        assert all(r["ctxt"] is ctx and r["thread"].startswith("local-engine") for r in got)

    def test_every_version_can_be_sent(self, client):
        assert client.can_send_version("1.0")
        assert client.can_send_version(engine_api.RPC_API_VERSION)


class TestCallPool:
    def test_callers_give_up_in_time_and_blocked_calls_hold_at_most_size_threads(self):
        """As with oslo.messaging while the broker is down: calls that never return."""
        pool = call_pool.CallPool(2, name="blocked-call")
        unblock = threading.Event()
        started = []

        def blocked():
            started.append(threading.current_thread().name)
            unblock.wait()

        def caller(_):
            began = time.monotonic()
            with pytest.raises(TimeoutError):
                pool.run(blocked, 0.2)
            return time.monotonic() - began

        try:
            with concurrent.futures.ThreadPoolExecutor(10) as callers:
                waited = list(callers.map(caller, range(20)))
            threads = [t for t in threading.enumerate() if t.name.startswith("blocked-call")]
            assert len(threads) == 2
            assert all(0.2 <= w < 0.2 + 3 for w in waited)  # the bound, with slack
            # Calls still queued when their caller gave up never ran.
            assert len(started) == 2
        finally:
            unblock.set()

    def test_results_and_errors_reach_the_caller_and_threads_are_reused(self):
        pool = call_pool.CallPool(3, name="reused-call")
        assert [pool.run(lambda i=i: i * 2, WAIT) for i in range(10)] == list(range(0, 20, 2))
        with pytest.raises(KeyError, match="missing"):
            pool.run(lambda: {}["missing"], WAIT)
        assert sum(t.name.startswith("reused-call") for t in threading.enumerate()) == 1

    def test_threads_are_daemons(self):
        pool = call_pool.CallPool(1, name="daemon-call")
        assert pool.run(lambda: threading.current_thread().daemon, WAIT) is True

    def test_a_thread_idle_for_its_timeout_exits(self):
        pool = call_pool.CallPool(1, name="idle-call", idle_timeout=0.05)
        first = pool.run(threading.current_thread, WAIT)
        first.join(WAIT)
        assert not first.is_alive()
        assert pool.run(lambda: threading.current_thread().name, WAIT) == "idle-call-0"

"""The API-to-engine contract over both transports: in-process calls and RabbitMQ.

The RabbitMQ tests need the broker at ``RABBIT_URL``; they fail (never skip) when it is
not reachable. Each run uses its own topic, with auto-deleted queues.
"""

import concurrent.futures
import socket
import threading
import time
import uuid
import warnings

import pytest

from qinling_lite import config, context, exceptions

with warnings.catch_warnings():
    # oslo.messaging imports oslo.service, which imports eventlet, which warns on import
    # (a plain Warning, not a DeprecationWarning); qinling-lite uses threads only.
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import oslo_messaging as messaging
    from oslo_messaging import opts as messaging_opts

    from qinling_lite import rpc

CONF = config.CONF
RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
WAIT = 5


class RecordingEndpoint:
    """An engine stand-in: records what it receives, answers what it was asked."""

    target = rpc.endpoint_target()

    def __init__(self):
        self.received = []
        self._changed = threading.Condition()
        self.release = threading.Event()

    def _record(self, method, ctxt, **kwargs):
        with self._changed:
            self.received.append(
                {
                    "method": method,
                    "ctxt": ctxt,
                    "thread": threading.current_thread().name,
                    **kwargs,
                }
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


def _ctx(project_id="project-1", is_admin=False):
    return context.RequestContext(project_id=project_id, is_admin=is_admin, overwrite=False)


def _id(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex}"


class TestLocalEngineClient:
    @pytest.fixture
    def executor(self):
        pool = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="local-engine")
        yield pool
        pool.shutdown(wait=True, cancel_futures=True)

    @pytest.fixture
    def endpoint(self):
        endpoint = RecordingEndpoint()
        yield endpoint
        endpoint.release.set()

    @pytest.fixture
    def client(self, endpoint, executor):
        return rpc.LocalEngineClient(endpoint, executor)

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

    def test_get_runtime_pool_is_a_call(self, client, endpoint):
        assert client.get_runtime_pool(_ctx(), "r-1") == {
            "name": "r-1",
            "capacity": {"total": 3, "available": 2},
        }

    def test_async_execution_runs_on_the_executor_without_blocking(self, client, endpoint):
        started = time.monotonic()
        assert client.create_execution(_ctx(), "slow-1", sync=False, timeout=5) is None
        record = endpoint.wait_for(lambda r: r["execution_id"] == "slow-1")
        # The endpoint is still blocked on ``release``, yet the cast has returned.
        assert time.monotonic() - started < 1
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


def _require_broker():
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=3):
            pass
    except OSError as e:
        pytest.fail(f"RabbitMQ is not reachable at {RABBIT_URL}: {e}")


@pytest.fixture(scope="module")
def rabbit():
    """An engine endpoint served on a topic of its own over RabbitMQ, and a client."""
    _require_broker()
    # oslo.messaging registers its options when first used; register them now to set them.
    for group, opts in messaging_opts.list_opts():
        if group in (None, "oslo_messaging_rabbit"):
            CONF.register_opts(opts, group=group)
    topic = f"qinling_lite_test_{uuid.uuid4().hex}"
    overrides = [
        ("transport_url", None, RABBIT_URL),
        # A call without its own timeout (get_runtime_pool) must not hang the run either.
        ("rpc_response_timeout", None, WAIT),
        ("topic", "engine", topic),
        ("host", "engine", "test-engine"),
        # An exchange of its own: the broker's "openstack" exchange may exist already,
        # declared without auto-delete by a real engine.
        ("control_exchange", None, topic),
        # The queues of this run go away with their consumer (topic queues), or soon after
        # (reply and fanout queues).
        ("amqp_auto_delete", "oslo_messaging_rabbit", True),
        ("rabbit_transient_queues_ttl", "oslo_messaging_rabbit", 5),
    ]
    for name, group, value in overrides:
        CONF.set_override(name, value, group)
    transport = rpc.get_transport()
    endpoint = RecordingEndpoint()
    server = rpc.get_server(transport, endpoint)
    try:
        assert transport.conf.transport_url == RABBIT_URL
        server.start()
        yield endpoint, rpc.RPCEngineClient(transport), topic
    finally:
        endpoint.release.set()
        server.stop()
        server.wait()
        transport.cleanup()
        for name, group, _ in overrides:
            CONF.clear_override(name, group)


class TestRPCEngineClient:
    def test_sync_execution_returns_the_value(self, rabbit):
        endpoint, client, _ = rabbit
        execution_id = _id()
        answer = client.create_execution(_ctx(), execution_id, sync=True, timeout=WAIT)
        assert answer["execution_id"] == execution_id
        record = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)
        assert record["method"] == "create_execution"

    def test_get_runtime_pool_returns_the_value(self, rabbit):
        _, client, _ = rabbit
        runtime_id = _id("runtime")
        assert client.get_runtime_pool(_ctx(), runtime_id) == {
            "name": runtime_id,
            "capacity": {"total": 3, "available": 2},
        }

    @pytest.mark.parametrize(("project_id", "is_admin"), [("p-user", False), ("p-admin", True)])
    def test_context_round_trips(self, rabbit, project_id, is_admin):
        endpoint, client, _ = rabbit
        ctx = _ctx(project_id, is_admin)
        execution_id = _id()
        answer = client.create_execution(ctx, execution_id, sync=True, timeout=WAIT)
        assert answer["project_id"] == project_id
        assert answer["is_admin"] is is_admin
        received = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)["ctxt"]
        assert isinstance(received, context.RequestContext)
        assert received.project_id == project_id
        assert received.is_admin is is_admin
        assert received.request_id == ctx.request_id

    def test_the_callers_token_stays_in_the_api(self, rabbit):
        endpoint, client, _ = rabbit
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

    def test_async_execution_is_a_cast(self, rabbit):
        endpoint, client, _ = rabbit
        execution_id = _id()
        assert client.create_execution(_ctx("p-cast"), execution_id, sync=False, timeout=1) is None
        record = endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)
        assert record["ctxt"].project_id == "p-cast"

    def test_casts_deliver_their_arguments(self, rabbit):
        endpoint, client, _ = rabbit
        ctx = _ctx()
        runtime_id, function_id = _id("runtime"), _id("function")
        client.create_runtime(ctx, runtime_id)
        client.delete_runtime(ctx, runtime_id)
        client.release_function(ctx, function_id, version=2)
        client.release_function(ctx, function_id)
        for method in ("create_runtime", "delete_runtime"):
            endpoint.wait_for(
                lambda r, m=method: r["method"] == m and r["runtime_id"] == runtime_id
            )
        endpoint.wait_for(lambda r: r.get("function_id") == function_id and r["version"] == 2)
        endpoint.wait_for(lambda r: r.get("function_id") == function_id and r["version"] is None)

    def test_slow_engine_is_unavailable_after_the_timeout(self, rabbit):
        endpoint, client, _ = rabbit
        execution_id = _id("slow")
        started = time.monotonic()
        try:
            with pytest.raises(exceptions.EngineUnavailable) as e:
                client.create_execution(_ctx(), execution_id, sync=True, timeout=1)
        finally:
            endpoint.release.set()
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 3.5
        assert e.value.code == 503
        assert isinstance(e.value.__cause__, messaging.MessagingTimeout)
        # The engine did get the request: it was slow, not unreachable.
        endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)

    def test_server_listens_on_the_topic_of_this_run(self, rabbit):
        _, _, topic = rabbit
        assert CONF.engine.topic == topic
        assert rpc._target().topic == topic
        assert rpc._target(server="test-engine").server == "test-engine"
        assert topic != "qinling_lite_engine"


@pytest.fixture
def broker_down():
    """An RPC client whose broker is not there: a port on loopback nobody listens on."""
    for group, opts in messaging_opts.list_opts():
        if group in (None, "oslo_messaging_rabbit"):
            CONF.register_opts(opts, group=group)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    overrides = [
        ("transport_url", None, f"rabbit://guest:guest@127.0.0.1:{port}/"),
        ("rpc_response_timeout", None, 1),
        ("topic", "engine", f"qinling_lite_test_{uuid.uuid4().hex}"),
    ]
    for name, group, value in overrides:
        CONF.set_override(name, value, group)
    # No transport.cleanup(): it would wait for the reply listener, which keeps
    # reconnecting to the missing broker on the call's daemon thread.
    try:
        yield rpc.RPCEngineClient(rpc.get_transport())
    finally:
        for name, group, _ in overrides:
            CONF.clear_override(name, group)


class TestBrokerDown:
    def test_casts_the_sweep_covers_are_only_logged(self, broker_down):
        started = time.monotonic()
        assert broker_down.create_execution(_ctx(), _id(), sync=False, timeout=5) is None
        broker_down.create_runtime(_ctx(), _id())
        broker_down.delete_runtime(_ctx(), _id())
        broker_down.release_function(_ctx(), _id())
        assert time.monotonic() - started < 10

    def test_other_casts_say_the_engine_is_unavailable(self, broker_down):
        with pytest.raises(exceptions.EngineUnavailable):
            broker_down.update_runtime(_ctx(), _id(), "python3")

    def test_calls_give_up_after_their_timeout(self, broker_down):
        started = time.monotonic()
        with pytest.raises(exceptions.EngineUnavailable):
            broker_down.get_runtime_pool(_ctx(), _id())
        assert time.monotonic() - started < 1 + rpc.CALL_GRACE + 2

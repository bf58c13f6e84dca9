"""The API-to-engine contract over RabbitMQ, and a rolling upgrade with engines of two
releases on one topic.

These tests need the broker at ``RABBIT_URL``; they fail (never skip) when it is not
reachable. Each run uses a topic and an exchange of its own, with auto-deleted queues.
"""

import contextlib
import socket
import time

import oslo_config.fixture
import oslo_messaging as messaging
import pytest
from oslo_config import cfg

from qinling_lite import config, exceptions
from qinling_lite.rpc import engine_api, transport
from tests.unit.test_rpc import (
    WAIT,
    Engine,
    EngineContract,
    PreviousEngine,
    _ctx,
    _id,
    register_messaging_opts,
)

CONF = config.CONF
RABBIT_URL = "rabbit://guest:guest@127.0.0.1:5672/"
CALL_THREADS = 4


def _require_broker():
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=3):
            pass
    except OSError as e:
        pytest.fail(f"RabbitMQ is not reachable at {RABBIT_URL}: {e}")


@pytest.fixture(scope="module")
def rabbit_conf():
    """The configuration of this module's run: RabbitMQ, a topic and an exchange of its own."""
    _require_broker()
    register_messaging_opts()
    with contextlib.suppress(cfg.RequiredOptError):  # options other tests registered
        CONF([], project="qinling-lite")
    fixture = oslo_config.fixture.Config(CONF)
    fixture.setUp()
    topic = _id("qinling_lite_test")
    fixture.config(
        transport_url=RABBIT_URL,
        # A call without its own timeout (get_runtime_pool) must not hang the run either.
        rpc_response_timeout=WAIT,
        # The broker's "openstack" exchange may exist already, declared without
        # auto-delete by a real engine.
        control_exchange=topic,
    )
    fixture.config(group="engine", topic=topic, host="test-engine")
    # The queues of this run go away with their consumer (topic queues), or soon after
    # (reply and fanout queues).
    fixture.config(
        group="oslo_messaging_rabbit", amqp_auto_delete=True, rabbit_transient_queues_ttl=5
    )
    yield fixture
    fixture.cleanUp()


@pytest.fixture(scope="module")
def rabbit(rabbit_conf):
    """The transport of this run."""
    rpc_transport = transport.get_transport()
    assert rpc_transport.conf.transport_url == RABBIT_URL
    yield rpc_transport
    rpc_transport.cleanup()


@contextlib.contextmanager
def serving(rpc_transport, *endpoints):
    """RPC servers for ``endpoints`` on the configured topic while the block runs."""
    servers = [transport.get_server(rpc_transport, endpoint) for endpoint in endpoints]
    try:
        for server in servers:
            server.start()
        yield
    finally:
        for endpoint in endpoints:
            endpoint.release.set()
        for server in servers:
            server.stop()
            server.wait()


class TestOverRabbit(EngineContract):
    @pytest.fixture(scope="class")
    def endpoint(self, rabbit):
        engine = Engine()
        with serving(rabbit, engine):
            yield engine

    @pytest.fixture(scope="class")
    def client(self, rabbit, endpoint):
        return engine_api.RPCEngineClient(rabbit, call_threads=CALL_THREADS)

    def test_slow_engine_is_unavailable_after_the_timeout(self, endpoint, client):
        """The call's own timeout is the property under test: checked with slack."""
        execution_id = _id("slow")
        started = time.monotonic()
        try:
            with pytest.raises(exceptions.EngineUnavailable) as e:
                client.create_execution(_ctx(), execution_id, sync=True, timeout=1)
        finally:
            endpoint.release.set()
        assert 0.9 <= time.monotonic() - started < 1 + engine_api.CALL_GRACE
        assert e.value.code == 503
        assert isinstance(e.value.__cause__, messaging.MessagingTimeout)
        # The engine did get the request: it was slow, not unreachable.
        endpoint.wait_for(lambda r: r.get("execution_id") == execution_id)


def test_engines_of_two_releases_serve_an_api_capped_at_the_older(rabbit, rabbit_conf):
    """Mid-upgrade, engines of this release and of the previous one share the topic."""
    topic = CONF.engine.topic
    rabbit_conf.config(group="engine", topic=_id("qinling_lite_upgrade"), rpc_version_cap="1.0")
    old, new = PreviousEngine(), Engine()
    try:
        with serving(rabbit, old, new):
            client = engine_api.RPCEngineClient(rabbit, call_threads=CALL_THREADS)
            for i in range(6):
                assert client.get_runtime_pool(_ctx(), f"r-{i}")["name"] == f"r-{i}"
            with pytest.raises(exceptions.EngineUnavailable, match=r"version 1\.1"):
                client.get_function_workers(_ctx(), "f-1", 0)
            client.release_function(_ctx(), "f-1")  # fanout: both engines get it
            for engine in (old, new):
                engine.wait_for(lambda r: r["method"] == "release_function")
    finally:
        rabbit_conf.config(group="engine", topic=topic, rpc_version_cap=None)
    # The broker hands the topic's messages to its consumers in turn.
    assert old.methods().count("get_runtime_pool") >= 1
    assert new.methods().count("get_runtime_pool") >= 1
    assert "get_function_workers" not in old.methods() + new.methods()

"""The RabbitMQ client while the broker is down: casts fail at once, calls give up in
time, and calls that oslo.messaging keeps blocked hold a bounded number of threads.

The broker here is a loopback port nobody listens on; no RabbitMQ is needed.
"""

import concurrent.futures
import socket
import threading
import time

import pytest

from qinling_lite import exceptions
from qinling_lite.rpc import engine_api, transport
from tests.unit.test_rpc import _ctx, _id, register_messaging_opts

CALL_THREADS = 3
TIMEOUT = 1
# What a call may take beyond its bound: oslo.messaging, scheduling, a loaded machine.
SLACK = 3


@pytest.fixture
def broker_down(config_fixture):
    """An RPC client whose broker is not there."""
    register_messaging_opts()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config_fixture.config(
        transport_url=f"rabbit://guest:guest@127.0.0.1:{port}/", rpc_response_timeout=TIMEOUT
    )
    config_fixture.config(group="engine", topic=_id("qinling_lite_test"))
    # No transport.cleanup(): it would wait for the reply listener, which keeps
    # reconnecting to the missing broker on one of the client's call threads.
    return engine_api.RPCEngineClient(transport.get_transport(), call_threads=CALL_THREADS)


def test_casts_the_sweep_covers_are_only_logged(broker_down):
    assert broker_down.create_execution(_ctx(), _id(), sync=False, timeout=5) is None
    broker_down.create_runtime(_ctx(), _id())
    broker_down.delete_runtime(_ctx(), _id())
    broker_down.release_function(_ctx(), _id())


def test_other_casts_say_the_engine_is_unavailable(broker_down):
    with pytest.raises(exceptions.EngineUnavailable):
        broker_down.update_runtime(_ctx(), _id(), "python3")


def test_calls_give_up_within_their_bound_on_a_bounded_set_of_threads(broker_down):
    """Timeouts honoured are the property under test: elapsed times are checked."""
    calls = 4 * CALL_THREADS
    before = set(threading.enumerate())

    def call(i):
        started = time.monotonic()
        with pytest.raises(exceptions.EngineUnavailable, match="did not answer"):
            if i % 2:
                broker_down.get_runtime_pool(_ctx(), _id())
            else:
                broker_down.create_execution(_ctx(), _id(), sync=True, timeout=TIMEOUT)
        return time.monotonic() - started

    with concurrent.futures.ThreadPoolExecutor(calls, thread_name_prefix="caller") as callers:
        elapsed = list(callers.map(call, range(calls)))
    bound = TIMEOUT + engine_api.CALL_GRACE
    assert all(e < bound + SLACK for e in elapsed), elapsed
    left = {t for t in set(threading.enumerate()) - before if not t.name.startswith("caller")}
    call_threads = [t for t in left if t.name.startswith("rpc-call")]
    assert 1 <= len(call_threads) <= CALL_THREADS
    assert left == set(call_threads), sorted(t.name for t in left)  # nothing else piles up

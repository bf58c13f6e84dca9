"""The request id of an API request in the engine: its log lines about the execution and
the context the worker gets (which its runtime server logs, tests/unit/runtime)."""

import io
import logging
import threading

import pytest
from oslo_context import context as oslo_context
from oslo_log import formatters

from qinling_lite import context, status
from qinling_lite.engine import manager
from qinling_lite.rpc import transport
from tests.unit.engine.test_engine import _function, _pending

CONTEXT_SOURCE = "def main(context=None, **kwargs):\n    return context.get('request_id')\n"


class RecordingRunner:
    """Records the request id each run gets and the context of the thread running it."""

    def __init__(self):
        self.runs = []

    def run(self, execution_id, request_id=None):
        self.runs.append((execution_id, request_id, oslo_context.get_current()))
        return {"status": status.SUCCESS}


def _ctx():
    return context.RequestContext(project_id="p1", overwrite=False)


def test_the_context_is_the_threads_while_the_engine_serves_it():
    runner = RecordingRunner()
    engine = manager.EngineManager(None, runner)
    ctx = _ctx()
    engine.create_execution(ctx, "e-1")
    engine.create_execution(None, "e-2")  # a sweep: no request
    assert runner.runs == [("e-1", ctx.request_id, ctx), ("e-2", None, None)]
    assert oslo_context.get_current() is None  # and the thread's is what it was


def test_a_thread_serving_a_request_gets_its_own_context_back():
    engine = manager.EngineManager(None, RecordingRunner())
    own = _ctx()
    context.set_current(own)  # an API thread answering a sync execution in process
    try:
        engine.create_execution(_ctx(), "e-1")
        assert oslo_context.get_current() is own
    finally:
        context.set_current(None)


def test_a_context_received_over_rpc_is_not_the_threads_yet():
    serializer = transport.ContextSerializer()
    ctx = _ctx()
    received = serializer.deserialize_context(serializer.serialize_context(ctx))
    assert received.request_id == ctx.request_id
    assert oslo_context.get_current() is None


@pytest.fixture
def engine_log():
    """What the engine logs, formatted as oslo.log formats it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatters.ContextFormatter())
    logger = logging.getLogger("qinling_lite.engine")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.mark.parametrize("conf", ["local"], indirect=True)
def test_the_request_id_reaches_the_engines_log_and_the_worker(engine, conf, engine_log):
    runtime, function = _function(conf, source=CONTEXT_SOURCE)
    engine.manager.start_pool(runtime)
    ctx = _ctx()
    outcome = engine.manager.create_execution(ctx, _pending(function).id)
    assert outcome["status"] == status.SUCCESS
    assert outcome["result"]["output"] == ctx.request_id  # the function's context has it
    (line,) = [line for line in engine_log.getvalue().splitlines() if "Execution" in line]
    assert ctx.request_id in line

    swept = [None]
    thread = threading.Thread(
        target=lambda: swept.__setitem__(
            0, engine.manager.create_execution(None, _pending(function).id)
        )
    )
    thread.start()
    thread.join()
    assert swept[0]["result"]["output"] is None  # a sweep's run has no request id

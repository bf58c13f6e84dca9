"""The API-to-engine contract, in one place.

Every engine method the API may invoke is defined once here, on ``EngineClient``.
Two transports implement it: oslo.messaging RPC to any engine on the topic
(production), and direct calls to the engine in the same process (the embedded
default), as Ironic does when the conductor runs in-process; oslo.messaging's
``fake://`` driver would add up to 50 ms per message.

API versions:
    1.0 - create_execution, create_runtime, delete_runtime (fanout), get_runtime_pool,
          release_function (fanout)
    1.1 - update_runtime (fanout), scale_up_function, scale_down_function (fanout),
          get_function_workers
"""

import concurrent.futures
import threading

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from qinling_lite import context as qcontext
from qinling_lite import exceptions

API_VERSION = "1.1"
# Seconds an API thread waits beyond a call's own timeout.
CALL_GRACE = 5
NAMESPACE = "qinling_lite.engine"

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class EngineClient:
    """The engine's methods, as seen by the API."""

    def create_execution(self, ctxt, execution_id, sync, timeout):
        """Run a pending execution; for ``sync``, wait up to ``timeout`` seconds."""
        if sync:
            return self._call(ctxt, "create_execution", timeout, execution_id=execution_id)
        self._cast(ctxt, "create_execution", swept=True, execution_id=execution_id)
        return None

    def create_runtime(self, ctxt, runtime_id):
        self._cast(ctxt, "create_runtime", swept=True, runtime_id=runtime_id)

    def delete_runtime(self, ctxt, runtime_id):
        """Every engine drops its workers of the runtime; the row is then removed."""
        self._cast(ctxt, "delete_runtime", fanout=True, swept=True, runtime_id=runtime_id)

    def update_runtime(self, ctxt, runtime_id, image):
        """Every engine rolls its workers of the runtime to ``image``."""
        self._cast(ctxt, "update_runtime", fanout=True, runtime_id=runtime_id, image=image)

    def scale_up_function(self, ctxt, function_id, version, count):
        self._cast(ctxt, "scale_up_function", function_id=function_id, version=version, count=count)

    def scale_down_function(self, ctxt, function_id, version, count):
        self._cast(
            ctxt,
            "scale_down_function",
            fanout=True,
            function_id=function_id,
            version=version,
            count=count,
        )

    def get_function_workers(self, ctxt, function_id, version):
        """The workers the answering engine holds for the function version."""
        return self._call(
            ctxt, "get_function_workers", None, function_id=function_id, version=version
        )

    def get_runtime_pool(self, ctxt, runtime_id):
        return self._call(ctxt, "get_runtime_pool", None, runtime_id=runtime_id)

    def release_function(self, ctxt, function_id, version=None):
        """Every engine drops the warm workers of a function (all versions if None).

        Best effort: workers notice a new package by its md5 by themselves, and idle
        ones expire.
        """
        self._cast(
            ctxt,
            "release_function",
            fanout=True,
            swept=True,
            function_id=function_id,
            version=version,
        )

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        """Send without waiting: to one engine, or to all of them with ``fanout``.

        A cast that cannot be sent raises EngineUnavailable, unless it is ``swept``:
        what it asks for is recorded in the database and the engines' periodic sweep
        does it anyway, so the failure is only logged.
        """
        raise NotImplementedError

    def _call(self, ctxt, method, timeout, **kwargs):
        raise NotImplementedError


class _ContextSerializer(messaging.NoOpSerializer):
    """Contexts over the bus, without the caller's token: engines act through trusts."""

    def serialize_context(self, ctxt):
        return {**ctxt.to_dict(), "auth_token": None}

    def deserialize_context(self, ctxt):
        return qcontext.RequestContext.from_dict(ctxt)


def _target(server=None):
    return messaging.Target(
        topic=CONF.engine.topic, server=server, namespace=NAMESPACE, version=API_VERSION
    )


class RPCEngineClient(EngineClient):
    """Reaches any engine on the topic through oslo.messaging."""

    def __init__(self, transport):
        # No retries: when the broker is down the API must still answer at once; what
        # it recorded is picked up by the engines' sweep.
        self._client = messaging.get_rpc_client(
            transport, _target(), serializer=_ContextSerializer(), retry=0
        )

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        client = self._client.prepare(fanout=True) if fanout else self._client
        try:
            client.cast(ctxt, method, **kwargs)
        except Exception as e:  # the driver's own errors escape oslo.messaging too
            if not swept:
                raise exceptions.EngineUnavailable() from e
            LOG.warning("No engine was told to %s (%s); the sweep will do it", method, e)

    def _call(self, ctxt, method, timeout, **kwargs):
        timeout = timeout or CONF.rpc_response_timeout
        client = self._client.prepare(timeout=timeout)
        # With the broker down, oslo.messaging keeps reconnecting the reply queue past
        # any timeout: the call runs on a daemon thread and the API gives up on its own.
        outcome = {}

        def call():
            try:
                outcome["result"] = client.call(ctxt, method, **kwargs)
            except Exception as e:
                outcome["error"] = e

        caller = threading.Thread(target=call, name=f"rpc-{method}", daemon=True)
        caller.start()
        caller.join(timeout + CALL_GRACE)
        if "result" in outcome:
            return outcome["result"]
        error = outcome.get("error")
        LOG.warning("No engine answered %s: %s", method, error or "timed out")
        raise exceptions.EngineUnavailable("The engine did not answer in time.") from error


class LocalEngineClient(EngineClient):
    """Calls an engine in this process: casts run on the engine's own threads."""

    def __init__(self, manager, executor: concurrent.futures.Executor):
        self._manager = manager
        self._executor = executor

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        self._executor.submit(getattr(self._manager, method), ctxt, **kwargs)

    def _call(self, ctxt, method, timeout, **kwargs):
        return getattr(self._manager, method)(ctxt, **kwargs)


def get_transport():
    return messaging.get_rpc_transport(CONF)


def get_server(transport, endpoint):
    """An RPC server for ``endpoint`` (an object whose ``target`` matches API_VERSION)."""
    return messaging.get_rpc_server(
        transport,
        _target(server=CONF.engine.host),
        [endpoint],
        executor="threading",
        serializer=_ContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )


def endpoint_target():
    """The target an engine endpoint declares."""
    return messaging.Target(namespace=NAMESPACE, version=API_VERSION)

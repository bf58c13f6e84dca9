"""The API-to-engine contract, and the oslo.messaging client that carries it.

Every engine method the API may invoke is defined once, on ``EngineClient``, with the
RPC version it needs. ``RPCEngineClient`` reaches any engine on the topic through
oslo.messaging; ``in_process.LocalEngineClient`` calls an engine in the same process
(the embedded default), as Ironic does when its conductor runs in-process:
oslo.messaging's ``fake://`` driver would add up to 50 ms per message.

Versions (the engine endpoint's ``target`` declares the newest it serves):

    1.0 - create_execution, create_runtime, delete_runtime (fanout), get_runtime_pool,
          release_function (fanout)
    1.1 - update_runtime (fanout), scale_up_function, scale_down_function (fanout),
          get_function_workers

Rolling upgrades: engines are upgraded first, and while older ones still run the API
sends no message newer than ``[engine] rpc_version_cap``. A method added at 1.N asks
``_prepare`` for 1.N; where an older way to do the same exists, the method takes it when
``can_send_version("1.N")`` is false, so an API capped at 1.(N-1) keeps the old
behaviour. Without one, ``_prepare`` refuses the request (EngineUnavailable, 503) before
anything is sent. A new method also bumps ``RPC_API_VERSION``, the history above and the
endpoint's ``target``.
"""

import functools
from typing import Any, Protocol

import oslo_messaging as messaging
from oslo_config import cfg
from oslo_log import log as logging

from qinling_lite import context as qcontext
from qinling_lite import exceptions
from qinling_lite.rpc import call_pool
from qinling_lite.rpc import transport as rpc_transport

RPC_API_VERSION = "1.1"
# Seconds an API thread waits beyond a call's own timeout, which oslo.messaging
# enforces while the broker is up.
CALL_GRACE = 5

CONF = cfg.CONF
LOG = logging.getLogger(__name__)


class Sender(Protocol):
    """What ``EngineClient._prepare`` returns: sends messages prepared at one version."""

    def cast(self, ctxt: qcontext.RequestContext, method: str, **kwargs: Any) -> None: ...

    def call(self, ctxt: qcontext.RequestContext, method: str, **kwargs: Any) -> Any: ...


class EngineClient:
    """The engine's methods, as seen by the API.

    Each method prepares its message at the version it needs with ``_prepare``. The
    default sends through ``_cast`` and ``_call``, which an engine in the same process
    implements: it runs this very code, so it serves every version.
    """

    def can_send_version(self, version: str) -> bool:
        """Whether every engine serves messages at ``version``."""
        return True

    def create_execution(
        self, ctxt: qcontext.RequestContext, execution_id: str, sync: bool, timeout: float
    ) -> dict | None:
        """Run a pending execution; for ``sync``, wait up to ``timeout`` seconds."""
        if sync:
            sender = self._prepare("1.0", timeout=timeout)
            return sender.call(ctxt, "create_execution", execution_id=execution_id)
        self._prepare("1.0", swept=True).cast(ctxt, "create_execution", execution_id=execution_id)
        return None

    def create_runtime(self, ctxt: qcontext.RequestContext, runtime_id: str) -> None:
        self._prepare("1.0", swept=True).cast(ctxt, "create_runtime", runtime_id=runtime_id)

    def delete_runtime(self, ctxt: qcontext.RequestContext, runtime_id: str) -> None:
        """Every engine drops its workers of the runtime; the row is then removed."""
        sender = self._prepare("1.0", fanout=True, swept=True)
        sender.cast(ctxt, "delete_runtime", runtime_id=runtime_id)

    def update_runtime(self, ctxt: qcontext.RequestContext, runtime_id: str, image: str) -> None:
        """Every engine rolls its workers of the runtime to ``image``."""
        sender = self._prepare("1.1", fanout=True)
        sender.cast(ctxt, "update_runtime", runtime_id=runtime_id, image=image)

    def scale_up_function(
        self, ctxt: qcontext.RequestContext, function_id: str, version: int, count: int
    ) -> None:
        self._prepare("1.1").cast(
            ctxt, "scale_up_function", function_id=function_id, version=version, count=count
        )

    def scale_down_function(
        self, ctxt: qcontext.RequestContext, function_id: str, version: int, count: int
    ) -> None:
        self._prepare("1.1", fanout=True).cast(
            ctxt, "scale_down_function", function_id=function_id, version=version, count=count
        )

    def get_function_workers(
        self, ctxt: qcontext.RequestContext, function_id: str, version: int
    ) -> list[str]:
        """The workers the answering engine holds for the function version."""
        return self._prepare("1.1").call(
            ctxt, "get_function_workers", function_id=function_id, version=version
        )

    def get_runtime_pool(self, ctxt: qcontext.RequestContext, runtime_id: str) -> dict:
        return self._prepare("1.0").call(ctxt, "get_runtime_pool", runtime_id=runtime_id)

    def release_function(
        self, ctxt: qcontext.RequestContext, function_id: str, version: int | None = None
    ) -> None:
        """Every engine drops the warm workers of a function (all versions if None).

        Best effort: workers notice a new package by its md5 by themselves, and idle
        ones expire.
        """
        sender = self._prepare("1.0", fanout=True, swept=True)
        sender.cast(ctxt, "release_function", function_id=function_id, version=version)

    def _prepare(
        self, version: str, fanout: bool = False, swept: bool = False, timeout: float | None = None
    ) -> Sender:
        """What sends a message at ``version``: to one engine, or with ``fanout`` to all.

        ``swept``: what the cast asks for is recorded in the database and the engines'
        periodic sweep does it anyway, so a cast that cannot be sent is only logged;
        other casts raise EngineUnavailable. ``timeout``: seconds a call waits (default
        ``[DEFAULT] rpc_response_timeout``).
        """
        return _InProcessSender(self, fanout, swept, timeout)

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        raise NotImplementedError

    def _call(self, ctxt, method, timeout, **kwargs):
        raise NotImplementedError


class _InProcessSender:
    def __init__(self, client, fanout, swept, timeout):
        self._client = client
        self._fanout = fanout
        self._swept = swept
        self._timeout = timeout

    def cast(self, ctxt, method, **kwargs):
        self._client._cast(ctxt, method, fanout=self._fanout, swept=self._swept, **kwargs)

    def call(self, ctxt, method, **kwargs):
        return self._client._call(ctxt, method, self._timeout, **kwargs)


class RPCEngineClient(EngineClient):
    """Reaches any engine on the topic through oslo.messaging.

    ``call_threads``: the most calls in flight at once (one per API thread); see
    ``call_pool``.
    """

    def __init__(self, transport: messaging.Transport, call_threads: int):
        self._version_cap = CONF.engine.rpc_version_cap or RPC_API_VERSION
        # No retries: when the broker is down the API must still answer at once; what
        # it recorded is picked up by the engines' sweep.
        self._client = messaging.get_rpc_client(
            transport,
            rpc_transport.engine_target(),
            serializer=rpc_transport.ContextSerializer(),
            retry=0,
            version_cap=self._version_cap,
        )
        self._calls = call_pool.CallPool(call_threads)

    def can_send_version(self, version: str) -> bool:
        return self._client.can_send_version(version)

    def _prepare(
        self, version: str, fanout: bool = False, swept: bool = False, timeout: float | None = None
    ) -> Sender:
        if not self.can_send_version(version):
            LOG.warning(
                "Refused a request needing RPC %s: [engine] rpc_version_cap is %s",
                version,
                self._version_cap,
            )
            raise exceptions.EngineUnavailable(
                f"Not every engine serves this request yet (it needs engine RPC version "
                f"{version}; the API is capped at {self._version_cap})."
            )
        timeout = timeout or CONF.rpc_response_timeout
        cctxt = self._client.prepare(version=version, fanout=fanout, timeout=timeout)
        return _RPCSender(cctxt, swept, timeout, self._calls)


class _RPCSender:
    def __init__(self, cctxt, swept, timeout, calls):
        self._cctxt = cctxt
        self._swept = swept
        self._timeout = timeout
        self._calls = calls

    def cast(self, ctxt, method, **kwargs):
        """Send in the caller's thread: with no retries, a cast fails at once."""
        try:
            self._cctxt.cast(ctxt, method, **kwargs)
        except Exception as e:  # the driver's own errors escape oslo.messaging too
            if not self._swept:
                raise exceptions.EngineUnavailable() from e
            LOG.warning("No engine was told to %s (%s); the sweep will do it", method, e)

    def call(self, ctxt, method, **kwargs):
        """Wait at most the call's timeout plus ``CALL_GRACE``, whatever the broker does."""
        send = functools.partial(self._cctxt.call, ctxt, method, **kwargs)
        try:
            return self._calls.run(send, self._timeout + CALL_GRACE)
        except messaging.UnsupportedVersion as e:
            LOG.error(
                "An engine older than this API refused %s (%s): set [engine] "
                "rpc_version_cap to the version of the oldest engine",
                method,
                e,
            )
            raise exceptions.EngineUnavailable(
                "An engine too old for this request answered it."
            ) from e
        except Exception as e:
            LOG.warning("No engine answered %s: %s", method, e or "timed out")
            raise exceptions.EngineUnavailable("The engine did not answer in time.") from e

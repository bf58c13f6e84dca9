"""oslo.messaging setup shared by the API and the engines: transport, targets, contexts."""

import oslo_messaging as messaging
from oslo_config import cfg

from qinling_lite import context as qcontext

NAMESPACE = "qinling_lite.engine"
# Errors a caller receives as themselves rather than as RemoteError: an engine older than
# the message refuses it with UnsupportedVersion (during a rolling upgrade).
REMOTE_ERROR_MODULES = ["oslo_messaging.rpc.dispatcher"]

CONF = cfg.CONF


class ContextSerializer(messaging.NoOpSerializer):
    """Contexts over the bus, without the caller's token: engines act through trusts.

    The request ids go with them. The engine makes a context its thread's while it
    serves the message (``engine.manager``), not when it is received.
    """

    def serialize_context(self, ctxt: qcontext.RequestContext) -> dict:
        return {**ctxt.to_dict(), "auth_token": None}

    def deserialize_context(self, ctxt: dict) -> qcontext.RequestContext:
        return qcontext.RequestContext.from_dict(ctxt, overwrite=False)


def get_transport() -> messaging.Transport:
    """The RPC transport at ``[DEFAULT] transport_url``."""
    return messaging.get_rpc_transport(CONF, allowed_remote_exmods=REMOTE_ERROR_MODULES)


def engine_target(server: str | None = None) -> messaging.Target:
    """The engines' topic; with ``server``, one engine on it."""
    return messaging.Target(topic=CONF.engine.topic, server=server, namespace=NAMESPACE)


def get_server(transport: messaging.Transport, endpoint: object) -> messaging.MessageHandlingServer:
    """This engine's RPC server for ``endpoint``, whose ``target`` declares the version
    it serves (namespace ``NAMESPACE``)."""
    return messaging.get_rpc_server(
        transport,
        engine_target(server=CONF.engine.host),
        [endpoint],
        executor="threading",
        serializer=ContextSerializer(),
        access_policy=messaging.DefaultRPCAccessPolicy,
    )

"""How webhook invocations authenticate: one class per method, registered by its name.

``none`` (Qinling's behaviour): the unguessable URL is the only secret; a deployment with
``[webhook] require_auth`` offers it no more and refuses its invocations. ``token``: the
caller must send a valid Keystone token (what Aodh's ``trust+http://`` actions add) of
a user allowed ``webhook:invoke`` on the webhook's project. ``hmac``: the caller signs
the body with the webhook's secret, ``X-Qinling-Signature: sha256=<hex HMAC-SHA256>``.

A new method is a subclass of ``Method`` decorated with ``@register``: the API's
``auth`` field accepts its name from then on.
"""

import dataclasses
import hashlib
import hmac
import secrets
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from oslo_config import cfg

from qinling_lite import exceptions
from qinling_lite.db import executions as executions_db
from qinling_lite.db import webhooks as webhooks_db

SIGNATURE_HEADER = "X-Qinling-Signature"
SIGNATURE_PREFIX = "sha256="


@dataclasses.dataclass(frozen=True)
class Invocation:
    """What an invocation brings to be admitted: whether a valid Keystone token came
    with it, its headers and body, the caller's ``webhook:invoke`` permission on a target
    (raises if denied) and when it arrived (``time.time()``, for the rate limit)."""

    authenticated: bool
    headers: Mapping[str, str]
    body: bytes
    authorize: Callable[[executions_db.ExecutionTarget], object]
    received_at: float


class Method:
    """An authentication method: its name, whether this deployment offers it, its
    settings and its check."""

    name: ClassVar[str]
    # Whether the method tells who calls (all but ``none``).
    authenticates: ClassVar[bool] = True

    def check_offered(self, conf: cfg.ConfigOpts) -> None:
        """InputError if this deployment does not offer the method."""

    def settings(self) -> dict[str, Any]:
        """The webhook columns a webhook switching to this method gets (its secret)."""
        return {"secret": None}

    def check(self, invocation: Invocation, webhook: webhooks_db.WebhookTarget) -> None:
        """Raise NotAuthorized (401) or NotAllowed (403) unless ``invocation`` may run
        ``webhook``."""


METHODS: dict[str, Method] = {}


def register(cls: type[Method]) -> type[Method]:
    METHODS[cls.name] = cls()
    return cls


def method(name: str) -> Method:
    """The method called ``name``; InputError if there is none."""
    try:
        return METHODS[name]
    except KeyError:
        raise exceptions.InputError(f"Unknown webhook auth method: {name!r}.") from None


@register
class NoAuth(Method):
    """The URL is the secret."""

    name = "none"
    authenticates = False

    def check_offered(self, conf: cfg.ConfigOpts) -> None:
        if conf.webhook.require_auth:
            offered = "'token' or 'hmac'" if conf.api.auth_enable else "'hmac'"
            raise exceptions.InputError(
                "This deployment requires webhook callers to authenticate ([webhook] "
                f"require_auth): choose auth {offered} instead of 'none'."
            )


@register
class TokenAuth(Method):
    """A Keystone token of a user allowed ``webhook:invoke`` on the webhook's project."""

    name = "token"

    def check_offered(self, conf: cfg.ConfigOpts) -> None:
        if not conf.api.auth_enable:
            raise exceptions.InputError(
                "Token webhooks need Keystone authentication ([api] auth_enable)."
            )

    def check(self, invocation: Invocation, webhook: webhooks_db.WebhookTarget) -> None:
        if not invocation.authenticated:
            raise exceptions.NotAuthorized("This webhook requires a valid Keystone token.")
        invocation.authorize(webhook.function)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Qinling-Signature`` value of ``body`` under ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@register
class HmacAuth(Method):
    """The body signed with the webhook's own secret (256 random bits, URL-safe)."""

    name = "hmac"

    def settings(self) -> dict[str, Any]:
        return {"secret": secrets.token_urlsafe(32)}

    def check(self, invocation: Invocation, webhook: webhooks_db.WebhookTarget) -> None:
        sent = invocation.headers.get(SIGNATURE_HEADER)
        if not sent:
            raise exceptions.NotAuthorized(f"This webhook requires a {SIGNATURE_HEADER} header.")
        expected = signature(webhook.secret or "", invocation.body)
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise exceptions.NotAuthorized(f"The {SIGNATURE_HEADER} signature does not match.")

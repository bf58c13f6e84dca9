"""Authentication and rate limiting of webhook invocations, per webhook.

``none`` (Qinling's behaviour): the unguessable URL is the only secret. ``token``: the
caller must send a valid Keystone token (what Aodh's ``trust+http://`` actions add) of
a user allowed ``webhook:invoke`` on the webhook's project. ``hmac``: the caller signs
the body with the webhook's secret, ``X-Qinling-Signature: sha256=<hex HMAC-SHA256>``.
"""

import hashlib
import hmac
import secrets
import time

from qinling_lite import exceptions
from qinling_lite.api import auth, policy
from qinling_lite.db import api as db_api

SIGNATURE_HEADER = "X-Qinling-Signature"
SIGNATURE_PREFIX = "sha256="
RATE_WINDOW = 60  # seconds


def new_secret():
    """A fresh HMAC key: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def signature(secret, body):
    """The ``X-Qinling-Signature`` value of ``body`` under ``secret``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check(request, target):
    """Refuse an invocation of ``target`` (``db.api.get_webhook_target``) that lacks the
    webhook's authentication (401, 403) or passes its rate limit (429). Nothing is
    recorded for a refused invocation."""
    if target.auth == "token":
        if not auth.authenticated(request.environ):
            raise exceptions.NotAuthorized("This webhook requires a valid Keystone token.")
        policy.authorize(request.context, "webhook:invoke", target)
    elif target.auth == "hmac":
        sent = request.headers.get(SIGNATURE_HEADER)
        if not sent:
            raise exceptions.NotAuthorized(f"This webhook requires a {SIGNATURE_HEADER} header.")
        if not hmac.compare_digest(sent.encode(), signature(target.secret, request.body).encode()):
            raise exceptions.NotAuthorized(f"The {SIGNATURE_HEADER} signature does not match.")
    if target.rate_limit:
        now = time.time()
        window = int(now // RATE_WINDOW)
        if not db_api.count_webhook_invocation(target.webhook_id, target.rate_limit, window):
            raise exceptions.TooManyRequests(
                f"Webhook {target.webhook_id} allows {target.rate_limit} invocations a minute.",
                retry_after=int((window + 1) * RATE_WINDOW - now) + 1,
            )

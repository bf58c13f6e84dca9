"""One JSON error shape for every error: ``{"faultcode", "faultstring", "debuginfo"}``."""

import json

import webob
import wsmeext.pecan as wsme_pecan
from oslo_log import log as logging

LOG = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal server error."
# Headers of an error answer that still matter once its body is replaced.
KEPT_HEADERS = ("allow", "retry-after", "www-authenticate")


def body(code, faultstring):
    return {
        "faultcode": "Client" if code < 500 else "Server",
        "faultstring": faultstring,
        "debuginfo": None,
    }


def response(code, faultstring, headers=None):
    resp = webob.Response(
        status=code,
        json_body=body(code, faultstring),
        content_type="application/json",
        charset="UTF-8",
    )
    resp.headers.update(headers or {})
    return resp


def wsexpose(*args, **kwargs):
    """WSME's pecan ``wsexpose``, answering JSON only."""
    kwargs.setdefault("rest_content_types", ("json",))
    return wsme_pecan.wsexpose(*args, **kwargs)


def in_shape(payload):
    """Whether the JSON error body ``payload`` (bytes) is in the one shape (other keys,
    such as a failed webhook invocation's ``execution_id``, allowed)."""
    try:
        decoded = json.loads(payload)
    except ValueError:
        return False
    return isinstance(decoded, dict) and {"faultcode", "faultstring"} <= set(decoded)


class JsonErrorMiddleware:
    """Turns any error answer not in the JSON shape into it: pecan's 404/405 as HTML or
    text, and as its own JSON (``{"code", "title", "description"}``) when the ``Accept``
    header prefers JSON. The faultstring is the status' reason phrase."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.app(environ, capture)
        code = int(captured["status"].split(" ", 1)[0])
        content_type = dict((k.lower(), v) for k, v in captured["headers"]).get("content-type", "")
        if code < 400:
            start_response(captured["status"], captured["headers"])
            return chunks
        try:
            payload = b"".join(chunks) if content_type.startswith("application/json") else None
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        if payload is not None and in_shape(payload):
            start_response(captured["status"], captured["headers"])
            return [payload]
        reason = captured["status"].split(" ", 1)[1] if " " in captured["status"] else ""
        kept = [(k, v) for k, v in captured["headers"] if k.lower() in KEPT_HEADERS]
        payload = json.dumps(body(code, reason + "." if reason else INTERNAL_ERROR)).encode()
        start_response(
            captured["status"],
            kept + [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

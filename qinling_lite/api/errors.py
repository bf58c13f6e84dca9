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


class JsonErrorMiddleware:
    """Turns any non-JSON error answer (pecan's 404/405 and the like) into the JSON shape."""

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
        if code < 400 or content_type.startswith("application/json"):
            start_response(captured["status"], captured["headers"])
            return chunks
        if hasattr(chunks, "close"):
            chunks.close()
        reason = captured["status"].split(" ", 1)[1] if " " in captured["status"] else ""
        kept = [(k, v) for k, v in captured["headers"] if k.lower() in KEPT_HEADERS]
        payload = json.dumps(body(code, reason + "." if reason else INTERNAL_ERROR)).encode()
        start_response(
            captured["status"],
            kept + [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

"""How the API decodes what callers send: UTF-8 text only, and JSON bodies once, strictly.

``RequestBodyHook`` calls ``check`` before routing; controllers read the decoded
object with ``json_object``. WSME parses JSON bodies again on its own, which is safe once
they passed here (see ``qinling_lite.strict_json``).
"""

import pecan
import webob

from qinling_lite import exceptions, strict_json

# What WSME parses as JSON; any other type is a 415 on its routes.
JSON_TYPES = ("application/json", "text/javascript", "application/javascript")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_JSON_OBJECT = "qinling_lite.json_object"


class Request(pecan.Request):
    """pecan's request, with a 400 in the API's error shape and no traceback in the log
    for a path, query string or form that is not UTF-8 (pecan logs the error and
    answers a bare 400)."""

    def __getattribute__(self, name):
        try:
            return webob.Request.__getattribute__(self, name)
        except UnicodeDecodeError:
            raise exceptions.InputError(
                "The request's path, query string or form fields are not valid UTF-8."
            ) from None


def is_json(request, invoke):
    """Whether the body is JSON: a JSON type, or for a webhook invocation anything that is
    not a form (see ``webhooks.invocation_input``)."""
    if invoke:
        return request.content_type not in FORM_TYPES
    return request.content_type in JSON_TYPES


def check(request, invoke):
    """Refuse what cannot be decoded; keep a JSON body's object for ``json_object``.

    400 for NUL in the path or query string (no database stores it), and ``__body__``, a
    query parameter by which WSME would take a JSON body from the URL. Then the body:
    415 for a charset other than UTF-8 (RFC 8259 allows no other for JSON, and webob
    would fail on a form in another); 400 for a form that does not parse and a body that
    is not a JSON object, and for a form, even an empty one (pecan parses it while
    routing), that does not parse or has a part without a name.
    """
    query = request.GET
    if "\x00" in request.path_info or any("\x00" in k + v for k, v in query.items()):
        raise exceptions.InputError("The request's path or query string holds NUL (%00).")
    if "__body__" in query:
        raise exceptions.InputError('Unknown argument: "__body__"')
    if not request.content_length:
        if request.content_type in FORM_TYPES:
            _parse_form(request)
        return
    if request.charset != "UTF-8":
        raise exceptions.UnsupportedMediaType(
            f"Request bodies must be UTF-8 (RFC 8259 for JSON), not {request.charset}."
        )
    if request.content_type in FORM_TYPES:
        _parse_form(request)
    if not is_json(request, invoke) or not request.body.strip():
        return
    try:
        body = strict_json.loads(request.body)
    except strict_json.NotJson as e:
        raise exceptions.InputError(f"The body is not valid JSON: {e}.") from None
    except strict_json.Refused as e:
        raise exceptions.InputError(f"The JSON body is refused: {e}.") from None
    if not isinstance(body, dict):
        raise exceptions.InputError("The JSON body must be an object.")
    request.environ[_JSON_OBJECT] = body


def _parse_form(request):
    """The form fields, parsed now and kept by webob for routing and the controllers."""
    try:
        fields = request.POST
    except ValueError as e:  # e.g. a multipart body without its boundary
        raise exceptions.InputError(f"The form body is malformed: {e}.") from None
    if any(not isinstance(name, str) for name in fields):  # pecan would pass it as None
        raise exceptions.InputError("The form body is malformed: a part has no name.")
    return fields


def json_object(request):
    """The request's JSON body as ``check`` decoded it; {} without a body."""
    return request.environ.get(_JSON_OBJECT, {})

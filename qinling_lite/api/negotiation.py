"""Content negotiation: which media type a route answers for the request's ``Accept``.

Each route serves the media types its pecan ``expose`` declares (``application/json`` for
the JSON routes, ``text/plain`` for an execution's log, both for a webhook invocation);
a route marked with ``any_accept_if`` answers whatever the ``Accept`` header says when
its predicate holds (a package download: a ZIP). The choice is made once the route is
known and before anything runs; an ``Accept`` header that admits none of the types is a
406 in the API's one error shape, naming the types the route serves.

Matching ignores media type parameters other than ``q`` (``application/json;
charset=utf-8`` takes JSON); a missing, empty or malformed header takes anything, as
``*/*`` does.
"""

from pecan import util as pecan_util
from webob import acceptparse

from qinling_lite import exceptions
from qinling_lite.api import params

# The key, in a route's pecan configuration, of its ``any_accept_if`` predicate.
ANY_ACCEPT_IF = "qinling_lite_any_accept_if"


class NotAcceptable(exceptions.QinlingLiteError):
    code = 406

    def __init__(self, served):
        super().__init__(
            f"This route answers {' or '.join(served)} only; the Accept header admits none of them."
        )


def acceptable(header, offers):
    """The ``offers`` that the ``Accept`` header value ``header`` admits, best first."""
    offers = list(offers)
    if header is None or not header.strip():
        return offers
    try:
        ranges = [
            (media_range, q) for media_range, q, _, _ in acceptparse.AcceptValidHeader.parse(header)
        ]
    except ValueError:  # malformed: as if there were none
        return offers
    # Without the media type parameters a range would match no offer (webob's rule).
    stripped = ", ".join(f"{media_range.split(';', 1)[0]};q={q}" for media_range, q in ranges)
    admitted = acceptparse.create_accept_header(stripped).acceptable_offers(offers)
    return [offer for offer, _ in admitted]


def served(controller):
    """The media types ``controller`` (an exposed pecan callable) answers in."""
    return tuple(pecan_util._cfg(controller).get("content_types", {}))


def any_accept_if(predicate):
    """Marks an exposed route that answers whatever the ``Accept`` header says for the
    requests ``predicate(request)`` holds for (apply above ``pecan.expose``)."""

    def mark(controller):
        pecan_util._cfg(controller)[ANY_ACCEPT_IF] = predicate
        return controller

    return mark


def download_asked(request):
    """Whether ``request`` asks for a package download (``?download=true``); an invalid
    value counts, so that the route answers its 400 rather than a 406."""
    try:
        return params.boolean(request.GET.get("download"), "download")
    except exceptions.InputError:
        return True


def _unmatched(controller, request, remainder):
    """Whether pecan will answer 404 for the path segments left over by routing (more
    than ``controller`` takes: ``/nowhere`` routes to ``GET /``)."""
    cfg = pecan_util._cfg(controller)
    argspec = cfg.get("argspec")
    if argspec is None or argspec.varargs:
        return False
    segments = [*request.pecan.get("routing_args", []), *(x for x in remainder if x)]
    return len(segments) > len(argspec.args) - 1  # the controllers are methods: self


def negotiate(controller, request, remainder):
    """Sets the media type pecan renders ``controller``'s answer in for ``request``, so
    that pecan's own negotiation (406 in another error shape) never runs; raises
    ``NotAcceptable`` when the ``Accept`` header admits none of the route's types,
    unless the path is unknown (pecan's 404 follows)."""
    types = served(controller)
    if not types:
        return
    predicate = pecan_util._cfg(controller).get(ANY_ACCEPT_IF)
    if predicate is not None and predicate(request):
        chosen = [types[0]]
    else:
        chosen = acceptable(request.headers.get("Accept"), types)
    if not chosen:
        if not _unmatched(controller, request, remainder):
            raise NotAcceptable(types)
        chosen = [types[0]]
    request.pecan["content_type"] = chosen[0]

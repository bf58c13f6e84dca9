"""The request context carried from the API to the engine."""

import contextlib
from collections.abc import Iterator

from oslo_context import context

from qinling_lite import exceptions

DEFAULT_PROJECT = "default"
# Where oslo.middleware's request_id puts the ids of a request in its WSGI environ: the
# one it generated, and the caller's own (a valid ``X-OpenStack-Request-Id`` it sent).
ENV_REQUEST_ID = "openstack.request_id"
ENV_GLOBAL_REQUEST_ID = "openstack.global_request_id"


class RequestContext(context.RequestContext):
    """An oslo context; without Keystone every caller acts in project ``default``.

    With ``overwrite=False`` a new context leaves the thread's context alone (oslo's
    becomes the thread's when it has none, and stays so): the API and the engine say
    which context is a thread's, and for how long (``set_current``, ``current``).
    """

    def __init__(self, *args, **kwargs):
        previous = context.get_current()
        super().__init__(*args, **kwargs)
        if not kwargs.get("overwrite", True):
            set_current(previous)

    @classmethod
    def anonymous_admin(cls, environ=None):
        """The context of the service itself and of callers when auth is disabled
        (with the request ids of ``environ``, a request's WSGI environ)."""
        return cls(project_id=DEFAULT_PROJECT, is_admin=True, overwrite=False, **_ids(environ))

    @classmethod
    def anonymous(cls, environ=None):
        """An unauthenticated caller of a public route (a webhook invocation)."""
        return cls(is_admin=False, overwrite=False, **_ids(environ))

    @property
    def scope(self):
        """The project a lookup by id is confined to: None (every project) for admins.

        Policy rules then decide, against the project of the row found, what the caller
        may do with it. A caller without a project (anonymous) may look nothing up.
        """
        if self.is_admin:
            return None
        if self.project_id is None:
            raise exceptions.NotAuthorized()
        return self.project_id


def _ids(environ):
    if not environ:
        return {}
    return {
        "request_id": environ.get(ENV_REQUEST_ID),
        "global_request_id": environ.get(ENV_GLOBAL_REQUEST_ID),
    }


def set_current(ctxt: context.RequestContext | None) -> None:
    """Make ``ctxt`` the context of this thread's log lines (oslo.log's ``%(request_id)s``
    and the like); None: lines without one."""
    context._request_store.context = ctxt


@contextlib.contextmanager
def current(ctxt: context.RequestContext | None) -> Iterator[None]:
    """Within the block, this thread's log lines carry ``ctxt`` (none if None); then the
    thread's context is what it was (threads of a pool serve many requests)."""
    previous = context.get_current()
    set_current(ctxt)
    try:
        yield
    finally:
        set_current(previous)

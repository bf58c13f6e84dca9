"""The request context carried from the API to the engine."""

from oslo_context import context

DEFAULT_PROJECT = "default"


class RequestContext(context.RequestContext):
    """An oslo context; without Keystone every caller acts in project ``default``."""

    @classmethod
    def anonymous_admin(cls):
        """The context of the service itself and of callers when auth is disabled."""
        return cls(project_id=DEFAULT_PROJECT, is_admin=True, overwrite=False)

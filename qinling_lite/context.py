"""The request context carried from the API to the engine."""

from oslo_context import context

from qinling_lite import exceptions

DEFAULT_PROJECT = "default"


class RequestContext(context.RequestContext):
    """An oslo context; without Keystone every caller acts in project ``default``."""

    @classmethod
    def anonymous_admin(cls):
        """The context of the service itself and of callers when auth is disabled."""
        return cls(project_id=DEFAULT_PROJECT, is_admin=True, overwrite=False)

    @classmethod
    def anonymous(cls):
        """An unauthenticated caller of a public route (a webhook invocation)."""
        return cls(is_admin=False, overwrite=False)

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

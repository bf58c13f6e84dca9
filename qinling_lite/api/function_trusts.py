"""A function's trust: made from the caller when it creates the function, deleted with it."""

from qinling_lite import context
from qinling_lite.identity import trustee as identity_trustee


class CallerTrusts:
    """Trusts from the caller to the trustee, made and deleted with the caller's own
    token (``caller_auth``, keystonemiddleware's plugin), as Keystone requires; nothing
    when trusts are off."""

    def __init__(
        self,
        trustee: identity_trustee.Trustee,
        ctx: context.RequestContext,
        caller_auth: object | None,
    ):
        self._trustee = trustee
        self._ctx = ctx
        self._caller_auth = caller_auth

    def create(self) -> str | None:
        """A new trust, or None when trusts are off."""
        if not self._trustee.enabled:
            return None
        return self._trustee.create_trust(self._ctx, self._caller_auth)

    def delete(self, trust_id: str | None) -> None:
        """Delete ``trust_id`` (if any); failures are only logged."""
        if trust_id and self._trustee.enabled:
            self._trustee.delete_trust(trust_id, self._caller_auth)


def of_request(request) -> CallerTrusts:
    """The trusts of the caller of ``request`` (a pecan request, after the hooks)."""
    return CallerTrusts(
        request.trustee, request.context, request.environ.get("keystone.token_auth")
    )

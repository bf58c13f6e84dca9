"""A function's trust: made from the caller when it creates the function, deleted with it."""


def create(request):
    """A new trust from the caller to the trustee, or None when trusts are off."""
    trustee = request.trustee
    if not trustee.enabled:
        return None
    return trustee.create_trust(request.context, request.environ["keystone.token_auth"])


def delete(request, trust_id):
    """Delete ``trust_id`` (if any) with the caller's token; failures are only logged."""
    if trust_id and request.trustee.enabled:
        request.trustee.delete_trust(trust_id, request.environ["keystone.token_auth"])

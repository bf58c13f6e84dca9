"""Swift as the caller of a request: where Swift-sourced functions are checked, fetched
and streamed from at the API."""

from qinling_lite.storage import swift


def of_request(request) -> swift.SwiftObjects | None:
    """Swift with the caller's token (keystonemiddleware's plugin), or None when the
    deployment runs without Keystone or without a trustee (no Swift functions)."""
    caller_auth = request.environ.get("keystone.token_auth")
    if caller_auth is None or not request.trustee.enabled:
        return None
    return swift.SwiftObjects(request.trustee.session(caller_auth), request.conf)

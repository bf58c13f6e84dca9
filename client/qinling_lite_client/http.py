"""The HTTP side: requests to ``<server root>/v1`` through a keystoneauth1 session."""

USER_AGENT = "qinling-lite-client"


class ApiError(Exception):
    """An error answer, shown as ``<faultstring> (HTTP <code>)``."""

    def __init__(self, status, message):
        super().__init__(f"{message} (HTTP {status})")
        self.status = status


def fault(response):
    """The message of an error answer: WSME's ``faultstring``, else the body as text."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("faultstring", "message", "error_message", "title"):
            if isinstance(body.get(key), str) and body[key]:
                return body[key]
    return response.text.strip() or response.reason or "Error"


class Client:
    """The function engine's v1 API at ``endpoint`` (the server root; ``/v1`` is added)."""

    def __init__(self, session, endpoint):
        self.session = session
        self.url = endpoint.rstrip("/") + "/v1"

    def request(self, method, path, **kwargs):
        """Send a request; the response, or ApiError for a 4xx/5xx answer."""
        response = self.session.request(
            self.url + path, method, raise_exc=False, user_agent=USER_AGENT, **kwargs
        )
        if response.status_code >= 400:
            raise ApiError(response.status_code, fault(response))
        return response

    def call(self, method, path, **kwargs):
        """Send a request; its JSON body (None when empty)."""
        response = self.request(method, path, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise ApiError(response.status_code, "The answer is not JSON") from None

    def get(self, path, params=None):
        return self.call("GET", path, params=params)

    def post(self, path, body=None, **kwargs):
        return self.call("POST", path, json=body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.call("PUT", path, json=body, **kwargs)

    def delete(self, path):
        self.request("DELETE", path)

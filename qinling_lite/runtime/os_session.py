"""``context['os_session']``: OpenStack API calls as the function's owner.

A keystoneauth1 Session where the runtime's libraries hold keystoneauth1, else this
module's stdlib look-alike. keystoneauth1 is imported only when a session is built (or
ahead, ``import_keystoneauth``): the runtime package imports only the standard library.
"""

import http.client
import importlib
import json
import urllib.parse

from . import tunnel

KEYSTONEAUTH_MODULES = (
    "keystoneauth1.session",
    "keystoneauth1.access.access",
    "keystoneauth1.identity.access",
)


def make_session(auth, egress=None):
    """``context['os_session']`` for the worker credentials ``auth``: a keystoneauth1
    Session where keystoneauth1 is importable (a runtime with libraries), else an
    OpenStackSession.

    A keystoneauth1 Session makes its calls with ``requests``, which reaches the network
    as the environment says: in a sandbox, through the egress forwarder.
    """
    try:
        return keystoneauth_session(auth)
    except ImportError:
        return OpenStackSession(auth, egress)


def keystoneauth_session(auth):
    """A keystoneauth1 Session holding the token of ``auth`` (ImportError without
    keystoneauth1).

    Its plugin is an AccessInfoPlugin: the token is trust-scoped, so it can be neither
    re-scoped nor renewed, and no password is involved. ``get_endpoint``, ``get_token``
    and ``get_project_id`` answer from the token's catalog and scope, as
    python-swiftclient's and openstacksdk's Connection(session=...) ask.
    """
    from keystoneauth1 import session
    from keystoneauth1.access import access
    from keystoneauth1.identity import access as access_plugin

    token = {
        "methods": ["token"],
        "user": {"id": auth["user_id"]},
        "project": {"id": auth["project_id"]},
        "catalog": auth["catalog"],
    }
    if auth.get("expires_at"):
        token["expires_at"] = auth["expires_at"]
    info = access.AccessInfoV3({"token": token}, auth_token=auth["token"])
    return session.Session(auth=access_plugin.AccessInfoPlugin(info, auth_url=auth["auth_url"]))


def import_keystoneauth():
    """Import keystoneauth1 in this process, if importable, so that the children forked
    from it build their sessions without importing it again (0.1 to 0.2 s each)."""
    try:
        for name in KEYSTONEAUTH_MODULES:
            importlib.import_module(name)
    except Exception:  # noqa: S110 (absent or broken: each session falls back or says why)
        pass


class OpenStackResponse:
    """An HTTP answer to an ``OpenStackSession`` call."""

    def __init__(self, status_code, headers, content):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class OpenStackError(Exception):
    """An OpenStack API answered an error status; ``response`` holds the answer."""

    def __init__(self, response):
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")
        self.response = response


class OpenStackSession:
    """``context['os_session']``: OpenStack API calls as the function's owner.

    It holds only the token the engine obtained through the function's trust (scoped to
    the owner's project, expiring, revoked with the trust) and the token's service
    catalog. The calls mirror keystoneauth1's Session: ``get(url)``, relative URLs with
    ``endpoint_filter={"service_type": ...}``, ``raise_exc``, ``get_endpoint``. In a
    sandbox without a network, calls go through tunnels of the ``egress`` proxy.
    """

    def __init__(self, auth, egress=None):
        self._auth = auth
        self._egress = egress

    def get_token(self):
        return self._auth["token"]

    def get_user_id(self):
        return self._auth["user_id"]

    def get_project_id(self):
        return self._auth["project_id"]

    def get_endpoint(self, service_type, interface="public", region_name=None):
        """The URL of ``service_type`` in the token's catalog (None if absent)."""
        for service in self._auth["catalog"]:
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == interface and region_name in (
                    None,
                    endpoint.get("region_id"),
                ):
                    return endpoint["url"]
        return self._auth["auth_url"] if service_type == "identity" else None

    def request(self, url, method, **kwargs):
        """``method`` on ``url``; keyword arguments: json, data, headers,
        endpoint_filter, raise_exc (default True), timeout (seconds, default 30)."""
        endpoint_filter = kwargs.get("endpoint_filter")
        if endpoint_filter:
            base = self.get_endpoint(**endpoint_filter)
            if base is None:
                raise ValueError(f"no endpoint in the catalog for {endpoint_filter}")
            url = f"{base.rstrip('/')}/{url.lstrip('/')}"
        headers = {"Accept": "application/json", **kwargs.get("headers", {})}
        headers["X-Auth-Token"] = self._auth["token"]
        data = kwargs.get("data")
        if kwargs.get("json") is not None:
            data = json.dumps(kwargs["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an HTTP URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(parts.scheme, parts.hostname, port, kwargs.get("timeout", 30))
        try:
            connection.request(method, target, body=data, headers=headers)
            answer = connection.getresponse()
            response = OpenStackResponse(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()
        if response.status_code >= 400 and kwargs.get("raise_exc", True):
            raise OpenStackError(response)
        return response

    def _connection(self, scheme, host, port, timeout):
        if self._egress is not None:
            return _TunnelledConnection(self._egress, scheme == "https", host, port, timeout)
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def get(self, url, **kwargs):
        return self.request(url, "GET", **kwargs)

    def head(self, url, **kwargs):
        return self.request(url, "HEAD", **kwargs)

    def post(self, url, **kwargs):
        return self.request(url, "POST", **kwargs)

    def put(self, url, **kwargs):
        return self.request(url, "PUT", **kwargs)

    def patch(self, url, **kwargs):
        return self.request(url, "PATCH", **kwargs)

    def delete(self, url, **kwargs):
        return self.request(url, "DELETE", **kwargs)


class _TunnelledConnection(http.client.HTTPConnection):
    """HTTP, or HTTPS end to end, through a tunnel of the egress proxy.

    Each connection is a tunnel the proxy opens (``tunnel.open_tunnel``): refused, it
    raises ``tunnel.TunnelRefused``, an OSError that says why.
    """

    def __init__(self, channel, tls, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._channel = channel
        self._tls = tls

    def connect(self):
        self.sock = tunnel.open_tunnel(self._channel, self.host, self.port, self.timeout)
        if self._tls:
            import ssl

            context = ssl.create_default_context()
            try:
                self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
            except BaseException:
                self.sock.close()
                raise

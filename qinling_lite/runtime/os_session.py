"""``context['os_session']``: OpenStack API calls as the function's owner, keystoneauth-like."""

import http.client
import json
import socket
import urllib.parse


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

    The proxy gets ``CONNECT host:port`` and one end of a new socket pair on the worker's
    channel, and answers on that socket, which then carries the connection.
    """

    def __init__(self, channel, tls, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._channel = channel
        self._tls = tls

    def connect(self):
        sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with theirs:
                request = f"CONNECT {self.host}:{self.port}".encode()
                socket.send_fds(self._channel, [request], [theirs.fileno()])
            sock.settimeout(self.timeout)
            head = b""
            while not head.endswith(b"\r\n\r\n") and len(head) < 8192:
                byte = sock.recv(1)
                if not byte:
                    break
                head += byte
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            if status.split()[1:2] != ["200"]:
                raise OSError(f"egress to {self.host}:{self.port} refused: {status or 'closed'}")
            if self._tls:
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock

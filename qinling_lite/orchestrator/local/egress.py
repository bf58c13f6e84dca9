"""The only way out of a bubblewrap sandbox: a CONNECT proxy on a Unix socket.

Sandboxed workers have no network of their own. The runtime server's
``context["os_session"]`` reaches OpenStack APIs by asking this proxy for a tunnel
(``CONNECT host:port``, then plain HTTP or TLS end to end); the proxy opens it only to
the endpoints in ``[local_orchestrator] egress_endpoints`` and answers 403 otherwise.
"""

import contextlib
import os
import selectors
import socket
import socketserver
import threading
import urllib.parse

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

MAX_HEAD_BYTES = 8192
CONNECT_TIMEOUT = 10
IDLE_TIMEOUT = 300  # seconds a tunnel may carry nothing before it is closed
CHUNK = 64 * 1024


def host_port(url):
    """``(host, port)`` of an endpoint URL, the port defaulted from the scheme."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) endpoint URL: {url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class EgressProxy:
    """Serves tunnels to ``endpoints`` (URLs) on the Unix socket ``path``."""

    def __init__(self, path, endpoints):
        self.path = path
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        self._server = _Server(path, _Tunnel)
        self._server.allowed = frozenset(host_port(url) for url in endpoints)
        os.chmod(path, 0o666)  # noqa: S103 (sandboxed workers run as nobody)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="egress-proxy", daemon=True
        )
        self._thread.start()
        LOG.info("Sandboxed workers may reach %s through %s.", sorted(self._server.allowed), path)

    def close(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class _Server(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    allowed = frozenset()


class _Tunnel(socketserver.StreamRequestHandler):
    """One ``CONNECT host:port`` request, then bytes both ways until either side closes."""

    def handle(self):
        target = self._read_connect()
        if target is None:
            return self._answer("400 Bad Request")
        if target not in self.server.allowed:
            LOG.info("Egress to %s:%s refused: not in egress_endpoints.", *target)
            return self._answer("403 Forbidden")
        try:
            upstream = socket.create_connection(target, timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            LOG.warning("Egress to %s:%s failed: %s", *target, exc)
            return self._answer("502 Bad Gateway")
        with upstream:
            self._answer("200 Connection established")
            _relay(self.connection, upstream)

    def _read_connect(self):
        """``(host, port)`` of a well-formed CONNECT request head, else None."""
        request = self.rfile.readline(MAX_HEAD_BYTES).decode("latin-1").split()
        size = 0
        while (line := self.rfile.readline(MAX_HEAD_BYTES)) not in (b"\r\n", b"\n", b""):
            size += len(line)
            if size > MAX_HEAD_BYTES:
                return None
        if len(request) != 3 or request[0] != "CONNECT":
            return None
        host, _, port = request[1].rpartition(":")
        if not host or not port.isdigit():
            return None
        return host.strip("[]"), int(port)

    def _answer(self, status):
        self.wfile.write(f"HTTP/1.1 {status}\r\n\r\n".encode())
        self.wfile.flush()


def _relay(one, other):
    """Copy bytes between two sockets until one closes or both are idle too long."""
    peers = {one: other, other: one}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while events := selector.select(IDLE_TIMEOUT):
            for key, _ in events:
                try:
                    data = key.fileobj.recv(CHUNK)
                    if not data:
                        return
                    peers[key.fileobj].sendall(data)
                except OSError:
                    return

"""The only way out of a bubblewrap sandbox: tunnels that the engine's egress proxy opens.

Sandboxed workers have no network. Each holds one end of a channel to the proxy, a Unix
``SOCK_SEQPACKET`` socket pair passed in as a file descriptor (no path is involved). To
reach an OpenStack API, the runtime server's ``context["os_session"]`` sends
``CONNECT host:port`` on its channel together with one end of a fresh socket pair; the
proxy connects that socket to the endpoint if it is one of
``[local_orchestrator] egress_endpoints``, answers ``HTTP/1.1 200 Connection
established`` on it, and relays bytes both ways (plain HTTP, or TLS end to end). It
answers 403 for any other endpoint, and 429 when the worker holds
``egress_tunnels_per_worker`` tunnels or the engine ``egress_tunnels``: one thread per
tunnel, so that cap is also the proxy's thread count.
"""

import contextlib
import os
import selectors
import socket
import threading
import urllib.parse

from oslo_log import log as logging

LOG = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 1024
CONNECT_TIMEOUT = 10
IDLE_TIMEOUT = 60  # seconds a tunnel may carry nothing before it is closed
CHUNK = 64 * 1024


def host_port(url):
    """``(host, port)`` of an endpoint URL, the port defaulted from the scheme."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) endpoint URL: {url!r}")
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


def parse_connect(message):
    """``(host, port)`` of a ``CONNECT host:port`` request, else None."""
    words = message.decode("latin-1").split()
    if len(words) != 2 or words[0] != "CONNECT":
        return None
    host, _, port = words[1].rpartition(":")
    if not host or not port.isdigit() or len(port) > 5:
        return None
    return host.strip("[]"), int(port)


class EgressProxy:
    """Tunnels to ``endpoints`` (URLs) for the workers it gave a channel to."""

    def __init__(self, endpoints, per_worker, total):
        self.allowed = frozenset(host_port(url) for url in endpoints)
        self._per_worker = per_worker
        self._total = total
        self._lock = threading.Lock()
        self._tunnels = {}  # our end of a worker's channel -> its open tunnels
        self._open = 0
        self._selector = selectors.DefaultSelector()
        self._wake, self._waker = socket.socketpair()
        self._selector.register(self._wake, selectors.EVENT_READ)
        self._closed = False
        self._thread = threading.Thread(target=self._serve, name="egress-proxy", daemon=True)
        self._thread.start()
        LOG.info("Sandboxed workers may reach %s through the egress proxy.", sorted(self.allowed))

    def channel(self):
        """A new worker's channel; return the worker's end, to pass into its sandbox."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        with self._lock:
            self._tunnels[ours] = 0
        self._selector.register(ours, selectors.EVENT_READ)
        return theirs

    def open_tunnels(self):
        with self._lock:
            return self._open

    def close(self):
        self._closed = True
        self._waker.send(b"x")
        self._thread.join()
        for sock in list(self._tunnels):
            sock.close()
        self._selector.close()
        self._wake.close()
        self._waker.close()

    def _serve(self):
        while not self._closed:
            for key, _ in self._selector.select():
                if key.fileobj is not self._wake:
                    self._receive(key.fileobj)

    def _receive(self, channel):
        """Take the requests a worker sent on its channel; forget it when it is gone."""
        try:
            message, fds, _, _ = socket.recv_fds(channel, MAX_REQUEST_BYTES, 1)
        except BlockingIOError:
            return
        except OSError:
            message, fds = b"", []
        if not message and not fds:  # the worker's end is closed: the worker is gone
            self._selector.unregister(channel)
            with self._lock:
                del self._tunnels[channel]
            channel.close()
            return
        if not fds:
            return
        for extra in fds[1:]:
            os.close(extra)
        try:
            client = socket.socket(fileno=fds[0])
        except OSError:  # not a socket
            os.close(fds[0])
            return
        refusal = self._refusal(channel, client, parse_connect(message))
        if refusal is not None:
            with contextlib.suppress(OSError):
                _answer(client, refusal)
            client.close()

    def _refusal(self, channel, client, target):
        """Start a tunnel to ``target`` for ``client``, or return why not (a status line)."""
        if client.type != socket.SOCK_STREAM or client.family != socket.AF_UNIX:
            return "400 Bad Request"
        if target is None:
            return "400 Bad Request"
        if target not in self.allowed:
            LOG.info("Egress to %s:%s refused: not in egress_endpoints.", *target)
            return "403 Forbidden"
        with self._lock:
            if self._tunnels[channel] >= self._per_worker or self._open >= self._total:
                LOG.warning("Egress to %s:%s refused: too many tunnels open.", *target)
                return "429 Too Many Requests"
            self._tunnels[channel] += 1
            self._open += 1
        threading.Thread(
            target=self._tunnel, args=(channel, client, target), name="egress-tunnel", daemon=True
        ).start()
        return None

    def _tunnel(self, channel, client, target):
        try:
            client.settimeout(CONNECT_TIMEOUT)
            try:
                upstream = socket.create_connection(target, timeout=CONNECT_TIMEOUT)
            except OSError as exc:
                LOG.warning("Egress to %s:%s failed: %s", *target, exc)
                _answer(client, "502 Bad Gateway")
                return
            with upstream:
                _answer(client, "200 Connection established")
                _relay(client, upstream)
        except OSError:
            pass
        finally:
            client.close()
            with self._lock:
                self._open -= 1
                if channel in self._tunnels:
                    self._tunnels[channel] -= 1


def _answer(client, status):
    client.sendall(f"HTTP/1.1 {status}\r\n\r\n".encode())


def _relay(one, other):
    """Copy bytes between two sockets until one closes or both are idle too long."""
    peers = {one: other, other: one}
    for sock in peers:
        sock.settimeout(IDLE_TIMEOUT)
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

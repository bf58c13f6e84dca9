"""The egress forwarder: an HTTP proxy inside the sandbox, on 127.0.0.1 of the sandbox's
own network namespace, through which libraries' own HTTP stacks (``requests``, urllib3,
``urllib.request``) reach OpenStack APIs. The server points ``HTTP_PROXY`` and
``HTTPS_PROXY`` at it.

It takes ``CONNECT host:port`` (HTTPS, TLS end to end) and plain-HTTP requests in
absolute form (``GET http://host:port/path``, passed on in origin form, one request per
connection: ``Connection: close`` both ways); each connection becomes one tunnel of the
egress channel (``tunnel.open_tunnel``), whose refusal the client gets as its status. It
gives user code no more reach than the channel, which user code holds anyway, already
does: the engine's egress proxy alone decides which endpoint a tunnel may reach, and how
many tunnels a worker may hold.

One thread per connection, at most ``MAX_CONNECTIONS`` (the sandbox caps its tasks): a
connection over that is answered 503. A request head is at most ``MAX_HEAD_BYTES``
(else 431) and must come within ``HEAD_TIMEOUT``; a connection idle for
``IDLE_TIMEOUT`` is closed.
"""

import os
import re
import selectors
import socket
import threading
import time
import urllib.parse
import weakref

from . import tunnel

MAX_CONNECTIONS = 16
MAX_HEAD_BYTES = 16 * 1024
HEAD_TIMEOUT = 10
TUNNEL_TIMEOUT = 30  # for the egress proxy's answer (it connects within 10 s)
IDLE_TIMEOUT = 60
LINGER_TIMEOUT = 1  # to read what a refused client still sends
REFUSE_TIMEOUT = 0.1  # the same, for a connection over the cap, in the accepting thread
CHUNK = 64 * 1024
# Headers of the hop to the forwarder, not passed on.
HOP_HEADERS = frozenset({"connection", "proxy-connection", "proxy-authorization", "keep-alive"})
HOP = frozenset(name.encode() for name in HOP_HEADERS)
REQUEST_LINE = re.compile(r"([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) (HTTP/1\.[01])")
AUTHORITY = re.compile(r"\[([0-9A-Fa-f:.]+)\]:([0-9]{1,5})|([^\s:\[\]/@]+):([0-9]{1,5})")

_forwarders: "weakref.WeakSet[EgressForwarder]" = weakref.WeakSet()


class Refusal(Exception):
    """A request the forwarder answers itself, with ``status``."""

    def __init__(self, status, reason=""):
        super().__init__(status)
        self.status = status
        self.reason = reason


class EgressForwarder:
    """The HTTP proxy on 127.0.0.1:``port`` that opens its tunnels over ``channel``."""

    def __init__(self, channel, max_connections=MAX_CONNECTIONS):
        self._channel = channel
        self._slots = threading.BoundedSemaphore(max_connections)
        self._sockets = set()  # the connections' sockets, closed in forked children
        self._closed = False
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="egress-forwarder", daemon=True)
        _forwarders.add(self)
        self._thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def close(self):
        """Stop taking connections (those open run on until they end)."""
        self._closed = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        except OSError:
            pass
        self._thread.join()
        self._listener.close()

    def _serve(self):
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                if self._closed:
                    return
                time.sleep(0.1)  # out of descriptors: let connections end
                continue
            if not self._slots.acquire(blocking=False):
                _refuse(client, "503 Service Unavailable", "too many connections")
                continue
            self._sockets.add(client)
            try:
                threading.Thread(
                    target=self._handle, args=(client,), name="egress-forward", daemon=True
                ).start()
            except RuntimeError:  # no thread to be had
                self._sockets.discard(client)
                self._slots.release()
                _refuse(client, "503 Service Unavailable", "too many connections")

    def _handle(self, client):
        upstream = None
        try:
            client.settimeout(HEAD_TIMEOUT)
            try:
                head, rest = _read_head(client)
                method, target, version, headers = _parse_head(head)
                if method == "CONNECT":
                    host, port = _authority(target)
                    upstream = self._tunnel(host, port)
                    client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    upstream.sendall(rest)
                else:
                    host, port, path = _absolute_target(target)
                    upstream = self._tunnel(host, port)
                    upstream.sendall(_origin_request(method, path, version, headers) + rest)
            except Refusal as refusal:
                _answer(client, refusal.status, refusal.reason)
                _linger(client)
                return
            _relay(client, upstream, one_request=method != "CONNECT")
        except OSError:
            pass
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    _close(sock)
                    self._sockets.discard(sock)
            self._slots.release()

    def _tunnel(self, host, port):
        try:
            upstream = tunnel.open_tunnel(self._channel, host, port, TUNNEL_TIMEOUT)
        except tunnel.TunnelRefused as refused:
            raise Refusal(refused.status, str(refused)) from None
        except OSError as exc:
            raise Refusal(tunnel.UNANSWERED, f"egress to {host}:{port} failed: {exc}") from None
        self._sockets.add(upstream)
        return upstream

    def _close_in_child(self):
        """After a fork: the child holds none of the forwarder's sockets (the tunnels
        they carry end when the forwarder closes them, not when the child exits)."""
        for sock in (self._listener, *self._sockets):
            sock.close()
        self._sockets = set()


def _close_forwarders_in_child():
    for forwarder in list(_forwarders):
        forwarder._close_in_child()


os.register_at_fork(after_in_child=_close_forwarders_in_child)


def _read_head(client):
    """(the request head, the bytes read past it); Refusal unless a whole head comes."""
    data = b""
    while (end := data.find(b"\r\n\r\n")) < 0:
        if len(data) >= MAX_HEAD_BYTES:
            raise Refusal("431 Request Header Fields Too Large", "request head too large")
        try:
            chunk = client.recv(MAX_HEAD_BYTES + 4 - len(data))
        except TimeoutError:
            raise Refusal("408 Request Timeout", "no request head in time") from None
        if not chunk:
            raise OSError("closed before a request head")
        data += chunk
    if end > MAX_HEAD_BYTES:
        raise Refusal("431 Request Header Fields Too Large", "request head too large")
    return data[:end].decode("latin-1"), data[end + 4 :]


def _parse_head(head):
    """(method, target, version, [(name, value)]) of a request head; Refusal if it is
    not one."""
    line, *fields = head.split("\r\n")
    match = REQUEST_LINE.fullmatch(line)
    if match is None:
        raise Refusal("400 Bad Request", "not an HTTP/1 request")
    headers = []
    for field in fields:
        name, colon, value = field.partition(":")
        if not colon or not name or name != name.strip() or "\n" in field or "\r" in field:
            raise Refusal("400 Bad Request", "malformed header field")
        headers.append((name, value.strip()))
    return (*match.groups(), headers)


def _authority(target):
    """(host, port) of a CONNECT target ``host:port``."""
    match = AUTHORITY.fullmatch(target)
    if match is None:
        raise Refusal("400 Bad Request", "CONNECT wants host:port")
    host, port = (match[1], match[2]) if match[1] else (match[3], match[4])
    return host.lower(), _port(port)


def _absolute_target(target):
    """(host, port, origin-form path) of an absolute ``http://`` request target."""
    try:
        parts = urllib.parse.urlsplit(target)
        host, port = parts.hostname, parts.port
    except ValueError:
        parts, host, port = None, None, None
    if parts is None or parts.scheme.lower() != "http" or not host:
        raise Refusal("400 Bad Request", "a proxy request wants an absolute http:// URL")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, _port(80 if port is None else port), path


def _port(port):
    if not 0 < int(port) < 65536:
        raise Refusal("400 Bad Request", "bad port")
    return int(port)


def _origin_request(method, path, version, headers):
    """The request head, in origin form, for the endpoint: one request, then close."""
    lines = [f"{method} {path} {version}"]
    lines += [f"{name}: {value}" for name, value in headers if name.lower() not in HOP_HEADERS]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


def _answer(client, status, reason):
    body = f"{reason}\n".encode("latin-1", "replace")
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
    client.sendall(f"{head}Connection: close\r\n\r\n".encode() + body)


def _linger(client):
    """After an answer to a request not passed on: read what the client still sends, for
    a while, so that closing does not reset the connection before it read the answer."""
    client.shutdown(socket.SHUT_WR)
    client.settimeout(LINGER_TIMEOUT)
    deadline = time.monotonic() + LINGER_TIMEOUT
    while time.monotonic() < deadline and client.recv(CHUNK):
        pass


def _refuse(client, status, reason):
    """Answer a connection that gets no thread, waiting for it no more than a moment."""
    try:
        client.settimeout(REFUSE_TIMEOUT)
        try:  # its request is read first, so that closing does not reset the connection
            client.recv(MAX_HEAD_BYTES)
        except TimeoutError:
            pass
        _answer(client, status, reason)
        client.shutdown(socket.SHUT_WR)
        client.recv(CHUNK)  # its end, or more of its request
    except OSError:
        pass
    finally:
        _close(client)


def _relay(client, upstream, one_request):
    """Copy bytes both ways until either side closes, or nothing moves for too long.

    For ``one_request`` (sent with ``Connection: close``), the client is told that the
    connection closes after the answer (``_AnswerHead``), and one that closes its side
    first (it has sent all) still gets the answer.
    """
    answer = _AnswerHead() if one_request else None
    for sock in (client, upstream):
        sock.settimeout(IDLE_TIMEOUT)
    with selectors.DefaultSelector() as selector:
        for sock in (client, upstream):
            selector.register(sock, selectors.EVENT_READ)
        while events := selector.select(IDLE_TIMEOUT):
            for key, _ in events:
                data = key.fileobj.recv(CHUNK)
                if key.fileobj is upstream:
                    client.sendall(data if answer is None else answer.feed(data))
                    if not data:
                        return
                elif data:
                    upstream.sendall(data)
                elif one_request:
                    selector.unregister(client)
                else:
                    return


class _AnswerHead:
    """Passes an endpoint's answer on with ``Connection: close`` in its head (not in the
    heads of interim 1xx answers), so that the client does not send another request on
    a connection that ends with this answer. A head too large is passed on as it is."""

    def __init__(self):
        self._pending = b""
        self._done = False

    def feed(self, data):
        """What to send the client of ``data``, the next bytes of the answer (b"" at its
        end, when what is still held goes out)."""
        if self._done:
            return data
        self._pending += data
        out = []
        while not self._done and (end := self._pending.find(b"\r\n\r\n")) >= 0:
            status, *fields = self._pending[:end].split(b"\r\n")
            self._pending = self._pending[end + 4 :]
            if not re.match(rb"HTTP/1\.[01] 1(?!01)", status):
                fields = [f for f in fields if f.partition(b":")[0].strip().lower() not in HOP]
                fields.append(b"Connection: close")
                self._done = True
            out.append(b"\r\n".join([status, *fields, b"", b""]))
        if not data or len(self._pending) > MAX_HEAD_BYTES:
            self._done = True
        if self._done:
            out.append(self._pending)
            self._pending = b""
        return b"".join(out)


def _close(sock):
    """Close ``sock`` for its peer too, whatever other process holds a copy of it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()

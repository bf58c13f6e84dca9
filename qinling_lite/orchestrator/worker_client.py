"""HTTP client of the runtime server protocol (``qinling_lite.runtime.protocol``).

One persistent connection per worker. The runtime server closes a keep-alive connection
after ``idle_timeout`` seconds, so a connection idle for half of that, or found closed by
the peer, is replaced before a request is sent. If sending still fails on a reused
connection, the server never read the request and it is sent once more on a new one. A
failure while reading the answer is retried only for idempotent requests (ping, load): an
execution is never sent twice.

No answer is read past ``protocol.max_reply_bytes``: an execution's holds its output,
within the request's ``max_result_size``, and its log, within the runtime server's
``--max-log-bytes`` (1 MiB unless told otherwise). A worker answering more, or anything
but a reply of the protocol, is a WorkerError, and its connection is dropped.
"""

import contextlib
import http.client
import select
import socket
import time

from qinling_lite import exceptions
from qinling_lite.runtime import protocol


class _UnixConnection(http.client.HTTPConnection):
    """HTTPConnection over a Unix socket."""

    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self._path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class WorkerClient:
    """Client of one runtime server at a Unix socket path or a (host, port) address.

    Errors name the worker by ``name`` (they end up in execution results): never by its
    address, which may be a path of the host.
    """

    def __init__(self, address, idle_timeout, name="(unnamed)"):
        self.address = address
        self.name = name
        self._max_idle = idle_timeout / 2
        if isinstance(address, str):
            self._conn = _UnixConnection(address, timeout=None)
        else:
            self._conn = http.client.HTTPConnection(*address, timeout=None)
        self._last_used = 0.0

    def ping(self, timeout) -> protocol.PingReply:
        """GET /ping."""
        return self._request(protocol.PING, None, timeout, protocol.PING_REPLY)

    def load(self, spec, package, timeout) -> protocol.LoadReply:
        """POST /load the package of ``spec``; the reply's error is its import error."""
        path = protocol.load_path(spec.function_id, spec.version, spec.entry)
        return self._request(path, package, timeout, protocol.LOAD_REPLY)

    def execute(self, request: protocol.ExecuteRequest, timeout) -> protocol.ExecuteReply:
        """POST /execute; ProtocolError for a request the protocol does not allow."""
        body = protocol.EXECUTE_REQUEST.to_json(request)
        limit = protocol.max_reply_bytes(request.get("max_result_size", protocol.MAX_RESULT_BYTES))
        return self._request(protocol.EXECUTE, body, timeout, protocol.EXECUTE_REPLY, limit)

    def close(self):
        self._conn.close()

    def _request(self, path, body, timeout, reply, limit=None):
        """The ``reply`` (a protocol Codec) to a request, read up to ``limit`` bytes (by
        default the bound of a reply without an output)."""
        route = path.partition("?")[0]
        method = protocol.ROUTES[route]
        limit = protocol.max_reply_bytes() if limit is None else limit
        try:
            reused = self._connect(timeout)
            try:
                self._conn.request(method, path, body=body)
            except OSError as exc:
                if not reused or isinstance(exc, TimeoutError):
                    raise
                self._conn.close()
                reused = self._connect(timeout)
                self._conn.request(method, path, body=body)
            try:
                status, data = self._read(route, limit)
            except (http.client.RemoteDisconnected, ConnectionResetError):
                if not (reused and route in protocol.IDEMPOTENT):
                    raise
                self._conn.close()
                self._connect(timeout)
                self._conn.request(method, path, body=body)
                status, data = self._read(route, limit)
        except TimeoutError:
            self._conn.close()
            raise exceptions.WorkerError(
                f"Worker {self.name} did not answer {route} within {timeout} s."
            ) from None
        except (OSError, http.client.HTTPException) as exc:
            self._conn.close()
            raise exceptions.WorkerError(
                f"Worker {self.name} failed on {route}: {type(exc).__name__}: {exc}"
            ) from None
        except BaseException:
            self._conn.close()
            raise
        self._last_used = time.monotonic()
        return self._decode(route, status, data, reply)

    def _connect(self, timeout):
        """Make sure a usable connection is open; return whether an existing one is reused."""
        sock = self._conn.sock
        if sock is not None and not self._stale(sock):
            sock.settimeout(timeout)
            return True
        self._conn.close()
        self._conn.timeout = timeout
        self._conn.connect()
        return False

    def _stale(self, sock):
        """Whether a kept-alive connection is too old or was closed by the server."""
        if time.monotonic() - self._last_used > self._max_idle:
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        # An idle connection has nothing to read: readable means EOF or stray bytes.
        return bool(readable)

    def _read(self, route, limit):
        """(status, body) of the answer; WorkerError for a body over ``limit`` bytes,
        refused by its Content-Length or once ``limit`` bytes are read."""
        response = self._conn.getresponse()
        if response.length is None or response.length <= limit:
            data = response.read(limit + 1)
            if len(data) <= limit:
                return response.status, data
        raise exceptions.WorkerError(
            f"Worker {self.name} answered {route} with more than {limit} bytes."
        )

    def _decode(self, route, status, data, reply):
        """The reply to a request answered 200; WorkerError for any other answer."""
        text = data[:200].decode("utf-8", "replace")
        if status != 200:
            with contextlib.suppress(protocol.ProtocolError):
                text = protocol.ERROR_REPLY.from_json(data)["error"]
            raise exceptions.WorkerError(
                f"Worker {self.name} answered {route} with HTTP {status}: {text}"
            )
        try:
            return reply.from_json(data)
        except protocol.ProtocolError as exc:
            raise exceptions.WorkerError(
                f"Worker {self.name} answered {route} with no {reply.name} ({exc.message}): {text}"
            ) from None

"""HTTP client of the runtime server protocol (GET /ping, POST /load, POST /execute).

One persistent connection per worker. The runtime server closes a keep-alive connection
after ``idle_timeout`` seconds, so a connection idle for half of that, or found closed by
the peer, is replaced before a request is sent. If sending still fails on a reused
connection, the server never read the request and it is sent once more on a new one. A
failure while reading the answer is retried only for idempotent requests (ping, load): an
execution is never sent twice.

No answer is read past a bound: an execution's holds its output, within the request's
``max_result_size``, and its log, within the runtime server's ``--max-log-bytes`` (1 MiB
unless told otherwise), at most 6 bytes of JSON per byte logged (``\\u00XX`` escapes).
A worker answering more is a WorkerError, and its connection is dropped.
"""

import http.client
import json
import select
import socket
import time
import urllib.parse

from qinling_lite import exceptions
from qinling_lite.runtime import server as runtime_server

_IDEMPOTENT = {"/ping", "/load"}
# The most an answer holds besides an execution's output: a log in JSON, and the rest.
MAX_LOG_JSON_BYTES = 6 * runtime_server.MIB
ANSWER_MARGIN = 64 * 1024


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

    def ping(self, timeout):
        """GET /ping: ``{"status", "function_id", "version"}``."""
        return self._request("GET", "/ping", None, timeout, MAX_LOG_JSON_BYTES + ANSWER_MARGIN)

    def load(self, spec, package, timeout):
        """POST /load: ``{"loaded", "error"}`` (error is the import error text or None)."""
        query = urllib.parse.urlencode(
            {"function_id": spec.function_id, "version": spec.version, "entry": spec.entry}
        )
        limit = MAX_LOG_JSON_BYTES + ANSWER_MARGIN  # its error is an import's traceback
        return self._request("POST", f"/load?{query}", package, timeout, limit)

    def execute(self, payload, timeout):
        """POST /execute: ``{"output", "duration", "success", "logs"}``."""
        output = payload.get("max_result_size", runtime_server.MAX_RESULT_BYTES)
        limit = output + MAX_LOG_JSON_BYTES + ANSWER_MARGIN
        return self._request("POST", "/execute", json.dumps(payload).encode(), timeout, limit)

    def close(self):
        self._conn.close()

    def _request(self, method, path, body, timeout, limit):
        """The decoded answer of a request, read up to ``limit`` bytes."""
        route = path.partition("?")[0]
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
                if not (reused and route in _IDEMPOTENT):
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
        return self._decode(route, status, data)

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

    def _decode(self, route, status, data):
        try:
            answer = json.loads(data)
        except ValueError:
            answer = None
        if status != 200 or not isinstance(answer, dict):
            raise exceptions.WorkerError(
                f"Worker {self.name} answered {route} with HTTP {status}: "
                f"{data[:200].decode('utf-8', 'replace')}"
            )
        return answer

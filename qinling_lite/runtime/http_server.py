"""The runtime server's HTTP side: the protocol's routes, on a Unix socket or TCP.

Single-threaded on purpose: executions are forked from this process, one at a time.
"""

import contextlib
import http.server
import os
import socket
import socketserver
import sys
import traceback
import urllib.parse

from .protocol import (
    ERROR_REPLY,
    EXECUTE,
    EXECUTE_REPLY,
    LOAD,
    LOAD_REPLY,
    MAX_BODY_BYTES,
    PING,
    PING_REPLY,
    ROUTES,
    ErrorReply,
    RequestError,
)


class Handler(http.server.BaseHTTPRequestHandler):
    """The protocol's routes, answered by the server's ``runner`` (a FunctionRunner)."""

    protocol_version = "HTTP/1.1"
    server_version = "qinling-runtime"
    handlers = {PING: "_ping", LOAD: "_load", EXECUTE: "_execute"}

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format, *args):
        """Stay quiet: idle keep-alive timeouts are normal; crashes go to handle_error."""

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
            if url.path not in ROUTES:
                raise RequestError(404, "not found")
            if self.command != ROUTES[url.path]:
                raise RequestError(405, "method not allowed")
            status, answer = 200, getattr(self, self.handlers[url.path])(url.query, body)
        except RequestError as exc:
            status, answer = exc.status, ERROR_REPLY.to_json(ErrorReply(error=exc.message))
        except Exception as exc:
            traceback.print_exc()
            error = ErrorReply(error=f"internal error: {exc}")
            status, answer = 500, ERROR_REPLY.to_json(error)
        self._send_json(status, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815

    def _read_body(self):
        """Read exactly Content-Length bytes; errors close the connection."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise RequestError(411, "Content-Length is required")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise RequestError(400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise RequestError(400, "incomplete body")
        return body

    def _send_json(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _ping(self, query, body):
        return PING_REPLY.to_json(self.server.runner.ping())

    def _load(self, query, body):
        return LOAD_REPLY.to_json(self.server.runner.load(query, body))

    def _execute(self, query, body):
        reply = self.server.runner.execute(body, self._server_fds())
        return EXECUTE_REPLY.to_json(reply)

    def handle_one_request(self):
        super().handle_one_request()
        self.server.runner.prepare(self._server_fds())

    def _server_fds(self):
        """The descriptors an execution's child closes: the listener and the connection."""
        return self.server.fileno(), self.connection.fileno()


class _ServerMixin:
    """Settings shared by the Unix and TCP servers."""

    request_queue_size = 64

    def handle_error(self, request, client_address):
        """Print the traceback of a failed request, unless the client just went away."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            traceback.print_exc()


class UnixServer(_ServerMixin, socketserver.UnixStreamServer):
    """Single-threaded HTTP server on a Unix socket that anyone may connect to.

    The socket is bound under a temporary name and renamed to its path (replacing
    any stale file) once listening, so a client can connect as soon as it exists.
    """

    def server_bind(self):
        self.socket_path = self.server_address
        self.server_address = f"{self.socket_path}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.server_address)
        super().server_bind()
        os.chmod(self.server_address, 0o666)  # noqa: S103

    def server_activate(self):
        super().server_activate()
        os.rename(self.server_address, self.socket_path)


class InheritedUnixServer(_ServerMixin, socketserver.UnixStreamServer):
    """Single-threaded HTTP server on a listening Unix socket it was given."""

    def __init__(self, fd, handler):
        super().__init__(None, handler, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(fileno=fd)


class TCPServer(_ServerMixin, socketserver.TCPServer):
    """Single-threaded HTTP server on TCP."""

    allow_reuse_address = True

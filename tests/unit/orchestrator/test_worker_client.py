"""The runtime server protocol client, against a real runtime server and a scripted one."""

import json
import os
import shutil
import socketserver
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator import worker_client
from qinling_lite.runtime import protocol
from tests import runtime_server
from tests.unit.orchestrator.conftest import HELLO_WORLD, make_zip, payload, spec, wait_for

IDLE_TIMEOUT = 0.2


@pytest.fixture
def socket_dir():
    path = tempfile.mkdtemp(prefix="ql-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def server(socket_dir):
    """A real runtime server closing idle connections after IDLE_TIMEOUT; its socket path."""
    path = os.path.join(socket_dir, "s")
    args = ["--unix-socket", path, "--workdir", os.path.join(socket_dir, "work")]
    process = subprocess.Popen(
        [*runtime_server.command(socket_dir), *args, "--idle-timeout", "0.2"]
    )
    assert wait_for(lambda: os.path.exists(path))
    yield path
    process.kill()
    process.wait()


def test_ping_load_execute(server):
    client = worker_client.WorkerClient(server, IDLE_TIMEOUT)
    assert client.ping(5) == {"status": "ok", "function_id": None, "version": None}
    package = make_zip({"hello_world.py": HELLO_WORLD})
    assert client.load(spec(), package, 5) == {"loaded": True, "error": None}
    answer = client.execute(payload(name="client"), 5)
    assert (answer["success"], answer["output"]) == (True, "Hello, client")
    client.close()


@pytest.mark.parametrize("believed_idle_timeout", [IDLE_TIMEOUT, 60])
def test_requests_after_the_server_closed_an_idle_connection(server, believed_idle_timeout):
    """Known idle timeout: reconnect ahead of it; unknown: notice the closed connection."""
    client = worker_client.WorkerClient(server, believed_idle_timeout)
    client.ping(5)
    time.sleep(IDLE_TIMEOUT * 2)
    assert client.load(spec(), make_zip({"hello_world.py": HELLO_WORLD}), 5)["loaded"]
    time.sleep(IDLE_TIMEOUT * 2)
    assert client.execute(payload(), 5)["output"] == "Hello, World"
    client.close()


def test_refused_answer_is_a_worker_error(server):
    client = worker_client.WorkerClient(server, IDLE_TIMEOUT)
    with pytest.raises(exceptions.WorkerError, match="HTTP 400"):
        client.load(spec(), b"not a zip", 5)
    client.close()


def test_no_server_is_a_worker_error(socket_dir):
    client = worker_client.WorkerClient(os.path.join(socket_dir, "s"), IDLE_TIMEOUT)
    with pytest.raises(exceptions.WorkerError, match="FileNotFoundError"):
        client.ping(5)


OK = {
    "/ping": {"status": "ok", "function_id": None, "version": None},
    "/load": {"loaded": True, "error": None},
    "/execute": {"success": True, "output": "ok", "duration": 0.1, "logs": ""},
}
PADDED_REPLY = {"success": True, "output": None, "duration": 0.1, "logs": ""}


class ScriptedServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Reads HTTP requests and does what ``script`` says for each, in order.

    ``ok``: answer the route's reply (``OK``); ``drop``: close without answering; ``hang``:
    never answer; ``text``: answer 200 that is not JSON; ``wrong``: answer 200 JSON that
    is no reply; ``error``: answer 500; ``flood``: answer 200 with a Content-Length of
    1 GiB and send it; ``flood-chunked``: answer 200 in chunks without end; ``padded``:
    answer an execution's reply of exactly ``padded_size`` bytes, its log padded.
    """

    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up on an answer (as tests make it) is no error to print."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def __init__(self, path, script):
        self.script = list(script)
        self.received = []
        self.sent = 0  # bytes of flood sent before the client hung up
        self.padded_size = 0
        self.release = threading.Event()
        super().__init__(path, _ScriptedHandler)


class _ScriptedHandler(socketserver.StreamRequestHandler):
    def handle(self):
        while request_line := self.rfile.readline():
            length = 0
            while (header := self.rfile.readline()) not in (b"\r\n", b""):
                name, _, value = header.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            self.rfile.read(length)
            method, path = request_line.decode().split()[:2]
            self.server.received.append(f"{method} {path}")
            action = self.server.script.pop(0)
            if action == "drop":
                return
            if action == "hang":
                self.server.release.wait()
                return
            if action.startswith("flood"):
                self._flood(chunked=action == "flood-chunked")
                return
            if action == "padded":
                padding = "x" * (self.server.padded_size - len(json.dumps(PADDED_REPLY)))
                body = json.dumps({**PADDED_REPLY, "logs": padding}).encode()
                action = "ok"
            else:
                body = json.dumps(OK[path.partition("?")[0]]).encode()
            status, body = {
                "ok": (200, body),
                "text": (200, b"<html>"),
                "wrong": (200, b'{"success": "yes"}'),
                "error": (500, b'{"error": "boom"}'),
            }[action]
            self.wfile.write(
                b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body)
            )

    def _flood(self, chunked):
        """Send a never-ending JSON string until the client hangs up."""
        length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % 2**30

        def framed(data):
            return b"%x\r\n%s\r\n" % (len(data), data) if chunked else data

        data = b"x" * 65536
        frame = framed(data)
        try:
            self.wfile.write(b"HTTP/1.1 200 X\r\n%s\r\n\r\n" % length + framed(b'{"output": "'))
            while self.server.sent < 2**30:
                self.wfile.write(frame)
                self.server.sent += len(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def scripted(socket_dir):
    """``scripted(*actions)``: a ScriptedServer and a client of it."""
    servers, clients = [], []

    def start(*script):
        server = ScriptedServer(os.path.join(socket_dir, "s"), script)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        clients.append(worker_client.WorkerClient(server.server_address, 60))
        return server, clients[-1]

    yield start
    for server, client in zip(servers, clients, strict=True):
        client.close()
        server.release.set()
        server.shutdown()
        server.server_close()


def test_an_execution_is_never_sent_twice(scripted):
    server, client = scripted("ok", "drop", "ok")
    client.ping(5)
    with pytest.raises(exceptions.WorkerError, match="/execute"):
        client.execute(payload(), 5)
    assert server.received == ["GET /ping", "POST /execute"]


def test_ping_is_retried_once_on_a_dropped_connection(scripted):
    server, client = scripted("ok", "drop", "ok", "drop", "drop")
    client.ping(5)
    assert client.ping(5) == OK["/ping"]
    with pytest.raises(exceptions.WorkerError):
        client.ping(5)
    assert server.received == ["GET /ping"] * 5


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("text", r"/execute with no ExecuteReply \(body is not valid JSON\): <html>$"),
        ("wrong", r"/execute with no ExecuteReply \(field 'success' is missing or has a wrong"),
        ("error", "/execute with HTTP 500: boom$"),
        ("hang", "did not answer"),
    ],
)
def test_bad_answers_are_worker_errors(scripted, action, message):
    server, client = scripted(action)
    with pytest.raises(exceptions.WorkerError, match=message):
        client.execute(payload(), 0.3)


def test_the_cap_of_the_payload_reaches_the_runtime_server(server):
    client = worker_client.WorkerClient(server, IDLE_TIMEOUT)
    client.load(spec(), make_zip({"hello_world.py": HELLO_WORLD}), 5)
    answer = client.execute({**payload(name="x" * 2000), "max_result_size": 1024}, 5)
    assert (answer["success"], answer["output"]) == (
        False,
        "Function output of 2009 bytes exceeds the limit of 1024 bytes.",
    )
    client.close()


CAP = 1024
ANSWER_LIMIT = protocol.max_reply_bytes(CAP)


@pytest.mark.parametrize("action", ["flood", "flood-chunked"])
def test_an_answer_over_the_bound_is_a_worker_error_and_is_not_read(scripted, action):
    server, client = scripted(action, "ok")
    with pytest.raises(exceptions.WorkerError) as e:
        client.execute({**payload(), "max_result_size": CAP}, 5)
    assert e.value.message == (
        f"Worker (unnamed) answered /execute with more than {ANSWER_LIMIT} bytes."
    )
    # What the worker sent past the bound sat in the socket's buffers, at most.
    assert server.sent < ANSWER_LIMIT + 8 * 1024 * 1024
    assert client.ping(5) == OK["/ping"]  # on a new connection


def test_an_answer_at_the_bound_is_read(scripted):
    server, client = scripted("padded", "padded")
    server.padded_size = ANSWER_LIMIT
    answer = client.execute({**payload(), "max_result_size": CAP}, 5)
    assert len(answer["logs"]) == ANSWER_LIMIT - len(json.dumps(PADDED_REPLY))
    with pytest.raises(exceptions.WorkerError, match="more than"):
        client.execute({**payload(), "max_result_size": CAP - 1}, 5)


def test_without_a_cap_in_the_payload_the_bound_is_the_runtime_default(scripted):
    server, client = scripted("padded", "padded")
    server.padded_size = 7 * 1024 * 1024
    assert client.execute(payload(), 5)  # 1 MiB + 6 MiB + the margin
    server.padded_size = 8 * 1024 * 1024
    with pytest.raises(exceptions.WorkerError, match="more than"):
        client.execute(payload(), 5)


def test_a_request_the_protocol_refuses_is_not_sent(scripted):
    server, client = scripted("ok")
    with pytest.raises(protocol.ProtocolError, match="'timeout' must be a positive number"):
        client.execute(payload(timeout=0), 5)
    assert server.received == []

"""Slow and bursty clients against the embedded server of ``qinling-lite-serve``.

Slow clients must not hold the threads that answer everyone else, and are cut off after
a total deadline however steadily they trickle; a burst gets answers, not resets; a
refused body is answered with a 413 the client reads, in the API's JSON error shape.
Figures (throughput, latencies under attack) are in ``benchmarks/attacks.py``.
"""

import asyncio
import json
import select
import socket
import threading
import time
import urllib.parse

import pytest
import requests

from qinling_lite.api import hooks
from tests.functional.test_bad_input import assert_error
from tests.packages import make_zip

THREADS = 4
SLOW_CONNECTIONS = 3 * THREADS
HEADER_TIMEOUT = 4
BODY_TIMEOUT = 4
WEBHOOK_LIMIT = 64 * 1024
PACKAGE_LIMIT = 256 * 1024
# Functional timeouts only: how long an answer may take before the test gives up.
ANSWER_TIMEOUT = 30
CUT_OFF_SLACK = 20


@pytest.fixture(scope="module")
def server_config():
    """Few threads, short deadlines and small bodies, so that attacks are quick."""
    return (
        "[local_orchestrator]\npool_size = 1\n"
        f"[api]\napi_threads = {THREADS}\nheader_timeout = {HEADER_TIMEOUT}\n"
        f"body_timeout = {BODY_TIMEOUT}\nclient_idle_timeout = 60\n"
        f"max_webhook_body_size = {WEBHOOK_LIMIT}\n"
        f"[storage]\nmax_package_size = {PACKAGE_LIMIT}\n"
    )


@pytest.fixture(scope="module")
def webhook(client, runtime):
    function = client.create_function(runtime["id"])
    response = client.post("/v1/webhooks", json={"function_id": function["id"]})
    assert response.status_code == 201, response.text
    return response.json()


def address(server):
    url = urllib.parse.urlsplit(server["url"])
    return url.hostname, url.port


def invoke_path(webhook):
    return f"/v1/webhooks/{webhook['id']}/invoke"


def split_answer(data):
    """Status code and JSON body of a raw HTTP answer (read to the end)."""
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), headers, body


class Trickle(threading.Thread):
    """``count`` connections that send ``head``, then ``piece`` every ``interval`` s,
    until the server answers or closes; records when and how each one was cut off."""

    def __init__(self, server, head, piece, count=SLOW_CONNECTIONS, interval=0.5, limit=60):
        super().__init__(daemon=True)
        self.sockets = [socket.create_connection(address(server)) for _ in range(count)]
        for sock in self.sockets:
            sock.sendall(head)
        self.started = time.monotonic()
        self.piece, self.interval, self.limit = piece, interval, limit
        self.cut = {}  # socket -> (seconds after the start, what the server sent)
        self.answers = {}

    def run(self):
        open_ = list(self.sockets)
        while open_ and time.monotonic() - self.started < self.limit:
            for sock in list(open_):
                try:
                    sock.sendall(self.piece)
                except OSError:
                    self._cut(sock, open_)
            readable, _, _ = select.select(open_, [], [], self.interval)
            for sock in readable:
                self._cut(sock, open_)

    def _cut(self, sock, open_):
        elapsed = time.monotonic() - self.started
        data = b""
        sock.settimeout(ANSWER_TIMEOUT)
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError:
            pass
        sock.close()
        open_.remove(sock)
        self.cut[sock] = (elapsed, data)

    def first_cut(self):
        """Seconds after the start when the first connection was cut (None: not yet)."""
        return min((elapsed for elapsed, _ in list(self.cut.values())), default=None)


def ordinary_requests(client, webhook):
    """A list and a webhook invocation: return when both were answered."""
    listed = client.get("/v1/runtimes", timeout=ANSWER_TIMEOUT)
    assert listed.status_code == 200, listed.text
    invoked = client.post(invoke_path(webhook), json={"n": 1}, timeout=ANSWER_TIMEOUT)
    assert invoked.status_code == 202, invoked.text
    return time.monotonic()


def assert_cut_off_after(trickle, deadline, faultstring):
    trickle.join(timeout=deadline + CUT_OFF_SLACK + ANSWER_TIMEOUT)
    assert len(trickle.cut) == len(trickle.sockets), "slow connections still open"
    for elapsed, data in trickle.cut.values():
        assert deadline <= elapsed < deadline + CUT_OFF_SLACK
        code, headers, body = split_answer(data)
        assert code == 408
        assert headers["content-type"] == "application/json"
        assert json.loads(body) == {
            "faultcode": "Client",
            "faultstring": faultstring,
            "debuginfo": None,
        }


@pytest.mark.parametrize(
    ("head", "piece"),
    [
        (b"GET /v1/runtimes HTTP/1.1\r\nHost: x\r\n", b"X-Slow: 1\r\n"),
        (b"", b"\r\n"),  # blank lines before a request line never end
    ],
    ids=["header-lines", "blank-lines"],
)
def test_trickled_headers_hold_no_thread_and_are_cut_off(server, client, webhook, head, piece):
    trickle = Trickle(server, head, piece)
    trickle.start()
    answered = ordinary_requests(client, webhook)
    first_cut = trickle.first_cut()
    assert first_cut is None or first_cut > answered - trickle.started, (
        "the slow connections were cut before the others were answered"
    )
    assert_cut_off_after(trickle, HEADER_TIMEOUT, "The request headers did not arrive in time.")
    assert client.get("/v1/runtimes", timeout=ANSWER_TIMEOUT).status_code == 200


def test_a_trickled_body_holds_no_thread_and_is_cut_off(server, client, webhook):
    head = (
        f"POST {invoke_path(webhook)} HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    ).encode()
    trickle = Trickle(server, head, b" ")
    trickle.start()
    answered = ordinary_requests(client, webhook)
    first_cut = trickle.first_cut()
    assert first_cut is None or first_cut > answered - trickle.started
    assert_cut_off_after(trickle, BODY_TIMEOUT, "The request body did not arrive in time.")


async def _invoke(host, port, request):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
    finally:
        writer.close()


async def _burst(host, port, request, count):
    return await asyncio.gather(
        *(_invoke(host, port, request) for _ in range(count)), return_exceptions=True
    )


def test_a_burst_of_webhook_calls_gets_answers_not_resets(server, webhook):
    body = json.dumps({"alarm": "burst"}).encode()
    request = (
        f"POST {invoke_path(webhook)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    answers = asyncio.run(_burst(*address(server), request, 300))
    failures = [a for a in answers if isinstance(a, BaseException)]
    assert not failures, f"{len(failures)} of 300 failed, e.g. {failures[0]!r}"
    codes = {}
    for data in answers:
        code, headers, _ = split_answer(data)
        codes[code] = codes.get(code, 0) + 1
        assert code == 202 or (code in (429, 503) and "retry-after" in headers), data
    assert codes.get(202), codes


def _send_and_read(server, head, body_pieces):
    """Send a request to the end, as a client that reads only then does; the answer."""
    with socket.create_connection(address(server)) as sock:
        sock.sendall(head)
        for piece in body_pieces:
            sock.sendall(piece)
        sock.settimeout(ANSWER_TIMEOUT)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
        return data


def _assert_413(data, limit):
    code, headers, body = split_answer(data)
    assert code == 413, data[:200]
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {
        "faultcode": "Client",
        "faultstring": f"Request body larger than the limit of {limit} bytes.",
        "debuginfo": None,
    }


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_an_oversized_webhook_body_is_read_as_a_413(server, webhook, chunked):
    body = b'{"x": "' + b"a" * (16 * WEBHOOK_LIMIT) + b'"}'
    head = f"POST {invoke_path(webhook)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n\r\n"
        size = 16 * 1024
        pieces = [
            b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size])
            for i in range(0, len(body), size)
        ] + [b"0\r\n\r\n"]
    else:
        head += f"Content-Length: {len(body)}\r\n\r\n"
        pieces = [body]
    for _ in range(20):  # the race between the answer and a reset is not won once
        _assert_413(_send_and_read(server, head.encode(), pieces), WEBHOOK_LIMIT)


def test_an_oversized_package_is_read_as_a_413(client, runtime):
    package = make_zip({"hello_world.py": "def main(**kw):\n    return 1\n"})
    package += b"\0" * (4 * PACKAGE_LIMIT)  # a valid size to refuse, whatever the content
    limit = PACKAGE_LIMIT + hooks.RequestBodyHook.FORM_OVERHEAD
    for _ in range(20):
        try:
            response = client.post(
                "/v1/functions",
                data={"runtime_id": runtime["id"], "code": '{"source": "package"}'},
                files={"package": ("f.zip", package)},
                timeout=ANSWER_TIMEOUT,
            )
        except requests.ConnectionError as error:
            pytest.fail(f"the client saw {error!r}, not a 413")
        assert (
            assert_error(response, 413) == f"Request body larger than the limit of {limit} bytes."
        )


def test_oversized_headers_are_a_431_in_the_json_shape(client):
    response = client.get("/v1/runtimes", headers={"X-Big": "a" * 70000}, timeout=ANSWER_TIMEOUT)
    assert assert_error(response, 431)

"""The egress forwarder: the HTTP proxy in a worker's sandbox that turns the standard
proxy settings of HTTP libraries into tunnels of the egress channel."""

import contextlib
import hashlib
import http.client
import http.server
import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import requests

from qinling_lite.runtime import egress_forwarder, tunnel
from qinling_lite.runtime.egress_forwarder import EgressForwarder
from tests.unit.runtime.conftest import ALLOWED
from tests.unit.runtime.fake_egress import Echo, FakeEgress

SWIFT = "http://{}:{}".format(*ALLOWED)


def raw(forwarder, data, timeout=10):
    """Send ``data`` to the forwarder on a new connection, and nothing more; return all
    it answers."""
    with socket.create_connection(("127.0.0.1", forwarder.port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return receive_all(sock)


def connect_status(forwarder, target="swift.example:8080"):
    """The status line the forwarder answers ``CONNECT target`` with."""
    with socket.create_connection(("127.0.0.1", forwarder.port), timeout=10) as sock:
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\n\r\n".encode())
        return status_of(sock.recv(1024))


def receive_all(sock):
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def status_of(answer):
    return answer.split(b"\r\n", 1)[0]


def wait_for(condition, timeout=10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_connect_opens_a_tunnel_through_the_channel(forwarder, egress):
    connection = http.client.HTTPConnection("127.0.0.1", forwarder.port, timeout=10)
    connection.set_tunnel(*ALLOWED)
    connection.request("GET", "/v1/AUTH_p/c?format=json", headers={"X-Auth-Token": "t"})
    answer = json.loads(connection.getresponse().read())
    # A second request rides the same tunnel.
    connection.request("GET", "/again")
    assert json.loads(connection.getresponse().read())["path"] == "/again"
    connection.close()
    assert answer["path"] == "/v1/AUTH_p/c?format=json"
    assert answer["headers"]["x-auth-token"] == "t"
    assert answer["headers"]["host"] == "swift.example:8080"
    assert egress.requests == ["CONNECT swift.example:8080"]


def test_requests_and_urllib_use_it_through_the_proxy_settings(proxy_env, egress):
    answer = requests.get(f"{SWIFT}/v1/AUTH_p?x=1", headers={"X-Auth-Token": "tok"}, timeout=10)
    assert answer.status_code == 200
    seen = answer.json()
    assert (seen["method"], seen["path"]) == ("GET", "/v1/AUTH_p?x=1")
    assert seen["headers"]["x-auth-token"] == "tok"
    assert seen["headers"]["connection"] == "close"
    opener = urllib.request.build_opener()  # it reads the proxy settings now
    with opener.open(f"{SWIFT}/from-urllib", timeout=10) as response:
        assert json.loads(response.read())["path"] == "/from-urllib"
    assert egress.requests == ["CONNECT swift.example:8080"] * 2


def test_a_body_is_relayed(proxy_env):
    body = os.urandom(3 * 1024 * 1024 + 17)
    seen = requests.post(f"{SWIFT}/upload", data=body, timeout=10).json()
    assert seen["method"] == "POST"
    assert seen["body_size"] == len(body)
    assert seen["body_sha256"] == hashlib.sha256(body).hexdigest()
    assert requests.put(f"{SWIFT}/o", json={"k": "v"}, timeout=10).json()["body_size"] == 10


def test_hop_headers_are_dropped_and_the_request_made_origin_form(forwarder):
    request = (
        b"GET http://swift.example:8080/p?q HTTP/1.1\r\nHost: swift.example:8080\r\n"
        b"Proxy-Connection: keep-alive\r\nConnection: keep-alive\r\n"
        b"Proxy-Authorization: Basic c2VjcmV0\r\nX-Kept: yes\r\n\r\n"
    )
    answer = raw(forwarder, request)
    assert status_of(answer) == b"HTTP/1.1 200 OK"
    assert answer.split(b"\r\n\r\n", 1)[0].endswith(b"\r\nConnection: close")
    seen = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert seen["path"] == "/p?q"
    headers = seen["headers"]
    assert "proxy-connection" not in headers and "proxy-authorization" not in headers
    assert (headers["connection"], headers["x-kept"]) == ("close", "yes")


def test_clients_are_told_that_the_connection_closes_after_the_answer(proxy_env, egress):
    """The endpoint closes after one answer (the forwarder asked it to) without saying
    so: a client that kept the connection for its next request would fail."""
    with requests.Session() as session:
        for number in range(20):
            answer = session.get(f"{SWIFT}/{number}", timeout=10)
            assert answer.headers["Connection"] == "close"
            assert answer.json()["path"] == f"/{number}"
    assert len(egress.requests) == 20


@pytest.mark.parametrize(
    ("answer", "passed_on"),
    [
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nConnection: keep-alive\r\n"
            b"Keep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\nok",
        ),
        (
            b"HTTP/1.0 204 No Content\r\n\r\n",
            b"HTTP/1.0 204 No Content\r\nConnection: close\r\n\r\n",
        ),
        (b"SSH-2.0-OpenSSH\r\nmore", b"SSH-2.0-OpenSSH\r\nmore"),  # no head: as it is
        (b"", b""),
    ],
)
def test_answer_heads_are_rewritten_however_they_come(answer, passed_on):
    for cut in range(len(answer) + 1):
        head = egress_forwarder._AnswerHead()  # fed as recv() gives: b"" at the end only
        pieces = [piece for piece in (answer[:cut], answer[cut:]) if piece]
        assert b"".join(head.feed(piece) for piece in [*pieces, b""]) == passed_on
    head = egress_forwarder._AnswerHead()
    assert head.feed(b"x" * 20000) == b"x" * 20000  # no head that long: as it is


def test_what_the_egress_proxy_refuses_is_refused(proxy_env, egress, echo):
    """Another host, another port of the allowed host, the service's real address: the
    engine's proxy decides, and the client gets its refusal."""
    for url in (
        "http://evil.example/",
        "http://swift.example:22/",
        f"http://127.0.0.1:{echo.port}/",
    ):
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 403
        assert "refused: 403 Forbidden" in answer.text
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        requests.get("https://evil.example/", timeout=10)
    with pytest.raises(requests.exceptions.ProxyError, match="403"):
        requests.get("https://swift.example:8443/", timeout=10)
    with pytest.raises(urllib.error.HTTPError, match="403"):
        urllib.request.build_opener().open("http://swift.example:22/", timeout=10)
    assert connect_status(proxy_env, f"127.0.0.1:{echo.port}") == b"HTTP/1.1 403 Forbidden"
    assert connect_status(proxy_env, "swift.example:8081") == b"HTTP/1.1 403 Forbidden"
    assert egress.open_tunnels == 0


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", b"400 Bad Request"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"400 Bad Request"),  # not a proxy request
        (b"GET https://swift.example:8080/ HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"GET http://[::1/ HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"GET http://swift.example:0/ HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"CONNECT swift.example HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"CONNECT swift.example:99999 HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"CONNECT a@swift.example:8080 HTTP/1.1\r\n\r\n", b"400 Bad Request"),
        (b"CONNECT swift.example:8080 HTTP/2\r\n\r\n", b"400 Bad Request"),
        (b"GET http://swift.example:8080/ HTTP/1.1\r\nno colon\r\n\r\n", b"400 Bad Request"),
        (b"GET http://swift.example:8080/ HTTP/1.1\r\n folded: x\r\n\r\n", b"400 Bad Request"),
        (b"GET http://swift.example:8080/ HTTP/1.1\r\nX: " + b"a" * 20000, b"431 Request"),
        (b"GET http://swift.example:8080/ HTTP/1.1\r\nX: " + b"a" * 16380 + b"\r\n\r\n", b"431"),
    ],
)
def test_garbage_is_answered_and_the_forwarder_goes_on(forwarder, egress, request_bytes, status):
    assert status_of(raw(forwarder, request_bytes)).startswith(b"HTTP/1.1 " + status)
    assert egress.requests == []
    assert connect_status(forwarder) == b"HTTP/1.1 200 Connection established"


def test_clients_that_go_away_or_say_nothing(forwarder, monkeypatch):
    monkeypatch.setattr(egress_forwarder, "HEAD_TIMEOUT", 0.2)
    with socket.create_connection(("127.0.0.1", forwarder.port)) as sock:
        sock.sendall(b"GET http://swift")  # and gone
    silent = socket.create_connection(("127.0.0.1", forwarder.port), timeout=10)
    with silent:
        assert status_of(receive_all(silent)) == b"HTTP/1.1 408 Request Timeout"
    assert raw(forwarder, b"") == b""  # closed at once
    assert status_of(raw(forwarder, b"GET http://swift.example:8080/ HTTP/1.1\r\n\r\n")) == (
        b"HTTP/1.1 200 OK"
    )


def test_idle_tunnels_are_closed(forwarder, egress, monkeypatch):
    monkeypatch.setattr(egress_forwarder, "IDLE_TIMEOUT", 0.2)
    with socket.create_connection(("127.0.0.1", forwarder.port), timeout=10) as sock:
        sock.sendall(b"CONNECT swift.example:8080 HTTP/1.1\r\n\r\n")
        assert receive_all(sock) == b"HTTP/1.1 200 Connection established\r\n\r\n"
    wait_for(lambda: egress.open_tunnels == 0)


def test_connections_are_capped(egress):
    forwarder = EgressForwarder(egress.worker_end, max_connections=2)
    with contextlib.ExitStack() as held:
        held.callback(forwarder.close)
        tunnels = []
        for _ in range(2):
            sock = held.enter_context(socket.create_connection(("127.0.0.1", forwarder.port)))
            sock.settimeout(10)
            sock.sendall(b"CONNECT swift.example:8080 HTTP/1.1\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            tunnels.append(sock)
        assert connect_status(forwarder) == b"HTTP/1.1 503 Service Unavailable"
        assert egress.open_tunnels == 2
        # The tunnels still work; closing one frees its place.
        tunnels[0].sendall(b"GET /still HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b'"/still"' in receive_all(tunnels[0])
        tunnels[0].close()

        def served():
            answer = raw(forwarder, b"GET http://swift.example:8080/ HTTP/1.1\r\n\r\n")
            return status_of(answer) == b"HTTP/1.1 200 OK"

        wait_for(served)


def test_a_forked_child_holds_none_of_its_sockets(forwarder, egress):
    """A tunnel ends when its client closes, although a child forked meanwhile (the next
    execution's) inherited the forwarder's descriptors."""
    sock = socket.create_connection(("127.0.0.1", forwarder.port), timeout=10)
    sock.sendall(b"CONNECT swift.example:8080 HTTP/1.1\r\n\r\n")
    assert sock.recv(100).startswith(b"HTTP/1.1 200")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports what it holds, then outlives the tunnel
        try:
            sock.close()  # the client is another process
            closed = forwarder._listener.fileno() == -1 and not forwarder._sockets
            os.write(write_end, b"closed" if closed else b"open")
            time.sleep(30)
        finally:
            os._exit(0)
    try:
        os.close(write_end)
        assert os.read(read_end, 10) == b"closed"
        sock.close()
        wait_for(lambda: egress.open_tunnels == 0, timeout=5)  # the fake's own is 10 s
        assert status_of(raw(forwarder, b"GET http://swift.example:8080/ HTTP/1.1\r\n\r\n")) == (
            b"HTTP/1.1 200 OK"
        )
    finally:
        os.close(read_end)
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_tunnels_fail_with_the_proxy_status(egress):
    with pytest.raises(tunnel.TunnelRefused, match="refused: 403 Forbidden") as refused:
        tunnel.open_tunnel(egress.worker_end, "evil.example", 443, 10)
    assert refused.value.status == "403 Forbidden"
    sock = tunnel.open_tunnel(egress.worker_end, "swift.example", 8080, 10)
    sock.close()
    assert egress.requests[-1] == "CONNECT swift.example:8080"


@pytest.mark.parametrize("answer", [b"", b"HTTP/1.1 200\r\n\r\n", b"SSH-2.0\r\n\r\n", b"x" * 2000])
def test_a_proxy_that_answers_no_status_is_a_bad_gateway(answer):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

    def answer_once():
        _, fds, _, _ = socket.recv_fds(ours, 1024, 1)
        with socket.socket(fileno=fds[0]) as client:
            client.sendall(answer)

    thread = threading.Thread(target=answer_once)
    thread.start()
    with ours, theirs, pytest.raises(tunnel.TunnelRefused) as refused:
        tunnel.open_tunnel(theirs, "::1", 5000, 10)
    thread.join()
    assert refused.value.status == "502 Bad Gateway"


@pytest.fixture
def tls_service(tmp_path):
    """An HTTPS ``Echo`` service with a certificate for swift.example: (port, CA file)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=swift.example"]
        + ["-addext", "subjectAltName=DNS:swift.example"],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    yield httpd.server_address[1], str(cert)
    httpd.shutdown()
    httpd.server_close()


def test_https_is_tls_end_to_end_through_a_connect_tunnel(tls_service, monkeypatch):
    port, ca_file = tls_service
    egress = FakeEgress({("swift.example", 8443): ("127.0.0.1", port)})
    forwarder = EgressForwarder(egress.worker_end)
    try:
        monkeypatch.setenv("HTTPS_PROXY", forwarder.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        answer = requests.get(
            "https://swift.example:8443/v1/x", headers={"X-Auth-Token": "t"}, verify=ca_file
        )
        assert answer.json()["headers"]["x-auth-token"] == "t"
        assert egress.requests == ["CONNECT swift.example:8443"]
    finally:
        forwarder.close()
        egress.close()

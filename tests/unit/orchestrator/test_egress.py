"""The egress proxy: tunnels to allowed endpoints only, within caps, used by ``os_session``."""

import http.server
import json
import os
import socket
import threading
import time

import pytest

from qinling_lite.orchestrator.local import egress
from qinling_lite.runtime import os_session


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        payload = json.dumps({"path": self.path, "token": self.headers["X-Auth-Token"]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def services():
    """Two HTTP services on loopback: (allowed URL, forbidden URL)."""
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo) for _ in range(2)]
    for httpd in servers:  # polling for shutdown every 0.5 s (the default) slowed teardowns
        threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True).start()
    yield [f"http://127.0.0.1:{httpd.server_address[1]}" for httpd in servers]
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


class Proxy(egress.EgressProxy):
    """The proxy, closing the workers' ends of its channels with it."""

    def __init__(self, *args):
        super().__init__(*args)
        self.ends = []

    def channel(self):
        self.ends.append(super().channel())
        return self.ends[-1]

    def close(self):
        for end in self.ends:
            end.close()
        super().close()


@pytest.fixture
def make_proxy():
    made = []

    def make(endpoints, per_worker=8, total=64):
        made.append(Proxy(endpoints, per_worker, total))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


@pytest.fixture
def proxy(make_proxy, services):
    return make_proxy([f"{services[0]}/v3"])


def session(channel, url):
    auth = {"auth_url": url, "token": "t", "user_id": "u", "project_id": "p", "catalog": []}
    return os_session.OpenStackSession(auth, egress=channel)


def tunnel(channel, request, send=None):
    """Ask for a tunnel as a worker would; return (our socket, the status line)."""
    ours, theirs = socket.socketpair()
    with theirs:
        socket.send_fds(channel, [request], [theirs.fileno() if send is None else send])
    ours.settimeout(10)
    return ours, ours.recv(100).split(b"\r\n")[0]


def status_of(channel, request, send=None):
    """The status line the proxy answers a tunnel request with."""
    ours, status = tunnel(channel, request, send)
    ours.close()
    return status


def test_os_session_reaches_an_allowed_endpoint_through_the_tunnel(proxy, services):
    channel = proxy.channel()
    answer = session(channel, services[0]).get(
        "/projects", endpoint_filter={"service_type": "identity"}
    )
    assert answer.json() == {"path": "/projects", "token": "t"}
    # Several calls, one tunnel each.
    assert session(channel, services[0]).get(f"{services[0]}/a?b=c").json()["path"] == "/a?b=c"


def test_anything_else_is_refused(proxy, services):
    channel = proxy.channel()
    with pytest.raises(OSError, match="403 Forbidden"):
        session(channel, services[1]).get(f"{services[1]}/")
    target = services[1].removeprefix("http://")
    assert status_of(channel, f"CONNECT {target}".encode()) == b"HTTP/1.1 403 Forbidden"
    assert status_of(channel, b"CONNECT no-port") == b"HTTP/1.1 400 Bad Request"
    assert status_of(channel, b"GET / HTTP/1.1") == b"HTTP/1.1 400 Bad Request"
    allowed = services[0].removeprefix("http://")
    assert status_of(channel, f"CONNECT {allowed} HTTP/1.1".encode()) == b"HTTP/1.1 400 Bad Request"


def test_garbage_on_the_channel_does_not_stop_the_proxy(proxy, services):
    """A hostile worker sends no fd, a file instead of a socket, many fds, empty requests."""
    channel = proxy.channel()
    channel.send(b"CONNECT without a socket")
    with open(os.devnull) as file:
        socket.send_fds(channel, [b"CONNECT 127.0.0.1:1"], [file.fileno()])
        socket.send_fds(channel, [b"x" * 4096], [file.fileno()] * 3)
    datagram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    with datagram:
        socket.send_fds(channel, [b"CONNECT 127.0.0.1:1"], [datagram.fileno()])
    # The proxy still serves this worker and the others.
    assert session(channel, services[0]).get(f"{services[0]}/ok").json()["path"] == "/ok"
    assert session(proxy.channel(), services[0]).get(f"{services[0]}/").status_code == 200


def test_tunnels_are_capped_per_worker_and_in_all(make_proxy, services):
    proxy = make_proxy([services[0]], per_worker=2, total=3)
    target = services[0].removeprefix("http://").encode()
    greedy, modest = proxy.channel(), proxy.channel()
    held = [tunnel(greedy, b"CONNECT " + target) for _ in range(2)]
    assert [status for _, status in held] == [b"HTTP/1.1 200 Connection established"] * 2
    assert status_of(greedy, b"CONNECT " + target) == b"HTTP/1.1 429 Too Many Requests"
    third = tunnel(modest, b"CONNECT " + target)
    assert third[1] == b"HTTP/1.1 200 Connection established"
    assert status_of(modest, b"CONNECT " + target) == b"HTTP/1.1 429 Too Many Requests"
    assert proxy.open_tunnels() == 3
    # Closing a tunnel frees its place.
    for sock, _ in (*held, third):
        sock.close()  # the proxy sees the end of the tunnel
    deadline = time.monotonic() + 10
    while proxy.open_tunnels() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.open_tunnels() == 0
    assert status_of(greedy, b"CONNECT " + target) == b"HTTP/1.1 200 Connection established"


def test_a_gone_worker_is_forgotten(proxy, services):
    proxy.channel().close()
    deadline = time.monotonic() + 10
    while len(proxy._tunnels) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy._tunnels == {}


def test_an_unreachable_allowed_endpoint_is_a_502(make_proxy):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the proxy tries it
    proxy = make_proxy([f"http://127.0.0.1:{port}"])
    status = status_of(proxy.channel(), f"CONNECT 127.0.0.1:{port}".encode())
    assert status == b"HTTP/1.1 502 Bad Gateway"


def test_endpoint_urls_give_host_and_port():
    assert egress.host_port("https://keystone.example.org/v3") == ("keystone.example.org", 443)
    assert egress.host_port("http://[::1]:5000") == ("::1", 5000)
    with pytest.raises(ValueError):
        egress.host_port("keystone:5000")

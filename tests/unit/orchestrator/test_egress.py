"""The egress proxy: tunnels to allowed endpoints only, used by ``os_session``."""

import http.server
import json
import socket
import threading

import pytest

from qinling_lite.orchestrator.local import egress
from qinling_lite.runtime import server


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
    for httpd in servers:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield [f"http://127.0.0.1:{httpd.server_address[1]}" for httpd in servers]
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def proxy(services, tmp_path):
    running = egress.EgressProxy(str(tmp_path / "egress.sock"), [f"{services[0]}/v3"])
    yield running
    running.close()


def session(proxy, url):
    auth = {"auth_url": url, "token": "t", "user_id": "u", "project_id": "p", "catalog": []}
    return server.OpenStackSession(auth, egress=proxy.path)


def connect(proxy, target):
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(proxy.path)
        sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
        return sock.recv(100).split(b"\r\n")[0]


def test_os_session_reaches_an_allowed_endpoint_through_the_tunnel(proxy, services):
    answer = session(proxy, services[0]).get(
        "/projects", endpoint_filter={"service_type": "identity"}
    )
    assert answer.json() == {"path": "/projects", "token": "t"}
    # Several calls, one tunnel each.
    assert session(proxy, services[0]).get(f"{services[0]}/a?b=c").json()["path"] == "/a?b=c"


def test_anything_else_is_refused(proxy, services):
    with pytest.raises(OSError, match="403 Forbidden"):
        session(proxy, services[1]).get(f"{services[1]}/")
    assert connect(proxy, services[1].removeprefix("http://")) == b"HTTP/1.1 403 Forbidden"
    assert connect(proxy, "no-port") == b"HTTP/1.1 400 Bad Request"


def test_an_unreachable_allowed_endpoint_is_a_502(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the proxy tries it
    proxy = egress.EgressProxy(str(tmp_path / "e.sock"), [f"http://127.0.0.1:{port}"])
    try:
        assert connect(proxy, f"127.0.0.1:{port}") == b"HTTP/1.1 502 Bad Gateway"
    finally:
        proxy.close()


def test_endpoint_urls_give_host_and_port():
    assert egress.host_port("https://keystone.example.org/v3") == ("keystone.example.org", 443)
    assert egress.host_port("http://[::1]:5000") == ("::1", 5000)
    with pytest.raises(ValueError):
        egress.host_port("keystone:5000")

"""A runtime with the "openstack" environment on a real ``qinling-lite-serve``: its functions
import python-swiftclient, keystoneauth1 and openstacksdk, and their own HTTP stacks
(``requests``, ``urllib.request``, through the proxy the runtime server names in
``HTTP_PROXY``) reach the egress endpoints and nothing else; a runtime without it has the
standard library only. The environment is built with ``qinling-lite-manage
runtime-environment build`` (``tests.runtime_environments``)."""

import http.server
import threading

import pytest

from tests.security.test_sandbox import MIB, REQUIRE_BWRAP, run

IMAGE = "python3-openstack"
INSIDE = "/qinling/site-packages/"  # [local_orchestrator]'s sandbox.LIBRARY_INSIDE

needs_bwrap = pytest.mark.skipif(
    not REQUIRE_BWRAP, reason="egress through the proxy is for bubblewrap workers"
)


class _Endpoint(http.server.ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 that answers every GET with 200 and its ``name``, and
    counts them."""

    def __init__(self, name):
        self.name = name
        self.hits = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(handler):  # noqa: N805
                self.hits += 1
                body = self.name.encode()
                handler.send_response(200)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)

            def log_message(handler, *args):  # noqa: N805
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


@pytest.fixture(scope="module")
def allowed():
    """The egress endpoint: an OpenStack API, as far as the engine knows."""
    with _Endpoint("allowed") as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def other():
    """Another service of the host, not an egress endpoint."""
    with _Endpoint("other") as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def server_config(openstack_runtime_environment, allowed):
    return (
        "[local_orchestrator]\npool_size = 1\n"
        f"egress_endpoints = {allowed.url.rstrip('/')}\n"
        f"runtime_environments = {IMAGE}:{openstack_runtime_environment}\n"
    )


@pytest.fixture(scope="module")
def openstack_runtime(client):
    return client.create_runtime(image=IMAGE)


IMPORTS = """
import sys

import keystoneauth1.session
import openstack.connection
import swiftclient.client

def main(names, **kwargs):
    importable = {}
    for name in names:
        try:
            __import__(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    return {
        'files': {module.__name__: module.__file__
                  for module in (keystoneauth1.session, openstack.connection, swiftclient.client)},
        'importable': importable,
    }
"""

STDLIB_ONLY = """
def main(names, **kwargs):
    importable = {}
    for name in names:
        try:
            __import__(name)
            importable[name] = True
        except ImportError:
            importable[name] = False
    return importable
"""

LIBRARIES = ["swiftclient", "keystoneauth1", "openstack", "requests"]
CONTROL_PLANE = ["qinling_lite", "oslo_config", "sqlalchemy"]


def test_the_environment_imports_the_openstack_clients(client, openstack_runtime):
    _, execution, seen = run(
        client, openstack_runtime, IMPORTS, memory_size=64 * MIB, names=CONTROL_PLANE
    )
    assert execution["status"] == "success", execution
    assert set(seen["files"]) == {
        "keystoneauth1.session",
        "openstack.connection",
        "swiftclient.client",
    }
    if REQUIRE_BWRAP:
        assert all(path.startswith(INSIDE) for path in seen["files"].values()), seen["files"]
    assert seen["importable"] == dict.fromkeys(CONTROL_PLANE, False)


def test_a_runtime_without_it_has_the_standard_library_only(client, runtime):
    _, execution, seen = run(client, runtime, STDLIB_ONLY, names=LIBRARIES + CONTROL_PLANE)
    assert execution["status"] == "success", execution
    assert seen == dict.fromkeys(LIBRARIES + CONTROL_PLANE, False)


EGRESS = """
import os
import socket
import urllib.error
import urllib.request

import requests

def with_requests(url):
    try:
        response = requests.get(url, timeout=20)
    except requests.RequestException as exc:
        return ['error', type(exc).__name__]
    return [response.status_code, response.text[:100]]

def with_urllib(url):
    try:
        with urllib.request.urlopen(url, timeout=20) as response:
            return [response.status, response.read(100).decode('utf-8', 'replace')]
    except urllib.error.HTTPError as exc:
        return [exc.code, '']
    except OSError as exc:
        return ['error', type(exc).__name__]

def directly(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=5).close()
    except OSError as exc:
        return type(exc).__name__
    return 'connected'

def main(urls, port, **kwargs):
    return {
        'proxy': [os.environ.get(name) for name in ('HTTP_PROXY', 'HTTPS_PROXY')],
        'requests': [with_requests(url) for url in urls],
        'urllib': [with_urllib(url) for url in urls],
        'direct': directly(port),
    }
"""


@needs_bwrap
def test_libraries_reach_the_egress_endpoints_only(
    client, server, openstack_runtime, allowed, other
):
    refused = [server["url"] + "/", "http://127.0.0.1:5432/", other.url]
    https = [allowed.url.replace("http:", "https:"), "https://127.0.0.1:5432/"]
    port = allowed.server_address[1]
    _, execution, seen = run(
        client,
        openstack_runtime,
        EGRESS,
        memory_size=64 * MIB,
        timeout=120,
        urls=[allowed.url, *refused, *https],
        port=port,
    )
    assert execution["status"] == "success", execution
    proxy = seen["proxy"][0]
    assert proxy and proxy.startswith("http://127.0.0.1:") and seen["proxy"][1] == proxy
    for stack in ("requests", "urllib"):
        # The endpoint answers; the API, the database's port and the other service are
        # refused by the engine's egress proxy, its 403 passed on by the forwarder.
        assert seen[stack][0] == [200, "allowed"], seen[stack]
        assert [answer[0] for answer in seen[stack][1:4]] == [403] * 3, seen[stack]
    # HTTPS goes through CONNECT: to the endpoint the tunnel opens (and TLS then fails,
    # it speaks plain HTTP); elsewhere the forwarder refuses the tunnel.
    assert seen["requests"][4:] == [["error", "SSLError"], ["error", "ProxyError"]]
    assert seen["urllib"][4][0] == "error" and seen["urllib"][5][0] == "error"
    assert seen["direct"] != "connected"
    assert allowed.hits == 2 and other.hits == 0

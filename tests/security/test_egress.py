"""A hostile function against the engine's egress proxy: it finds its channel among its
file descriptors and asks for tunnels without end (``os_session`` is not needed)."""

import os
import socket

import pytest

from tests.security.test_sandbox import run

if os.environ.get("QINLING_LITE_REQUIRE_BWRAP") != "1":
    pytest.skip("egress tunnels are for bubblewrap workers", allow_module_level=True)


@pytest.fixture(scope="module")
def egress_target():
    """A TCP listener standing for an OpenStack API."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def server_config(egress_target):
    return f"[local_orchestrator]\npool_size = 1\negress_endpoints = http://{egress_target}\n"


EGRESS = """
import os, socket

def main(target, count, **kwargs):
    channel = None
    for fd in range(3, 64):
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        if sock.type == socket.SOCK_SEQPACKET:
            channel = sock
            break
        sock.detach()
    statuses, held = [], []
    for _ in range(count):
        ours, theirs = socket.socketpair()
        socket.send_fds(channel, [f'CONNECT {target}'.encode()], [theirs.fileno()])
        theirs.close()
        ours.settimeout(10)
        statuses.append(ours.recv(100).split(b'\\r\\n')[0].decode())
        held.append(ours)
    return statuses
"""


def test_the_egress_proxy_caps_a_worker_tunnels(client, runtime, egress_target):
    _, execution, statuses = run(client, runtime, EGRESS, target=egress_target, count=40)
    assert execution["status"] == "success", execution
    established = statuses.count("HTTP/1.1 200 Connection established")
    assert established == 8  # [local_orchestrator] egress_tunnels_per_worker
    assert statuses[8:] == ["HTTP/1.1 429 Too Many Requests"] * 32

"""Fixtures of tests/unit: the guard that keeps them off servers and the network, and a
fake Kubernetes cluster for the orchestrator's and the engine's tests.

Unit tests may use SQLite files, the in-process ``fake://`` transport and processes of
their own on Unix sockets or 127.0.0.1. Any other connection fails the test: a test that
needs MySQL, PostgreSQL, RabbitMQ, Keystone or the internet belongs in tests/functional.

The real ``kubernetes`` client talks to a fake API server over HTTP; every object it sent
is validated at teardown with kubernetes-validate, strict and offline.
"""

import ipaddress
import shutil
import socket
import tempfile

import psycopg2
import pytest

from tests.unit.orchestrator.kubernetes import fake_api, harness

# Loopback ports of the servers unit tests must not use (Keystone: public and admin).
SERVER_PORTS = {
    3306: "MySQL",
    5432: "PostgreSQL",
    5672: "RabbitMQ",
    6379: "Redis",
    5000: "Keystone",
    35357: "Keystone",
}


def refusal(family, address):
    """Why a unit test may not connect a ``family`` socket to ``address``, or None."""
    if family not in (socket.AF_INET, socket.AF_INET6):
        return None
    host, port = address[:2]
    if host == "localhost":
        loopback = True
    else:
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return f"{host} is a name to resolve, not a loopback address"
        loopback = (getattr(ip, "ipv4_mapped", None) or ip).is_loopback
    if not loopback:
        return f"{host} is not a loopback address"
    if port in SERVER_PORTS:
        return f"port {port} is {SERVER_PORTS[port]}'s"
    return None


class NetworkGuard:
    """Refuses, and records, connections that unit tests must not make.

    The refusal raises ``ConnectionRefusedError`` in the caller; as libraries may swallow
    or retry it, the test also fails at teardown with the recorded violations.
    """

    def __init__(self):
        self.violations = []

    def _refuse(self, what, reason):
        self.violations.append(f"{what}: {reason}")
        raise ConnectionRefusedError(f"tests/unit may not connect to {what} ({reason})")

    def install(self, monkeypatch):
        guard = self
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

        def checked(original):
            def method(sock, address):
                reason = refusal(sock.family, address)
                if reason is not None:
                    guard._refuse(f"{address!r}", reason)
                return original(sock, address)

            return method

        def postgresql(*args, **kwargs):  # libpq opens its sockets in C
            guard._refuse("PostgreSQL", "a database server")

        monkeypatch.setattr(socket.socket, "connect", checked(connect))
        monkeypatch.setattr(socket.socket, "connect_ex", checked(connect_ex))
        monkeypatch.setattr(psycopg2, "connect", postgresql)


@pytest.fixture(scope="package", autouse=True)
def _network_guard():
    """The guard, in force from the first unit test to the last (fixtures included)."""
    guard = NetworkGuard()
    with pytest.MonkeyPatch.context() as monkeypatch:
        guard.install(monkeypatch)
        yield guard


@pytest.fixture(autouse=True)
def network_guard(_network_guard):
    """Fails the test that made (or whose fixtures made) a refused connection."""
    yield _network_guard
    violations, _network_guard.violations = _network_guard.violations, []
    if violations:
        pytest.fail(
            "tests/unit needs no server and no network; move the test to tests/functional. "
            "Refused: " + "; ".join(violations),
            pytrace=False,
        )


@pytest.fixture
def launcher():
    directory = tempfile.mkdtemp(prefix="ql-k8s-")
    runner = harness.Launcher(directory)
    yield runner
    runner.stop_all()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def cluster(launcher):
    """A FakeCluster that runs the test images, and runtime servers for its pool pods
    only if the test sets ``cluster.launcher = launcher``.

    It outlives the orchestrators (whose pod deletions start replacements) and the
    launcher outlives it.
    """
    fake = fake_api.FakeCluster(images=harness.IMAGES)
    yield fake
    fake.close()
    for kind, manifest in fake.sent:
        harness.validate(kind, manifest)


@pytest.fixture
def kubernetes_conf(cluster, tmp_path, config_fixture):
    """CONF for a Kubernetes orchestrator talking to the fake API server."""
    api = fake_api.FakeApiServer(cluster)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(harness.KUBECONFIG.format(url=api.url))
    config_fixture.config(
        group="kubernetes",
        kubeconfig=str(kubeconfig),
        replicas=2,
        poll_interval=0.01,
        pool_timeout=2,
        load_timeout=10,
        max_workers_per_function=3,
    )
    config_fixture.config(group="engine", orchestrator="kubernetes")
    yield config_fixture.conf
    api.close()

"""The guard of tests/unit/conftest.py: what unit tests may connect to."""

import socket

import psycopg2
import pytest

from tests.unit import conftest


@pytest.mark.parametrize(
    ("family", "address"),
    [
        (socket.AF_INET, ("192.0.2.1", 80)),
        (socket.AF_INET, ("example.org", 443)),
        (socket.AF_INET, ("127.0.0.1", 3306)),
        (socket.AF_INET, ("127.0.0.1", 5432)),
        (socket.AF_INET, ("127.0.0.1", 5672)),
        (socket.AF_INET, ("localhost", 5000)),
        (socket.AF_INET6, ("2001:db8::1", 80, 0, 0)),
        (socket.AF_INET6, ("::ffff:127.0.0.1", 6379, 0, 0)),
    ],
)
def test_servers_and_the_network_are_refused_and_fail_the_test(network_guard, family, address):
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        with pytest.raises(ConnectionRefusedError, match="tests/unit may not connect"):
            sock.connect(address)
        with pytest.raises(ConnectionRefusedError):
            sock.connect_ex(address)
    assert len(network_guard.violations) == 2
    network_guard.violations.clear()  # the refusal was the point of this test


def test_postgresql_is_refused_whatever_the_address(network_guard):
    with pytest.raises(ConnectionRefusedError):
        psycopg2.connect(host="/var/run/postgresql", dbname="test")
    assert network_guard.violations == ["PostgreSQL: a database server"]
    network_guard.violations.clear()


def test_loopback_and_unix_sockets_are_allowed(network_guard):
    with socket.create_server(("127.0.0.1", 0)) as server:
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
    assert conftest.refusal(socket.AF_UNIX, "/tmp/x.sock") is None
    assert conftest.refusal(socket.AF_INET6, ("::1", 8080, 0, 0)) is None
    assert network_guard.violations == []

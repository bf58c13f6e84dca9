"""Tunnels through the engine's egress proxy, over the worker's egress channel.

The channel is a Unix ``SOCK_SEQPACKET`` socket. A tunnel is asked for with one message,
``CONNECT host:port``, that carries one end of a fresh socket pair; the proxy answers on
that socket (``HTTP/1.1 200 Connection established``, or a refusal such as 403 or 429)
and then relays its bytes to the endpoint. The proxy alone decides what may be reached.
"""

import re
import socket

MAX_ANSWER_BYTES = 1024
UNANSWERED = "502 Bad Gateway"


class TunnelRefused(OSError):
    """The egress proxy did not open the tunnel; ``status`` is why, as an HTTP status
    (its answer, such as ``403 Forbidden``, or ``502 Bad Gateway`` if it gave none)."""

    def __init__(self, host, port, status):
        super().__init__(f"egress to {host}:{port} refused: {status}")
        self.status = status


def open_tunnel(channel, host, port, timeout):
    """A stream socket to ``host:port`` through the egress proxy at the other end of
    ``channel``, with ``timeout`` set; TunnelRefused if the proxy refuses it."""
    sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with theirs:
            authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            socket.send_fds(channel, [f"CONNECT {authority}".encode()], [theirs.fileno()])
        sock.settimeout(timeout)
        status = _read_status(sock)
        if status.startswith("200 "):
            return sock
        raise TunnelRefused(host, port, status)
    except BaseException:
        sock.close()
        raise


def _read_status(sock):
    """The status of the proxy's answer (``200 Connection established``), read byte by
    byte: what follows its head is the endpoint's. UNANSWERED if it is not one."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte or len(head) == MAX_ANSWER_BYTES:
            return UNANSWERED
        head += byte
    version, _, status = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
    if not version.startswith("HTTP/1.") or not re.fullmatch(r"[1-5][0-9][0-9] [ -~]*", status):
        return UNANSWERED
    return status

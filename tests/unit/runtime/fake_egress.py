"""A worker's outside, on loopback: the engine's egress proxy as a worker sees it, and an
HTTP service to reach through it."""

import hashlib
import http.server
import json
import os
import selectors
import socket
import threading


class FakeEgress:
    """The far end of a worker's egress channel, speaking the proxy's protocol.

    A tunnel to a ``(host, port)`` of ``routes`` goes to the local address it maps to, so
    that names need no resolving; any other target is refused with 403, as the engine's
    proxy refuses what its configuration does not list.
    """

    def __init__(self, routes):
        self.routes = dict(routes)
        self.worker_end, self._ours = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.requests = []  # every message received on the channel
        self.open_tunnels = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def close(self):
        self._ours.shutdown(socket.SHUT_RDWR)  # wakes the receiving thread
        self._thread.join()
        self._ours.close()
        self.worker_end.close()

    def _serve(self):
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self._ours, 1024, 4)
            except OSError:
                return
            if not message and not fds:
                return
            self.requests.append(message.decode("latin-1"))
            for extra in fds[1:]:
                os.close(extra)
            if not fds:
                continue
            client = socket.socket(fileno=fds[0])
            words = message.decode("latin-1").split()
            target = None
            if len(words) == 2 and words[0] == "CONNECT":
                host, _, port = words[1].rpartition(":")
                target = self.routes.get((host.strip("[]"), int(port) if port.isdigit() else 0))
            if target is None:
                with client:
                    client.sendall(b"HTTP/1.1 403 Forbidden\r\n\r\n")
                continue
            with self._lock:
                self.open_tunnels += 1
            threading.Thread(target=self._tunnel, args=(client, target), daemon=True).start()

    def _tunnel(self, client, target):
        try:
            with client, socket.create_connection(target, timeout=10) as upstream:
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                relay(client, upstream)
        except OSError:
            pass
        finally:
            with self._lock:
                self.open_tunnels -= 1


def relay(one, other):
    peers = {one: other, other: one}
    with selectors.DefaultSelector() as selector:
        for sock in peers:
            selector.register(sock, selectors.EVENT_READ)
        while events := selector.select(10):
            for key, _ in events:
                data = key.fileobj.recv(65536)
                if not data:
                    return
                peers[key.fileobj].sendall(data)


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers what it received: method, path, headers, and the body's size and hash."""

    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        payload = json.dumps(
            {
                "method": self.command,
                "path": self.path,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "body_size": len(body),
                "body_sha256": hashlib.sha256(body).hexdigest(),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer  # noqa: N815 (http.server names)

    def log_message(self, *args):
        pass


class EchoService:
    """An ``Echo`` HTTP service on 127.0.0.1:``port``."""

    def __init__(self):
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()

    def close(self):
        self._httpd.shutdown()
        self._httpd.server_close()

"""Runtime server: the HTTP server that runs inside every worker.

It loads one function package, pre-imports the user code once, then runs each
execution in a forked child of this warm process, with resource limits.

The runtime package imports only the standard library: it runs as one zip application
(``archive.py``), ``python3 -I -S runtime.pyz``, in a sandbox where nothing else is
importable but for the runtime's libraries (``--library-path``). This module is its entry
point: the command line, signals, the server's life.
"""

import argparse
import contextlib
import os
import signal
import socket
import sys

from . import processes
from .egress_forwarder import EgressForwarder
from .http_server import Handler, InheritedUnixServer, TCPServer, UnixServer
from .protocol import MAX_LOG_BYTES
from .runner import FunctionRunner


class Terminate(BaseException):
    """Raised by the SIGTERM handler to stop the server."""


_terminating: list[int] = []  # not empty once SIGTERM came


def _on_sigterm(signum, frame):
    _terminating.append(signum)
    raise Terminate


def _check_terminating():
    """Between requests: raise Terminate again if code that ignores exceptions (an
    at-fork handler, a finalizer) swallowed the handler's."""
    if _terminating:
        raise Terminate


def _parse_args(argv):
    parser = argparse.ArgumentParser(description="qinling-lite runtime server")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix-socket", help="path of the Unix socket to listen on")
    where.add_argument("--host", help="address to listen on (with --port)")
    where.add_argument(
        "--listen-fd", type=int, help="inherited file descriptor of a listening Unix socket"
    )
    parser.add_argument("--port", type=int)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--idle-timeout", type=float, default=2.0)
    parser.add_argument("--max-log-bytes", type=int, default=MAX_LOG_BYTES)
    parser.add_argument(
        "--own-pid-namespace",
        action="store_true",
        help="the server and its executions are alone in their pid namespace (but for its "
        "pid 1): each execution ends by killing every other process in it; the server "
        "refuses to start where it sees other processes",
    )
    parser.add_argument(
        "--egress-fd",
        type=int,
        help="inherited file descriptor of the channel to the egress proxy, through which "
        "OpenStack APIs are reached; an HTTP proxy on 127.0.0.1 forwards to it, and "
        "HTTP_PROXY and HTTPS_PROXY name that proxy",
    )
    parser.add_argument(
        "--library-path",
        action="append",
        default=[],
        metavar="DIR",
        help="a site-packages directory of the runtime's libraries, added (with its .pth "
        "files) at the end of the path the function imports from; repeatable",
    )
    args = parser.parse_args(argv)
    if (args.host is None) != (args.port is None):
        parser.error("--host and --port go together")
    for directory in args.library_path:
        if not os.path.isdir(directory):
            parser.error(f"--library-path {directory}: not a directory")
    return args


def add_libraries(directories):
    """Make the libraries in ``directories`` importable, after everything else: the
    function's package, this server and the standard library come first."""
    if directories:
        import site  # not imported by ``-S``; importing it then changes nothing

        for directory in directories:
            site.addsitedir(directory)


def use_forwarder(forwarder):
    """Point the standard proxy settings of this process, and so of the functions it
    runs, at the egress forwarder, for every host."""
    for name in ("NO_PROXY", "no_proxy"):
        os.environ.pop(name, None)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        os.environ[name] = forwarder.url


def main(argv=None):
    args = _parse_args(argv)
    if args.own_pid_namespace and (others := processes.others_visible()):
        # An execution ends with kill(-1): here it would kill every process it may signal.
        sys.exit(
            f"--own-pid-namespace, but {len(others)} other processes are visible (pids "
            f"{', '.join(map(str, others[:5]))}...): this server is not alone in its pid "
            "namespace."
        )
    egress = socket.socket(fileno=args.egress_fd) if args.egress_fd is not None else None
    os.makedirs(args.workdir, exist_ok=True)
    add_libraries(args.library_path)
    forwarder = None
    if egress is not None:
        forwarder = EgressForwarder(egress)
        use_forwarder(forwarder)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Alone in its pid namespace but for its pid 1, or pid 1 itself, as in a container.
    own_pid_namespace = args.own_pid_namespace or os.getpid() == 1
    processes.become_subreaper()
    if args.listen_fd is not None:
        server = InheritedUnixServer(args.listen_fd, Handler)
    elif args.unix_socket:
        server = UnixServer(args.unix_socket, Handler)
    else:
        server = TCPServer((args.host, args.port), Handler)
    server.runner = FunctionRunner(args.workdir, args.max_log_bytes, own_pid_namespace, egress)
    server.idle_timeout = args.idle_timeout
    server.service_actions = _check_terminating
    try:
        server.serve_forever()
    except Terminate:
        pass
    finally:
        server.runner.stop()
        server.server_close()
        if forwarder is not None:
            forwarder.close()
        if args.unix_socket:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(args.unix_socket)


if __name__ == "__main__":
    main()

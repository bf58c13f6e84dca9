"""The embedded HTTP server of ``qinling-lite-serve``: waitress, bounded against slow clients.

Why waitress: its I/O thread reads whole requests, headers and body, before a worker
thread sees them, so a client that trickles a request holds a connection, never a
thread. cheroot, the server before it, reads requests in its worker threads: more threads
only make an attacker open more slow connections. Measured on 2 shared cores with
``benchmarks/attacks.py``, each server in turn within each round, medians:

==============================================  ==========  ==========  ==========
server                                          cheroot     cheroot     waitress
                                                defaults    tuned [1]_  (this)
==============================================  ==========  ==========  ==========
webhook 202s, 32 clients (wrk), req/s [2]_      216         195         176
CPU of the server per webhook 202, ms [2]_      4.7         5.0         5.7
GET /v1/runtimes during slowloris [3]_          no answer   no answer   p50 4 ms,
                                                in 30 s     in 30 s     max 164 ms
slowloris connections cut off after             still open  still open  10 s
                                                at 40 s     at 40 s
300 concurrent webhook POSTs answered [4]_      141         300         300
==============================================  ==========  ==========  ==========

.. [1] Listen backlog 2048 (cheroot's default is 5), 5 s socket timeout, the same
   8 threads.
.. [2] 5 rounds; another run of 4: cheroot tuned 211 req/s, 4.7 ms; waitress 192 req/s,
   5.4 ms. With 4 or 16 threads waitress did less (180 and 157 req/s).
.. [3] 12 connections each sending one header line every 2 s; a GET every 0.5 s. 3 rounds.
.. [4] The others timed out (their connection attempts were dropped from the full
   listen queue). 3 rounds; 50 concurrent POSTs were all answered by all three.

Those waitress figures were taken with ``readable()`` and ``writable()`` overridden on
every connection, which the I/O loop calls for each connection on each turn; they are
now replaced on draining connections only. Measured again after that (``benchmarks/
attacks.py --scenario throughput``, 3 rounds): the previous commit with cheroot 192
webhook 202s/s at 4.7 ms of CPU each, waitress 196/s at 5.1 ms: the same throughput, 9%
more CPU per request (a request passes from the I/O thread to a worker thread and back).

What this module adds to waitress, each in a small subclass:

* total deadlines: waitress only closes a connection that stays silent for
  ``channel_timeout``, which one byte every few seconds defeats. A request's headers must
  arrive within ``[api] header_timeout`` of its first byte, and its body within
  ``[api] body_timeout`` plus one second per ``[api] body_min_rate`` bytes received;
  checked once a second by the server's periodic maintenance, answered with a 408;
* the API's own body limits (``RequestBodyHook``), applied as soon as the headers are
  read, so that an oversized body is refused before it is received;
* errors in the API's JSON shape (``{"faultcode", "faultstring", "debuginfo"}``);
* a lingering close after an error answer: the server shuts its side down and reads and
  discards what the client still sends (for ``LINGER_TIME`` seconds, and at most
  ``DRAIN_BYTES`` or twice the largest accepted body), so that a client still sending its
  body reads the 413 instead of a connection reset.
"""

import dataclasses
import json
import logging
import socket
import time
from collections.abc import Callable

from waitress import channel as waitress_channel
from waitress import parser as waitress_parser
from waitress import server as waitress_server
from waitress import task as waitress_task
from waitress import utilities

from qinling_lite.api import errors, hooks

# Seconds a connection is drained after an error answer, before it is closed anyway,
# and how many bytes at least (twice the largest accepted body if that is more).
LINGER_TIME = 5
DRAIN_BYTES = 64 * 1024 * 1024
# How often deadlines are checked: waitress's maintenance runs at most this often.
CHECK_INTERVAL = 1


class RequestTimeout(utilities.BadRequest):
    code = 408
    reason = "Request Timeout"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may take: time for its headers and body, and body size."""

    header_timeout: float
    body_timeout: float
    body_min_rate: float
    body_limit: Callable[[str], int]  # the largest body accepted on a path
    largest_body: int  # the largest body accepted on any path
    linger_time: float = LINGER_TIME

    @property
    def drain_bytes(self):
        return max(DRAIN_BYTES, 2 * self.largest_body)


class _Request(waitress_parser.HTTPRequestParser):
    """One request as it arrives, with its deadlines and the API's body limit."""

    def __init__(self, adj, limits):
        super().__init__(adj)
        self.limits = limits
        self.started = time.monotonic()
        self.body_started = None
        self.body_limit = None

    def received(self, data):
        skipped = 0
        if self.body_rcv is None and not self.header_plus and not self.completed:
            # Blank lines before a request line are not a request of their own here
            # (waitress would complete an empty one): they do not restart the clock.
            stripped = data.lstrip()
            if not stripped:
                return len(data)
            skipped, data = len(data) - len(stripped), stripped
        consumed = skipped + super().received(data)
        if self.headers_finished and self.body_started is None:
            self.body_started = time.monotonic()
            if self.error is None or isinstance(self.error, utilities.RequestEntityTooLarge):
                self.body_limit = self.limits.body_limit(self.path)
            if self.error is None and self.content_length > self.body_limit:
                self.error = utilities.RequestEntityTooLarge("")
        if (
            self.error is None
            and self.body_rcv is not None
            and len(self.body_rcv) > self.body_limit  # a chunked body
        ):
            self.error = utilities.RequestEntityTooLarge("")
        if self.error is None:
            return consumed
        if isinstance(self.error, utilities.RequestEntityTooLarge):
            limit = self.body_limit or self.limits.largest_body
            self.error.body = f"Request body larger than the limit of {limit} bytes."
        self.completed = True
        self.expect_continue = False  # no "100 Continue" for a refused body
        # What follows a refused request is drained, never parsed as another request.
        return skipped + len(data)

    def deadline(self):
        if not self.headers_finished:
            return self.started + self.limits.header_timeout
        received = len(self.body_rcv) if self.body_rcv is not None else 0
        return self.body_started + self.limits.body_timeout + received / self.limits.body_min_rate

    def postpone(self, seconds):
        self.started += seconds
        if self.body_started is not None:
            self.body_started += seconds

    def time_out(self):
        if self.headers_finished:
            self.error = RequestTimeout("The request body did not arrive in time.")
        else:
            self.parse_header(b"GET / HTTP/1.0\r\n")  # as waitress does for a 431
            self.error = RequestTimeout("The request headers did not arrive in time.")
        self.completed = True
        self.expect_continue = False


class _ErrorTask(waitress_task.ErrorTask):
    """The server's own refusals, in the API's JSON error shape."""

    def execute(self):
        error = self.request.error
        if error.code == 500:
            faultstring = errors.INTERNAL_ERROR
        elif isinstance(error, RequestTimeout) or error.code == 413:
            faultstring = error.body
        else:
            faultstring = f"{error.reason}: {error.body}."
        body = json.dumps(errors.body(error.code, faultstring)).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.channel.refused = True  # the client may still be sending: linger
        self.write(body)


class _Channel(waitress_channel.HTTPChannel):
    """A connection: deadlines on its request, and a lingering close after an error."""

    error_task_class = _ErrorTask
    refused = False
    drain_deadline = None
    drained = 0

    def parser_class(self, adj):
        """Each request the channel reads knows its server's limits."""
        return _Request(adj, self.server.limits)

    def time_out(self):
        """Answer the request being received with a 408 (from the I/O thread)."""
        request = self.request
        with self.requests_lock:
            if self.requests or self.will_close or self.close_when_flushed:
                return
            request.time_out()
            self.request = None
            self.requests.append(request)
            self.server.add_task(self)

    @property
    def draining(self):
        return self.drain_deadline is not None

    def _drain_readable(self):
        return True

    def _drain_writable(self):
        return self.will_close

    def _drain_read(self):
        try:
            data = self.recv(self.adj.recv_bytes)  # at the end, recv closes the channel
        except OSError:
            self.handle_close()
            return
        self.drained += len(data)
        if self.drained > self.server.limits.drain_bytes:
            self.handle_close()

    def handle_close(self):
        if self.refused and not self.draining and self.connected and not self.total_outbufs_len:
            # The error answer is sent. Closing now with unread data would reset the
            # connection and might discard the answer before the client reads it.
            try:
                self.socket.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            else:
                self.drain_deadline = time.monotonic() + self.server.limits.linger_time
                self.will_close = self.close_when_flushed = False
                # From now on only read and discard. Set on this channel only: the I/O
                # loop calls readable() and writable() of every channel on every turn.
                self.readable = self._drain_readable
                self.writable = self._drain_writable
                self.handle_read = self._drain_read
                return
        super().handle_close()


class Server(waitress_server.TcpWSGIServer):
    """waitress's TCP server, whose maintenance also enforces the total deadlines."""

    channel_class = _Channel

    def __init__(self, application, limits, **kw):
        self.limits = limits
        self._last_check = time.monotonic()
        super().__init__(application, **kw)

    def maintenance(self, now):
        super().maintenance(now)  # closes connections silent for channel_timeout
        clock = time.monotonic()
        elapsed, self._last_check = clock - self._last_check, clock
        for channel in list(self.active_channels.values()):
            if channel.draining:
                if clock >= channel.drain_deadline:
                    channel.will_close = True
                continue
            request = channel.request
            if request is None or channel.will_close or channel.close_when_flushed:
                continue
            if channel.requests:
                # An earlier request of this connection is being answered; the next
                # one is not read meanwhile, so its time does not run.
                request.postpone(elapsed)
            elif clock >= request.deadline():
                channel.time_out()

    def serve(self):
        """Serve until SIGINT (or SIGTERM turned into KeyboardInterrupt), then stop."""
        try:
            self.run()
        finally:
            self.close()


def create(application, conf, host, port):
    """The API's server on ``host``:``port``, sized and bounded by ``conf.api``."""
    body_hook = hooks.RequestBodyHook(conf)
    largest = max(conf.api.max_webhook_body_size, body_hook.limit_for("/"))
    limits = Limits(
        header_timeout=conf.api.header_timeout,
        body_timeout=conf.api.body_timeout,
        body_min_rate=conf.api.body_min_rate,
        body_limit=body_hook.limit_for,
        largest_body=largest,
    )
    # waitress warns of every request that waits for a thread: under load, of most.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    return Server(
        application,
        limits,
        host=host,
        port=port,
        threads=conf.api.api_threads,
        backlog=conf.api.backlog,
        connection_limit=conf.api.max_connections,
        channel_timeout=conf.api.client_idle_timeout,
        cleanup_interval=CHECK_INTERVAL,
        max_request_header_size=conf.api.max_header_size,
        # The limits above refuse first; waitress's own (on the raw, possibly chunked
        # body) only backs them up.
        max_request_body_size=2 * largest + 1,
        asyncore_use_poll=True,  # select() fails above 1024 file descriptors
        clear_untrusted_proxy_headers=False,  # passed on as before; the API reads none
        ident="qinling-lite",
    )

"""What a scrape reads, ``/metrics`` in front of the API, and an engine's own port."""

from collections.abc import Callable, Iterable
from wsgiref import simple_server

import prometheus_client
from prometheus_client import multiprocess
from prometheus_client.registry import Collector, CollectorRegistry

from qinling_lite.metrics import definitions

PATH = "/metrics"


def registry(collectors: Iterable[Collector] = (), multiprocess_dir: str | None = None):
    """The metrics of this process, or with ``multiprocess_dir`` the sum over the
    processes writing there, and the scrape-time ``collectors``."""
    scraped = CollectorRegistry(support_collectors_without_names=True)
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(scraped, path=multiprocess_dir)
    else:
        scraped.register(definitions.REGISTRY)
        scraped.register(prometheus_client.ProcessCollector(registry=None))
    for collector in collectors:
        scraped.register(collector)
    return scraped


class Middleware:
    """Answers ``GET /metrics`` from ``scraped``, and counts the status codes of the
    answers to requests whose path ``counted`` matches (webhook invocations)."""

    def __init__(self, app, scraped: CollectorRegistry, counted: Callable[[str], object]):
        self._app = app
        self._metrics = prometheus_client.make_wsgi_app(scraped)
        self._counted = counted

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == PATH:
            return self._metrics(environ, start_response)
        if not self._counted(path):
            return self._app(environ, start_response)
        answered = False

        def counting_start_response(status, headers, exc_info=None):
            nonlocal answered
            if not answered:
                answered = True
                definitions.WEBHOOK_RESPONSES.labels(code=status[:3]).inc()
            return start_response(status, headers, exc_info)

        return self._app(environ, counting_start_response)


def serve(host: str, port: int, scraped: CollectorRegistry) -> simple_server.WSGIServer:
    """Serve ``scraped`` on ``host``:``port`` from a daemon thread; ``shutdown()`` stops it.

    Raises OSError if the address cannot be bound.
    """
    server, _ = prometheus_client.start_http_server(port, host, scraped)
    return server

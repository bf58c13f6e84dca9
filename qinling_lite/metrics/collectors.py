"""Gauges computed when Prometheus scrapes, from what the API or engine hands in."""

import datetime
from collections.abc import Callable, Iterator, Mapping

from oslo_log import log as logging
from oslo_utils import timeutils
from prometheus_client.core import GaugeMetricFamily, Metric

LOG = logging.getLogger(__name__)

WORKER_STATES = ("free", "idle", "busy")


class Backlog:
    """``qinling_lite_executions_waiting``: executions no engine runs now.

    ``list_waiting(before, limit)`` lists the ids of executions pending since before
    ``before`` (and due), or running under a lease that ran out: ``db.executions.
    list_stale``. One query per scrape, none on any request; the count stops at ``CAP``.
    """

    CAP = 10000

    def __init__(self, list_waiting: Callable[[datetime.datetime, int], list[str]]):
        self._list_waiting = list_waiting

    def collect(self) -> Iterator[Metric]:
        try:
            waiting = len(self._list_waiting(timeutils.utcnow(), self.CAP))
        except Exception:  # the database is down: the scrape still answers
            LOG.exception("Could not count the waiting executions")
            return
        yield GaugeMetricFamily(
            "qinling_lite_executions_waiting",
            f"Executions waiting for an engine: pending and due, or running under a lease "
            f"that ran out (counted up to {self.CAP}).",
            value=waiting,
        )


class Workers:
    """``qinling_lite_workers{runtime, state}``: this engine's workers per runtime.

    ``counts()`` maps runtime ids to counts per state: ``free`` (pre-warmed, in the
    runtime's pool), ``idle`` and ``busy`` (warm: bound to a function version); a
    state an orchestrator cannot tell is left out (``Orchestrator.worker_counts``).
    """

    def __init__(self, counts: Callable[[], Mapping[str, Mapping[str, int]]]):
        self._counts = counts

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "qinling_lite_workers",
            "Workers of this engine per runtime: free (pre-warmed, unbound), idle and "
            "busy (warm, bound to a function version).",
            labels=["runtime", "state"],
        )
        for runtime_id, states in sorted(self._counts().items()):
            for state in WORKER_STATES:
                if state in states:
                    family.add_metric([runtime_id, state], states[state])
        yield family

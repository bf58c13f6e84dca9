"""The metrics qinling-lite counts, in one registry, and what records them.

Names follow Prometheus conventions (``qinling_lite_`` prefix, ``_total`` counters,
``_seconds`` histograms). Labels stay bounded: no project or function ids.
"""

import datetime

from oslo_utils import timeutils
from prometheus_client import CollectorRegistry, Counter, Histogram

from qinling_lite import status
from qinling_lite.metrics import triggers

REGISTRY = CollectorRegistry()

# From a forked child's run (about 1 ms) to long functions and queued backlogs.
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    float("inf"),
)

EXECUTIONS = Counter(
    "qinling_lite_executions",
    "Executions that reached a final state, by status and trigger.",
    ["status", "trigger"],
    registry=REGISTRY,
)
END_TO_END_SECONDS = Histogram(
    "qinling_lite_execution_end_to_end_seconds",
    "Time from an execution's creation to its final state, by trigger.",
    ["trigger"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
RUN_SECONDS = Histogram(
    "qinling_lite_execution_run_seconds",
    "Run time of executions as their worker measured it.",
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
TAKEOVERS = Counter(
    "qinling_lite_execution_takeovers",
    "Executions this engine took over from an engine whose lease ran out.",
    registry=REGISTRY,
)
WEBHOOK_RESPONSES = Counter(
    "qinling_lite_webhook_responses",
    "Answers to webhook invocations, by HTTP status code.",
    ["code"],
    registry=REGISTRY,
)

# Every series of a known label value exists from the start, at 0.
for _trigger in triggers.ALL:
    END_TO_END_SECONDS.labels(trigger=_trigger)
    for _status in sorted(status.EXECUTION_FINAL):
        EXECUTIONS.labels(status=_status, trigger=_trigger)


def record_execution(
    trigger: str,
    final_status: str,
    run_seconds: float | None,
    created_at: datetime.datetime | None,
) -> None:
    """Count an execution that reached ``final_status``.

    ``run_seconds``: its worker's run time, None if no worker ran it to the end;
    ``created_at``: its creation (naive UTC), None if unknown.
    """
    EXECUTIONS.labels(status=final_status, trigger=trigger).inc()
    if run_seconds is not None:
        RUN_SECONDS.observe(run_seconds)
    if created_at is not None:
        waited = (timeutils.utcnow() - created_at).total_seconds()
        END_TO_END_SECONDS.labels(trigger=trigger).observe(max(0.0, waited))

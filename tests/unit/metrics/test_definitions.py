"""Recording a finished execution."""

import datetime

from oslo_utils import timeutils

from qinling_lite.metrics import definitions

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)


def sample(name, **labels):
    return definitions.REGISTRY.get_sample_value(name, labels) or 0.0


def test_every_known_series_starts_at_zero():
    names = {
        (s.name, tuple(sorted(s.labels.items())))
        for family in definitions.REGISTRY.collect()
        for s in family.samples
    }
    assert ("qinling_lite_executions_total", (("status", "error"), ("trigger", "job"))) in names
    buckets = ("qinling_lite_execution_end_to_end_seconds_bucket", (("le", "0.001"),))
    assert (buckets[0], (*buckets[1], ("trigger", "dead_letter"))) in names


def test_a_run_is_counted_by_status_and_trigger_and_timed():
    executions = sample("qinling_lite_executions_total", status="failed", trigger="job")
    runs = sample("qinling_lite_execution_run_seconds_count")
    fast = sample("qinling_lite_execution_run_seconds_bucket", le="0.005")
    e2e = "qinling_lite_execution_end_to_end_seconds_bucket"
    within_1s = sample(e2e, trigger="job", le="1.0")
    within_2s = sample(e2e, trigger="job", le="2.5")
    timeutils.set_time_override(NOW)
    try:
        definitions.record_execution("job", "failed", 0.004, NOW - datetime.timedelta(seconds=1.5))
    finally:
        timeutils.clear_time_override()
    assert sample("qinling_lite_executions_total", status="failed", trigger="job") == executions + 1
    assert sample("qinling_lite_execution_run_seconds_count") == runs + 1
    assert sample("qinling_lite_execution_run_seconds_bucket", le="0.005") == fast + 1
    assert sample(e2e, trigger="job", le="1.0") == within_1s
    assert sample(e2e, trigger="job", le="2.5") == within_2s + 1


def test_what_is_unknown_is_not_timed():
    runs = sample("qinling_lite_execution_run_seconds_count")
    e2e = sample("qinling_lite_execution_end_to_end_seconds_count", trigger="api")
    definitions.record_execution("api", "error", None, None)
    assert sample("qinling_lite_execution_run_seconds_count") == runs
    assert sample("qinling_lite_execution_end_to_end_seconds_count", trigger="api") == e2e


def test_latency_buckets_span_a_millisecond_to_minutes():
    buckets = definitions.LATENCY_BUCKETS
    assert buckets[0] == 0.001 and 60 in buckets and buckets[-1] == float("inf")
    assert list(buckets) == sorted(buckets)

"""The gauges read at scrape time."""

from prometheus_client import CollectorRegistry

from qinling_lite.metrics import collectors


def registry(collector):
    scraped = CollectorRegistry()
    scraped.register(collector)
    return scraped


def test_the_backlog_counts_what_no_engine_runs_up_to_its_cap():
    calls = []

    def list_waiting(before, limit):
        calls.append(limit)
        return ["e-1", "e-2"]

    scraped = registry(collectors.Backlog(list_waiting))
    assert scraped.get_sample_value("qinling_lite_executions_waiting") == 2
    assert calls == [collectors.Backlog.CAP]


def test_a_backlog_the_database_cannot_tell_is_left_out():
    def list_waiting(before, limit):
        raise ConnectionError("database down")

    scraped = registry(collectors.Backlog(list_waiting))
    assert scraped.get_sample_value("qinling_lite_executions_waiting") is None


def test_workers_per_runtime_and_state_as_the_orchestrator_tells():
    counts = {"r-2": {"idle": 1, "busy": 2}, "r-1": {"free": 3, "idle": 0, "busy": 0}}
    scraped = registry(collectors.Workers(lambda: counts))
    samples = [
        (s.labels["runtime"], s.labels["state"], s.value)
        for family in scraped.collect()
        for s in family.samples
    ]
    assert samples == [
        ("r-1", "free", 3),
        ("r-1", "idle", 0),
        ("r-1", "busy", 0),
        ("r-2", "idle", 1),
        ("r-2", "busy", 2),
    ]

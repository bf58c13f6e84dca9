"""The registry a scrape reads, /metrics in front of the API, and the engines' own port."""

import os
import subprocess
import sys
import urllib.request

import pytest
import webob
from prometheus_client import parser

from qinling_lite.metrics import definitions, exposition, multiproc

COUNT_A_202 = (
    "from qinling_lite.metrics import definitions\n"
    "definitions.WEBHOOK_RESPONSES.labels(code='202').inc()\n"
)


class Constant:
    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        yield GaugeMetricFamily("qinling_lite_test_constant", "A constant.", value=7)


def names(text):
    return {family.name for family in parser.text_string_to_metric_families(text)}


def get(app, path, query=""):
    return webob.Request.blank(path, query_string=query).get_response(app)


def api(environ, start_response):
    start_response("404 Not Found" if "missing" in environ["PATH_INFO"] else "202 Accepted", [])
    return [b"api"]


@pytest.fixture
def middleware():
    scraped = exposition.registry([Constant()])
    return exposition.Middleware(api, scraped, lambda path: path.endswith("/invoke"))


def test_metrics_is_answered_with_this_process_and_the_collectors(middleware):
    answer = get(middleware, exposition.PATH)
    assert answer.status_int == 200
    assert {
        "qinling_lite_executions",
        "qinling_lite_webhook_responses",
        "qinling_lite_test_constant",
        "process_cpu_seconds",
    } <= names(answer.text)


def test_a_scrape_may_ask_for_some_metrics_only(middleware):
    answer = get(middleware, exposition.PATH, "name[]=qinling_lite_test_constant")
    assert names(answer.text) == {"qinling_lite_test_constant"}


def test_the_answers_to_counted_paths_are_counted_by_code(middleware):
    def count(code):
        return (
            definitions.REGISTRY.get_sample_value(
                "qinling_lite_webhook_responses_total", {"code": code}
            )
            or 0.0
        )

    accepted, missing = count("202"), count("404")
    assert get(middleware, "/v1/webhooks/w/invoke").body == b"api"
    get(middleware, "/v1/webhooks/missing/invoke")
    get(middleware, "/v1/functions")  # not counted
    assert (count("202"), count("404")) == (accepted + 1, missing + 1)


def test_an_engine_serves_its_metrics_on_its_own_port():
    server = exposition.serve("127.0.0.1", 0, exposition.registry([Constant()]))
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            assert "qinling_lite_test_constant" in names(answer.read().decode())
    finally:
        server.shutdown()
        server.server_close()


def test_the_api_workers_metrics_are_summed_in_multiprocess_mode(tmp_path, monkeypatch):
    """Two processes count a 202 each in the directory; a scrape reads both."""
    (tmp_path / "counter_0.db").write_bytes(b"from an earlier run")
    monkeypatch.delenv(multiproc.ENV, raising=False)
    multiproc.prepare(str(tmp_path))
    assert multiproc.directory() == str(tmp_path)
    assert not (tmp_path / "counter_0.db").exists()
    for _ in range(2):
        subprocess.run([sys.executable, "-c", COUNT_A_202], check=True, env=os.environ)
    scraped = exposition.registry(multiprocess_dir=str(tmp_path))
    value = scraped.get_sample_value("qinling_lite_webhook_responses_total", {"code": "202"})
    assert value == 2


def test_the_api_command_imports_no_prometheus_client_before_its_workers():
    """prometheus-client reads PROMETHEUS_MULTIPROC_DIR when first imported."""
    check = (
        "import sys\nimport qinling_lite.cmd.api\n"
        "assert 'prometheus_client' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", check], check=True)

"""The performance targets, each figure measured in one run and printed beside its target.

One after the other on this machine: the embedded default (``run.py``: warm sync
latency; webhook 202s at 32 clients beside a bare pecan app under gunicorn -w2), the
production shape (``production.py``: 2,000 webhook invocations end to end, and the CPU
per execution) and a flood (``flood.py``: 2,000 webhook calls from 300 clients at once).
Printed: a line per target with the figure, the target and whether it is met, then
every figure as JSON. ``doc/source/performance.rst`` explains the figures and the floors
of those not met.

Run: ``python benchmarks/targets.py [--database postgresql]`` (needs what the three
scripts need: ``wrk``, and the RabbitMQ and database servers the tests use).
"""

import argparse
import json
import pathlib
import shutil
import sys

import flood
import production
import run

from qinling_lite import config

HERE = pathlib.Path(__file__).parent


def measure(database):
    """Every figure of the three scripts, with their default options."""
    options = run.arguments().parse_args([])
    embedded = run.measure(str(HERE.parent), options)
    embedded["bare_pecan_rps"], embedded["bare_pecan_same_server_rps"] = run.bare_pecan_rps(options)
    shape = production.measure(production.arguments().parse_args(["--database", database]))
    flooded = flood.measure(flood.arguments().parse_args([]))
    return {"embedded": embedded, "production": shape, "flood": flooded}


def verdicts(figures):
    """(target, figure, goal, met) rows; met is None for a figure reported only."""
    embedded, shape, flooded = figures["embedded"], figures["production"], figures["flood"]
    ratio = embedded["webhook_rps"] / embedded["bare_pecan_rps"]
    calls = flood.arguments().parse_args([]).calls
    answered = flooded["202"] + flooded["429"] + flooded["503"]
    succeeded = flooded["202"] - flooded["202_not_success"]
    backlog = config.CONF.execution.max_pending_per_function
    return [
        (
            "embedded: webhook 202s at 32 clients, x bare pecan under gunicorn -w2",
            f"{embedded['webhook_rps']:.0f} / {embedded['bare_pecan_rps']:.0f} req/s = {ratio:.2f}",
            ">= 0.5",
            ratio >= 0.5,
        ),
        (
            "embedded: webhook 202s at 32 clients, p99",
            f"{embedded['webhook_p99_ms']:.1f} ms",
            "<= 50 ms",
            embedded["webhook_p99_ms"] <= 50,
        ),
        (
            "embedded: warm sync execution through HTTP, p50",
            f"{embedded['sync_p50_ms']:.2f} ms",
            "<= 3 ms",
            embedded["sync_p50_ms"] <= 3,
        ),
        (
            "embedded: warm sync execution through HTTP, p99",
            f"{embedded['sync_p99_ms']:.2f} ms",
            "<= 10 ms",
            embedded["sync_p99_ms"] <= 10,
        ),
        (
            "production: 2,000 invocations, first 202 to last success",
            f"{shape['async_executions_per_s']:.0f} executions/s",
            ">= 300/s",
            shape["async_executions_per_s"] >= 300,
        ),
        (
            "production: CPU of qinling-lite per execution",
            f"{shape['async_cpu_ms_per_execution']:.1f} ms",
            "reported",
            None,
        ),
        (
            f"flood: {calls} calls from 300 clients answered 202, 429 or 503",
            f"{answered} ({flooded['202']} x 202, {flooded['429']} x 429, "
            f"{flooded['503']} x 503); other {flooded['other']}, "
            f"reset or timed out {flooded['resets_or_timeouts']}",
            "all",
            answered == calls,
        ),
        (
            "flood: refusals with Retry-After",
            str(flooded["every_refusal_had_retry_after"]),
            "all",
            flooded["every_refusal_had_retry_after"],
        ),
        (
            "flood: 202s whose execution reached success",
            f"{succeeded} of {flooded['202']}",
            "all",
            flooded["202_not_success"] == 0,
        ),
        (
            "flood: server memory",
            f"peak RSS {flooded['peak_rss_mib']:.0f} MiB, at most "
            f"{flooded['peak_pending']} pending",
            f"bounded (<= {backlog} pending)",
            flooded["peak_pending"] <= backlog,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["mysql", "postgresql"], default="mysql")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: tools/install-system-packages bench")
    figures = measure(args.database)
    for target, figure, goal, met in verdicts(figures):
        verdict = {True: "met", False: "NOT MET", None: ""}[met]
        print(f"{target}: {figure} (target {goal}) {verdict}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()

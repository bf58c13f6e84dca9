"""The performance targets, each figure measured in one run and printed beside its target.

One after the other on this machine: the embedded default (``run.py``: warm sync
latency; webhook 202s at 32 clients beside a bare pecan app under gunicorn -w2), the
production shape (``production.py``: 2,000 webhook invocations end to end, and the CPU
per execution), a flood (``flood.py``: 2,000 webhook calls from 300 clients at once) and
the parts every execution needs, each alone (``floors.py``).
Printed: a line per target with the figure, the target and whether it is met, and under
a target not met the floor those parts set (``floors``), then every figure as JSON.
``doc/source/performance.rst`` explains the figures and the floors.

Run: ``python benchmarks/targets.py [--database postgresql]`` (needs what the three
scripts need: ``wrk``, and the RabbitMQ and database servers the tests use).
"""

import argparse
import json
import os
import pathlib
import shutil
import sys

import flood
import floors
import production
import run

from qinling_lite import config

HERE = pathlib.Path(__file__).parent
P99_MS = 50  # the webhook round's p99 target


def measure(database):
    """Every figure of the three scripts, with their default options."""
    options = run.arguments().parse_args([])
    embedded = run.measure(str(HERE.parent), options)
    embedded["bare_pecan_rps"], embedded["bare_pecan_same_server_rps"] = run.bare_pecan_rps(options)
    shape = production.measure(production.arguments().parse_args(["--database", database]))
    flooded = flood.measure(flood.arguments().parse_args([]))
    parts = floors.measure(floors.arguments().parse_args(["--database", database]))
    return {"embedded": embedded, "production": shape, "flood": flooded, "parts": parts}


def floors_of(figures, database):
    """What the parts measured alone allow at best, whatever qinling-lite's own code
    costs: {target key: sentence}."""
    parts, embedded = figures["parts"], figures["embedded"]
    cores = os.cpu_count()
    round_args = run.arguments().parse_args([])
    backlog = config.CONF.execution.max_pending_per_function
    # Embedded: each execution's worker, record and framework share the cores with the
    # answers of the backlog, which cost at least a bare framework answer each.
    cpu = parts["worker_cpu_ms"] + parts["record_cpu_ms_sqlite"] + parts["framework_cpu_ms"]
    budget_ms = cores * 1000 * round_args.seconds - backlog * parts["framework_cpu_ms"]
    executions = budget_ms / cpu / round_args.seconds
    answers = executions + backlog / round_args.seconds
    mean_ms = round_args.connections / answers * 1000
    sync_ms = parts["worker_p50_ms"] + parts["framework_p50_ms"] + parts["record_p50_ms_sqlite"]
    shape_parts = {
        "worker": "worker_cpu_ms",
        "framework": "framework_cpu_ms",
        "messaging": "messaging_cpu_ms",
        "broker": "broker_cpu_ms",
        "record": f"record_cpu_ms_{database}",
        "database server": f"record_server_cpu_ms_{database}",
    }
    shape_cpu = sum(parts.get(key, 0.0) for key in shape_parts.values())
    return {
        "webhook_ratio": (
            f"worker + record + framework CPU {cpu:.2f} ms per execution: with {backlog} "
            f"pending allowed (a framework answer each), at most {executions:.0f} "
            f"executions/s on {cores} cores and a {round_args.seconds} s round's 202s at "
            f"most {answers:.0f}/s = "
            f"{answers / embedded['bare_pecan_rps']:.2f} x bare pecan"
        ),
        "webhook_p99": (
            f"at most {answers:.0f} answers/s to {round_args.connections} clients: mean "
            f"latency at least {mean_ms:.1f} ms (Little's law); a p99 within {P99_MS} ms "
            f"would need the slowest 1% to average {(mean_ms - 0.99 * P99_MS) / 0.01:.0f} ms"
        ),
        "sync_p50": (
            f"worker {parts['worker_p50_ms']:.2f} + framework {parts['framework_p50_ms']:.2f} "
            f"+ record {parts['record_p50_ms_sqlite']:.2f} = {sync_ms:.2f} ms"
        ),
        "production": (
            " + ".join(f"{name} {parts.get(key, 0.0):.2f}" for name, key in shape_parts.items())
            + f" = {shape_cpu:.2f} ms of CPU per execution: at most "
            f"{cores * 1000 / shape_cpu:.0f} executions/s on {cores} cores"
        ),
    }


def verdicts(figures):
    """(key, target, figure, goal, met) rows; met is None for a figure reported only."""
    embedded, shape, flooded = figures["embedded"], figures["production"], figures["flood"]
    ratio = embedded["webhook_rps"] / embedded["bare_pecan_rps"]
    calls = flood.arguments().parse_args([]).calls
    answered = flooded["202"] + flooded["429"] + flooded["503"]
    succeeded = flooded["202"] - flooded["202_not_success"]
    backlog = config.CONF.execution.max_pending_per_function
    return [
        (
            "webhook_ratio",
            "embedded: webhook 202s at 32 clients, x bare pecan under gunicorn -w2",
            f"{embedded['webhook_rps']:.0f} / {embedded['bare_pecan_rps']:.0f} req/s = {ratio:.2f}",
            ">= 0.5",
            ratio >= 0.5,
        ),
        (
            "webhook_p99",
            "embedded: webhook 202s at 32 clients, p99",
            f"{embedded['webhook_p99_ms']:.1f} ms",
            f"<= {P99_MS} ms",
            embedded["webhook_p99_ms"] <= P99_MS,
        ),
        (
            "sync_p50",
            "embedded: warm sync execution through HTTP, p50",
            f"{embedded['sync_p50_ms']:.2f} ms",
            "<= 3 ms",
            embedded["sync_p50_ms"] <= 3,
        ),
        (
            "sync_p99",
            "embedded: warm sync execution through HTTP, p99",
            f"{embedded['sync_p99_ms']:.2f} ms",
            "<= 10 ms",
            embedded["sync_p99_ms"] <= 10,
        ),
        (
            "production",
            "production: 2,000 invocations, first 202 to last success",
            f"{shape['async_executions_per_s']:.0f} executions/s",
            ">= 300/s",
            shape["async_executions_per_s"] >= 300,
        ),
        (
            "production_cpu",
            "production: CPU of qinling-lite per execution",
            f"{shape['async_cpu_ms_per_execution']:.1f} ms",
            "reported",
            None,
        ),
        (
            "flood_answered",
            f"flood: {calls} calls from 300 clients answered 202, 429 or 503",
            f"{answered} ({flooded['202']} x 202, {flooded['429']} x 429, "
            f"{flooded['503']} x 503); other {flooded['other']}, "
            f"reset or timed out {flooded['resets_or_timeouts']}",
            "all",
            answered == calls,
        ),
        (
            "flood_retry_after",
            "flood: refusals with Retry-After",
            str(flooded["every_refusal_had_retry_after"]),
            "all",
            flooded["every_refusal_had_retry_after"],
        ),
        (
            "flood_success",
            "flood: 202s whose execution reached success",
            f"{succeeded} of {flooded['202']}",
            "all",
            flooded["202_not_success"] == 0,
        ),
        (
            "flood_memory",
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
    floor = floors_of(figures, args.database)
    for key, target, figure, goal, met in verdicts(figures):
        verdict = {True: "met", False: "NOT MET", None: ""}[met]
        print(f"{target}: {figure} (target {goal}) {verdict}")
        if met is False and key in floor:
            print(f"    floor: {floor[key]}")
    print(json.dumps(figures, default=str))


if __name__ == "__main__":
    main()

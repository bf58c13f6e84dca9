"""Benchmarks of the production shape on one host, printed as figures.

MariaDB (or PostgreSQL), RabbitMQ, ``qinling-lite-api`` with 2 gunicorn workers and 2
``qinling-lite-engine`` processes, set up by ``deployments.py``:

(a) sync execution latency of a warm no-op function, p50 and p99;
(b) end-to-end async throughput: executions per second from the first of N webhook
    invocations of a no-op function until all N are recorded ``success``, and the CPU
    time qinling-lite's processes (API, engines, workers) spent per execution meanwhile,
    a figure that other load on the host changes less than throughput;
(c) webhook 202 throughput with 32 concurrent clients (wrk), with the engines running
    the executions meanwhile, and with the engines paused (SIGSTOP): what the API alone
    absorbs. The backlog limits are lifted for this shape (``BACKLOG``): a paused round
    records more executions than a function may have pending, and ``flood.py`` measures
    the limits themselves.

Run: ``python benchmarks/production.py`` (needs ``wrk``: ``tools/install-system-packages
bench``, and the RabbitMQ and MariaDB, or with ``--database postgresql`` PostgreSQL,
servers the tests use). ``PYTHONPATH=DIR`` runs the processes of another checkout.
"""

import argparse
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import time
import urllib.parse

import deployments
from run import Api, cpu_seconds, percentile, wrk

# Production values: the tests' short sweep would re-dispatch a queue that is merely long.
ENGINE_OPTIONS = {"lease_time": 30, "pending_sweep_interval": 10, "pending_grace": 30}
BACKLOG = {"max_pending_per_function": 0, "max_pending_executions": 0}  # 0: no limit
POLL_INTERVAL = 0.05
SETTLE_TIMEOUT = 600


def sync_latencies(api, function_id, runs):
    """Milliseconds per warm sync execution, after a warm-up."""
    for _ in range(50):
        api.run_sync(function_id)
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        api.run_sync(function_id)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def end_to_end(shape, function_id, path, invocations, connections):
    """Seconds until every invocation had its 202, seconds until every execution
    succeeded, and CPU seconds qinling-lite used meanwhile."""
    apis = [Api(shape.port) for _ in range(connections)]
    shares = [
        invocations // connections + (i < invocations % connections) for i in range(connections)
    ]

    def invoke(api, count):
        for _ in range(count):
            status, answer = api.json("POST", path, {})
            assert status == 202, answer

    cpu = cpu_seconds(shape.pids())
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(connections) as pool:
        for future in [pool.submit(invoke, api, n) for api, n in zip(apis, shares, strict=True)]:
            future.result()
    accepted = time.perf_counter() - started
    while True:
        statuses = dict(
            shape.query(
                "SELECT status, COUNT(*) FROM executions WHERE function_id = :f GROUP BY status",
                f=function_id,
            )
        )
        if statuses.get("success") == invocations:
            done = time.perf_counter() - started
            return accepted, done, cpu_seconds(shape.pids()) - cpu
        if {"failed", "error"} & statuses.keys() or time.perf_counter() - started > SETTLE_TIMEOUT:
            raise RuntimeError(f"executions did not all succeed: {statuses}")
        time.sleep(POLL_INTERVAL)


@contextlib.contextmanager
def engines_paused(shape):
    """The engine processes stopped (SIGSTOP) meanwhile."""
    pids = [process.pid for _, process in shape.engines if process.poll() is None]
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["mysql", "postgresql"], default="mysql")
    parser.add_argument("--sync-runs", type=int, default=1000)
    parser.add_argument("--invocations", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    return parser


def measure(args):
    """Figures (a), (b) and (c) of a production shape set up for them."""
    figures = {}
    with (
        tempfile.TemporaryDirectory() as root,
        deployments.ProductionShape(
            root,
            engines=2,
            backend=args.database,
            options={"engine": ENGINE_OPTIONS, "execution": BACKLOG},
        ) as shape,
    ):
        runtime_id = shape.client.create_runtime()["id"]
        api = Api(shape.port)  # gunicorn closes a connection idle for 2 s: one per step
        function_id = api.create_function(runtime_id)
        latencies = sync_latencies(api, function_id, args.sync_runs)
        figures["sync_p50_ms"] = statistics.median(latencies)
        figures["sync_p99_ms"] = percentile(latencies, 0.99)

        function_id = Api(shape.port).create_function(runtime_id)
        path = urllib.parse.urlsplit(shape.create_webhook(function_id)).path
        accepted, done, cpu = end_to_end(
            shape, function_id, path, args.invocations, args.connections
        )
        figures["async_accept_rps"] = args.invocations / accepted
        figures["async_executions_per_s"] = args.invocations / done
        figures["async_cpu_ms_per_execution"] = cpu / args.invocations * 1000

        function_id = Api(shape.port).create_function(runtime_id)
        url = shape.create_webhook(function_id)
        figures["webhook_rps"], figures["webhook_p99_ms"] = wrk(url, args.seconds, args.connections)
        with engines_paused(shape):
            figures["webhook_rps_engines_paused"], figures["webhook_p99_ms_engines_paused"] = wrk(
                url, args.seconds, args.connections
            )

    return figures


def main():
    args = arguments().parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: tools/install-system-packages bench")
    figures = measure(args)
    print(f"production shape ({args.database}, RabbitMQ, 2 API workers, 2 engines)")
    print(
        f"(a) warm sync execution, {args.sync_runs} runs: "
        f"p50 {figures['sync_p50_ms']:.2f} ms, p99 {figures['sync_p99_ms']:.2f} ms"
    )
    print(
        f"(b) end to end, {args.invocations} webhook invocations of a no-op function: "
        f"{figures['async_executions_per_s']:.0f} executions/s "
        f"(202s at {figures['async_accept_rps']:.0f} req/s); qinling-lite used "
        f"{figures['async_cpu_ms_per_execution']:.1f} ms of CPU per execution"
    )
    print(
        f"(c) webhook 202 throughput, {args.connections} clients: "
        f"{figures['webhook_rps']:.0f} req/s, p99 {figures['webhook_p99_ms']:.1f} ms; engines "
        f"paused {figures['webhook_rps_engines_paused']:.0f} req/s, p99 "
        f"{figures['webhook_p99_ms_engines_paused']:.1f} ms"
    )
    print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()

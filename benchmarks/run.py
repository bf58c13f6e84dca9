"""Benchmarks of the embedded default (``qinling-lite-serve``), printed as figures.

(a) sync execution latency of a warm no-op function, p50 and p99;
(b) webhook 202 throughput with 32 concurrent clients (wrk), beside a bare pecan app
    answering 202 under gunicorn -w2 and under the same WSGI server, as ratios; then,
    once every execution the round recorded succeeded, the CPU time spent per execution
    by the server process (API and engine) and by the workers, and the executions per
    second from the round's start to the last success;
(c) first execution of a new function on a warm pool, p50.

Run: ``python benchmarks/run.py [--rounds N] [--source LABEL=DIR ...]`` (needs
``wrk``: ``tools/install-system-packages bench``). Each source is a checkout whose
``qinling_lite`` runs the server (put first on ``PYTHONPATH``; default: this one), e.g.
a ``git worktree`` of an older commit: sources take turns within each round, and the
medians of the rounds are printed, with each source's ratio to the first, so that a
change is measured before and after in the same run.
"""

import argparse
import collections
import contextlib
import http.client
import io
import json
import os
import pathlib
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import typing
import zipfile

from qinling_lite import config

HERE = pathlib.Path(__file__).parent
SERVE = "import sys; from qinling_lite.cmd import serve; sys.exit(serve.main())"
NOOP = "def main(**kwargs):\n    return None\n"
SETTLE_TIMEOUT = 300  # seconds for the executions of a round to succeed
AODH_EVENT = (
    HERE.parent / "tests" / "functional" / "fixtures" / "aodh-alarm-event.json"
).read_text()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port)

    def request(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        response = self.conn.getresponse()
        data = response.read()
        return response.status, (json.loads(data) if data else None)

    def json(self, method, path, payload):
        return self.request(method, path, json.dumps(payload), {"Content-Type": "application/json"})

    def create_function(self, runtime_id, source=NOOP):
        package = io.BytesIO()
        with zipfile.ZipFile(package, "w") as archive:
            archive.writestr("noop.py", source)
        boundary = "qinlingbench"
        parts = [
            ("runtime_id", runtime_id),
            ("code", '{"source": "package"}'),
            ("entry", "noop.main"),
        ]
        body = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
            for k, v in parts
        )
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="package"; '
                f'filename="f.zip"\r\n\r\n'
            ).encode()
            + package.getvalue()
            + f"\r\n--{boundary}--\r\n".encode()
        )
        status, function = self.request(
            "POST",
            "/v1/functions",
            body,
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )
        assert status == 201, function
        return function["id"]

    def run_sync(self, function_id):
        status, execution = self.json(
            "POST", "/v1/executions", {"function_id": function_id, "sync": True}
        )
        assert status == 201 and execution["status"] == "success", execution
        return execution

    def wait_pool_full(self, runtime_id, size):
        for _ in range(500):
            _, pool = self.request("GET", f"/v1/runtimes/{runtime_id}/pool")
            if pool["capacity"]["available"] >= size:
                return
            time.sleep(0.01)
        raise RuntimeError("the pool did not refill")


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def start(argv, log, port, **popen_options):
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, **popen_options)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited") from None
            time.sleep(0.05)
    raise RuntimeError(f"{argv[0]} did not start")


class WrkRound(typing.NamedTuple):
    rps: float
    p99_ms: float


def wrk(url, seconds, connections):
    """Requests per second and p99 latency of a wrk round of webhook-shaped POSTs, all
    of them answered 2xx."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    body = json.dumps(AODH_EVENT)
    script.write(
        f'wrk.method = "POST"\nwrk.body = {body}\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    script.close()
    try:
        out = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", script.name]
            + [url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(script.name)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non_2xx:
        raise RuntimeError(f"wrk saw {non_2xx.group(1)} error answers:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)$", out, re.M).groups()
    return WrkRound(rate, float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit])


def cpu_seconds(roots):
    """CPU seconds used so far by processes ``roots``, their live descendants and the
    children these reaped."""
    stats, children = {}, collections.defaultdict(list)
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError), open(f"{entry.path}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
                pid, ppid = int(entry.name), int(fields[1])
                stats[pid] = sum(int(ticks) for ticks in fields[11:15])
                children[ppid].append(pid)
    total, todo = 0, list(roots)
    while todo:
        pid = todo.pop()
        total += stats.get(pid, 0)
        todo += children[pid]
    return total / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds(pid):
    """CPU seconds process ``pid`` itself used so far (not its children)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def serving(source, config=""):
    """A ``qinling-lite-serve`` of the checkout ``source`` on a free port, with a fresh
    data directory and an available runtime; yield (Api, runtime id, server process,
    data directory)."""
    env = dict(os.environ, PYTHONPATH=source)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        open(pathlib.Path(data_dir) / "serve.log", "wb") as log,
    ):
        port = free_port()
        conf = pathlib.Path(data_dir) / "bench.conf"
        conf.write_text(
            "[DEFAULT]\ndefault_log_levels = qinling_lite=WARN,waitress=ERROR,cheroot=ERROR\n"
            + config
        )
        argv = [sys.executable, "-c", SERVE, "--data-dir", data_dir, "--port", str(port)]
        # In the source's directory: ``python -c`` puts the current one first on sys.path.
        try:
            server = start(argv + ["--config-file", str(conf)], log, port, env=env, cwd=source)
        except RuntimeError:
            sys.exit((pathlib.Path(data_dir) / "serve.log").read_text()[-3000:])
        try:
            api = Api(port)
            _, runtime = api.json("POST", "/v1/runtimes", {"image": "python3"})
            for _ in range(600):
                _, runtime = api.request("GET", f"/v1/runtimes/{runtime['id']}")
                if runtime["status"] != "creating":
                    break
                time.sleep(0.05)
            assert runtime["status"] == "available", runtime
            yield api, runtime["id"], server, data_dir
        finally:
            server.terminate()
            server.wait(timeout=60)


def measure(source, args):
    """Figures (a), (b) and (c) of one server of ``source`` (only (a) with ``--sync-only``)."""
    figures = {}
    with serving(source) as (api, runtime_id, server, data_dir):
        # (a) warm sync latency
        function_id = api.create_function(runtime_id)
        for _ in range(50):
            api.run_sync(function_id)
        latencies = []
        for _ in range(args.sync_runs):
            started = time.perf_counter()
            api.run_sync(function_id)
            latencies.append((time.perf_counter() - started) * 1000)
        figures["sync_p50_ms"] = statistics.median(latencies)
        figures["sync_p99_ms"] = percentile(latencies, 0.99)
        if args.sync_only:
            return figures

        # (c) first execution of a new function on a warm pool
        _, pool = api.request("GET", f"/v1/runtimes/{runtime_id}/pool")
        size = pool["capacity"]["available"]
        firsts = []
        for _ in range(args.new_functions):
            new_id = api.create_function(runtime_id)
            api.wait_pool_full(runtime_id, size)
            started = time.perf_counter()
            api.run_sync(new_id)
            firsts.append((time.perf_counter() - started) * 1000)
            api.request("DELETE", f"/v1/functions/{new_id}")
        figures["first_execution_p50_ms"] = statistics.median(firsts)

        # (b) webhook 202 throughput, and what running its executions cost
        _, webhook = api.json("POST", "/v1/webhooks", {"function_id": function_id})
        url = f"http://127.0.0.1:{api.port}/v1/webhooks/{webhook['id']}/invoke"
        before = sum(executions_of(data_dir, function_id).values())
        cpu, own_cpu = cpu_seconds([server.pid]), own_cpu_seconds(server.pid)
        started = time.perf_counter()
        figures["webhook_rps"], figures["webhook_p99_ms"] = wrk(url, args.seconds, args.connections)
        accepted = sum(executions_of(data_dir, function_id).values()) - before
        while (statuses := executions_of(data_dir, function_id)).get("success", 0) < (
            before + accepted
        ):
            if {"failed", "error"} & statuses.keys() or (
                time.perf_counter() - started > SETTLE_TIMEOUT
            ):
                raise RuntimeError(f"the executions did not all succeed: {statuses}")
            time.sleep(0.1)
        figures["webhook_executions_per_s"] = accepted / (time.perf_counter() - started)
        server_cpu = own_cpu_seconds(server.pid) - own_cpu
        figures["server_cpu_ms_per_execution"] = server_cpu / accepted * 1000
        figures["worker_cpu_ms_per_execution"] = (
            (cpu_seconds([server.pid]) - cpu - server_cpu) / accepted * 1000
        )
    return figures


def executions_of(data_dir, function_id):
    """The function's executions by status, read from the server's SQLite file."""
    path = pathlib.Path(data_dir) / "qinling-lite.sqlite"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT status, COUNT(*) FROM executions WHERE function_id = ? GROUP BY status",
            (function_id,),
        )
        return dict(rows.fetchall())


def bare_pecan_gunicorn(port):
    """The command serving ``bare_pecan.py`` under gunicorn -w2 on ``port``."""
    gunicorn = [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}"]
    return gunicorn + ["--chdir", str(HERE), "--log-level", "warning", "bare_pecan:make_app()"]


def bare_pecan_rps(args):
    """(b)'s ceilings: requests/s of a bare pecan app answering 202 under gunicorn -w2,
    and under this checkout's WSGI server with as many threads as qinling-lite."""
    port = free_port()
    gunicorn = bare_pecan_gunicorn(port)
    threads = config.CONF.api.api_threads
    same_server = [sys.executable, str(HERE / "bare_pecan.py"), str(port), str(threads)]
    rates = []
    for argv in (gunicorn, same_server):
        with tempfile.TemporaryFile() as log:
            bare = start(argv, log, port)
            try:
                url = f"http://127.0.0.1:{port}/v1/webhooks/x/invoke"
                rates.append(wrk(url, args.seconds, args.connections).rps)
            finally:
                bare.terminate()
                bare.wait(timeout=60)
    return rates


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sync-runs", type=int, default=1000)
    parser.add_argument("--new-functions", type=int, default=40)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--source", action="append", help="LABEL=DIR, repeatable")
    parser.add_argument("--sync-only", action="store_true", help="only figure (a)")
    return parser


def main():
    args = arguments().parse_args()
    if not args.sync_only and not shutil.which("wrk"):
        sys.exit("wrk is needed: tools/install-system-packages bench")
    sources = dict(s.split("=", 1) for s in args.source or [f"this={HERE.parent}"])
    rounds = {label: [] for label in sources}
    for _ in range(args.rounds):
        for label, source in sources.items():
            figures = measure(str(pathlib.Path(source).resolve()), args)
            if not args.sync_only:
                figures["bare_pecan_rps"], figures["bare_pecan_same_server_rps"] = bare_pecan_rps(
                    args
                )
                figures["webhook_ratio"] = figures["webhook_rps"] / figures["bare_pecan_rps"]
            rounds[label].append(figures)
            print(label, json.dumps({k: round(v, 3) for k, v in figures.items()}), flush=True)

    medians = {
        label: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for label, runs in rounds.items()
    }
    first = next(iter(medians.values()))
    for label, figures in medians.items():
        print(f"== {label}: medians of {args.rounds} round(s)")
        print(
            f"(a) warm sync execution, {args.sync_runs} runs: "
            f"p50 {figures['sync_p50_ms']:.2f} ms, p99 {figures['sync_p99_ms']:.2f} ms"
        )
        if not args.sync_only:
            print(
                f"(b) webhook 202 throughput, {args.connections} clients: "
                f"{figures['webhook_rps']:.0f} req/s, p99 {figures['webhook_p99_ms']:.1f} ms; "
                f"bare pecan under gunicorn -w2 "
                f"{figures['bare_pecan_rps']:.0f} req/s, ratio {figures['webhook_ratio']:.2f}; "
                f"under the same server {figures['bare_pecan_same_server_rps']:.0f} req/s, "
                f"ratio {figures['webhook_rps'] / figures['bare_pecan_same_server_rps']:.2f}"
            )
            print(
                f"    its executions: {figures['webhook_executions_per_s']:.0f}/s from the "
                f"round's start to the last success; CPU per execution "
                f"{figures['server_cpu_ms_per_execution']:.2f} ms in the server (API and "
                f"engine), {figures['worker_cpu_ms_per_execution']:.2f} ms in workers"
            )
            print(
                f"(c) first execution of a new function on a warm pool, {args.new_functions} "
                f"functions: p50 {figures['first_execution_p50_ms']:.2f} ms"
            )
        if figures is not first:
            ratios = {k: round(v / first[k], 3) for k, v in figures.items()}
            print(f"ratios to {next(iter(medians))}: {json.dumps(ratios)}")
        print(json.dumps({k: round(v, 3) for k, v in figures.items()}))


if __name__ == "__main__":
    main()

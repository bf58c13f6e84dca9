"""The floors under the performance targets: the parts every execution needs, each
measured alone on this machine.

A target the whole service misses may be one that no implementation of this design
reaches here. Each part is measured without the rest of qinling-lite, each in a process
of its own (the config and the database layer are global):

- ``worker``: warm no-op executions through the local orchestrator of the embedded
  default, as the engine calls it (its sandbox, a runtime server, a fresh process per
  execution): latency, and the CPU that the worker's processes spend per execution;
- ``framework``: a bare pecan app (``bare_pecan.py``) under qinling-lite's own WSGI
  server, one client posting to it: latency; and under gunicorn -w2 (the production
  shape's API server), 32 clients: the CPU it spends per request;
- ``messaging``: bare oslo.messaging casts over RabbitMQ to an RPC server, as the API
  hands each execution to an engine: the CPU of both ends and of the broker per cast;
- ``record``: an execution's durable record through qinling-lite's database layer,
  created, claimed and finished (three transactions), on SQLite and on MariaDB (or
  PostgreSQL): latency, and the CPU of the layer and of the database server per record.

``targets.py`` sets them under the targets they bound.

Run: ``python benchmarks/floors.py [--database postgresql]`` (needs the database server
the tests use).
"""

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

import deployments
from run import (
    HERE,
    Api,
    bare_pecan_gunicorn,
    cpu_seconds,
    free_port,
    own_cpu_seconds,
    percentile,
    start,
    wrk,
)

NOOP = "def main(**kwargs):\n    return None\n"
MIB = 1024 * 1024
WARM_UP = 50
LOAD_SECONDS = 5
LOAD_CLIENTS = 32
WEBHOOK_PATH = "/v1/webhooks/x/invoke"
# Process names of the servers whose CPU time is read (when they run on this host).
SERVERS = {
    "mysql": ("mariadbd", "mysqld"),
    "postgresql": ("postgres",),
    "rabbit": ("beam.smp",),
}


def worker(runs):
    """Latency and worker CPU of warm executions through the local orchestrator."""
    from qinling_lite import config, orchestrator
    from qinling_lite.orchestrator import base
    from qinling_lite.runtime import protocol

    with tempfile.TemporaryDirectory(prefix="ql-") as state:  # short: socket paths
        os.chmod(state, 0o711)  # noqa: S103 (workers run as other uids)
        config.CONF([], project="qinling-lite", default_config_files=[])
        config.CONF.set_override("state_path", state)
        config.CONF.set_override("pool_size", 1, group="local_orchestrator")
        orch = orchestrator.load(config.CONF)
        try:
            orch.create_pool("floor", "python3")
            spec = base.FunctionSpec("floor", 0, "floor", "noop.main", "floor", 100, 64 * MIB, 5)
            package = _package({"noop.py": NOOP})
            request = protocol.ExecuteRequest(
                execution_id="floor",
                input={},
                args=[],
                timeout=5,
                memory_size=64 * MIB,
                cpu=100,
                context={"function_id": "floor", "project_id": "floor", "retry_attempt": 0},
                max_result_size=1024,
            )

            def execute():
                with orch.worker(spec, lambda: package, wait=30) as bound:
                    reply = bound.execute(request, timeout=10)
                assert reply["success"], reply

            for _ in range(WARM_UP):
                execute()
            me = os.getpid()
            workers_cpu = cpu_seconds([me]) - own_cpu_seconds(me)
            latencies = _timed(execute, runs)
            workers_cpu = cpu_seconds([me]) - own_cpu_seconds(me) - workers_cpu
        finally:
            orch.stop()
    return {
        "worker_p50_ms": statistics.median(latencies),
        "worker_p99_ms": percentile(latencies, 0.99),
        "worker_cpu_ms": workers_cpu / runs * 1000,
    }


def framework(runs):
    """Latency of a POST to a bare pecan app under qinling-lite's WSGI server, and its
    CPU per request under gunicorn -w2 and load."""
    from qinling_lite import config

    port = free_port()
    threads = str(config.CONF.api.api_threads)
    body = json.dumps({"alarm_name": "floor"})
    with _serving([sys.executable, str(HERE / "bare_pecan.py"), str(port), threads], port):
        api = Api(port)
        latencies = _timed(lambda: api.request("POST", WEBHOOK_PATH, body), runs)
    port = free_port()
    with _serving(bare_pecan_gunicorn(port), port) as gunicorn:
        cpu = cpu_seconds([gunicorn.pid])
        rate = wrk(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", LOAD_SECONDS, LOAD_CLIENTS).rps
        cpu = cpu_seconds([gunicorn.pid]) - cpu
    return {
        "framework_p50_ms": statistics.median(latencies[WARM_UP:]),
        "framework_cpu_ms": cpu / (rate * LOAD_SECONDS) * 1000,
    }


def messaging(runs):
    """CPU per cast of a bare oslo.messaging client and RPC server in this process, and
    of the broker, over RabbitMQ."""
    import threading
    import uuid

    import oslo_messaging

    from qinling_lite import config

    config.CONF([], project="qinling-lite", default_config_files=[])
    transport = oslo_messaging.get_rpc_transport(config.CONF, url=deployments.TRANSPORT_URL)
    topic = f"floor-{uuid.uuid4().hex}"
    received, expected, done = [0], [0], threading.Event()

    class Endpoint:
        target = oslo_messaging.Target(version="1.0")

        def ping(self, ctxt):
            received[0] += 1
            if received[0] == expected[0]:
                done.set()

    target = oslo_messaging.Target(topic=topic, server="floor")
    server = oslo_messaging.get_rpc_server(transport, target, [Endpoint()], executor="threading")
    server.start()
    try:
        client = oslo_messaging.get_rpc_client(transport, oslo_messaging.Target(topic=topic))

        def casts(count):
            expected[0] += count
            done.clear()
            for _ in range(count):
                client.cast({}, "ping")
            assert done.wait(60), f"{received[0]} of {expected[0]} casts arrived"

        casts(WARM_UP)
        broker = _server("rabbit")
        me = os.getpid()
        before = own_cpu_seconds(me), cpu_seconds([broker]) if broker else 0.0
        casts(runs)
        own, broker_cpu = own_cpu_seconds(me) - before[0], cpu_seconds([broker]) - before[1]
    finally:
        server.stop()
        server.wait()
        transport.cleanup()
        with deployments.broker() as connection:
            for queue in (topic, f"{topic}.floor"):
                connection.default_channel.queue_delete(queue)
            connection.default_channel.exchange_delete(topic)
    figures = {"messaging_cpu_ms": own / runs * 1000}
    if broker:
        figures["broker_cpu_ms"] = broker_cpu / runs * 1000
    return figures


def record(url, runs):
    """Latency of an execution's record (create, claim, finish) and the database
    server's CPU per record, through qinling-lite's database layer on ``url``."""
    from qinling_lite import config
    from qinling_lite.db import executions, functions, migration, runtimes
    from qinling_lite.db import session as db_session

    config.CONF([], project="qinling-lite", default_config_files=[])
    config.CONF.set_override("connection", url, group="database")
    db_session.setup()
    migration.upgrade()
    runtime = runtimes.create({"image": "python3", "project_id": "floor", "status": "available"})
    function = functions.create(
        {
            "runtime_id": runtime.id,
            "project_id": "floor",
            "code": {"source": "package", "md5sum": "floor"},
            "entry": "noop.main",
            "cpu": 100,
            "memory_size": 64 * MIB,
            "timeout": 5,
        }
    )
    values = {"function_id": function.id, "project_id": "floor", "sync": True}

    def one():
        execution = executions.create(values)
        assert executions.claim(execution.id, "floor", 30) is not None
        result = {"output": None, "duration": 0.001}
        assert executions.finish(execution.id, "floor", "success", result, "") is not None

    for _ in range(WARM_UP):
        one()
    server = _server(db_session.get_engine().url.get_backend_name())
    server_cpu = cpu_seconds([server]) if server else None
    own_cpu = own_cpu_seconds(os.getpid())
    latencies = _timed(one, runs)
    figures = {
        "record_p50_ms": statistics.median(latencies),
        "record_cpu_ms": (own_cpu_seconds(os.getpid()) - own_cpu) / runs * 1000,
    }
    if server:
        figures["record_server_cpu_ms"] = (cpu_seconds([server]) - server_cpu) / runs * 1000
    return figures


def _timed(call, runs):
    """Milliseconds of each of ``runs`` calls, one after the other."""
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _package(files):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def _server(kind):
    """The pid of the main process of a server of ``kind`` (``SERVERS``) on this host,
    or None."""
    names = SERVERS.get(kind, ())
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError), open(f"{entry.path}/stat") as stat:
                name, _, rest = stat.read().partition(" (")[2].rpartition(")")
                if name in names:
                    found.append((int(rest.split()[1]), int(entry.name)))
    # The main process; its workers (PostgreSQL's backends) are its children.
    roots = [pid for parent, pid in found if parent not in {p for _, p in found}]
    return roots[0] if len(roots) == 1 else None


@contextlib.contextmanager
def _serving(argv, port):
    """The server ``argv`` listening on ``port`` meanwhile; yield its process."""
    with tempfile.TemporaryFile() as log:
        process = start(argv, log, port)
        try:
            yield process
        finally:
            process.terminate()
            process.wait(timeout=60)


def _in_subprocess(*argv):
    """The figures one part printed, measured in a process of its own."""
    out = subprocess.run(
        [sys.executable, __file__, "--part", *argv], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.splitlines()[-1])


def measure(args):
    """Every part's figures."""
    runs = str(args.runs)
    figures = {}
    for part in ("worker", "framework", "messaging"):
        figures.update(_in_subprocess(part, runs))
    for backend in ("sqlite", args.database):
        url = deployments.create_database(backend)
        try:
            part = _in_subprocess("record", runs, url)
        finally:
            deployments.drop_database(url)
        figures.update({f"{key}_{backend}": value for key, value in part.items()})
    return figures


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["mysql", "postgresql"], default="mysql")
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--part", nargs="+", help=argparse.SUPPRESS)
    return parser


def main():
    args = arguments().parse_args()
    if args.part:
        name, runs, *rest = args.part
        parts = {"worker": worker, "framework": framework, "messaging": messaging, "record": record}
        part = parts[name]
        print(json.dumps(part(*rest, int(runs)) if rest else part(int(runs))))
        return
    print(json.dumps({k: round(v, 3) for k, v in measure(args).items()}))


if __name__ == "__main__":
    main()

"""The embedded server under slow and bursty clients, printed as figures.

For each source tree given (default: this checkout), in turn within each round, a
``qinling-lite-serve`` of that tree on SQLite with its default options:

(a) webhook 202 throughput with 32 concurrent clients (wrk), as ``benchmarks/run.py``;
(b) slowloris: 12 connections each sending a header line every 2 s; meanwhile a
    ``GET /v1/runtimes`` every 0.5 s for 20 s: its p50 and worst latency, how many got
    no answer within 30 s, and when the server cut the slow connections off (or that it
    had not after 40 s);
(c) bursts: 50 and 300 concurrent webhook POSTs on new connections: how many were reset
    or refused, and how many answered 202.

Run: ``python benchmarks/attacks.py [--rounds 3] [--source LABEL=DIR ...]`` (needs
``wrk``: ``apt-get install wrk``). A source is a checkout whose ``qinling_lite`` is put
first on ``PYTHONPATH``, e.g. a ``git worktree`` of an older commit, to compare servers in
the same run on the same machine.
"""

import argparse
import asyncio
import json
import os
import pathlib
import select
import socket
import statistics
import threading
import time

from run import serving, wrk

HERE = pathlib.Path(__file__).parent
SLOW_CONNECTIONS = 12
SLOW_INTERVAL = 2.0
SLOW_LIMIT = 40.0
PROBE_SECONDS = 20.0
PROBE_TIMEOUT = 30.0
SCENARIOS = ("throughput", "slowloris", "burst")


def process_cpu(pid):
    """CPU seconds a process (all its threads) has used: a figure that other load on a
    shared machine changes less than throughput."""
    fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slowloris(port, count=SLOW_CONNECTIONS, interval=SLOW_INTERVAL, limit=SLOW_LIMIT):
    """Trickle headers on ``count`` connections; return the seconds after which each was
    cut off (None: still open at ``limit``), from a thread, through ``result``."""
    result = {}
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(count)]
    for sock in sockets:
        sock.sendall(b"GET /v1/runtimes HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()

    def trickle():
        open_ = list(sockets)
        while open_ and time.monotonic() - started < limit:
            for sock in list(open_):
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    open_.remove(sock)
                    result[sock] = time.monotonic() - started
            readable, _, _ = select.select(open_, [], [], interval)
            for sock in readable:
                open_.remove(sock)
                result[sock] = time.monotonic() - started
        for sock in sockets:
            result.setdefault(sock, None)
            sock.close()

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    return thread, result


def probe(port, seconds=PROBE_SECONDS):
    """Latencies (ms) of GET /v1/runtimes every 0.5 s, on a new connection each time;
    None for an answer that did not come within PROBE_TIMEOUT."""
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.monotonic()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=PROBE_TIMEOUT) as s:
                s.sendall(b"GET /v1/runtimes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = s.recv(12)
            latencies.append((time.monotonic() - started) * 1000 if answer else None)
        except OSError:
            latencies.append(None)
        time.sleep(max(0.0, 0.5 - (time.monotonic() - started)))
    return latencies


async def _invoke(port, request):
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 60)
        finally:
            writer.close()
    except (ConnectionError, OSError) as error:
        return type(error).__name__
    return answer.split(b" ", 2)[1].decode() if answer else "empty"


def webhook_post(path, alarm):
    """The bytes of a webhook POST of ``{"alarm": alarm}`` on a connection of its own."""
    body = json.dumps({"alarm": alarm}).encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


def burst(port, path, count):
    """Outcome counts of ``count`` concurrent webhook POSTs on new connections."""
    request = webhook_post(path, "burst")

    async def run():
        return await asyncio.gather(*(_invoke(port, request) for _ in range(count)))

    outcomes = {}
    for outcome in asyncio.run(run()):
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def measure(source, seconds, scenarios):
    figures = {}
    with serving(source, "[local_orchestrator]\npool_size = 1\n") as (api, runtime_id, server, _):
        function_id = api.create_function(runtime_id)
        _, webhook = api.json("POST", "/v1/webhooks", {"function_id": function_id})
        path = f"/v1/webhooks/{webhook['id']}/invoke"
        api.conn.close()
        port = api.port
        if "throughput" in scenarios:
            cpu = process_cpu(server.pid)
            figures["webhook_rps"] = wrk(f"http://127.0.0.1:{port}{path}", seconds, 32).rps
            cpu = process_cpu(server.pid) - cpu
            figures["webhook_cpu_ms"] = cpu * 1000 / (figures["webhook_rps"] * seconds)
        if "slowloris" in scenarios:
            figures.update(attack_with_slowloris(port))
        if "burst" in scenarios:
            figures.update(attack_with_bursts(port, path))
    return figures


def attack_with_slowloris(port):
    figures = {}
    thread, cut = slowloris(port)
    latencies = probe(port)
    thread.join()
    answered = [ms for ms in latencies if ms is not None]
    figures["slowloris_probe_p50_ms"] = statistics.median(answered) if answered else None
    figures["slowloris_probe_max_ms"] = max(answered) if answered else None
    figures["slowloris_probe_unanswered"] = len(latencies) - len(answered)
    cut_times = [t for t in cut.values() if t is not None]
    figures["slowloris_still_open"] = len(cut) - len(cut_times)
    figures["slowloris_cut_after_s"] = statistics.median(cut_times) if cut_times else None
    return figures


def attack_with_bursts(port, path):
    figures = {}
    for count in (50, 300):
        outcomes = burst(port, path, count)
        figures[f"burst{count}_202"] = outcomes.pop("202", 0)
        figures[f"burst{count}_failed"] = sum(outcomes.values())
        figures[f"burst{count}_other"] = outcomes
    return figures


def median_of(rounds, key):
    values = [r[key] for r in rounds if r[key] is not None]
    if not values:
        return None
    if isinstance(values[0], dict):
        return values  # outcome counts: all rounds
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="of each wrk run")
    parser.add_argument(
        "--scenario", action="append", choices=SCENARIOS, help="(repeatable) default: all"
    )
    parser.add_argument(
        "--source",
        action="append",
        help="LABEL=DIR of a checkout to measure (repeatable); default: this one",
    )
    args = parser.parse_args()
    sources = dict(s.split("=", 1) for s in args.source or [f"this={HERE.parent}"])
    results = {label: [] for label in sources}
    for number in range(args.rounds):
        for label, source in sources.items():
            source = str(pathlib.Path(source).resolve())
            figures = measure(source, args.seconds, args.scenario or SCENARIOS)
            print(f"round {number + 1} {label}: {json.dumps(figures)}", flush=True)
            results[label].append(figures)
    print(f"medians of {args.rounds} rounds:")
    for label, rounds in results.items():
        print(f"{label}: {json.dumps({k: median_of(rounds, k) for k in rounds[0]})}")


if __name__ == "__main__":
    main()

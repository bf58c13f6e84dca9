"""A webhook flood against ``qinling-lite-serve``, answered within a bounded backlog.

A server of this checkout on SQLite (``benchmarks/run.py``'s ``serving``), its options
plus any given here, and an asynchronous webhook of a no-op function. ``--calls`` webhook
POSTs (default 2,000), ``--clients`` at a time (default 300), each on a new connection
(``Connection: close``: the harshest case for the listen queue). Printed: the answers
(202, 429, 503, other, and connections reset or timed out), whether every 429 and 503
had a ``Retry-After``, how long after the flood began every 202's execution was
``success`` (and how many were not within ``--drain-timeout``), the most executions
found pending at once (the server's SQLite database sampled every 0.1 s), and the server
process's peak RSS (``VmHWM``, its workers not included).

Run: ``python benchmarks/flood.py [--max-pending-per-function N] [--max-pending N]``.
"""

import argparse
import asyncio
import collections
import json
import pathlib
import sqlite3
import threading
import time

import attacks
from run import serving

HERE = pathlib.Path(__file__).parent
ANSWER_TIMEOUT = 60.0


def peak_rss_mib(pid):
    """The process's peak resident set (VmHWM), in MiB."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


class PendingSampler(threading.Thread):
    """The most pending executions in the server's database, sampled until stopped."""

    def __init__(self, server):
        super().__init__(daemon=True)
        data_dir = server.args[server.args.index("--data-dir") + 1]
        self.path = pathlib.Path(data_dir) / "qinling-lite.sqlite"
        self.stop = threading.Event()
        self.peak = 0

    def run(self):
        with sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=5) as db:
            while not self.stop.wait(0.1):
                query = "SELECT count(*) FROM executions WHERE status = 'pending'"
                self.peak = max(self.peak, db.execute(query).fetchone()[0])


async def _call(port, request, clients):
    """(status or the error's name, whether it had Retry-After, the execution id)."""
    async with clients:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(request)
                answer = await asyncio.wait_for(reader.read(), ANSWER_TIMEOUT)
            finally:
                writer.close()
        except (TimeoutError, OSError) as error:
            return type(error).__name__, False, None
    if not answer:
        return "empty", False, None
    head, _, body = answer.partition(b"\r\n\r\n")
    code = head.split(b" ", 2)[1].decode()
    retry_after = b"\r\nretry-after:" in head.lower()
    return code, retry_after, json.loads(body)["execution_id"] if code == "202" else None


def flood(port, path, calls, clients):
    """The outcome of every call, as ``_call`` gives it."""
    request = attacks.webhook_post(path, "flood")

    async def run():
        limit = asyncio.Semaphore(clients)
        return await asyncio.gather(*(_call(port, request, limit) for _ in range(calls)))

    return asyncio.run(run())


def unfinished(api, function_id, accepted):
    """The accepted execution ids not (yet) ``success``."""
    api.conn.close()  # a new connection: the server may have closed an idle one
    _, listed = api.request("GET", f"/v1/executions?function_id={function_id}")
    succeeded = {e["id"] for e in listed["executions"] if e["status"] == "success"}
    return accepted - succeeded


def measure(args):
    options = {
        "max_pending_per_function": args.max_pending_per_function,
        "max_pending_executions": args.max_pending,
    }
    config = "[execution]\n" + "".join(f"{k} = {v}\n" for k, v in options.items() if v is not None)
    figures = {}
    with serving(str(HERE.parent), config) as (api, runtime_id, server, _):
        function_id = api.create_function(runtime_id)
        _, webhook = api.json("POST", "/v1/webhooks", {"function_id": function_id})
        figures["rss_before_mib"] = peak_rss_mib(server.pid)
        sampler = PendingSampler(server)
        sampler.start()
        started = time.monotonic()
        outcomes = flood(api.port, f"/v1/webhooks/{webhook['id']}/invoke", args.calls, args.clients)
        figures["flood_s"] = time.monotonic() - started
        counts = collections.Counter(code for code, _, _ in outcomes)
        for code in ("202", "429", "503"):
            figures[code] = counts.pop(code, 0)
        figures["other"] = {c: n for c, n in counts.items() if c.isdigit()}
        figures["resets_or_timeouts"] = {c: n for c, n in counts.items() if not c.isdigit()}
        refused = [retry for code, retry, _ in outcomes if code in ("429", "503")]
        figures["every_refusal_had_retry_after"] = all(refused)
        accepted = {id for _, _, id in outcomes if id}
        left = accepted
        deadline = started + args.drain_timeout
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = unfinished(api, function_id, accepted)
        figures["all_202_success_after_s"] = None if left else time.monotonic() - started
        figures["202_not_success"] = len(left)
        sampler.stop.set()
        sampler.join()
        figures["peak_pending"] = sampler.peak
        figures["peak_rss_mib"] = peak_rss_mib(server.pid)
    return figures


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=300)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--max-pending-per-function", type=int, help="default: the option's")
    parser.add_argument("--max-pending", type=int, help="max_pending_executions; default: its")
    return parser


def main():
    figures = measure(arguments().parse_args())
    print(json.dumps({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()}))


if __name__ == "__main__":
    main()

"""The shared bookkeeping of bound workers, with fake workers (no processes, no HTTP)."""

import itertools
import threading
import time

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator import bindings
from tests.unit.orchestrator.conftest import spec


class FakeWorker:
    def __init__(self, name):
        self.name = name
        self.healthy = True
        self.is_alive = True
        self.last_used = 0.0
        self.loaded = None

    def alive(self):
        return self.is_alive

    def load(self, function_spec, data, timeout):
        self.loaded = (function_spec.package_md5, data)


class Host:
    """The orchestrator's side: counts what it hands out and what comes back."""

    def __init__(self, cap=2, target_concurrency=0):
        self.names = (f"w{n}" for n in itertools.count())
        self.taken, self.discarded = [], []
        self.refuse = None
        self.bindings = bindings.Bindings(
            bindings.Limits(cap, load_timeout=1, target_concurrency=target_concurrency),
            prepare=lambda function_spec: None,
            take=self.take,
            refusal=lambda function_spec, function: self.refuse,
            discard=self.discarded.extend,
        )

    def take(self, function_spec, deadline):
        worker = FakeWorker(next(self.names))
        self.taken.append(worker)
        return worker


def package():
    return b"zip"


def test_idle_worker_is_reused_most_recent_first():
    host = Host()
    first = host.bindings.acquire(spec(), package, 1)
    second = host.bindings.acquire(spec(), package, 1)
    host.bindings.release(first)
    host.bindings.release(second)
    assert host.bindings.acquire(spec(), package, 1) is second
    assert second.loaded == ("md5-1", b"zip")
    assert len(host.taken) == 2


def test_cap_makes_callers_wait_then_fail():
    host = Host(cap=1)
    busy = host.bindings.acquire(spec(), package, 1)
    with pytest.raises(exceptions.NoWorkerAvailable, match="stayed busy for 0.05 s"):
        host.bindings.acquire(spec(), package, 0.05)
    got = []
    waiter = threading.Thread(target=lambda: got.append(host.bindings.acquire(spec(), package, 5)))
    waiter.start()
    host.bindings.release(busy)
    waiter.join()
    assert got == [busy]


def test_target_concurrency_waits_for_a_busy_worker_first():
    host = Host(cap=3, target_concurrency=2)
    host.bindings.acquire(spec(), package, 1)
    with pytest.raises(exceptions.NoWorkerAvailable, match="The 1 workers"):
        host.bindings.acquire(spec(), package, 0.05)
    assert len(host.taken) == 1


def test_broken_or_dead_workers_are_discarded():
    host = Host()
    broken = host.bindings.acquire(spec(), package, 1)
    broken.healthy = False
    host.bindings.release(broken)
    dead = host.bindings.acquire(spec(), package, 1)
    host.bindings.release(dead)
    dead.is_alive = False
    fresh = host.bindings.acquire(spec(), package, 1)
    assert host.discarded == [broken, dead]
    assert fresh not in (broken, dead)


def test_new_package_retires_the_old_workers():
    host = Host()
    idle = host.bindings.acquire(spec(), package, 1)
    busy = host.bindings.acquire(spec(), package, 1)
    host.bindings.release(idle)
    new = host.bindings.acquire(spec(md5="md5-2"), package, 1)
    assert host.discarded == [idle]
    host.bindings.release(busy)
    assert host.discarded == [idle, busy]
    assert host.bindings.names("f1", 0) == [new.name]


def test_refused_worker_is_discarded_and_its_slot_freed():
    host = Host(cap=1)
    host.refuse = "Runtime rt was deleted."
    with pytest.raises(exceptions.OrchestratorError, match="was deleted"):
        host.bindings.acquire(spec(), package, 1)
    assert host.discarded == host.taken
    host.refuse = None
    assert host.bindings.acquire(spec(), package, 0)


def test_failed_load_frees_the_slot():
    host = Host(cap=1)

    def broken():
        raise exceptions.StorageError("gone")

    with pytest.raises(exceptions.StorageError):
        host.bindings.acquire(spec(), broken, 1)
    assert host.taken == []
    assert host.bindings.acquire(spec(), package, 0)


def test_scale_up_down_and_expire():
    host = Host(cap=3)
    host.bindings.scale_up(spec(), package, 5)
    assert len(host.bindings.names("f1", 0)) == 3
    host.bindings.scale_down("f1", 0, 5)
    assert len(host.bindings.names("f1", 0)) == 1
    host.bindings.expire_idle(0)
    assert host.bindings.names("f1", 0) == []
    assert host.discarded == host.taken


def test_retire_and_bound_select_by_function():
    host = Host()
    kept = host.bindings.acquire(spec(), package, 1)
    other = host.bindings.acquire(spec(function_id="f2"), package, 1)
    host.bindings.release(other)
    assert host.bindings.retire(lambda function: function.key[0] == "f2") == [other]
    assert host.bindings.bound(lambda function: True) == [kept]
    host.bindings.release(kept)
    assert host.bindings.names("f1", 0) == [kept.name]


def test_new_entry_retires_the_old_workers():
    """An entry change (a function update) must not leave workers importing the old one."""
    host = Host()
    old = host.bindings.acquire(spec(entry="a.main"), package, 1)
    host.bindings.release(old)
    new = host.bindings.acquire(spec(entry="b.main"), package, 1)
    assert new is not old
    assert host.discarded == [old]


class CountingCondition(threading.Condition):
    """A condition that counts how often a waiter woke."""

    def __init__(self, lock):
        super().__init__(lock)
        self.wakeups = 0

    def wait(self, timeout=None):
        try:
            return super().wait(timeout)
        finally:
            self.wakeups += 1


def _waiters(host, function_id, count, wait=10):
    """``count`` threads, each taking a worker of the function (waiting up to ``wait``
    seconds) and giving it back."""

    def take_and_release():
        host.bindings.release(host.bindings.acquire(spec(function_id), package, wait))

    threads = [threading.Thread(target=take_and_release, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def _wait_until(predicate):
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_a_release_wakes_one_waiter_of_its_own_function_only():
    """Not every waiting thread: a release costs the same with 5 or 500 waiting."""
    host = Host(cap=1)
    busy = {name: host.bindings.acquire(spec(name), package, 1) for name in ("f", "g")}
    entries = {name: host.bindings._functions[(name, 0)] for name in ("f", "g")}
    for entry in entries.values():
        entry.changed = CountingCondition(host.bindings.lock)
    threads = {name: _waiters(host, name, 5) for name in ("f", "g")}
    _wait_until(lambda: all(entry.waiting == 5 for entry in entries.values()))
    host.bindings.release(busy["g"])
    for thread in threads["g"]:
        thread.join(10)
    assert (entries["g"].changed.wakeups, entries["f"].changed.wakeups) == (5, 0)
    host.bindings.release(busy["f"])
    for thread in threads["f"]:
        thread.join(10)
    assert entries["f"].changed.wakeups == 5
    assert len(host.taken) == 2


def test_waiters_of_a_retired_entry_look_again_at_once():
    host = Host(cap=1)
    host.bindings.acquire(spec(), package, 1)
    (waiter,) = _waiters(host, "f1", 1, wait=3600)
    _wait_until(lambda: host.bindings._functions[("f1", 0)].waiting == 1)
    host.bindings.retire_function("f1")
    waiter.join(60)  # woken, not at its deadline: it binds a worker of the new entry
    assert not waiter.is_alive()
    assert len(host.taken) == 2

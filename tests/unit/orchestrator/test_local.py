"""The local orchestrator with real runtime server processes.

Whatever ends or replaces worker processes runs in each sandbox mode; the pool and
scheduling logic, the same in both, runs in the sandbox production picks.
"""

import contextlib
import os
import signal
import threading

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator.local import orchestrator as local
from tests.unit.orchestrator.conftest import (
    Package,
    descendants,
    hello,
    is_zombie,
    payload,
    processes_using,
    production_sandbox,
    run,
    sleeper,
    spec,
    wait_for,
    worker_pids,
)
from tests.unit.orchestrator.fake_environments import (  # noqa: F401
    IMAGE,
    environment,
    library_probe,
)


@production_sandbox
def test_load_gives_the_local_orchestrator(make_orchestrator):
    assert isinstance(make_orchestrator(), local.LocalOrchestrator)


@production_sandbox
@pytest.mark.pool_size(2)
def test_pool_is_warm_after_create(orch, conf):
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    assert len(worker_pids(conf.local_orchestrator.work_dir)) == 2
    orch.create_pool("rt", "python3")  # already there: nothing changes
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    assert orch.get_pool("unknown") == {"total": 0, "available": 0}


@production_sandbox
def test_hello_world_then_warm_reuse(orch):
    package = hello()
    name, answer = run(orch, spec(), package, name="qinling")
    assert answer["success"] is True
    assert answer["output"] == "Hello, qinling"
    assert orch.list_workers("f1") == [name]
    again, answer = run(orch, spec(), package)
    assert (again, answer["output"]) == (name, "Hello, World")
    assert package.calls == 1


@pytest.mark.pool_size(2)
def test_pool_refills_in_the_background(orch):
    run(orch, spec(), hello())
    assert wait_for(lambda: orch.get_pool("rt") == {"total": 3, "available": 2})


@production_sandbox
def test_cold_start_when_the_pool_is_empty(config_fixture, make_orchestrator):
    config_fixture.config(group="local_orchestrator", pool_size=0)
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    assert orch.get_pool("rt") == {"total": 0, "available": 0}
    name, answer = run(orch, spec(), hello())
    assert answer["output"] == "Hello, World"
    assert orch.list_workers("f1") == [name]


@production_sandbox
def test_busy_function_scales_to_the_cap_then_waits(orch):
    package = sleeper()
    function = spec(entry="sleeper.main")
    inside, leave = threading.Barrier(3), threading.Event()

    def hold():
        with orch.worker(function, package, wait=5) as worker:
            worker.execute(payload(seconds=0.1), timeout=10)
            inside.wait()
            leave.wait()

    holders = [threading.Thread(target=hold) for _ in range(2)]
    for holder in holders:
        holder.start()
    inside.wait()
    names = orch.list_workers("f1")
    assert len(set(names)) == 2
    with pytest.raises(exceptions.NoWorkerAvailable):
        with orch.worker(function, package, wait=0.2):
            pass
    threading.Timer(0.2, leave.set).start()
    name, answer = run(orch, function, package)
    assert answer["output"] == "slept"
    assert name in names
    for holder in holders:
        holder.join()
    assert sorted(orch.list_workers("f1")) == sorted(names)
    assert package.calls == 2


@production_sandbox
def test_concurrent_executions_each_get_a_worker(orch):
    function = spec(entry="sleeper.main")
    package = sleeper()
    results = []

    def execute():
        results.append(run(orch, function, package, seconds=0.3))

    threads = [threading.Thread(target=execute) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [answer["output"] for _, answer in results] == ["slept"] * 4
    assert len({name for name, _ in results}) == 2  # the cap


def test_killed_bound_worker_is_replaced(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    name, _ = run(orch, spec(), hello())
    pid = worker_pids(work_dir)[name]
    os.kill(pid, signal.SIGKILL)
    # Not only gone from /proc's command lines: its listening socket closed too.
    assert wait_for(lambda: is_zombie(pid))
    new, answer = run(orch, spec(), hello())
    assert answer["output"] == "Hello, World"
    assert new != name
    assert orch.list_workers("f1") == [new]


@pytest.mark.pool_size(2)
def test_killed_pool_worker_is_replaced(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    victim = next(iter(worker_pids(work_dir).values()))
    os.kill(victim, signal.SIGKILL)
    assert wait_for(lambda: orch.get_pool("rt")["available"] == 1)
    assert wait_for(lambda: orch.get_pool("rt") == {"total": 2, "available": 2})
    assert victim not in worker_pids(work_dir).values()


def test_transport_timeout_discards_the_worker(orch, conf):
    function = spec(entry="sleeper.main")
    with pytest.raises(exceptions.WorkerError, match="did not answer"):
        with orch.worker(function, sleeper(), wait=5) as worker:
            worker.execute(payload(seconds=30), timeout=0.3)
    assert orch.list_workers("f1") == []
    assert processes_using(conf.local_orchestrator.work_dir, worker.name) == []
    name, answer = run(orch, function, sleeper())
    assert answer["output"] == "slept"
    assert name != worker.name


def test_stopped_worker_is_hung_and_discarded(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    name, _ = run(orch, spec(), hello())
    for pid in descendants(worker_pids(work_dir)[name]):
        with contextlib.suppress(ProcessLookupError):  # the last execution's child exiting
            os.kill(pid, signal.SIGSTOP)
    with orch.worker(spec(), hello(), wait=5) as worker:
        assert worker.name == name
        with pytest.raises(exceptions.WorkerError):
            worker.execute(payload(), timeout=0.3)
    assert orch.list_workers("f1") == []
    assert name not in worker_pids(work_dir)


def test_crash_mid_execution_is_a_worker_error(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    function = spec(entry="sleeper.main")
    with pytest.raises(exceptions.WorkerError):
        with orch.worker(function, sleeper(), wait=5) as worker:
            pid = worker_pids(work_dir)[worker.name]
            threading.Timer(0.3, os.kill, (pid, signal.SIGKILL)).start()
            worker.execute(payload(seconds=30), timeout=10)
    assert orch.list_workers("f1") == []
    # The execution, in a session of its own, does not outlive its worker.
    assert processes_using(work_dir, worker.name) == []


@production_sandbox
def test_import_error_is_reported_by_executions(orch):
    broken = Package({"hello_world.py": "import no_such_module\n"})
    name, answer = run(orch, spec(), broken)
    assert answer["success"] is False
    assert "no_such_module" in answer["output"]
    assert orch.list_workers("f1") == [name]


def test_release_function(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    v0, _ = run(orch, spec(version=0), hello())
    v1, _ = run(orch, spec(version=1), hello())
    other, _ = run(orch, spec(function_id="f2"), hello())
    orch.release_function("f1", 0)
    assert orch.list_workers("f1", 0) == []
    assert orch.list_workers("f1", 1) == [v1]
    assert v0 not in worker_pids(work_dir)
    orch.release_function("f1")
    assert orch.list_workers("f1", 1) == []
    assert v1 not in worker_pids(work_dir)
    assert orch.list_workers("f2") == [other]
    assert other in worker_pids(work_dir)


def test_release_while_busy_kills_the_worker_on_return(orch, conf):
    with orch.worker(spec(), hello(), wait=5) as worker:
        orch.release_function("f1")
        assert worker.execute(payload(), timeout=10)["output"] == "Hello, World"
    assert worker.name not in worker_pids(conf.local_orchestrator.work_dir)
    name, _ = run(orch, spec(), hello())
    assert orch.list_workers("f1") == [name] != [worker.name]


def test_new_package_replaces_the_workers(orch, conf):
    old, _ = run(orch, spec(md5="md5-1"), hello())
    new_code = Package({"hello_world.py": "def main(**kwargs):\n    return 'v2'\n"})
    new, answer = run(orch, spec(md5="md5-2"), new_code)
    assert (new != old, answer["output"]) == (True, "v2")
    assert orch.list_workers("f1") == [new]
    assert old not in worker_pids(conf.local_orchestrator.work_dir)


def test_expire_idle(orch, conf):
    name, _ = run(orch, spec(), hello())
    orch.expire_idle(60)
    assert orch.list_workers("f1") == [name]
    with orch.worker(spec(), hello(), wait=5):
        orch.expire_idle(0)  # a busy worker is not idle
    assert orch.list_workers("f1") == [name]
    wait_for(lambda: False, timeout=0.05)
    orch.expire_idle(0.01)
    assert orch.list_workers("f1") == []
    assert name not in worker_pids(conf.local_orchestrator.work_dir)


def test_delete_pool_kills_every_worker(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    run(orch, spec(function_id="idle"), hello())
    with orch.worker(spec(function_id="busy"), hello(), wait=5) as worker:
        orch.delete_pool("rt")
        with pytest.raises(exceptions.WorkerError):
            worker.execute(payload(), timeout=10)
    assert wait_for(lambda: processes_using(work_dir) == [])
    assert orch.get_pool("rt") == {"total": 0, "available": 0}
    assert orch.list_workers("idle") == orch.list_workers("busy") == []


@production_sandbox
def test_a_runtime_without_a_pool_is_adopted(orch):
    """An engine that restarted, or did not create the runtime, still runs its functions."""
    assert run(orch, spec(runtime_id="elsewhere"), hello())[1]["output"] == "Hello, World"
    assert wait_for(lambda: orch.get_pool("elsewhere")["available"] >= 1)


def test_stop_kills_everything(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    run(orch, spec(), hello())
    orch.stop()
    assert processes_using(work_dir) == []
    assert os.listdir(work_dir) == [".lock"]
    with pytest.raises(exceptions.OrchestratorError, match="stopped"):
        run(orch, spec(), hello())


def test_scale_up_binds_warm_workers_and_scale_down_keeps_one(config_fixture, make_orchestrator):
    config_fixture.config(group="local_orchestrator", max_workers_per_function=4)
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    package = hello()
    orch.scale_up(spec(), package, 3)
    assert len(orch.list_workers("f1")) == 3
    assert run(orch, spec(), package)[1]["output"] == "Hello, World"
    assert package.calls == 3  # each new worker loaded the package once
    orch.scale_down("f1", 0, 2)
    assert len(orch.list_workers("f1")) == 1
    orch.scale_down("f1", 0, 5)
    assert len(orch.list_workers("f1")) == 1, "the last worker stays"
    orch.scale_down("unknown", 0, 1)  # nothing to do


@production_sandbox
def test_scale_up_stops_at_the_cap(orch):
    orch.scale_up(spec(), hello(), 5)  # the cap is 2 here
    assert len(orch.list_workers("f1")) == 2


@pytest.mark.pool_size(2)
def test_update_pool_replaces_the_pool_workers(orch, conf):
    work_dir = conf.local_orchestrator.work_dir
    before = set(worker_pids(work_dir).values())
    orch.update_pool("rt", "python3-new")
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    assert wait_for(lambda: not before & set(worker_pids(work_dir).values()))
    assert len(set(worker_pids(work_dir).values())) == 2


@production_sandbox
def test_update_pool_rolls_to_the_environment_of_the_new_image(
    environment,  # noqa: F811
    make_orchestrator,
):
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    assert library_probe(orch, "rt")[0]["answer"] is None
    orch.update_pool("rt", IMAGE)
    assert library_probe(orch, "rt")[0]["answer"] is None  # its bound worker stays
    orch.release_function("probe-rt")
    assert library_probe(orch, "rt")[0]["answer"] == 42
    orch.update_pool("rt", "python3")
    orch.release_function("probe-rt")
    assert library_probe(orch, "rt")[0]["answer"] is None


@production_sandbox
def test_an_adopted_runtime_gets_the_environment_of_the_image_its_spec_names(
    environment,  # noqa: F811
    make_orchestrator,
):
    """No create_pool told this orchestrator of the runtime (another engine made it):
    the function's spec names its image, and the pool keeps it."""
    orch = make_orchestrator()
    assert library_probe(orch, "elsewhere", runtime_image=IMAGE)[0]["answer"] == 42
    assert wait_for(lambda: orch.get_pool("elsewhere")["available"] >= 1)
    assert library_probe(orch, "elsewhere", runtime_image=IMAGE)[0]["answer"] == 42
    assert library_probe(orch, "plain", runtime_image="python3")[0]["answer"] is None

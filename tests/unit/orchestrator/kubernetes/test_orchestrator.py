"""The Kubernetes orchestrator: real client, fake API server, real runtime servers in "pods"."""

import threading

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator.kubernetes import manifests
from qinling_lite.orchestrator.kubernetes import orchestrator as k8s
from tests.unit.orchestrator.conftest import (
    hello,
    payload,
    run,
    sleeper,
    spec,
    wait_for,
)

DEPLOYMENT = ("qinling-lite", "runtime-rt")


def labels(cluster, name):
    return cluster.store["pods"][("qinling-lite", name)]["metadata"]["labels"]


def image_of(cluster):
    return cluster.store["deployments"][DEPLOYMENT]["spec"]["template"]["spec"]["containers"][0][
        "image"
    ]


@pytest.fixture
def orch(make_orchestrator, cluster, launcher):
    """An orchestrator with a ready pool of 2 pods running real runtime servers."""
    cluster.launcher = launcher
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    return orch


def test_load_gives_the_kubernetes_orchestrator(make_orchestrator):
    assert isinstance(make_orchestrator(), k8s.KubernetesOrchestrator)


def test_create_pool_makes_namespace_policy_and_waits_for_ready_pods(make_orchestrator, cluster):
    cluster.ready_delay = 0.2
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    namespace = cluster.store["namespaces"][("", "qinling-lite")]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert ("qinling-lite", manifests.NETWORK_POLICY) in cluster.store["networkpolicies"]
    orch.create_pool("rt", "python3")  # already there: kept
    orch.create_pool("rt2", "python3")  # the policy is replaced, not created twice
    assert orch.get_pool("rt2") == {"total": 2, "available": 2}
    assert orch.get_pool("unknown") == {"total": 0, "available": 0}


def test_create_pool_fails_when_pods_never_get_ready(make_orchestrator, cluster, config_fixture):
    config_fixture.config(group="kubernetes", pool_timeout=0.3)
    cluster.bad_images.add("broken")
    with pytest.raises(exceptions.OrchestratorError, match="not ready within"):
        make_orchestrator().create_pool("rt", "broken")


def test_hello_world_then_warm_reuse_and_pool_refill(orch, cluster, launcher):
    package = hello()
    name, answer = run(orch, spec(), package, name="kubernetes")
    assert (answer["success"], answer["output"]) == (True, "Hello, kubernetes")
    assert labels(cluster, name)["qinling-lite/function"] == "f1"
    assert labels(cluster, name)["qinling-lite/version"] == "0"
    assert orch.list_workers("f1") == [name]
    again, answer = run(orch, spec(), package)
    assert (again, answer["output"]) == (name, "Hello, World")
    assert package.calls == 1
    # The relabelled pod left the ReplicaSet, which started a replacement.
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    assert len(launcher.running()) == 3


def test_a_conflict_on_the_patch_moves_on_to_another_pod(orch, cluster):
    stolen = []

    def another_engine_wins(fake, pod):
        if not stolen:  # relabel it as another engine would, bumping its resourceVersion
            stolen.append(pod["metadata"]["name"])
            pod["metadata"]["labels"]["qinling-lite/function"] = "other"
            pod["metadata"]["resourceVersion"] += "0"

    cluster.on_pod_patch = another_engine_wins
    name, answer = run(orch, spec(), hello())
    assert answer["output"] == "Hello, World"
    assert cluster.conflicts == 1
    assert name != stolen[0]
    assert labels(cluster, stolen[0])["qinling-lite/function"] == "other"


def test_two_engines_taking_pods_at_once_never_share_one(make_orchestrator, cluster, launcher):
    cluster.launcher = launcher
    engines = [make_orchestrator("engine-a"), make_orchestrator("engine-b")]
    engines[0].create_pool("rt", "python3")
    start, leave = threading.Barrier(6), threading.Event()
    held = {}

    def hold(engine, function_id):
        start.wait()
        with engine.worker(spec(function_id=function_id), hello(), wait=5) as worker:
            held[function_id] = worker.name
            leave.wait(10)

    threads = [threading.Thread(target=hold, args=(engines[i % 2], f"f{i}")) for i in range(6)]
    for thread in threads:
        thread.start()
    assert wait_for(lambda: len(held) == 6)
    leave.set()
    for thread in threads:
        thread.join()
    assert len(set(held.values())) == 6
    for function_id, name in held.items():
        assert labels(cluster, name)["qinling-lite/function"] == function_id


def test_busy_function_scales_up_to_the_cap_then_waits(orch):
    function = spec(entry="sleeper.main")
    package = sleeper()
    inside, leave = threading.Barrier(4), threading.Event()

    def busy():
        with orch.worker(function, package, wait=30) as worker:
            inside.wait()
            leave.wait(10)
            worker.execute(payload(), timeout=5)

    threads = [threading.Thread(target=busy) for _ in range(3)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert len(orch.list_workers("f1")) == 3
    with pytest.raises(exceptions.NoWorkerAvailable, match="stayed busy"):
        run(orch, function, package, wait=0.1)
    leave.set()
    for thread in threads:
        thread.join()
    # Scale down: idle pods are deleted after the expiry.
    orch.expire_idle(3600)
    assert len(orch.list_workers("f1")) == 3
    orch.expire_idle(0)
    assert orch.list_workers("f1") == []


def test_scale_up_takes_free_pods_and_scale_down_keeps_one(orch, cluster):
    package = hello()
    orch.scale_up(spec(), package, 5)  # the pool has 2 ready pods; the cap is 3
    taken = orch.list_workers("f1")
    assert 2 <= len(taken) <= 3
    assert package.calls == len(taken)
    orch.scale_down("f1", 0, 5)
    (kept,) = orch.list_workers("f1")
    name, _ = run(orch, spec(), package)
    assert name == kept


def test_target_concurrency_queues_executions_on_busy_pods(orch, config_fixture):
    config_fixture.config(group="kubernetes", target_concurrency=2)
    function = spec(entry="sleeper.main")
    package = sleeper()
    results = []

    def execute():
        results.append(run(orch, function, package, seconds=0.2)[0])

    threads = [threading.Thread(target=execute) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2 and len(set(results)) == 1
    assert len(orch.list_workers("f1")) == 1


def test_expire_idle_deletes_this_engines_orphans_only(make_orchestrator, cluster, launcher):
    cluster.launcher = launcher
    earlier, other = make_orchestrator("engine-a"), make_orchestrator("engine-b")
    earlier.create_pool("rt", "python3")
    orphan, _ = run(earlier, spec(function_id="f1"), hello())
    kept, _ = run(other, spec(function_id="f2"), hello())
    restarted = make_orchestrator("engine-a")  # the same engine after a restart
    restarted.expire_idle(3600)
    assert restarted.list_workers("f1") == []
    assert restarted.list_workers("f2") == [kept]
    assert orphan not in launcher.running()


def test_a_broken_worker_is_deleted_not_reused(orch, cluster, launcher):
    name, _ = run(orch, spec(), hello())
    launcher.stop(name)  # the pod's runtime server dies
    with pytest.raises(exceptions.WorkerError):
        run(orch, spec(), hello())
    assert ("qinling-lite", name) not in cluster.store["pods"]
    assert name not in orch.list_workers("f1")
    replacement, answer = run(orch, spec(), hello())
    assert replacement != name and answer["success"]


def test_a_new_package_gets_a_new_pod(orch, cluster):
    first, _ = run(orch, spec(md5="md5-1"), hello())
    second, answer = run(orch, spec(md5="md5-2"), hello())
    assert second != first and answer["output"] == "Hello, World"
    assert ("qinling-lite", first) not in cluster.store["pods"]
    assert orch.list_workers("f1") == [second]


def test_release_function_deletes_its_pods(orch, launcher):
    v0, _ = run(orch, spec(version=0), hello())
    v1, _ = run(orch, spec(version=1), hello())
    orch.release_function("f1", 0)
    assert orch.list_workers("f1", 0) == []
    assert orch.list_workers("f1", 1) == [v1]
    orch.release_function("f1")
    assert orch.list_workers("f1", 1) == []
    assert not {v0, v1} & launcher.running()


def test_update_pool_rolls_out_the_new_image(orch, cluster):
    before = {pod["metadata"]["name"] for pod in cluster.pods()}
    orch.update_pool("rt", "python3-new")
    assert image_of(cluster) == "python3-new"
    after = {pod["metadata"]["name"] for pod in cluster.pods()}
    assert not before & after
    assert orch.get_pool("rt") == {"total": 2, "available": 2}


def test_update_pool_rolls_back_an_image_that_does_not_get_ready(orch, cluster, config_fixture):
    config_fixture.config(group="kubernetes", pool_timeout=0.3)
    cluster.bad_images.add("broken")
    with pytest.raises(exceptions.OrchestratorError, match="rolled back to python3"):
        orch.update_pool("rt", "broken")
    assert image_of(cluster) == "python3"
    assert orch.get_pool("rt") == {"total": 2, "available": 2}
    name, answer = run(orch, spec(), hello())
    assert answer["success"]


def test_update_pool_of_an_unknown_runtime_fails(orch):
    with pytest.raises(exceptions.OrchestratorError, match="has no pool"):
        orch.update_pool("unknown", "python3")


def test_delete_pool_deletes_pool_and_bound_pods(orch, cluster, launcher):
    run(orch, spec(), hello())
    orch.delete_pool("rt")
    assert cluster.store["deployments"] == {}
    assert cluster.pods() == []
    assert launcher.running() == set()
    assert orch.get_pool("rt") == {"total": 0, "available": 0}
    assert orch.list_workers("f1") == []


def test_stop_deletes_the_pods_this_engine_holds(orch, cluster):
    name, _ = run(orch, spec(), hello())
    orch.stop()
    assert ("qinling-lite", name) not in cluster.store["pods"]
    with pytest.raises(exceptions.OrchestratorError, match="stopped"):
        run(orch, spec(), hello())


def test_connection_pool_fits_every_execution_thread(make_orchestrator, conf):
    configuration = make_orchestrator()._apis.api_client.configuration
    assert configuration.connection_pool_maxsize >= conf.engine.execution_threads

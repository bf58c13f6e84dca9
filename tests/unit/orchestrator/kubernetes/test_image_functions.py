"""Image functions on the Kubernetes orchestrator: one pod per execution, run by the
fake kubelet as a real process, watched to its end and deleted."""

import threading
import time

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.kubernetes import image_pods, manifests
from qinling_lite.runtime import protocol
from tests.unit.orchestrator.conftest import MIB, wait_for
from tests.unit.orchestrator.kubernetes.harness import ECHO, EXIT, SLEEP

NAMESPACE = "qinling-lite"


def ispec(image=ECHO, execution_id="e1", timeout=5, attempt=1):
    return base.ImageSpec(
        execution_id=execution_id,
        attempt=attempt,
        function_id="f1",
        project_id="p1",
        image=image,
        cpu=100,
        memory_size=32 * MIB,
        timeout=timeout,
    )


def image_pods_in(cluster):
    return cluster.pods(selector=manifests.IMAGE_FUNCTION_LABEL)


def sent_pods(cluster):
    return [manifest for kind, manifest in cluster.sent if kind == "pods"]


@pytest.fixture
def orch(make_orchestrator):
    return make_orchestrator()


def test_an_image_runs_once_with_its_args_and_its_pod_is_deleted(orch, cluster):
    answer = orch.run_image(ispec(), ["a", "b c", '{"k": 1}'])
    assert answer["success"] is True
    assert answer["output"] is None
    assert answer["logs"] == 'args: ["a", "b c", "{\\"k\\": 1}"]\n'
    assert 0 <= answer["duration"] <= 2
    assert image_pods_in(cluster) == []
    assert cluster.kubelet.running() == set()
    (pod,) = sent_pods(cluster)
    assert pod["metadata"]["name"] == "image-e1-1"
    assert pod["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "qinling-lite",
        "qinling-lite/image-function": "f1",
        "qinling-lite/execution": "e1",
    }
    assert pod["metadata"]["annotations"] == {"qinling-lite/engine": "engine-1"}
    (container,) = pod["spec"]["containers"]
    assert (container["image"], container["args"]) == (ECHO, ["a", "b c", '{"k": 1}'])
    # Per container, requests equal limits: the function's own cpu and memory.
    amounts = {"cpu": "100m", "memory": str(32 * MIB)}
    assert container["resources"] == {"requests": amounts, "limits": amounts}
    assert pod["spec"]["restartPolicy"] == "Never"
    assert pod["spec"]["activeDeadlineSeconds"] == 120 + 5 + manifests.IMAGE_DEADLINE_MARGIN


def test_the_namespace_and_its_policies_are_prepared_without_any_runtime(orch, cluster):
    orch.run_image(ispec(), [])
    assert ("", NAMESPACE) in cluster.store["namespaces"]
    policy = cluster.store["networkpolicies"][(NAMESPACE, manifests.IMAGE_NETWORK_POLICY)]
    assert policy["spec"]["podSelector"] == {
        "matchExpressions": [{"key": "qinling-lite/image-function", "operator": "Exists"}]
    }
    assert policy["spec"]["ingress"] == []


def test_a_non_zero_exit_fails_with_the_exit_code(orch, cluster):
    answer = orch.run_image(ispec(image=EXIT), ["3"])
    assert (answer["success"], answer["output"]) == (False, "Exit code 3.")
    assert answer["logs"] == "exiting with 3\n"
    assert image_pods_in(cluster) == []


def test_a_run_past_its_timeout_is_killed_and_its_pod_deleted(orch, cluster):
    started = time.monotonic()
    answer = orch.run_image(ispec(image=SLEEP, timeout=1), ["30"])
    # The timeout is the property: the run ends at 1 s, not at the 30 s the image sleeps
    # (the bound leaves a loaded host plenty of slack).
    assert time.monotonic() - started < 20
    assert answer == {
        "success": False,
        "duration": 1,
        "output": "Function execution timeout.",
        "logs": "sleeping\n",
    }
    assert image_pods_in(cluster) == []
    assert cluster.kubelet.running() == set()


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        ("registry.example/qinling-test/missing:1", "ErrImagePull"),
        ("Registry.Example/NotLowercase", "InvalidImageName"),
    ],
)
def test_an_image_that_cannot_run_is_an_error_at_once(orch, cluster, image, reason):
    started = time.monotonic()
    with pytest.raises(exceptions.OrchestratorError, match=f"cannot run: {reason}"):
        orch.run_image(ispec(image=image, timeout=60), [])
    # "At once" is the property: not after the 60 s timeout (half of it is ample slack).
    assert time.monotonic() - started < 30
    assert image_pods_in(cluster) == []


def test_a_pod_that_does_not_start_in_time_is_an_error(orch, cluster, config_fixture, monkeypatch):
    config_fixture.config(group="kubernetes", image_start_timeout=1)
    # Never synced: the pod stays Pending, its container waiting to be created.
    monkeypatch.setattr(cluster.kubelet, "sync", lambda key, pod: None)
    with pytest.raises(exceptions.OrchestratorError, match="did not start within 1 s"):
        orch.run_image(ispec(), [])
    assert image_pods_in(cluster) == []


def test_each_attempt_gets_its_own_pod(orch, cluster):
    orch.run_image(ispec(attempt=1), [])
    orch.run_image(ispec(attempt=2), [])
    assert [p["metadata"]["name"] for p in sent_pods(cluster)] == ["image-e1-1", "image-e1-2"]


def test_a_long_log_is_truncated(orch, cluster, monkeypatch):
    monkeypatch.setattr(image_pods, "MAX_LOG_BYTES", 10)
    answer = orch.run_image(ispec(), ["0123456789abc"])
    assert answer["logs"] == 'args: ["01' + protocol.LOG_TRUNCATED


def _run_in_background(orch, spec, args):
    """Start run_image on a thread; return (thread, outcome dict) once its pod runs."""
    outcome = {}

    def run():
        try:
            outcome["answer"] = orch.run_image(spec, args)
        except exceptions.OrchestratorError as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_expire_idle_deletes_leftover_image_pods(make_orchestrator, cluster):
    crashed, other = make_orchestrator("engine-a"), make_orchestrator("engine-b")
    runs = [
        _run_in_background(crashed, ispec(image=SLEEP, execution_id="orphan"), ["30"]),
        _run_in_background(other, ispec(image=SLEEP, execution_id="fresh"), ["30"]),
        _run_in_background(other, ispec(image=SLEEP, execution_id="expired"), ["30"]),
    ]
    assert wait_for(lambda: len(cluster.kubelet.running()) == 3)
    # The pod of an engine that is gone for good, long past its deadline.
    cluster.store["pods"][(NAMESPACE, "image-expired-1")]["metadata"]["creationTimestamp"] = (
        "2020-01-01T00:00:00Z"
    )
    make_orchestrator("engine-a").expire_idle(3600)  # engine-a, restarted
    names = {pod["metadata"]["name"] for pod in image_pods_in(cluster)}
    assert names == {"image-fresh-1"}
    other.stop()  # its running execution's pod goes with it
    for thread, outcome in runs:
        thread.join()
        assert "was deleted before it ended" in str(outcome["error"])
    assert image_pods_in(cluster) == []
    assert cluster.kubelet.running() == set()


def test_a_stopped_orchestrator_refuses_image_runs(orch):
    orch.stop()
    with pytest.raises(exceptions.OrchestratorError, match="stopped"):
        orch.run_image(ispec(), [])

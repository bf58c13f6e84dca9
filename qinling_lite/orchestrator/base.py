"""The interface between the engine and the places where function workers run.

Every orchestrator implements ``Orchestrator``. What only some can do is a capability: a
mixin below that the orchestrator's class inherits (``ImageFunctions``), so that the API
can ask ``orchestrator.supports`` without starting one.
"""

import abc
import contextlib
import dataclasses
from collections.abc import Callable
from typing import Protocol

from oslo_config import cfg


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """What a worker needs to serve one version of a function."""

    function_id: str
    version: int
    runtime_id: str
    entry: str
    package_md5: str
    cpu: int
    memory_size: int
    timeout: int
    runtime_image: str | None = None  # the runtime's image, for a pool made on demand


@dataclasses.dataclass(frozen=True)
class ImageSpec:
    """One attempt at one execution of an image function: its container, run once."""

    execution_id: str
    attempt: int
    function_id: str
    project_id: str
    image: str
    cpu: int
    memory_size: int
    timeout: int


class BoundWorker(Protocol):
    """A runtime server bound to one function version."""

    name: str

    def execute(self, payload: dict, timeout: float) -> dict:
        """POST /execute; the runtime server's answer. Raises WorkerError on transport failure."""


class Orchestrator(abc.ABC):
    """Keeps pools of pre-warmed workers per runtime and binds workers to functions."""

    @abc.abstractmethod
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        """Built once per engine process from the service's config."""

    @classmethod
    @abc.abstractmethod
    def check(cls, conf: cfg.ConfigOpts) -> list[str]:
        """Whether an engine with ``conf`` could start workers here, starting none.

        Raises OrchestratorError saying why not; returns warnings, as sentences, about
        what would work but less well than configured.
        """

    @abc.abstractmethod
    def create_pool(self, runtime_id: str, image: str) -> None:
        """Start the runtime's pool and block until it is warm; OrchestratorError on failure."""

    @abc.abstractmethod
    def delete_pool(self, runtime_id: str) -> None:
        """Kill every worker of the runtime, in the pool and bound to functions."""

    @abc.abstractmethod
    def get_pool(self, runtime_id: str) -> dict:
        """``{"total": workers of the runtime, "available": unbound ones}``."""

    @abc.abstractmethod
    def worker(
        self, spec: FunctionSpec, package: Callable[[], bytes], wait: float
    ) -> contextlib.AbstractContextManager[BoundWorker]:
        """Context manager yielding a worker bound to ``spec``, loading ``package()`` if new.

        Raises NoWorkerAvailable when none is free within ``wait`` seconds. A worker whose
        execute raised WorkerError is discarded on exit instead of being kept warm.
        """

    @abc.abstractmethod
    def update_pool(self, runtime_id: str, image: str) -> None:
        """Replace the runtime's pool with workers of ``image``; on failure keep the old
        pool (roll back) and raise OrchestratorError."""

    @abc.abstractmethod
    def scale_up(self, spec: FunctionSpec, package: Callable[[], bytes], count: int) -> None:
        """Bind up to ``count`` more warm workers to the function version (within its cap)."""

    @abc.abstractmethod
    def scale_down(self, function_id: str, version: int, count: int) -> None:
        """Release up to ``count`` idle workers of the function version, keeping one."""

    @abc.abstractmethod
    def release_function(self, function_id: str, version: int | None = None) -> None:
        """Discard the workers bound to the function version (all versions if None)."""

    @abc.abstractmethod
    def list_workers(self, function_id: str, version: int = 0) -> list[str]:
        """Names of the workers bound to the function version."""

    @abc.abstractmethod
    def expire_idle(self, max_idle: float) -> None:
        """Discard bound workers that have been idle longer than ``max_idle`` seconds."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Kill every worker (process shutdown)."""

    def worker_counts(self) -> dict[str, dict[str, int]]:
        """This engine's workers per runtime id and state, for metrics: ``free``
        (pre-warmed, unbound), ``idle`` and ``busy`` (bound); the states it can tell."""
        return {}


class ImageFunctions(abc.ABC):
    """Capability: runs image functions (``code.source`` ``image``), one container per
    execution attempt."""

    @abc.abstractmethod
    def run_image(self, spec: ImageSpec, args: list[str]) -> dict:
        """Run ``spec.image`` once with ``args`` as its arguments and wait for it to end,
        at most ``spec.timeout`` seconds from its start, then remove it.

        Returns what a worker's execute returns: ``{"success", "duration", "output",
        "logs"}``. Raises OrchestratorError when the image could not run at all (e.g. it
        cannot be pulled).
        """

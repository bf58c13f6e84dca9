"""A worker pod: the runtime server at the pod's IP, bound to one function version."""

import time

from qinling_lite.orchestrator import worker_client


class PodWorker:
    """One pod's runtime server; ``healthy`` turns False when a request to it breaks."""

    def __init__(self, name, address, idle_timeout):
        self.name = name
        self.healthy = True
        self.last_used = time.monotonic()
        self._client = worker_client.WorkerClient(address, idle_timeout)

    def load(self, spec, package, timeout):
        """Push the function package (the pod never fetches anything itself)."""
        try:
            return self._client.load(spec, package, timeout)
        except BaseException:
            self.healthy = False
            raise

    def execute(self, payload, timeout):
        try:
            return self._client.execute(payload, timeout)
        except BaseException:
            self.healthy = False
            raise

    def close(self):
        self._client.close()

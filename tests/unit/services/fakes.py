"""Fakes of what the function services are handed: the engine client and trusts."""

from qinling_lite import exceptions


class Engine:
    """An engine client that records the casts and calls it gets, as (method, args)."""

    def __init__(self, unavailable=False, workers=()):
        self.calls = []
        self.unavailable = unavailable
        self.workers = list(workers)

    def _record(self, method, *args):
        self.calls.append((method, *args))
        if self.unavailable:
            raise exceptions.EngineUnavailable("No engine answered.")

    def create_runtime(self, ctxt, runtime_id):
        self._record("create_runtime", runtime_id)

    def update_runtime(self, ctxt, runtime_id, image):
        self._record("update_runtime", runtime_id, image)

    def delete_runtime(self, ctxt, runtime_id):
        self._record("delete_runtime", runtime_id)

    def get_runtime_pool(self, ctxt, runtime_id):
        self._record("get_runtime_pool", runtime_id)
        return {"total": 2, "available": 1}

    def release_function(self, ctxt, function_id, version=None):
        self._record("release_function", function_id, version)

    def scale_up_function(self, ctxt, function_id, version, count):
        self._record("scale_up_function", function_id, version, count)

    def scale_down_function(self, ctxt, function_id, version, count):
        self._record("scale_down_function", function_id, version, count)

    def get_function_workers(self, ctxt, function_id, version):
        self._record("get_function_workers", function_id, version)
        return self.workers


class Trusts:
    """Trust operations that hand out numbered trust ids and record deletions.

    ``on_create`` runs when a trust is made (to fail, or to change the database meanwhile).
    """

    def __init__(self, on_create=None):
        self.created = []
        self.deleted = []
        self._on_create = on_create

    def create(self):
        if self._on_create is not None:
            self._on_create()
        trust_id = f"trust-{len(self.created) + 1}"
        self.created.append(trust_id)
        return trust_id

    def delete(self, trust_id):
        if trust_id:
            self.deleted.append(trust_id)

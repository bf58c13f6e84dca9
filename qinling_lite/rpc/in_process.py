"""The engine contract served by an engine in the same process (``qinling-lite-serve``)."""

import concurrent.futures

from qinling_lite.rpc import engine_api


class LocalEngineClient(engine_api.EngineClient):
    """Calls an engine in this process: casts run on the engine's own threads, calls in
    the caller's."""

    def __init__(self, manager: object, executor: concurrent.futures.Executor):
        self._manager = manager
        self._executor = executor

    def _cast(self, ctxt, method, fanout=False, swept=False, **kwargs):
        self._executor.submit(getattr(self._manager, method), ctxt, **kwargs)

    def _call(self, ctxt, method, timeout, **kwargs):
        return getattr(self._manager, method)(ctxt, **kwargs)

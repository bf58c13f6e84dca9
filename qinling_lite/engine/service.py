"""An engine: orchestrator, package storage, the RPC endpoint and its periodic work."""

import concurrent.futures
import datetime
import os
import time
import uuid

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling_lite import orchestrator, status, storage
from qinling_lite.db import executions as executions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.engine import executions, jobs, manager, periodic, retries
from qinling_lite.identity import trustee
from qinling_lite.storage import swift

LOG = logging.getLogger(__name__)

IDLE_CHECK_INTERVAL = 60
SWEEP_BATCH = 200
DRAIN_POLL = 0.1


class EngineService:
    """Everything one engine process runs, without the transport that feeds it."""

    def __init__(self, conf):
        self._conf = conf
        self.orchestrator = orchestrator.load(conf)
        owner_trustee = trustee.Trustee(conf)
        self.runner = executions.ExecutionRunner(
            self.orchestrator,
            storage.load(conf),
            conf.engine.worker_wait,
            engine_id=f"{conf.engine.host}-{os.getpid()}-{uuid.uuid4().hex[:8]}",
            lease=conf.engine.lease_time,
            retry_policy=retries.Policy(conf),
            trustee=owner_trustee,
            swift=lambda trust_id: swift.SwiftObjects(owner_trustee.trust_session(trust_id), conf),
            max_result_size=conf.resource_limits.max_result_size,
        )
        self.manager = manager.EngineManager(self.orchestrator, self.runner)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            conf.engine.execution_threads, thread_name_prefix="engine"
        )
        self.jobs = jobs.JobScheduler(
            self._dispatch, conf.engine.job_catch_up, conf.engine.job_missed_after
        )
        # Work that takes new executions on, stopped first on shutdown ...
        self._taking = [
            periodic.PeriodicTask(conf.engine.job_check_interval, self.jobs.fire_due),
            periodic.PeriodicTask(conf.execution.retry_check_interval, self._dispatch_retries),
            periodic.PeriodicTask(conf.engine.pending_sweep_interval, self._take_over_stale),
        ]
        # ... and upkeep, which goes on until the executions in flight are done.
        self._upkeep = [
            periodic.PeriodicTask(IDLE_CHECK_INTERVAL, self._expire_idle_workers),
            periodic.PeriodicTask(conf.engine.lease_time / 3, self.runner.renew_leases),
        ]

    def start(self):
        """Bring the pools of usable runtimes back, then start the periodic work."""
        for runtime in runtimes_db.list_with_status([status.AVAILABLE, status.CREATING]):
            self.executor.submit(self.manager.start_pool, runtime)
        for task in self._taking + self._upkeep:
            task.start()

    def stop_taking_work(self):
        """Stop the periodic work that takes executions on (shutdown, step 1); leases of
        the executions in flight are still renewed."""
        for task in self._taking:
            task.stop()

    def drain(self, timeout):
        """Wait up to ``timeout`` s for the executions this engine runs; True if it could.

        Executions queued but not started stay pending for other engines.
        """
        self.executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        while self.runner.running() and time.monotonic() < deadline:
            time.sleep(DRAIN_POLL)
        return not self.runner.running()

    def stop(self):
        for task in self._taking + self._upkeep:
            task.stop()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.orchestrator.stop()

    def _expire_idle_workers(self):
        self.orchestrator.expire_idle(self._conf.engine.worker_idle_expiry)

    def _take_over_stale(self):
        """Run executions no engine runs (the claim keeps each to one engine at a time),
        and finish creating or deleting runtimes whose cast was lost."""
        cutoff = timeutils.utcnow() - datetime.timedelta(seconds=self._conf.engine.pending_grace)
        for runtime in runtimes_db.list_with_status([status.CREATING], before=cutoff):
            self.executor.submit(self.manager.start_pool, runtime)
        for runtime in runtimes_db.list_with_status([status.DELETING], before=cutoff):
            self.executor.submit(self.manager.delete_runtime, None, runtime.id)
        stale = executions_db.list_stale(cutoff, SWEEP_BATCH)
        if not stale:
            return
        LOG.warning("Taking over %d executions no engine runs", len(stale))
        expired = set(executions_db.list_lease_ran_out(SWEEP_BATCH))
        for execution_id in stale:
            if execution_id in expired:
                self.executor.submit(self.runner.run, execution_id, takeover=True)
            else:
                self._dispatch(execution_id)

    def _dispatch_retries(self):
        """Run the retries whose backoff is over (any engine may: the claim keeps each to
        one)."""
        for execution_id in executions_db.list_due_retries(timeutils.utcnow(), SWEEP_BATCH):
            self._dispatch(execution_id)

    def _dispatch(self, execution_id):
        """Run an execution recorded in the database on this engine's threads."""
        self.executor.submit(self.manager.create_execution, None, execution_id)

"""Firing cron and one-shot jobs: each tick once, whatever the number of engines."""

import datetime

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling_lite import exceptions, function_input, schedule
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import api as db_api

LOG = logging.getLogger(__name__)

BATCH = 100


class JobScheduler:
    """Fires due jobs and hands their executions to ``dispatch(execution_id)``.

    A tick that was missed (no engine ran when it came, for longer than
    ``missed_after`` seconds) fires once when an engine is back, or is skipped with
    ``catch_up = "skip"``; the next tick is then the first one after now, so a long
    outage never causes a burst.
    """

    def __init__(self, dispatch, catch_up, missed_after):
        self._dispatch = dispatch
        self._catch_up = catch_up
        self._missed_after = datetime.timedelta(seconds=missed_after)

    def fire_due(self):
        now = timeutils.utcnow()
        for job in db_api.list_due_jobs(now, BATCH):
            try:
                self._fire(job, now)
            except Exception:
                LOG.exception("Job %s could not fire", job.id)

    def _fire(self, job, now):
        scheduled = job.next_execution_time
        next_time = schedule.next_fire(job.pattern, max(scheduled, now)) if job.pattern else None
        missed = now - scheduled > self._missed_after
        values = None if missed and self._catch_up == "skip" else self._execution(job)
        execution_id = db_api.fire_job(job, next_time, values)
        if execution_id is not None:
            self._dispatch(execution_id)

    def _execution(self, job):
        """The execution of one tick, its alias resolved now; None if it cannot run."""
        function_id, version = job.function_id, job.function_version
        if job.function_alias:
            try:
                alias = aliases_db.get(job.function_alias, job.project_id)
            except exceptions.NotFound:
                LOG.warning("Job %s: alias %s is gone; tick skipped", job.id, job.function_alias)
                return None
            function_id, version = alias.function_id, alias.function_version
        return {
            "function_id": function_id,
            "function_version": version,
            "function_alias": job.function_alias,
            "project_id": job.project_id,
            "sync": False,
            "input": function_input.parse(job.function_input),
            "description": f"Created by Job {job.id}",
        }

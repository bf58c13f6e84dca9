"""Firing cron and one-shot jobs: each tick once, whatever the number of engines."""

import datetime

from oslo_log import log as logging
from oslo_utils import timeutils

from qinling_lite import schedule
from qinling_lite.db import jobs as jobs_db
from qinling_lite.services import jobs as jobs_service

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
        for job in jobs_db.list_due(now, BATCH):
            try:
                self._fire(job, now)
            except Exception:
                LOG.exception("Job %s could not fire", job.id)

    def _fire(self, job, now):
        scheduled = job.next_execution_time
        next_time = schedule.next_fire(job.pattern, max(scheduled, now)) if job.pattern else None
        missed = now - scheduled > self._missed_after
        values = None if missed and self._catch_up == "skip" else jobs_service.tick_execution(job)
        execution_id = jobs_db.fire(job, next_time, values)
        if execution_id is not None:
            self._dispatch(execution_id)

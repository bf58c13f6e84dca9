"""What follows a failed asynchronous execution: a retry after a backoff, or, after the
last attempt, a dead-letter execution that reports the failure.

Both are new pending execution rows that ``db.executions.finish`` inserts with the
outcome they follow, in one transaction: they exist once, or not at all.
"""

import datetime
import random
from typing import Any

from oslo_utils import timeutils

from qinling_lite import retry_reasons, status
from qinling_lite.runtime import protocol


def reason(outcome: str, result: Any, engine_side: bool) -> str | None:
    """Why an attempt failed (one of retry_reasons.REASONS), or None if it succeeded.

    ``engine_side``: the engine, not the function, ended it (an attempt whose worker
    died is ``failed`` for its status but an ``error`` to retry on).
    """
    if outcome == status.SUCCESS:
        return None
    if engine_side or outcome == status.ERROR:
        return retry_reasons.ERROR
    if isinstance(result, dict) and result.get("output") == protocol.TIMEOUT_OUTPUT:
        return retry_reasons.TIMEOUT
    return retry_reasons.FAILED


class Policy:
    """The operator's retry options ([execution]) applied to one claimed execution."""

    def __init__(self, conf, rand=random.uniform):
        self._conf = conf.execution
        self._rand = rand

    def retries(self, settings):
        """How many retries a function's ``RetrySettings`` allow now."""
        wanted = settings.retry_attempts
        if wanted is None:
            wanted = self._conf.default_retry_attempts
        return min(wanted, self._conf.max_retry_attempts)

    def backoff(self, retry_attempt):
        """Seconds before retry ``retry_attempt`` (from 1): a random time between half and
        all of min(max, base * 2 ** (n - 1))."""
        ceiling = min(
            self._conf.retry_backoff_max,
            self._conf.retry_backoff_base * 2 ** (retry_attempt - 1),
        )
        return self._rand(ceiling / 2, ceiling)

    def follow_up(self, execution, outcome, result, engine_side=False):
        """The values of the execution that follows this attempt of a claimed
        ``execution`` (``db.executions.ClaimedExecution``), or None.

        Only asynchronous executions of functions that still exist have one: a retry
        when the reason is one the function retries on and retries remain, else a
        dead-letter execution when the function has a dead-letter function and this is
        no dead-letter execution itself (which would let two functions loop).
        """
        why = reason(outcome, result, engine_side)
        if why is None or execution.sync or not execution.function.function_exists:
            return None
        settings = execution.retry
        if why in retry_reasons.parse(settings.retry_on) and execution.retry_attempt < self.retries(
            settings
        ):
            return self._retry(execution)
        if settings.dead_letter_function_id and execution.dead_letter_of is None:
            return _dead_letter(execution, outcome, result)
        return None

    def _retry(self, execution):
        number = execution.retry_attempt + 1
        delay = datetime.timedelta(seconds=self.backoff(number))
        return {
            "function_id": execution.function.function_id,
            "function_version": execution.function.function_version,
            "function_alias": execution.function_alias,
            "project_id": execution.project_id,
            "description": execution.description,
            "input": execution.input,
            "sync": False,
            "retry_of": execution.id,
            "retry_attempt": number,
            "not_before": timeutils.utcnow() + delay,
            "dead_letter_of": execution.dead_letter_of,
        }


def dead_letter_input(execution, outcome, result):
    """The input of the dead-letter execution of a failed last attempt."""
    return {
        "function_id": execution.function.function_id,
        "function_version": execution.function.function_version,
        "execution_id": execution.id,
        "retry_attempt": execution.retry_attempt,
        "status": outcome,
        "input": execution.input,
        "error": result.get("output") if isinstance(result, dict) else result,
    }


def _dead_letter(execution, outcome, result):
    return {
        "function_id": execution.retry.dead_letter_function_id,
        "project_id": execution.project_id,
        "description": f"Dead letter of execution {execution.id}",
        "input": dead_letter_input(execution, outcome, result),
        "sync": False,
        "dead_letter_of": execution.id,
    }

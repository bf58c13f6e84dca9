"""Executions: what a request runs, starting it, reading and deleting it.

Starting an execution is shared by the executions API, webhook invocations and (its
recording half) job ticks: the row is committed before an engine hears of it, so an
execution the API accepted is never lost, whatever the engine or the broker do.
"""

import datetime
import random
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, Protocol

from oslo_config import cfg
from oslo_log import log as logging

from qinling_lite import context, exceptions, status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import executions as executions_db
from qinling_lite.db import models

LOG = logging.getLogger(__name__)

# Runtimes whose workers run executions: during an image update the old ones still serve
# (Qinling answered 409).
RUNNABLE = (status.AVAILABLE, status.UPGRADING)

# Seconds a caller refused for a full backlog is told to wait: a random number between
# this and twice it, so that the callers of a flood refused together come back spread.
BACKLOG_RETRY_AFTER = 5

# The caller's permission on a target, as the API's policy decides it (raises if denied).
Authorize = Callable[[executions_db.ExecutionTarget], object]


class Engine(Protocol):
    """The part of the engine RPC client that starting an execution uses."""

    def create_execution(
        self, ctxt: context.RequestContext, execution_id: str, sync: bool, timeout: float
    ) -> Any: ...


class Resolved(NamedTuple):
    """A function version an execution, a webhook or a job runs."""

    target: executions_db.ExecutionTarget
    version: int


def resolve_target(
    ctx: context.RequestContext, fields: Mapping[str, Any], authorize: Authorize
) -> Resolved:
    """The function version that ``function_alias`` or ``function_id`` and
    ``function_version`` in ``fields`` name, which ``authorize`` must allow.

    An alias is a name in the caller's project, resolved now: later changes to it do not
    move what was resolved. A function is looked up in the caller's scope, so another
    project's function is not found (unless the caller is an admin).
    """
    if fields.get("function_alias"):
        alias = aliases_db.get(fields["function_alias"], ctx.project_id)
        function_id, version = alias.function_id, alias.function_version
    elif fields.get("function_id"):
        function_id, version = fields["function_id"], fields.get("function_version") or 0
    else:
        raise exceptions.InputError("Either function_alias or function_id must be provided.")
    target = executions_db.get_target(function_id, ctx.scope, version)
    authorize(target)
    return Resolved(target, version)


def admit_async(conf: cfg.ConfigOpts, function_id: str) -> None:
    """Let a new asynchronous execution of the function be recorded only while the
    backlog of pending executions is below ``[execution] max_pending_per_function``
    (else TooManyRequests, 429) and ``max_pending_executions`` (else Busy, 503), both
    with Retry-After. Concurrent admissions may overshoot a limit by their number."""
    options = conf.execution
    per_function, total = options.max_pending_per_function, options.max_pending_executions
    if not (per_function or total):
        return
    function_count, total_count = executions_db.count_pending(function_id, per_function, total)
    if per_function and function_count >= per_function:
        raise exceptions.TooManyRequests(
            f"Function {function_id} has {per_function} pending executions, the most it "
            "may have ([execution] max_pending_per_function); nothing was recorded: retry "
            "after Retry-After seconds.",
            retry_after=_backlog_retry_after(),
        )
    if total and total_count >= total:
        raise exceptions.Busy(
            f"{total} executions are pending, the most this deployment queues "
            "([execution] max_pending_executions); nothing was recorded: retry after "
            "Retry-After seconds.",
            retry_after=_backlog_retry_after(),
        )


def _backlog_retry_after() -> int:
    return random.randint(BACKLOG_RETRY_AFTER, 2 * BACKLOG_RETRY_AFTER)


def start(
    ctx: context.RequestContext,
    engine: Engine,
    resolved: Resolved,
    values: Mapping[str, Any],
    sync: bool,
    timeout_margin: float,
) -> models.Execution:
    """Record a pending execution of ``resolved`` and hand it to an engine.

    ``values`` are the execution's own columns (input, description, alias). If the
    engine cannot be reached the row stays pending and the engines' sweep runs it. A
    sync start waits for the outcome and returns the final row.
    """
    target = resolved.target
    if target.runtime_id is not None and target.runtime_status not in RUNNABLE:
        raise exceptions.RuntimeNotAvailable(target.runtime_id)
    execution = executions_db.create(
        {
            **values,
            "function_id": target.function_id,
            "function_version": resolved.version,
            "project_id": target.project_id,
            "sync": sync,
        }
    )
    try:
        outcome = engine.create_execution(
            ctx, execution.id, sync=sync, timeout=target.timeout + timeout_margin
        )
    except Exception:
        outcome = None
        LOG.exception(
            "Execution %s is recorded; the engine did not confirm it and a sweep will "
            "make sure it runs",
            execution.id,
        )
    if not sync:
        return execution
    return _finished(execution, outcome) or executions_db.get(execution.id)


def _finished(execution: models.Execution, outcome: Any) -> models.Execution | None:
    """The execution as the engine's answer says it was recorded, without reading it
    back; None if the answer does not say (not finished, or an engine of an older
    release, which answers no ``updated_at``)."""
    if not isinstance(outcome, dict) or not outcome.get("updated_at"):
        return None
    execution.status = outcome["status"]
    execution.result = outcome["result"]
    execution.updated_at = datetime.datetime.fromisoformat(outcome["updated_at"])
    return execution


def get(id: str, scope: str | None) -> models.Execution:
    return executions_db.get(id, scope)


def list_all(scope: str | None, filters: Mapping[str, str]) -> list[models.Execution]:
    return executions_db.list_all(scope, filters)


def delete(execution: models.Execution) -> None:
    executions_db.delete(execution.id, execution.project_id)

"""What started an execution, from the description it was created with.

Executions record no origin of their own; the API and the engine write these
descriptions (``services.webhooks``, ``services.jobs``, ``engine.retries``) and a
retry keeps its first attempt's. An API caller may write any description, so one
that starts like a webhook's counts as a webhook's.
"""

WEBHOOK = "webhook"
JOB = "job"
DEAD_LETTER = "dead_letter"
API = "api"

ALL = (WEBHOOK, JOB, DEAD_LETTER, API)

_PREFIXES = (
    ("Created by Webhook ", WEBHOOK),
    ("Created by Job ", JOB),
    ("Dead letter of execution ", DEAD_LETTER),
)


def of(description: str | None) -> str:
    """The trigger of an execution with ``description``: ``api`` unless another's."""
    for prefix, trigger in _PREFIXES:
        if description and description.startswith(prefix):
            return trigger
    return API

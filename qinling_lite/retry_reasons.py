"""Which outcomes of an asynchronous execution a function retries on (its ``retry_on``):
the names, and their form in the ``functions.retry_on`` column."""

from collections.abc import Collection

# The outcomes that may retry: the function failed, it ran out of time, or the engine
# could not run it to an end (no worker, a worker that died or did not answer, a
# missing package).
FAILED, TIMEOUT, ERROR = "failed", "timeout", "error"
REASONS = (FAILED, TIMEOUT, ERROR)


def parse(stored: str | None) -> list[str]:
    """The reasons a function retries on, from its ``retry_on`` column (None: all)."""
    if stored is None:
        return list(REASONS)
    return [name for name in stored.split(",") if name]


def store(reasons: Collection[str]) -> str:
    """The ``retry_on`` column for a list of reasons, in the order of REASONS."""
    return ",".join(name for name in REASONS if name in reasons)

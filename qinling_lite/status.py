"""Status values of runtimes and executions, as they appear on the wire."""

# Runtimes
CREATING = "creating"
AVAILABLE = "available"
UPGRADING = "upgrading"
DELETING = "deleting"
ERROR = "error"

# Executions: pending until an engine claims it, then running, then one final state.
PENDING = "pending"
RUNNING = "running"
SUCCESS = "success"
FAILED = "failed"

EXECUTION_FINAL = frozenset({SUCCESS, FAILED, ERROR})

# Jobs: running <-> paused by the user, then done (count exhausted) or cancelled.
PAUSED = "paused"
DONE = "done"
CANCELLED = "cancelled"

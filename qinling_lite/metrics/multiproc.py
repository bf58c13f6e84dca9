"""prometheus-client's multiprocess mode, for an API served by several processes.

Standard library only: prometheus-client picks its value store when first imported, so
the directory must be in the environment before that, in the process that forks the
API's workers (``qinling-lite-api``'s gunicorn master).
"""

import os

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(path: str) -> None:
    """Make ``path`` this process tree's metrics directory, empty of an earlier run's."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))
    os.environ[ENV] = path


def directory() -> str | None:
    """The directory the processes of this tree write their metrics to, if any."""
    return os.environ.get(ENV) or None

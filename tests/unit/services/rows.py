"""The rows and callers the services tests need (in the database of ``conftest``)."""

from qinling_lite import context, exceptions, status
from qinling_lite.db import aliases as aliases_db
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db

P1, P2 = "project-1", "project-2"


def caller(project_id=P1):
    return context.RequestContext(project_id=project_id, is_admin=False, overwrite=False)


def admin():
    return context.RequestContext(project_id="admin", is_admin=True, overwrite=False)


def function(project_id=P1, runtime_status=status.AVAILABLE, **values):
    runtime = runtimes_db.create(
        {"image": "python3", "project_id": project_id, "status": runtime_status}
    )
    return functions_db.create(
        {
            "runtime_id": runtime.id,
            "project_id": project_id,
            "code": {"source": "package", "md5sum": "x"},
            "entry": "main.main",
            "cpu": 100,
            "memory_size": 32 * 1024 * 1024,
            "timeout": 5,
            **values,
        }
    )


def alias(name, function, version=0, project_id=None):
    return aliases_db.create(
        {
            "name": name,
            "function_id": function.id,
            "function_version": version,
            "project_id": project_id or function.project_id,
        }
    )


class Authorizer:
    """An ``authorize`` callable that records its targets and allows them, or refuses."""

    def __init__(self, allow=True):
        self.allow = allow
        self.targets = []

    def __call__(self, target):
        self.targets.append(target)
        if not self.allow:
            raise exceptions.NotAllowed()
        return target

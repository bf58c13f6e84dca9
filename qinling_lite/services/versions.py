"""Function versions: numbered snapshots of a function's package."""

from oslo_config import cfg

from qinling_lite import context
from qinling_lite.db import models
from qinling_lite.db import versions as versions_db
from qinling_lite.rpc import engine_api
from qinling_lite.storage import base as storage_base


def create(
    conf: cfg.ConfigOpts,
    storage: storage_base.PackageStore,
    function: models.Function,
    description: str | None,
) -> models.FunctionVersion:
    """Snapshot the function's current package as its next version, within
    ``[api] max_function_versions``; a failed copy records nothing."""

    def snapshot(number: int, md5: str) -> None:
        storage.snapshot(function.project_id, function.id, md5, number)

    return versions_db.create(
        function.id, function.project_id, description, conf.api.max_function_versions, snapshot
    )


def delete(
    ctx: context.RequestContext,
    storage: storage_base.PackageStore,
    engine: engine_api.EngineClient,
    function_id: str,
    number: int,
) -> None:
    """Delete a version nothing uses, then its package and workers."""
    version = versions_db.delete(function_id, number)
    storage.delete(
        version.project_id, version.function_id, version.package_md5, version.version_number
    )
    engine.release_function(ctx, function_id, version.version_number)

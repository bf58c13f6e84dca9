"""Function versions: numbered snapshots of a function's package (of a package or Swift
function)."""

from oslo_config import cfg

from qinling_lite import context, exceptions, function_code
from qinling_lite.db import functions as functions_db
from qinling_lite.db import models
from qinling_lite.db import versions as versions_db
from qinling_lite.rpc import engine_api
from qinling_lite.storage import base as storage_base
from qinling_lite.storage import swift as swift_storage


def create(
    conf: cfg.ConfigOpts,
    storage: storage_base.PackageStore,
    function: models.Function,
    description: str | None,
    swift: swift_storage.SwiftObjects | None = None,
) -> models.FunctionVersion:
    """Snapshot the function's current package as its next version, within
    ``[api] max_function_versions``; a failed copy records nothing. A Swift function's
    object is fetched again first (as the caller, ``swift``) if it changed."""
    if function.code.get("source") == function_code.SWIFT:
        _refresh_swift(storage, function, swift)

    def snapshot(number: int, md5: str) -> None:
        storage.snapshot(function.project_id, function.id, md5, number)

    return versions_db.create(
        function.id, function.project_id, description, conf.api.max_function_versions, snapshot
    )


def _refresh_swift(
    storage: storage_base.PackageStore,
    function: models.Function,
    swift: swift_storage.SwiftObjects | None,
) -> None:
    """Record the Swift object's current package as the function's code."""
    if swift is None:
        raise exceptions.InputError("Swift object not supported: this deployment has no Keystone.")
    try:
        code = swift.refresh(storage, function.project_id, function.id, function.code)
    except swift_storage.SwiftError as e:
        raise exceptions.InputError(f"Failed to validate object in Swift: {e.message}") from None
    if code is not None:
        functions_db.update(function.id, {"code": code}, function.project_id)
        if code["md5sum"] != function.code["md5sum"]:
            storage.delete(function.project_id, function.id, function.code["md5sum"])


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

"""Functions: create, update and delete, with their package, trust and limits.

``fields`` are what a caller sent, by name: text as sent, limits as integers (or as
sent, to be refused), ``package`` as a binary stream (the multipart part's file), or
anything else, to be refused. This module decides which fields each operation takes.
"""

import io
import typing
from collections.abc import Mapping
from typing import Any, BinaryIO, Protocol

from oslo_config import cfg
from oslo_utils import uuidutils

from qinling_lite import (
    context,
    exceptions,
    function_code,
    orchestrator,
    retry_reasons,
    status,
    strict_json,
)
from qinling_lite.db import functions as functions_db
from qinling_lite.db import models
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.orchestrator import base as orchestrator_base
from qinling_lite.rpc import engine_api
from qinling_lite.services import validation
from qinling_lite.storage import base as storage_base
from qinling_lite.storage import swift as swift_storage

# Text fields, with their longest length.
TEXTS = {"name": 255, "description": 255}
# Resource limits: integers, which a form or query string carries as text.
LIMITS = ("cpu", "memory_size", "timeout")
# Extensions: what follows a failed asynchronous execution. Null (or an empty form
# field) is the default: [execution] default_retry_attempts, every reason, none.
RETRIES = ("retry_attempts", "retry_on", "dead_letter_function_id")
# Fields that are integers, which a form or query string carries as text.
INTEGERS = (*LIMITS, "retry_attempts")
CREATE_FIELDS = {"code", "package", "runtime_id", "entry", *TEXTS, *LIMITS, *RETRIES}
# The CLI flattens ``code`` into ``source``/``swift`` on update; they carry nothing
# (Qinling ignores them too): a Swift function's location changes with ``code``.
UPDATE_FIELDS = (CREATE_FIELDS - {"runtime_id"}) | {"source", "swift"}
# What may change in an image function.
IMAGE_UPDATE_FIELDS = {*TEXTS, "timeout", *RETRIES}
# Changes the function's warm workers outlive; any other change releases them.
KEEPS_WORKERS = {*TEXTS, "timeout", *RETRIES}
DEFAULT_ENTRY = "main.main"


class Trusts(Protocol):
    """Keystone trusts from the caller to the service's trustee, made and deleted with
    the caller's token (``api.function_trusts.CallerTrusts``)."""

    def create(self) -> str | None: ...

    def delete(self, trust_id: str | None) -> None: ...


def create(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    storage: storage_base.PackageStore,
    trusts: Trusts,
    fields: Mapping[str, Any],
    swift: swift_storage.SwiftObjects | None = None,
) -> models.Function:
    """A new function in the caller's project: a package or Swift function (its runtime
    must be available; its package is stored, fetched from Swift as the caller
    (``swift``, None without Keystone), and a trust made) or an image function."""
    _refuse_unknown(fields, CREATE_FIELDS)
    if "code" not in fields:
        raise exceptions.InputError("Required param is missing. Required: {'code'}")
    code = _code(fields["code"])
    if function_code.is_image(code):
        return _create_image_function(ctx, conf, fields, code)
    if code["source"] == function_code.SWIFT:
        _caller_swift(swift)
    runtime_id = fields.get("runtime_id")
    if not runtime_id:
        raise exceptions.InputError('"runtime_id" must be specified.')
    runtime = runtimes_db.get(validation.uuid(runtime_id, "runtime_id"), ctx.scope)
    if runtime.status != status.AVAILABLE:
        raise exceptions.InputError(f"Runtime {runtime.id} is not available.")
    values = {
        "id": uuidutils.generate_uuid(),
        "project_id": ctx.project_id,
        "runtime_id": runtime.id,
        "entry": _entry(fields) if "entry" in fields else DEFAULT_ENTRY,
        **_texts(fields),
        **_limits(fields, conf),
    }
    values.update(_retries(ctx, conf, fields, values["project_id"], values["id"]))
    if code["source"] == function_code.SWIFT:
        where = swift_storage.location(code.get("swift"))
        values["code"] = _fetch(swift, storage, values["project_id"], values["id"], where, fields)
    else:
        package = _package(fields)
        md5 = storage.store(values["project_id"], values["id"], package, code.get("md5sum"))
        values["code"] = {"source": function_code.PACKAGE, "md5sum": md5}
    try:
        values["trust_id"] = trusts.create()
        return functions_db.create(values)
    except Exception:
        storage.delete_all(values["project_id"], values["id"])
        trusts.delete(values.get("trust_id"))
        raise


def _create_image_function(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    fields: Mapping[str, Any],
    code: dict[str, Any],
) -> models.Function:
    """A function that runs ``code["image"]`` once per execution: no runtime, package,
    entry or trust (``runtime_id`` and ``entry`` are ignored, as in Qinling)."""
    if not orchestrator.supports(conf, orchestrator_base.ImageFunctions):
        raise exceptions.InputError(
            "Code source 'image' is not supported by this deployment: image functions need "
            "the Kubernetes orchestrator."
        )
    if "package" in fields:
        raise exceptions.InputError("An image function takes no package.")
    function_id = uuidutils.generate_uuid()
    return functions_db.create(
        {
            "id": function_id,
            "project_id": ctx.project_id,
            "code": code,
            **_texts(fields),
            **_limits(fields, conf),
            **_retries(ctx, conf, fields, ctx.project_id, function_id),
        }
    )


def update(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    storage: storage_base.PackageStore,
    engine: engine_api.EngineClient,
    function: models.Function,
    fields: Mapping[str, Any],
    swift: swift_storage.SwiftObjects | None = None,
) -> models.Function:
    """Change a function; a new package replaces the stored one. A Swift function given
    ``code`` is fetched again from its (merged) location, as the caller. Changes its
    workers do not outlive release them."""
    _refuse_unknown(fields, UPDATE_FIELDS)
    if function_code.is_image(function.code) and set(fields) - IMAGE_UPDATE_FIELDS:
        raise exceptions.InputError("The image type function code can not be changed.")
    values: dict[str, Any] = _texts(fields)
    if "entry" in fields:
        values["entry"] = _entry(fields)
    values.update(_limits(fields, conf, defaults=False))
    values.update(_retries(ctx, conf, fields, function.project_id, function.id))
    replaced = None
    source = function.code["source"]
    code = _code(fields["code"]) if "code" in fields else {}
    if code.get("source", source) != source:
        raise exceptions.InputError("The function code type can not be changed.")
    if "package" in fields or (source == function_code.SWIFT and "code" in fields):
        old_md5 = package_md5(function)
        if source == function_code.SWIFT:
            where = swift_storage.location(
                {**swift_storage.recorded(function.code)._asdict(), **code.get("swift", {})}
            )
            new_code = _fetch(swift, storage, function.project_id, function.id, where, fields)
        else:
            md5 = storage.store(
                function.project_id, function.id, _package(fields), code.get("md5sum")
            )
            new_code = {"source": function_code.PACKAGE, "md5sum": md5}
        if new_code != function.code:
            values["code"] = new_code
        if new_code["md5sum"] != old_md5:
            replaced = old_md5
    try:
        updated = functions_db.update(function.id, values, function.project_id)
    except Exception:
        if replaced is not None:  # the new package is not the current one: remove it
            storage.delete(function.project_id, function.id, values["code"]["md5sum"])
        raise
    if replaced is not None:
        storage.delete(function.project_id, function.id, replaced)
    if set(values) - KEEPS_WORKERS:
        engine.release_function(ctx, function.id, 0)
    return updated


def delete(
    ctx: context.RequestContext,
    storage: storage_base.PackageStore,
    engine: engine_api.EngineClient,
    trusts: Trusts,
    function_id: str,
) -> None:
    """Delete a function nothing points at, then its trust, packages and workers."""
    function = functions_db.delete(function_id)
    trusts.delete(function.trust_id)
    storage.delete_all(function.project_id, function.id)
    engine.release_function(ctx, function.id)


def _fetch(
    swift: swift_storage.SwiftObjects | None,
    storage: storage_base.PackageStore,
    project_id: str,
    function_id: str,
    where: swift_storage.Location,
    fields: Mapping[str, Any],
) -> dict[str, Any]:
    """The ``code`` of a Swift function whose package was just fetched as the caller."""
    if "package" in fields:
        raise exceptions.InputError("A Swift function takes no package: its code is in Swift.")
    try:
        return _caller_swift(swift).fetch(storage, project_id, function_id, where)
    except swift_storage.SwiftError as e:
        raise exceptions.InputError(f"Failed to validate object in Swift: {e.message}") from None


def _caller_swift(swift: swift_storage.SwiftObjects | None) -> swift_storage.SwiftObjects:
    """Swift as the caller; InputError without Keystone (as Qinling)."""
    if swift is None:
        raise exceptions.InputError(
            "Swift object not supported: Swift-sourced functions need Keystone "
            "authentication ([api] auth_enable) and a trustee ([trustee])."
        )
    return swift


def package_md5(function: models.Function) -> str:
    """The md5 of the function's package; an image function has none (405, as in Qinling)."""
    if function_code.is_image(function.code):
        raise exceptions.MethodNotAllowed("Download image function is not allowed.")
    md5: str = function.code["md5sum"]
    return md5


def _refuse_unknown(fields: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(fields) - allowed
    if unknown:
        raise exceptions.InputError(f"Unknown attribute(s): {', '.join(sorted(unknown))}")


def _code(raw: Any) -> dict[str, Any]:
    """``code`` as sent: a JSON string (forms, the CLI) or an object (JSON bodies)."""
    if isinstance(raw, str):
        try:
            raw = strict_json.loads(raw)
        except ValueError as e:
            raise exceptions.InputError(f"code is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise exceptions.InputError("code must be a JSON object.")
    source = raw.get("source")
    if source not in function_code.SOURCES:
        raise exceptions.InputError(
            "Invalid code source specified, available sources: " + ", ".join(function_code.SOURCES)
        )
    if source == function_code.IMAGE:
        return {"source": source, "image": _image(raw.get("image"))}
    if source == function_code.SWIFT:
        swift = raw.get("swift", {})
        if not isinstance(swift, dict):
            raise exceptions.InputError("code.swift must be an object: container and object.")
        return {"source": source, "swift": swift}
    md5 = raw.get("md5sum")
    if md5 is not None and not isinstance(md5, str):
        raise exceptions.InputError("code.md5sum must be a string.")
    return raw


def _image(ref: Any) -> str:
    """An image reference: 1 to 255 printable characters without whitespace."""
    if (
        not isinstance(ref, str)
        or not 0 < len(ref) <= 255
        or not ref.isprintable()
        or any(c.isspace() for c in ref)
    ):
        raise exceptions.InputError(
            "code.image must be an image reference of 1 to 255 characters without whitespace."
        )
    return ref


def _package(fields: Mapping[str, Any]) -> BinaryIO:
    part = fields.get("package")
    if not isinstance(part, io.IOBase):
        raise exceptions.InputError(
            "A package function needs its ZIP file as the multipart part 'package'."
        )
    return typing.cast(BinaryIO, part)


def _limits(
    fields: Mapping[str, Any], conf: cfg.ConfigOpts, defaults: bool = True
) -> dict[str, int]:
    """cpu, memory_size and timeout from ``fields``, range-checked; the configured
    defaults for those not given if ``defaults``."""
    limits = conf.resource_limits
    specs = {
        "cpu": ("cpu", limits.min_cpu, limits.max_cpu, "millicpu", limits.default_cpu),
        "memory_size": (
            "memory", limits.min_memory, limits.max_memory, "bytes", limits.default_memory
        ),
        "timeout": (
            "timeout", limits.min_timeout, limits.max_timeout, "seconds", limits.default_timeout
        ),
    }  # fmt: skip
    values = {}
    for field, (name, low, high, unit, default) in specs.items():
        if field in fields:
            values[field] = validation.bounded_int(fields[field], name, low, high, unit)
        elif defaults:
            values[field] = default
    return values


def _retries(
    ctx: context.RequestContext,
    conf: cfg.ConfigOpts,
    fields: Mapping[str, Any],
    project_id: str | None,
    function_id: str,
) -> dict[str, Any]:
    """The retry columns of the fields given among RETRIES; an empty value is null."""
    given = {name: fields[name] for name in RETRIES if name in fields}
    values: dict[str, Any] = {name: None for name, value in given.items() if value in (None, "")}
    if given.get("retry_attempts") not in (None, ""):
        highest = conf.execution.max_retry_attempts
        values["retry_attempts"] = _retry_attempts(given["retry_attempts"], highest)
    if given.get("retry_on") not in (None, ""):
        values["retry_on"] = _retry_on(given["retry_on"])
    if given.get("dead_letter_function_id") not in (None, ""):
        values["dead_letter_function_id"] = _dead_letter_function(
            ctx, given["dead_letter_function_id"], project_id, function_id
        )
    return values


def _retry_attempts(value: Any, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= highest:
        raise exceptions.InputError(
            f"retry_attempts must be an integer from 0 to {highest} (the most this "
            "deployment allows), or null for its default."
        )
    return value


def _retry_on(value: Any) -> str:
    """The column of ``retry_on``: a JSON list, or comma-separated text from a form."""
    reasons = [r.strip() for r in value.split(",")] if isinstance(value, str) else value
    if not isinstance(reasons, list) or not all(r in retry_reasons.REASONS for r in reasons):
        raise exceptions.InputError(
            "retry_on must be a list of outcomes among "
            f"{', '.join(retry_reasons.REASONS)} (in a form: separated by commas)."
        )
    return retry_reasons.store(reasons)


def _dead_letter_function(
    ctx: context.RequestContext, value: Any, project_id: str | None, function_id: str
) -> str:
    """A function of the same project that the caller can see, other than this one."""
    dead_letter_id = validation.uuid(value, "dead_letter_function_id")
    if dead_letter_id == function_id:
        raise exceptions.InputError("A function cannot be its own dead-letter function.")
    dead_letter = functions_db.get(dead_letter_id, ctx.scope)
    if dead_letter.project_id != project_id:
        raise exceptions.InputError(
            "The dead-letter function must be in the function's project "
            f"{project_id}; function {dead_letter_id} is not."
        )
    return dead_letter_id


def _texts(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _text(fields, name, length) for name, length in TEXTS.items() if name in fields}


def _text(fields: Mapping[str, Any], name: str, max_length: int) -> str:
    value = fields[name]
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise exceptions.InputError(
            f"{name} must be a string of at most {max_length} characters, without NUL."
        )
    return value


def _entry(fields: Mapping[str, Any]) -> str:
    entry = _text(fields, "entry", 80)
    module, dot, func = entry.rpartition(".")
    if not (dot and module and func):
        raise exceptions.InputError("entry must be of the form 'module.function'.")
    return entry

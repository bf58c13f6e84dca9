"""``/v1/functions``: create (multipart), show, download, list, update, delete."""

import pecan
from oslo_log import log as logging
from oslo_utils import uuidutils
from pecan import rest
from wsme import types as wtypes

from qinling_lite import exceptions, function_code, orchestrator, status, strict_json
from qinling_lite.api import decoding, downloads, errors, function_trusts, params, policy, types
from qinling_lite.api.controllers.v1 import function_versions, function_workers
from qinling_lite.db import functions as functions_db
from qinling_lite.db import runtimes as runtimes_db
from qinling_lite.orchestrator import base as orchestrator_base

LOG = logging.getLogger(__name__)

CREATE_FIELDS = {
    "code", "package", "runtime_id", "name", "description", "entry", "cpu", "memory_size",
    "timeout",
}  # fmt: skip
# The CLI flattens ``code`` into ``source``/``swift`` on update; they carry nothing.
UPDATE_FIELDS = (CREATE_FIELDS - {"runtime_id"}) | {"source", "swift"}
SOURCES = function_code.SOURCES
LIMITS = ("cpu", "memory_size", "timeout")
# What may change in an image function.
IMAGE_UPDATE_FIELDS = {"name", "description", "timeout"}


def _form(allowed):
    """Query string plus form fields or the keys of a JSON object body, checked. Limits
    given as text (query string, form fields) are read as ASCII decimal digits."""
    request = pecan.request
    text = dict(request.GET)
    json_body = request.content_type == "application/json"
    if not json_body:
        text.update(request.POST)
    fields = {k: params.text_int(v) if k in LIMITS else v for k, v in text.items()}
    if json_body:
        fields.update(decoding.json_object(request))
    unknown = set(fields) - allowed
    if unknown:
        raise exceptions.InputError(f"Unknown attribute(s): {', '.join(sorted(unknown))}")
    return fields


def _code(raw):
    """``code`` as sent: a JSON string (forms, the CLI) or an object (JSON bodies)."""
    if isinstance(raw, str):
        try:
            raw = strict_json.loads(raw)
        except ValueError as e:
            raise exceptions.InputError(f"code is not valid JSON: {e}") from None
    if not isinstance(raw, dict):
        raise exceptions.InputError("code must be a JSON object.")
    source = raw.get("source")
    if source not in SOURCES:
        raise exceptions.InputError(
            f"Invalid code source specified, available sources: {', '.join(SOURCES)}"
        )
    if source == function_code.IMAGE:
        return {"source": source, "image": _image(raw.get("image"))}
    if source != function_code.PACKAGE:
        raise exceptions.InputError(f"Code source '{source}' is not supported by this deployment.")
    md5 = raw.get("md5sum")
    if md5 is not None and not isinstance(md5, str):
        raise exceptions.InputError("code.md5sum must be a string.")
    return raw


def _image(ref):
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


def _create_image_function(request, fields, code):
    """A function that runs ``code["image"]`` once per execution: no runtime, package,
    entry or trust (``runtime_id`` and ``entry`` are ignored, as in Qinling)."""
    if not orchestrator.supports(request.conf, orchestrator_base.ImageFunctions):
        raise exceptions.InputError(
            "Code source 'image' is not supported by this deployment: image functions need "
            "the Kubernetes orchestrator."
        )
    if "package" in fields:
        raise exceptions.InputError("An image function takes no package.")
    function = functions_db.create(
        {
            "project_id": request.context.project_id,
            "code": code,
            **{k: _text(fields, k) for k in ("name", "description") if k in fields},
            **_limits(fields, request.conf),
        }
    )
    pecan.response.status = 201
    return types.function_view(function)


def _download(function):
    """The function's package; an image function has none (405, as in Qinling)."""
    if function_code.is_image(function.code):
        raise exceptions.MethodNotAllowed("Download image function is not allowed.")
    return downloads.package(function.project_id, function.id, function.code["md5sum"])


def _package(fields):
    part = fields.get("package")
    if not hasattr(part, "file"):
        raise exceptions.InputError(
            "A package function needs its ZIP file as the multipart part 'package'."
        )
    return part.file


def _limits(fields, conf, current=None):
    """cpu, memory_size and timeout from the form, defaulted and range-checked."""
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
            values[field] = params.bounded_int(fields[field], name, low, high, unit)
        elif current is None:
            values[field] = default
    return values


def _text(fields, name, max_length=255):
    value = fields[name]
    if not isinstance(value, str) or len(value) > max_length or "\x00" in value:
        raise exceptions.InputError(
            f"{name} must be a string of at most {max_length} characters, without NUL."
        )
    return value


def _entry(fields):
    entry = _text(fields, "entry", 80)
    module, dot, func = entry.rpartition(".")
    if not (dot and module and func):
        raise exceptions.InputError("entry must be of the form 'module.function'.")
    return entry


class FunctionsController(rest.RestController):
    versions = function_versions.FunctionVersionsController()
    workers = function_workers.WorkersController()
    _custom_actions = {"detach": ["POST"], "scale_up": ["POST"], "scale_down": ["POST"]}

    @errors.wsexpose(None, types.UUID, status_code=202)
    def detach(self, id):
        function_workers.detach(id, 0)

    @errors.wsexpose(None, types.UUID, body=types.ScaleInfo, status_code=202)
    def scale_up(self, id, scale):
        function_workers.scale_up(id, 0, scale.count)

    @errors.wsexpose(None, types.UUID, body=types.ScaleInfo, status_code=202)
    def scale_down(self, id, scale):
        function_workers.scale_down(id, 0, scale.count)

    @pecan.expose("json")
    def post(self, **kwargs):
        request = pecan.request
        conf = request.conf
        policy.enforce(request.context, "function:create")
        fields = _form(CREATE_FIELDS)
        if "code" not in fields:
            raise exceptions.InputError("Required param is missing. Required: {'code'}")
        code = _code(fields["code"])
        if function_code.is_image(code):
            return _create_image_function(request, fields, code)
        runtime_id = fields.get("runtime_id")
        if not runtime_id:
            raise exceptions.InputError('"runtime_id" must be specified.')
        runtime = runtimes_db.get(params.uuid(runtime_id, "runtime_id"), request.context.scope)
        if runtime.status != status.AVAILABLE:
            raise exceptions.InputError(f"Runtime {runtime.id} is not available.")
        values = {
            "id": uuidutils.generate_uuid(),
            "project_id": request.context.project_id,
            "runtime_id": runtime.id,
            "entry": _entry(fields) if "entry" in fields else "main.main",
            **{k: _text(fields, k) for k in ("name", "description") if k in fields},
            **_limits(fields, conf),
        }
        package = _package(fields)
        storage = request.storage
        md5 = storage.store(values["project_id"], values["id"], package, code.get("md5sum"))
        values["code"] = {"source": "package", "md5sum": md5}
        try:
            values["trust_id"] = function_trusts.create(request)
            function = functions_db.create(values)
        except Exception:
            storage.delete_all(values["project_id"], values["id"])
            function_trusts.delete(request, values.get("trust_id"))
            raise
        pecan.response.status = 201
        return types.function_view(function)

    @errors.wsexpose(types.Functions, wtypes.text, wtypes.text)
    def get_all(self, all_projects=None, project_id=None):
        project, filters = params.list_scope(
            pecan.request.context, "function", all_projects, project_id
        )
        functions = functions_db.list_all(project, filters)
        return types.Functions(functions=[types.Function.from_db(f) for f in functions])

    @pecan.expose("json")
    def get_one(self, id, **kwargs):
        ctx = pecan.request.context
        function = policy.authorize(
            ctx, "function:get", functions_db.get(params.uuid(id), ctx.scope)
        )
        if params.boolean(kwargs.get("download"), "download"):
            return _download(function)
        return types.function_view(function)

    @pecan.expose("json")
    def put(self, id, **kwargs):
        request = pecan.request
        ctx = request.context
        function = policy.authorize(
            ctx, "function:update", functions_db.get(params.uuid(id), ctx.scope)
        )
        fields = _form(UPDATE_FIELDS)
        if function_code.is_image(function.code) and set(fields) - IMAGE_UPDATE_FIELDS:
            raise exceptions.InputError("The image type function code can not be changed.")
        values = {k: _text(fields, k) for k in ("name", "description") if k in fields}
        if "entry" in fields:
            values["entry"] = _entry(fields)
        values.update(_limits(fields, request.conf, current=function))
        old_md5 = function.code.get("md5sum")
        if "package" in fields:
            code = _code(fields["code"]) if "code" in fields else {}
            if code.get("source", function_code.PACKAGE) != function_code.PACKAGE:
                raise exceptions.InputError("The function code type can not be changed.")
            md5 = request.storage.store(
                function.project_id, function.id, _package(fields), code.get("md5sum")
            )
            if md5 != old_md5:
                values["code"] = {"source": "package", "md5sum": md5}
        try:
            updated = functions_db.update(function.id, values, function.project_id)
        except Exception:
            if "code" in values:
                request.storage.delete(function.project_id, function.id, values["code"]["md5sum"])
            raise
        if "code" in values:
            request.storage.delete(function.project_id, function.id, old_md5)
        if set(values) - {"name", "description", "timeout"}:
            request.engine.release_function(ctx, function.id, 0)
        return types.function_view(updated)

    @errors.wsexpose(None, types.UUID, status_code=204)
    def delete(self, id):
        request = pecan.request
        ctx = request.context
        policy.authorize(ctx, "function:delete", functions_db.get(id, ctx.scope))
        function = functions_db.delete(id)
        function_trusts.delete(request, function.trust_id)
        request.storage.delete_all(function.project_id, function.id)
        request.engine.release_function(request.context, function.id)

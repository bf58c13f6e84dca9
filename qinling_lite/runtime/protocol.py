"""The engine-worker protocol: what the engine and a runtime server say to each other.

One HTTP/1.1 contract, the same in a pod and in a local sandbox, over JSON bodies with a
Content-Length (no chunked bodies):

- ``GET /ping``: a ``PingReply``;
- ``POST /load?function_id=..&version=..&entry=module.function`` with the function's
  package (a ZIP) as the body: a ``LoadReply``; its ``error`` is the import error, which
  every later execution then reports;
- ``POST /execute`` with an ``ExecuteRequest``: an ``ExecuteReply``.

Any other answer is an error: an HTTP status and ``{"error": message}``.

Both sides import this module: the runtime server, which ships with it and nothing else
(standard library only), and the control plane. Each message type has a ``Codec`` whose
``to_json`` and ``from_json`` check it field by field; a malformed message is a
``ProtocolError``.
"""

import json
import math
import types
import typing
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Generic, NotRequired, TypedDict, TypeVar

PING = "/ping"
LOAD = "/load"
EXECUTE = "/execute"
ROUTES = {PING: "GET", LOAD: "POST", EXECUTE: "POST"}
# Requests that may be sent again when their answer was lost: an execution never is.
IDEMPOTENT = frozenset({PING, LOAD})

MIB = 1024 * 1024
# The largest request body (a package, an execution request) a runtime server reads.
MAX_BODY_BYTES = 64 * MIB
# The largest output, in bytes of its JSON, of an execution request without
# ``max_result_size``.
MAX_RESULT_BYTES = MIB
# What a runtime server keeps of an execution's log (``--max-log-bytes``, by default).
MAX_LOG_BYTES = MIB
# The most bytes of JSON a logged byte takes in a reply (a ``\u00XX`` escape).
LOG_JSON_BYTES_PER_BYTE = 6
# What a reply holds besides its output and its log.
REPLY_MARGIN = 64 * 1024

# Outputs of executions that failed without a result of their own.
TIMEOUT_OUTPUT = "Function execution timeout."
NO_RESULT_OUTPUT = "Function exited without returning a result."
RESOURCE_OUTPUT = "Function execution failed because of too much resource consumption."
MEMORY_OUTPUT = "Function execution failed: memory limit of %d bytes exceeded."
OUTPUT_TOO_LARGE = "Function output of %d bytes exceeds the limit of %d bytes."
OUTPUT_OVER_LIMIT = "Function output exceeds the limit of %d bytes."
# The line that ends a log cut at its limit.
LOG_TRUNCATED = "... log truncated ...\n"


class RequestError(Exception):
    """A request refused with HTTP ``status`` and the body ``{"error": message}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ProtocolError(RequestError):
    """A message that breaks the protocol (a 400 when a runtime server receives it)."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


class PingReply(TypedDict):
    status: str  # "ok"
    function_id: str | None  # None until a function is loaded
    version: int | None


class LoadQuery(TypedDict):
    function_id: str
    version: int
    entry: str  # "module.function"


class LoadReply(TypedDict):
    loaded: bool
    error: str | None  # the import error of the function's entry


class ExecuteRequest(TypedDict):
    execution_id: str
    input: dict  # the keyword arguments, as they are
    args: NotRequired[list]  # the positional ones (none by default)
    timeout: float  # seconds, > 0
    memory_size: int  # bytes, > 0
    cpu: int  # millicores
    context: dict  # given to the function as ``context``; ``os_auth`` for ``os_session``
    max_result_size: NotRequired[int]  # bytes of the output's JSON (MAX_RESULT_BYTES)


class ExecuteReply(TypedDict):
    success: bool
    output: Any  # what the function returned (JSON), or why it failed
    duration: float  # seconds
    logs: str


class ErrorReply(TypedDict):
    error: str


Message = TypeVar("Message", bound=Mapping)


class Codec(Generic[Message]):
    """How messages of one TypedDict cross the wire: JSON objects whose fields have the
    annotated types. Unknown fields are dropped; missing optional ones get ``defaults``;
    ``check`` refuses values of the right type that the protocol does not allow."""

    def __init__(
        self,
        kind: type[Message],
        defaults: Mapping[str, Any] | None = None,
        check: Callable[[Message], None] | None = None,
    ) -> None:
        self.name = kind.__name__
        self._fields = typing.get_type_hints(kind)
        self._required: frozenset[str] = kind.__required_keys__  # type: ignore[attr-defined]
        self._defaults = dict(defaults or {})
        self._check = check

    def validate(self, message: Mapping[str, Any]) -> Message:
        """The message with its fields only, defaults filled in; ProtocolError if not
        a valid one."""
        if not isinstance(message, Mapping):
            raise ProtocolError(f"{self.name} must be a JSON object")
        valid: dict[str, Any] = {}
        for name, kind in self._fields.items():
            if name not in message:
                if name in self._required:
                    raise ProtocolError(f"field {name!r} is missing or has a wrong type")
                if name in self._defaults:
                    valid[name] = self._defaults[name]
                continue
            if not _is_a(message[name], kind):
                raise ProtocolError(f"field {name!r} is missing or has a wrong type")
            valid[name] = message[name]
        checked = typing.cast(Message, valid)
        if self._check is not None:
            self._check(checked)
        return checked

    def to_json(self, message: Message) -> bytes:
        """The message's JSON, once checked."""
        return json.dumps(self.validate(message)).encode()

    def from_json(self, data: bytes | str) -> Message:
        """The checked message of a JSON text."""
        try:
            message = json.loads(data)
        except (ValueError, RecursionError):
            raise ProtocolError("body is not valid JSON") from None
        if not isinstance(message, dict):
            raise ProtocolError("body must be a JSON object")
        return self.validate(message)


def _is_a(value: Any, kind: Any) -> bool:
    """Whether a JSON value is of an annotated type (a bool is no number)."""
    if kind is Any:
        return True
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return any(_is_a(value, option) for option in typing.get_args(kind))
    if kind is type(None):
        return value is None
    if isinstance(value, bool):
        return kind is bool
    if kind is float:
        return isinstance(value, int | float)
    return isinstance(value, typing.get_origin(kind) or kind)


def _check_execute_request(request: ExecuteRequest) -> None:
    if not (math.isfinite(request["timeout"]) and request["timeout"] > 0):
        raise ProtocolError("field 'timeout' must be a positive number")
    if request["memory_size"] <= 0:
        raise ProtocolError("field 'memory_size' must be positive")
    if request["max_result_size"] <= 0:
        raise ProtocolError("field 'max_result_size' must be a positive integer")


PING_REPLY: Codec[PingReply] = Codec(PingReply)
LOAD_REPLY: Codec[LoadReply] = Codec(LoadReply)
EXECUTE_REQUEST: Codec[ExecuteRequest] = Codec(
    ExecuteRequest,
    defaults={"args": [], "max_result_size": MAX_RESULT_BYTES},
    check=_check_execute_request,
)
EXECUTE_REPLY: Codec[ExecuteReply] = Codec(ExecuteReply)
ERROR_REPLY: Codec[ErrorReply] = Codec(ErrorReply)


def load_path(function_id: str, version: int, entry: str) -> str:
    """The path and query of the ``/load`` request of a function version."""
    query = urllib.parse.urlencode({"function_id": function_id, "version": version, "entry": entry})
    return f"{LOAD}?{query}"


def parse_load_query(query: str) -> LoadQuery:
    """The checked ``/load`` query: each parameter once, ``entry`` as ``module.function``."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    values = {}
    for name in ("function_id", "version", "entry"):
        found = params.get(name, [])
        if len(found) != 1 or not found[0]:
            raise ProtocolError(f"query parameter {name!r} is required exactly once")
        values[name] = found[0]
    try:
        version = int(values["version"])
    except ValueError:
        raise ProtocolError("query parameter 'version' must be an integer") from None
    module, _, attribute = values["entry"].rpartition(".")
    if not module or not attribute:
        raise ProtocolError("entry must look like 'module.function'")
    return LoadQuery(function_id=values["function_id"], version=version, entry=values["entry"])


def output_size(output: Any) -> int:
    """The size of an output as the limits count it: bytes of its JSON."""
    return len(json.dumps(output))


def oversized_output(output: Any, max_result_size: int) -> str | None:
    """Why ``output`` fails its execution, if its JSON is over ``max_result_size`` bytes."""
    size = output_size(output)
    return OUTPUT_TOO_LARGE % (size, max_result_size) if size > max_result_size else None


def max_reply_bytes(max_result_size: int = 0) -> int:
    """The most bytes a reply holds: an output within ``max_result_size``, a log within
    ``MAX_LOG_BYTES`` in JSON, and the rest."""
    return max_result_size + LOG_JSON_BYTES_PER_BYTE * MAX_LOG_BYTES + REPLY_MARGIN

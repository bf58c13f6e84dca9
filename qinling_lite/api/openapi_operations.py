"""The operations of the v1 API, as declared for its OpenAPI document (``openapi``).

Each ``Operation`` names its success answer, the error statuses it may answer (always in
the one error shape), its request body and its query parameters (names that ``openapi``
resolves: ``BODIES`` and the forms, ``QUERY``); path parameters come from the path.
"""

import dataclasses

from qinling_lite.api import params

JSON = "application/json"
TEXT = "text/plain"
ZIP = "application/zip"

# Error statuses: a route without a body; with one (413 too large, 415 not UTF-8 or,
# on JSON routes, not JSON); and the additions of routes on one resource.
READ = (400, 401, 403, 406, 500)
WRITE = (*READ, 413, 415)
ONE = (404,)
ENGINE = (503,)  # an engine call that no engine answered, or Keystone for a trust


@dataclasses.dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    status: int
    # The success answer's schema (a component name; None: no body), its media types.
    schema: str | None = None
    errors: tuple[int, ...] = READ
    body: str | None = None
    query: tuple[str, ...] = ()
    media: tuple[str, ...] = (JSON,)
    # Reached without a Keystone token (``auth.PUBLIC_ROUTES``).
    public: bool = False
    # Also 200 with a function's output (a synchronous webhook): JSON, or text.
    output: bool = False
    # Path parameter name -> schema, replacing ``openapi.PATH``'s.
    path_schemas: dict = dataclasses.field(default_factory=dict)


LIST = ("all_projects", "project_id")
# Version 0, the function itself, is allowed where the admin calls on workers take it.
ANY_VERSION = {"version_number": {"type": "integer", "minimum": 0, "maximum": params.INT_MAX}}


def _crud(
    path,
    item,
    name,
    schema,
    listed,
    body,
    update_body=None,
    query=LIST,
    extra=(),
    download=False,
    create_extra=(),
):
    """Create, list, show, update (with ``update_body``) and delete of a collection;
    ``download``: show answers the package with ``?download=true``; ``create_extra``:
    error statuses of the create only."""
    one = f"{path}/{{{item}}}"
    shown = (
        {"errors": READ + ONE + ENGINE, "query": ("download",), "media": (JSON, ZIP)}
        if download
        else {"errors": READ + ONE}
    )
    operations = [
        Operation(
            "POST", path, f"Create a {name}", 201, schema, WRITE + ONE + extra + create_extra, body
        ),
        Operation("GET", path, f"List {path.rsplit('/', 1)[1]}", 200, listed, query=query),
        Operation("GET", one, f"Show a {name}", 200, schema, **shown),
        Operation("DELETE", one, f"Delete a {name}", 204, None, READ + ONE + extra),
    ]
    if update_body:
        update = Operation(
            "PUT", one, f"Update a {name}", 200, schema, WRITE + ONE + extra, update_body
        )
        operations.insert(3, update)
    return operations


def _worker_calls(path, **kwargs):
    """The admin calls on the warm workers of a function or of one of its versions."""
    return [
        Operation("POST", f"{path}/detach", "Release the warm workers", 202, None,
                  READ + ONE + ENGINE, **kwargs),
        Operation("POST", f"{path}/scale_up", "Bind more warm workers", 202, None,
                  WRITE + ONE + ENGINE, "ScaleInfoBody", **kwargs),
        Operation("POST", f"{path}/scale_down", "Release idle warm workers", 202, None,
                  WRITE + ONE + ENGINE, "ScaleInfoBody", **kwargs),
    ]  # fmt: skip


FUNCTION = "/v1/functions/{function_id}"
VERSION = f"{FUNCTION}/versions/{{version_number}}"
EXECUTION_FILTERS = (
    "function_id",
    "status",
    "description",
    *LIST,
    "retry_of",
    "dead_letter_of",
)

OPERATIONS = [
    Operation("GET", "/", "The API versions", 200, "APIVersions", (400, 406, 500), public=True),
    Operation("GET", "/v1/", "The v1 API", 200, "V1Root", (400, 406, 500), public=True),
    Operation("GET", "/v1/openapi.json", "This document", 200, "OpenAPI", (400, 406, 500),
              public=True),
    *_crud(
        "/v1/runtimes",
        "runtime_id",
        "runtime",
        "Runtime",
        "Runtimes",
        "RuntimeBody",
        "RuntimeUpdateBody",
        query=("name", "image", "status"),
        extra=(409,) + ENGINE,
    ),
    Operation("GET", "/v1/runtimes/{runtime_id}/pool", "Show a runtime's pool", 200,
              "RuntimePool", READ + ONE + ENGINE),
    *_crud(
        "/v1/functions",
        "function_id",
        "function",
        "FunctionShown",
        "Functions",
        "FunctionCreateForm",
        "FunctionUpdateForm",
        query=(*LIST, "name", "runtime_id"),
        extra=(409,) + ENGINE,
        download=True,
    ),
    *_worker_calls(FUNCTION),
    Operation("GET", f"{FUNCTION}/workers", "List the warm workers", 200, "Workers",
              READ + ONE + ENGINE, query=("function_version",)),
    Operation("POST", f"{FUNCTION}/versions", "Create a function version", 201,
              "FunctionVersion", WRITE + ONE + ENGINE, "FunctionVersionBody"),
    Operation("GET", f"{FUNCTION}/versions", "List a function's versions", 200,
              "FunctionVersions", READ + ONE),
    Operation("GET", VERSION, "Show a function version", 200, "FunctionVersion", READ + ONE,
              query=("download",), media=(JSON, ZIP)),
    Operation("DELETE", VERSION, "Delete a function version", 204, None, READ + ONE + ENGINE),
    *_worker_calls(VERSION, path_schemas=ANY_VERSION),
    *_crud(
        "/v1/aliases",
        "name",
        "function alias",
        "FunctionAlias",
        "FunctionAliases",
        "FunctionAliasBody",
        "FunctionAliasBody",
        query=(*LIST, "name", "function_id"),
        extra=(409,),
    ),
    *_crud(
        "/v1/executions",
        "execution_id",
        "execution",
        "Execution",
        "Executions",
        "ExecutionBody",
        query=EXECUTION_FILTERS,
        extra=(409,) + ENGINE,
        create_extra=(429,),  # a full backlog (503 too): an asynchronous execution
    ),
    Operation("GET", "/v1/executions/{execution_id}/log", "Show an execution's log", 200,
              "Log", READ + ONE, media=(TEXT,)),
    *_crud("/v1/jobs", "job_id", "job", "Job", "Jobs", "JobBody", "JobBody", extra=(409,),
           query=(*LIST, "name", "status", "function_id")),
    *_crud(
        "/v1/webhooks",
        "webhook_id",
        "webhook",
        "Webhook",
        "Webhooks",
        "WebhookBody",
        "WebhookBody",
        query=(*LIST, "function_id", "function_alias", "description"),
        extra=(409,),
    ),
    Operation("POST", "/v1/webhooks/{webhook_id}/invoke", "Invoke a webhook", 202,
              "Invoked", WRITE + ONE + (409, 429, 502, 503, 504), "InvocationBody",
              public=True, output=True),
]  # fmt: skip

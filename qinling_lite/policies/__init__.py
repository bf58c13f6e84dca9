"""oslo.policy defaults, registered in code (``etc/qinling-lite.policy.yaml.sample``
is generated from them with ``tox -e genpolicy``)."""

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
ADMIN_OR_OWNER = "rule:admin_or_owner"

_BASE = [
    policy.RuleDefault(
        "context_is_admin", "role:admin or is_admin:True", description="An administrator."
    ),
    policy.RuleDefault("owner", "project_id:%(project_id)s", description="The owner project."),
    policy.RuleDefault(
        "admin_or_owner", "rule:context_is_admin or rule:owner", description="Either."
    ),
]


def _rule(name, check, method, path, description):
    return policy.DocumentedRuleDefault(
        name, check, description, [{"method": method, "path": path}]
    )


_ADMIN_CALLS = [
    _rule("runtime:create", ADMIN, "POST", "/v1/runtimes", "Create a runtime."),
    _rule("runtime:update", ADMIN, "PUT", "/v1/runtimes/{id}", "Update a runtime."),
    _rule("runtime:delete", ADMIN, "DELETE", "/v1/runtimes/{id}", "Delete a runtime."),
    _rule("runtime_pool:get_all", ADMIN, "GET", "/v1/runtimes/{id}/pool", "Show a runtime's pool."),
    _rule("function:detach", ADMIN, "POST", "/v1/functions/{id}/detach", "Release the workers."),
    _rule("function:scale_up", ADMIN, "POST", "/v1/functions/{id}/scale_up", "Add warm workers."),
    _rule(
        "function:scale_down",
        ADMIN,
        "POST",
        "/v1/functions/{id}/scale_down",
        "Release idle workers.",
    ),
    _rule(
        "function_worker:get_all",
        ADMIN,
        "GET",
        "/v1/functions/{id}/workers",
        "List a function's workers.",
    ),
]

# Reading a runtime: its project, an admin, or anyone when it is public.
RUNTIME_READER = f"{ADMIN_OR_OWNER} or True:%(is_public)s"

_RUNTIME_READS = [
    _rule("runtime:get", RUNTIME_READER, "GET", "/v1/runtimes/{id}", "Show a runtime."),
    _rule("runtime:get_all", ADMIN_OR_OWNER, "GET", "/v1/runtimes", "List runtimes."),
]

# resource -> (collection path, (action, method, path suffix) ...), all owner-or-admin.
_OWNED = {
    "function": ("/v1/functions", ("create", "update", "delete")),
    "function_version": ("/v1/functions/{id}/versions", ("create", "delete")),
    "function_alias": ("/v1/aliases", ("create", "update", "delete")),
    "execution": ("/v1/executions", ("create", "delete")),
    "execution_log": ("/v1/executions/{id}/log", ()),
    "job": ("/v1/jobs", ("create", "update", "delete")),
    "webhook": ("/v1/webhooks", ("create", "update", "delete")),
}
_METHODS = {"create": "POST", "update": "PUT", "delete": "DELETE"}


def _owned_rules():
    """Owner-or-admin rules, checked against the project of the resource acted on."""
    rules = []
    for resource, (path, writes) in _OWNED.items():
        name = resource.replace("_", " ")
        rules.append(_rule(f"{resource}:get", ADMIN_OR_OWNER, "GET", f"{path}/{{id}}",
                           f"Show a {name}."))  # fmt: skip
        rules.append(_rule(f"{resource}:get_all", ADMIN_OR_OWNER, "GET", path, f"List {name}s."))
        for action in writes:
            target = path if action == "create" else f"{path}/{{id}}"
            rules.append(
                _rule(
                    f"{resource}:{action}",
                    ADMIN_OR_OWNER,
                    _METHODS[action],
                    target,
                    f"{action.capitalize()} a {name}.",
                )  # fmt: skip
            )
    return rules


_WEBHOOK_INVOKE = [
    _rule(
        "webhook:invoke",
        ADMIN_OR_OWNER,
        "POST",
        "/v1/webhooks/{id}/invoke",
        "Invoke a webhook that requires a Keystone token (others need no token).",
    )
]

_ALL_PROJECTS = [
    _rule(
        f"{resource}:get_all:all_projects",
        ADMIN,
        "GET",
        f"/v1/{collection}?all_projects=true",
        f"List the {collection} of every project (also with project_id).",
    )
    for resource, collection in (
        ("function", "functions"),
        ("function_alias", "aliases"),
        ("execution", "executions"),
        ("job", "jobs"),
        ("webhook", "webhooks"),
    )
]


def list_rules():
    return _BASE + _ADMIN_CALLS + _RUNTIME_READS + _owned_rules() + _WEBHOOK_INVOKE + _ALL_PROJECTS

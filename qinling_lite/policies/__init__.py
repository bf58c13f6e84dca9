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
    return _BASE + _ADMIN_CALLS + _ALL_PROJECTS

"""``/v1/`` and its collections."""

import pecan
from pecan import rest

from qinling_lite.api import errors, types
from qinling_lite.api.controllers.v1 import (
    aliases,
    executions,
    functions,
    jobs,
    openapi,
    runtimes,
    webhooks,
)


class Controller(rest.RestController):
    runtimes = runtimes.RuntimesController()
    functions = functions.FunctionsController()
    executions = executions.ExecutionsController()
    webhooks = webhooks.WebhooksController()
    aliases = aliases.AliasesController()
    jobs = jobs.JobsController()

    @errors.wsexpose(types.V1Root)
    def get(self):
        return types.V1Root(uri=f"{pecan.request.application_url}/v1")


# Not a Python name: routed explicitly.
pecan.route(Controller, "openapi.json", openapi.OpenAPIController())

"""``/``: the version document, and the root of routing (content negotiation included)."""

import pecan
from pecan import rest

from qinling_lite.api import errors, negotiation, types
from qinling_lite.api.controllers.v1 import root as v1_root


class RootController(rest.RestController):
    v1 = v1_root.Controller()

    @pecan.expose()
    def _route(self, args, request=None):
        """Routes as pecan does, then negotiates the answer's media type for the route
        found (``negotiation.negotiate``): 406 before anything of the route runs."""
        request = request if request is not None else pecan.request
        controller, remainder = super()._route(args, request)
        negotiation.negotiate(controller, request, remainder)
        return controller, remainder

    @errors.wsexpose(types.APIVersions)
    def get(self):
        url = f"{pecan.request.application_url}/v1"
        link = types.Link(href=url, target="v1", rel="self")
        return types.APIVersions(
            versions=[types.APIVersion(id="v1.0", status="CURRENT", links=[link])]
        )

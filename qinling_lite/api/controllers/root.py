"""``/``: the version document."""

import pecan
from pecan import rest

from qinling_lite.api import errors, types
from qinling_lite.api.controllers.v1 import root as v1_root


class RootController(rest.RestController):
    v1 = v1_root.Controller()

    @errors.wsexpose(types.APIVersions)
    def get(self):
        url = f"{pecan.request.application_url}/v1"
        link = types.Link(href=url, target="v1", rel="self")
        return types.APIVersions(
            versions=[types.APIVersion(id="v1.0", status="CURRENT", links=[link])]
        )

"""``/v1/openapi.json``: the API's OpenAPI document (``qinling_lite.api.openapi``)."""

import pecan
from pecan import rest

from qinling_lite.api import openapi


class OpenAPIController(rest.RestController):
    @pecan.expose("json")
    def get_all(self):
        """The document, for any authenticated caller (no policy rule)."""
        return openapi.served(pecan.request.application_url)

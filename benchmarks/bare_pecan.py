"""A bare pecan app answering 202 to a webhook-shaped POST: the ceiling the webhook
endpoint is compared with.

``python bare_pecan.py PORT THREADS`` serves it under the same WSGI server as
``qinling-lite-serve`` (``qinling_lite.api.server``, with its default options);
``gunicorn -w2 'bare_pecan:make_app()'`` under gunicorn, as the issue's ceiling was
measured.
"""

import sys
import uuid

import pecan
from pecan import rest

from qinling_lite import config
from qinling_lite.api import pecan_argspec, server


class Webhooks(rest.RestController):
    _custom_actions = {"invoke": ["POST"]}

    @pecan.expose("json")
    def invoke(self, id):
        pecan.response.status = 202
        return {"execution_id": str(uuid.uuid4())}


class V1(rest.RestController):
    webhooks = Webhooks()


class Root(rest.RestController):
    v1 = V1()


def make_app():
    pecan_argspec.install()  # the same pecan fix as qinling-lite, for a fair ceiling
    return pecan.make_app(Root(), force_canonical=False, guess_content_type_from_ext=False)


def main(port, threads):
    config.CONF([], project="qinling-lite", default_config_files=[])
    config.CONF.set_override("api_threads", int(threads), group="api")
    server.create(make_app(), config.CONF, "127.0.0.1", int(port)).serve()


if __name__ == "__main__":
    main(*sys.argv[1:])

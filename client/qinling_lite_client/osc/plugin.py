"""The OpenStackClient plugin hooks: the ``function_engine`` client and global options."""

import importlib.metadata
import sys

from osc_lib import exceptions, utils

from qinling_lite_client import http

API_NAME = "function_engine"
API_VERSION_OPTION = "os_function_engine_api_version"
API_VERSIONS = ("1",)
DEFAULT_API_VERSION = "1"
SERVICE_TYPE = "function-engine"
# The other plugin that registers the same commands.
RIVAL = "python-qinlingclient"


def make_client(instance):
    """The v1 client: ``--qinling-url`` if given, else the ``function-engine`` endpoint
    (with auth types ``none`` and ``admin_token``: ``--os-endpoint``)."""
    endpoint = instance.get_configuration().get("qinling_url") or (
        instance.get_endpoint_for_service_type(
            SERVICE_TYPE, region_name=instance.region_name, interface=instance.interface
        )
    )
    if not endpoint:
        raise exceptions.CommandError(
            "No function-engine endpoint: give --qinling-url or --os-endpoint"
        )
    return http.Client(instance.session, endpoint)


def rival_installed():
    """Whether python-qinlingclient is installed in the same environment."""
    try:
        importlib.metadata.distribution(RIVAL)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def in_effect():
    """The plugin module whose commands ``openstack`` runs: of the modules registered as
    ``function_engine``, the last one loaded (it replaces the others' commands)."""
    registered = importlib.metadata.entry_points(group="openstack.cli.extension", name=API_NAME)
    return [entry_point.value for entry_point in registered][-1]


def build_option_parser(parser):
    """Add ``--os-function-engine-api-version`` and ``--qinling-url``.

    With python-qinlingclient installed too, say which plugin's commands run, and leave
    the two options (the same in both) to it: adding them twice would stop ``openstack``.
    """
    if rival_installed():
        winner = "qinling-lite-client" if in_effect() == __name__ else RIVAL
        sys.stderr.write(
            f"WARNING: {RIVAL} is installed too; it provides the same commands and "
            f"{winner}'s run here. To use qinling-lite-client's: pip uninstall {RIVAL}\n"
        )
        return parser
    parser.add_argument(
        "--os-function-engine-api-version",
        metavar="<function-engine-api-version>",
        default=utils.env("OS_FUNCTION_ENGINE_API_VERSION", default=DEFAULT_API_VERSION),
        help=f"Function engine API version, default={DEFAULT_API_VERSION} "
        "(Env: OS_FUNCTION_ENGINE_API_VERSION)",
    )
    parser.add_argument(
        "--qinling-url",
        metavar="<url>",
        default=utils.env("QINLING_URL"),
        help="The function engine's root URL, without /v1 (Env: QINLING_URL); "
        "overrides the catalog and --os-endpoint",
    )
    return parser

"""``openstack function worker list``: the workers that serve a function."""

from qinling_lite_client.osc import base, function

COLUMNS = ("function_id", "worker_name")


class List(base.Lister):
    """List the workers of a function."""

    columns = COLUMNS
    filter_keys = ("function_version",)

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID or name")
        return parser

    def items(self, parsed_args):
        api = base.client(self.app)
        path = f"/functions/{function.function_id(api, parsed_args.function)}/workers"
        return base.listing(api, path, "workers", base.filters(parsed_args))

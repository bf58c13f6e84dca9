"""``openstack function alias ...``: names for a function version."""

from qinling_lite_client.osc import base, function

COLUMNS = (
    "name", "function_id", "description", "function_version", "project_id", "created_at",
    "updated_at",
)  # fmt: skip
FILTER_KEYS = ("all_projects", "project_id")


def _name(parser):
    parser.add_argument("name", help="Alias name")


class List(base.Lister):
    """List function aliases."""

    columns = COLUMNS
    filter_keys = FILTER_KEYS

    def items(self, parsed_args):
        api = base.client(self.app)
        return base.listing(api, "/aliases", "function_aliases", base.filters(parsed_args))


class Create(base.Show):
    """Create a function alias."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _name(parser)
        parser.add_argument("--function", required=True, help="Function ID or name")
        parser.add_argument(
            "--function-version", type=int, default=0, help="Function version number (default 0)"
        )
        parser.add_argument("--description", default="", help="Alias description")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        body = {
            "name": parsed_args.name,
            "function_id": function.function_id(api, parsed_args.function),
            "function_version": parsed_args.function_version,
            "description": parsed_args.description,
        }
        return self.show(api.post("/aliases", body))


class Show(base.Show):
    """Show a function alias."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _name(parser)
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/aliases/{parsed_args.name}"))


class Update(base.Show):
    """Point a function alias elsewhere, or change its description."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _name(parser)
        parser.add_argument("--function", help="Function ID or name")
        parser.add_argument("--function-version", type=int, help="Function version number")
        parser.add_argument("--description", help="Alias description")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        body = {
            "function_id": function.function_id(api, parsed_args.function),
            "function_version": parsed_args.function_version,
            "description": parsed_args.description,
        }
        return self.show(api.put(f"/aliases/{parsed_args.name}", body))


class Delete(base.Deleter):
    """Delete function aliases."""

    resource = "function_alias"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", nargs="+", help="Alias name(s)")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        self.delete_all(parsed_args.name, lambda name: api.delete(f"/aliases/{name}"))

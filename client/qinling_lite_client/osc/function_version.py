"""``openstack function version ...``: numbered snapshots of a function."""

from osc_lib.command import command

from qinling_lite_client.osc import base, function

COLUMNS = (
    "id", "function_id", "description", "version_number", "count", "project_id", "created_at",
    "updated_at",
)  # fmt: skip


def _version(parser):
    parser.add_argument("function_id", metavar="FUNCTION", help="Function ID or name")
    parser.add_argument("version_number", help="Version number")


def _path(app, parsed_args):
    fid = function.function_id(base.client(app), parsed_args.function_id)
    return f"/functions/{fid}/versions/{parsed_args.version_number}"


class List(base.Lister):
    """List the versions of a function."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function_id", metavar="FUNCTION", help="Function ID or name")
        return parser

    def items(self, parsed_args):
        api = base.client(self.app)
        path = f"/functions/{function.function_id(api, parsed_args.function_id)}/versions"
        return base.listing(api, path, "function_versions", base.filters(parsed_args))


class Create(base.Show):
    """Create a version of a function from its current code."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID or name")
        parser.add_argument("--description", help="Version description")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        path = f"/functions/{function.function_id(api, parsed_args.function)}/versions"
        return self.show(api.post(path, {"description": parsed_args.description}))


class Show(base.Show):
    """Show a function version."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _version(parser)
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(_path(self.app, parsed_args)))


class Delete(command.Command):
    """Delete a function version."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _version(parser)
        return parser

    def take_action(self, parsed_args):
        base.client(self.app).delete(_path(self.app, parsed_args))


class Detach(command.Command):
    """Detach a function version from its workers."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        _version(parser)
        return parser

    def take_action(self, parsed_args):
        path = _path(self.app, parsed_args) + "/detach"
        base.accepted(
            self.app.stdout,
            f"Request to detach function {parsed_args.function_id}"
            f"(version {parsed_args.version_number}) has been accepted.",
            "Unable to detach the specified function version.",
            lambda: base.client(self.app).request("POST", path),
        )

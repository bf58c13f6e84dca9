"""``openstack runtime ...``: worker images and their pools."""

import argparse

from osc_lib import exceptions

from qinling_lite_client.osc import base, waiting

COLUMNS = (
    "id", "name", "image", "status", "description", "is_public", "trusted", "project_id",
    "created_at", "updated_at",
)  # fmt: skip
POOL_COLUMNS = ("name", "capacity")


class List(base.Lister):
    """List runtimes."""

    columns = COLUMNS

    def items(self, parsed_args):
        return base.listing(
            base.client(self.app), "/runtimes", "runtimes", base.filters(parsed_args)
        )


class Create(base.Show):
    """Create a runtime: [--name NAME] IMAGE, or the older form NAME IMAGE."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("image", metavar="[NAME] IMAGE", help="Container image of the runtime")
        parser.add_argument("second", nargs="?", help=argparse.SUPPRESS)
        parser.add_argument("--name", help="Runtime name")
        parser.add_argument("--description", help="Runtime description")
        parser.add_argument(
            "--private", dest="is_public", action="store_false", help="Create a private runtime"
        )
        parser.add_argument(
            "--untrusted", dest="trusted", action="store_false", help="Create an untrusted runtime"
        )
        waiting.add_options(parser, "runtime", timeout=300)
        return parser

    def take_action(self, parsed_args):
        name, image = parsed_args.name, parsed_args.image
        if parsed_args.second is not None:
            if name is not None:
                raise exceptions.CommandError("Give the name either as NAME or as --name")
            name, image = image, parsed_args.second
        body = {"image": image, "is_public": parsed_args.is_public, "trusted": parsed_args.trusted}
        if name is not None:
            body["name"] = name
        if parsed_args.description is not None:
            body["description"] = parsed_args.description
        api = base.client(self.app)
        runtime = api.post("/runtimes", body)
        if parsed_args.wait:
            runtime = waiting.until(
                lambda: api.get(f"/runtimes/{runtime['id']}"),
                lambda item: item["status"] in ("available", "error"),
                parsed_args.wait_timeout,
                f"runtime {runtime['id']}",
            )
            if runtime["status"] == "error":
                raise exceptions.CommandError(f"Runtime {runtime['id']} is in error")
        return self.show(runtime)


class Delete(base.Deleter):
    """Delete runtimes."""

    resource = "runtime"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("runtime", nargs="+", metavar="RUNTIME", help="Runtime ID(s)")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        self.delete_all(parsed_args.runtime, lambda rid: api.delete(f"/runtimes/{rid}"))


class Show(base.Show):
    """Show a runtime."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("runtime", help="Runtime ID")
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/runtimes/{parsed_args.runtime}"))


class Pool(base.Show):
    """Show the worker pool of a runtime."""

    columns = POOL_COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("runtime", help="Runtime ID")
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/runtimes/{parsed_args.runtime}/pool"))

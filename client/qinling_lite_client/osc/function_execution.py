"""``openstack function execution ...``: running functions, their results and logs."""

from osc_lib.command import command

from qinling_lite_client.osc import base, targets, waiting

COLUMNS = (
    "id", "function_alias", "function_id", "function_version", "description", "input", "result",
    "status", "sync", "project_id", "created_at", "updated_at",
)  # fmt: skip
FILTER_KEYS = ("function_id", "project_id", "all_projects", "status", "description")
FINAL = ("success", "failed", "error")


class List(base.Lister):
    """List executions."""

    columns = COLUMNS
    filter_keys = FILTER_KEYS

    def items(self, parsed_args):
        return base.listing(
            base.client(self.app), "/executions", "executions", base.filters(parsed_args)
        )


class Create(base.Show):
    """Run a function: FUNCTION or --function F, or --function-alias A."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        targets.add_options(parser)
        parser.add_argument("--input", help="Input of the function (JSON or text)")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--sync", action="store_true", dest="sync", default=True, help="Wait for the result"
        )
        group.add_argument("--async", action="store_false", dest="sync", help="Run in background")
        waiting.add_options(parser, "execution", timeout=600)
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        body = {
            **targets.body(api, parsed_args),
            "sync": parsed_args.sync,
            "input": parsed_args.input,
        }
        execution = api.post("/executions", body)
        if parsed_args.wait and execution.get("status") not in FINAL:
            execution = waiting.until(
                lambda: api.get(f"/executions/{execution['id']}"),
                lambda item: item["status"] in FINAL,
                parsed_args.wait_timeout,
                f"execution {execution['id']}",
            )
        return self.show(execution)


class Show(base.Show):
    """Show an execution."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("execution", help="Execution ID")
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/executions/{parsed_args.execution}"))


class Delete(base.Deleter):
    """Delete executions, given or of functions."""

    resource = "execution"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--execution", nargs="+", help="Execution ID(s)")
        group.add_argument("--function", nargs="+", help="Function ID(s): all their executions")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        ids = parsed_args.execution or [
            execution["id"]
            for fid in parsed_args.function
            for execution in base.listing(api, "/executions", "executions", {"function_id": fid})
        ]
        self.delete_all(ids, lambda eid: api.delete(f"/executions/{eid}"))


class LogShow(command.Command):
    """Print an execution's log."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("execution", help="Execution ID")
        return parser

    def take_action(self, parsed_args):
        path = f"/executions/{parsed_args.execution}/log"
        log = base.client(self.app).request("GET", path).text
        self.app.stdout.write(log or "\n")

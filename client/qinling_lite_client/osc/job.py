"""``openstack job ...``: scheduled executions."""

from qinling_lite_client.osc import base, function

COLUMNS = (
    "id", "name", "count", "status", "function_alias", "function_id", "function_version",
    "function_input", "pattern", "first_execution_time", "next_execution_time", "project_id",
    "created_at", "updated_at",
)  # fmt: skip
FILTER_KEYS = ("all_projects", "project_id")
STATUSES = ("running", "paused", "done", "cancelled")


class List(base.Lister):
    """List jobs."""

    columns = COLUMNS
    filter_keys = FILTER_KEYS

    def items(self, parsed_args):
        return base.listing(base.client(self.app), "/jobs", "jobs", base.filters(parsed_args))


class Create(base.Show):
    """Create a job: run a function once at a time, or on a cron pattern."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--function", help="Function ID or name")
        parser.add_argument(
            "--function-version", type=int, default=0, help="Function version number (default 0)"
        )
        parser.add_argument("--function-alias", help="Function alias (instead of the function)")
        parser.add_argument("--name", help="Job name")
        parser.add_argument("--first-execution-time", help="First execution time (UTC)")
        parser.add_argument("--pattern", help="Cron pattern")
        parser.add_argument("--function-input", help="Input of each execution")
        parser.add_argument("--count", type=int, help="Number of executions")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        alias = parsed_args.function_alias
        body = {
            "function_alias": alias,
            "function_id": None if alias else function.function_id(api, parsed_args.function),
            "function_version": None if alias else parsed_args.function_version,
            "name": parsed_args.name,
            "first_execution_time": parsed_args.first_execution_time,
            "pattern": parsed_args.pattern,
            "function_input": parsed_args.function_input,
            "count": parsed_args.count,
        }
        return self.show(api.post("/jobs", body))


class Show(base.Show):
    """Show a job."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job", help="Job ID")
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/jobs/{parsed_args.job}"))


class Update(base.Show):
    """Update a job: pause, resume, reschedule."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("id", help="Job ID")
        parser.add_argument("--name", help="Job name")
        parser.add_argument("--status", choices=STATUSES, help="Job status")
        parser.add_argument("--next-execution-time", help="Next execution time (UTC)")
        parser.add_argument("--pattern", help="Cron pattern")
        parser.add_argument("--function-input", help="Input of each execution")
        return parser

    def take_action(self, parsed_args):
        keys = ("name", "status", "next_execution_time", "pattern", "function_input")
        body = {key: getattr(parsed_args, key) for key in keys}
        return self.show(base.client(self.app).put(f"/jobs/{parsed_args.id}", body))


class Delete(base.Deleter):
    """Delete jobs."""

    resource = "job"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("job", nargs="+", help="Job ID(s)")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        self.delete_all(parsed_args.job, lambda jid: api.delete(f"/jobs/{jid}"))

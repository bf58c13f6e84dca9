"""``openstack webhook ...``: URLs that run a function when called."""

from qinling_lite_client.osc import base, targets

COLUMNS = (
    "id", "function_alias", "function_id", "function_version", "description", "project_id",
    "created_at", "updated_at", "webhook_url",
)  # fmt: skip
FILTER_KEYS = ("all_projects", "project_id")


class List(base.Lister):
    """List webhooks."""

    columns = COLUMNS
    filter_keys = FILTER_KEYS

    def items(self, parsed_args):
        return base.listing(
            base.client(self.app), "/webhooks", "webhooks", base.filters(parsed_args)
        )


class Create(base.Show):
    """Create a webhook: FUNCTION or --function F, or --function-alias A."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        targets.add_options(parser)
        parser.add_argument("--description", help="Webhook description")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        body = targets.body(api, parsed_args)
        if parsed_args.description is not None:
            body["description"] = parsed_args.description
        return self.show(api.post("/webhooks", body))


class Show(base.Show):
    """Show a webhook."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("webhook", help="Webhook ID")
        return parser

    def take_action(self, parsed_args):
        return self.show(base.client(self.app).get(f"/webhooks/{parsed_args.webhook}"))


class Update(base.Show):
    """Update a webhook."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("id", help="Webhook ID")
        parser.add_argument("--function-id", help="Function ID")
        parser.add_argument("--function-version", type=int, help="Function version number")
        parser.add_argument("--description", help="Webhook description")
        return parser

    def take_action(self, parsed_args):
        body = {
            "function_id": parsed_args.function_id,
            "function_version": parsed_args.function_version,
            "description": parsed_args.description,
        }
        return self.show(base.client(self.app).put(f"/webhooks/{parsed_args.id}", body))


class Delete(base.Deleter):
    """Delete webhooks."""

    resource = "webhook"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("webhook", nargs="+", help="Webhook ID(s)")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        self.delete_all(parsed_args.webhook, lambda wid: api.delete(f"/webhooks/{wid}"))

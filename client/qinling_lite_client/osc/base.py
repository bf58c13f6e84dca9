"""What the commands share: list, show and delete command bases, filters, name lookup."""

import uuid

from osc_lib import exceptions
from osc_lib.command import command


def client(app):
    """The v1 client of the running ``openstack`` application."""
    return app.client_manager.function_engine


def filters(parsed_args):
    """``--filter k=v`` options as query parameters, in order (a key may repeat)."""
    pairs = []
    for item in parsed_args.filters or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise exceptions.CommandError(f"Invalid filter: {item} (expected key=value)")
        pairs.append((key, value))
    return pairs


def is_uuid_like(value):
    """Whether ``value`` reads as a UUID, as oslo.utils decides (dashes and case free)."""
    text = str(value).lower().replace("urn:", "").replace("uuid:", "").strip("{}")
    try:
        return uuid.UUID(text).hex == text.replace("-", "")
    except ValueError:
        return False


def listing(api, path, key, params=None):
    """The items of a list answer (none when ``key`` is missing)."""
    return (api.get(path, params) or {}).get(key) or []


def resolve(api, collection, value, resource):
    """The id of ``value``: itself if UUID-like, else the one item of ``collection`` so named."""
    if value is None or is_uuid_like(value):
        return value
    items = listing(api, f"/{collection}", collection)
    found = [item["id"] for item in items if item.get("name") == value]
    if not found:
        raise exceptions.CommandError(f"No {resource} matching {{'name': '{value}'}}")
    if len(found) > 1:
        raise exceptions.CommandError(f"More than one {resource} named {value}: use its id")
    return found[0]


def positive(value):
    """An argparse type: an integer above 0."""
    number = int(value)
    if number <= 0:
        raise ValueError(value)
    return number


def properties(item, columns):
    """The values of ``columns`` in ``item`` (None where missing)."""
    return tuple((item or {}).get(column) for column in columns)


class Show(command.ShowOne):
    """A command that prints one resource, field by field."""

    columns = ()

    def show(self, item):
        return self.columns, properties(item, self.columns)


class Lister(command.Lister):
    """A list command, with ``--filter key=value`` sent to the server as a query."""

    columns = ()
    filter_keys = ()

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        keys = ", ".join(self.filter_keys) or "none"
        parser.add_argument(
            "--filter",
            dest="filters",
            action="append",
            metavar="<key=value>",
            help=f"Query parameter for the server, repeatable. Keys: {keys}",
        )
        return parser

    def items(self, parsed_args):
        """The resources to list."""
        raise NotImplementedError

    def take_action(self, parsed_args):
        rows = [properties(item, self.columns) for item in self.items(parsed_args)]
        return [column.capitalize() for column in self.columns], rows


class Deleter(command.Command):
    """Deletes resources one by one, reporting each; rc 1 if any failed."""

    resource = ""

    def delete_all(self, ids, delete):
        failed = False
        for item_id in ids:
            try:
                delete(item_id)
            except Exception as error:  # reported, then on to the next one
                failed = True
                self.app.stdout.write(f"{error}\n")
            else:
                self.app.stdout.write(
                    f"Request to delete {self.resource} {item_id} has been accepted.\n"
                )
        if failed:
            raise exceptions.CommandError(f"Unable to delete the specified {self.resource}(s).")


def accepted(stdout, message, error_message, call):
    """Run ``call``; write ``message``, or the error and fail with ``error_message``."""
    try:
        call()
    except Exception as error:  # written out as 5.1.1 does
        stdout.write(f"{error}\n")
        raise exceptions.CommandError(error_message) from None
    stdout.write(f"{message}\n")

"""``openstack function ...``: functions and their code."""

import argparse
import json
import os

from osc_lib import exceptions
from osc_lib.command import command

from qinling_lite_client.osc import base, packages

COLUMNS = (
    "id", "name", "description", "count", "code", "runtime_id", "entry", "project_id",
    "created_at", "updated_at", "cpu", "memory_size", "timeout",
)  # fmt: skip
FILTER_KEYS = ("all_projects", "project_id")
CHUNK = 64 * 1024  # download size per write


def function_id(api, value):
    return base.resolve(api, "functions", value, "Function")


def _code_options(parser):
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--file", metavar="CODE_FILE_PATH", help="Code file, zipped alone")
    group.add_argument("--package", metavar="CODE_PACKAGE_PATH", help="Code package (zip file)")
    parser.add_argument("--container", help="Container name in Swift")
    parser.add_argument("--object", help="Object name in Swift")


def _limit_options(parser, timeout_default):
    parser.add_argument("--cpu", type=base.positive, help="CPU limit (millicpu)")
    parser.add_argument("--memory-size", type=base.positive, help="Memory limit (bytes)")
    parser.add_argument(
        "--timeout",
        type=base.positive,
        default=timeout_default,
        help="Execution time limit in seconds (create: default 5)",
    )


def _given(parsed_args, *names):
    """The options among ``names`` that were given, as form fields."""
    values = {name: getattr(parsed_args, name) for name in names}
    return {name: str(value) for name, value in values.items() if value is not None}


def _one(positional, option, what):
    if positional is not None and option is not None and positional != option:
        raise exceptions.CommandError(f"Give the {what} once: as an argument or as an option")
    return positional if positional is not None else option


def _code_argument(text):
    try:
        code = json.loads(text)
    except ValueError:
        code = None
    if not isinstance(code, dict) or code.get("source") not in ("package", "swift", "image"):
        raise exceptions.CommandError(
            f"Invalid CODE {text!r}: a JSON object with source package, swift or image"
        )
    return code


class List(base.Lister):
    """List functions."""

    columns = COLUMNS
    filter_keys = FILTER_KEYS

    def items(self, parsed_args):
        return base.listing(
            base.client(self.app), "/functions", "functions", base.filters(parsed_args)
        )


class Create(base.Show):
    """Create a function from a file, a package, a Swift object or an image.

    Also takes the older form NAME RUNTIME CODE, CODE being JSON such as
    '{"source": "package"}'.
    """

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name_arg", nargs="?", metavar="NAME", help="Function name")
        parser.add_argument("runtime_arg", nargs="?", metavar="RUNTIME", help="Runtime ID or name")
        parser.add_argument(
            "code_arg", nargs="?", metavar="CODE", help='Code JSON, e.g. {"source": "package"}'
        )
        parser.add_argument("--runtime", help="Runtime ID or name (not for image functions)")
        parser.add_argument("--name", help="Function name")
        parser.add_argument("--entry", help="Entry point: <module>.<function>")
        _code_options(parser)
        parser.add_argument("--image", help="Container image (image functions)")
        _limit_options(parser, timeout_default=5)
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        code = _code_argument(parsed_args.code_arg) if parsed_args.code_arg else {}
        source = code.get("source") or self._source(parsed_args)
        name = _one(parsed_args.name_arg, parsed_args.name, "name")
        runtime = _one(parsed_args.runtime_arg, parsed_args.runtime, "runtime")
        data, files = {}, None
        if source != "image":
            if not runtime:
                raise exceptions.CommandError(f"A runtime is needed for a {source} function.")
            data["runtime_id"] = base.resolve(api, "runtimes", runtime, "Runtime")
        if source == "package":
            if not (parsed_args.file or parsed_args.package):
                raise exceptions.CommandError("Give --file or --package for a package function.")
            filename, content = packages.read(parsed_args.package, parsed_args.file)
            code = {"source": "package", "md5sum": packages.md5(content)}
            files = {"package": (filename, content)}
        elif source == "swift":
            swift = {**code.get("swift", {}), **_given(parsed_args, "container", "object")}
            if not {"container", "object"} <= set(swift):
                raise exceptions.CommandError("Give both --container and --object.")
            code = {"source": "swift", "swift": swift}
        else:
            code = {"source": "image", "image": parsed_args.image or code.get("image")}
            if not code["image"]:
                raise exceptions.CommandError("Give --image for an image function.")
        data["code"] = json.dumps(code)
        if name is not None:
            data["name"] = name
        data.update(_given(parsed_args, "entry", "cpu", "memory_size", "timeout"))
        return self.show(api.call("POST", "/functions", data=data, files=files))

    @staticmethod
    def _source(parsed_args):
        if parsed_args.file or parsed_args.package:
            return "package"
        if parsed_args.container or parsed_args.object:
            return "swift"
        if parsed_args.image:
            return "image"
        raise exceptions.CommandError(
            "Cannot create a function with the parameters given: give --file or --package "
            "(package), --container and --object (swift) or --image (image)."
        )


class Show(base.Show):
    """Show a function."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID or name")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        return self.show(api.get(f"/functions/{function_id(api, parsed_args.function)}"))


class Update(base.Show):
    """Update a function's fields or code."""

    columns = COLUMNS

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID or name")
        parser.add_argument("--name", help="Function name")
        parser.add_argument("--description", help="Function description")
        parser.add_argument("--entry", help="Entry point: <module>.<function>")
        _code_options(parser)
        _limit_options(parser, timeout_default=None)
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        path = f"/functions/{function_id(api, parsed_args.function)}"
        fields = _given(
            parsed_args, "name", "description", "entry", "cpu", "memory_size", "timeout"
        )
        files = None
        if parsed_args.file or parsed_args.package:
            filename, content = packages.read(parsed_args.package, parsed_args.file)
            fields["code"] = json.dumps({"source": "package", "md5sum": packages.md5(content)})
            files = {"package": (filename, content)}
        elif parsed_args.container or parsed_args.object:
            swift = _given(parsed_args, "container", "object")
            fields["code"] = json.dumps({"source": "swift", "swift": swift})
        return self.show(api.call("PUT", path, data=fields, files=files))


class Delete(base.Deleter):
    """Delete functions."""

    resource = "function"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument(
            "function", nargs="+", metavar="FUNCTION", help="Function ID(s)/name(s)"
        )
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        ids = [function_id(api, value) for value in parsed_args.function]
        self.delete_all(ids, lambda fid: api.delete(f"/functions/{fid}"))


class Download(command.Command):
    """Download a function's code package."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID or name")
        parser.add_argument("-o", "--output", help="Target file (default: ./<function id>.zip)")
        return parser

    def take_action(self, parsed_args):
        api = base.client(self.app)
        fid = function_id(api, parsed_args.function)
        path = f"/functions/{fid}"
        response = api.request("GET", path, params={"download": "true"}, stream=True)
        target = os.path.abspath(parsed_args.output or f"{fid}.zip")
        with open(target, "wb") as file:
            for chunk in response.iter_content(CHUNK):
                file.write(chunk)
        self.app.stdout.write(f"Code package downloaded to {target}\n")


class Detach(command.Command):
    """Detach a function from its workers."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID")
        return parser

    def take_action(self, parsed_args):
        fid = parsed_args.function
        base.accepted(
            self.app.stdout,
            f"Request to detach function {fid} has been accepted.",
            "Unable to detach the specified function.",
            lambda: base.client(self.app).request("POST", f"/functions/{fid}/detach"),
        )


class _Scale(command.Command):
    direction = ""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("function", help="Function ID")
        parser.add_argument(
            "--count",
            type=_worker_count,
            default=1,
            help=f"Number of workers to scale {self.direction} (default 1)",
        )
        return parser

    def take_action(self, parsed_args):
        fid = parsed_args.function
        path = f"/functions/{fid}/scale_{self.direction}"
        base.accepted(
            self.app.stdout,
            f"Request to scale {self.direction} function {fid} has been accepted.",
            f"Unable to scale {self.direction} the specified function.",
            lambda: base.client(self.app).post(path, {"count": parsed_args.count}),
        )


def _worker_count(value):
    try:
        return base.positive(value)
    except ValueError:
        raise argparse.ArgumentTypeError("Worker count must be a positive integer.") from None


class Scaleup(_Scale):
    """Add workers to a function."""

    direction = "up"


class Scaledown(_Scale):
    """Remove workers from a function."""

    direction = "down"

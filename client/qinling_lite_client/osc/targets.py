"""What an execution or a webhook runs: a function (and version), or a function alias."""

from osc_lib import exceptions

from qinling_lite_client.osc import function


def add_options(parser):
    """``[FUNCTION] [--function F] [--function-version N] [--function-alias A]``."""
    parser.add_argument("function_arg", nargs="?", metavar="FUNCTION", help="Function ID or name")
    parser.add_argument("--function", help="Function ID or name")
    parser.add_argument(
        "--function-version", type=int, default=0, help="Function version number (default 0)"
    )
    parser.add_argument("--function-alias", help="Function alias (instead of function and version)")


def body(api, parsed_args):
    """The ``function_id``, ``function_version`` and ``function_alias`` of a request."""
    alias = parsed_args.function_alias
    if alias:
        if parsed_args.function_arg or parsed_args.function:
            raise exceptions.CommandError("Give either a function or --function-alias")
        return {"function_id": None, "function_version": None, "function_alias": alias}
    if parsed_args.function_arg and parsed_args.function:
        raise exceptions.CommandError("Give the function once: as FUNCTION or as --function")
    value = parsed_args.function_arg or parsed_args.function
    if not value:
        raise exceptions.CommandError("Give a function (FUNCTION or --function) or an alias")
    return {
        "function_id": function.function_id(api, value),
        "function_version": parsed_args.function_version,
        "function_alias": None,
    }

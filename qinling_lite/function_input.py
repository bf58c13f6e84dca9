"""The input of an execution: as callers give it (a string) and as it is stored.

The stored input is a JSON value: an object is the function's keyword arguments, its
keys exactly as the caller gave them (a webhook's body, an execution input that is a JSON
object); a string is the caller's text when it is not a JSON object, passed as one
positional argument; None is no input. Only the service decides which one it is: no key
of an object can make it positional.
"""

import json
import shlex

from qinling_lite import exceptions, strict_json


def parse(raw):
    """The stored form of an input string (None when there is none).

    A JSON object within ``strict_json``'s bounds is keyword arguments; one beyond them
    (too deep, a lone surrogate) is refused with InputError rather than passed as text.
    """
    if raw is None or raw == "":
        return None
    if not raw.lstrip().startswith("{"):
        return raw
    try:
        return strict_json.loads(raw)
    except strict_json.NotJson:
        return raw
    except strict_json.Refused as e:
        raise exceptions.InputError(f"The input is refused: {e}.") from None


def positional(stored):
    """Whether the stored input is one positional argument (the caller's text)."""
    return isinstance(stored, str)


def render(stored):
    """The wire form of a stored input: the raw string a caller gave, or the JSON text."""
    if stored is None or positional(stored):
        return stored
    return json.dumps(stored)


def as_args(stored):
    """The stored input as the arguments of an image function's container.

    The raw string is split like a shell command line (``a 'b c'`` gives ``a`` and
    ``b c``); a JSON object is passed as one argument, its JSON text. (Qinling split the
    string on whitespace and failed on a JSON object.)
    """
    if stored is None:
        return []
    if positional(stored):
        try:
            return shlex.split(stored)
        except ValueError as e:
            raise exceptions.InputError(f"The input is not a valid argument list: {e}.") from e
    return [json.dumps(stored)]

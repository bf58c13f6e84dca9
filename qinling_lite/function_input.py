"""The input of an execution: as callers give it (a string) and as it is stored.

A JSON object becomes the function's keyword arguments; anything else is passed as
one positional argument, stored under ``__function_input`` as the raw string.
"""

import json
import shlex

from qinling_lite import exceptions

POSITIONAL = "__function_input"


def parse(raw):
    """The stored form of an input string (None when there is none)."""
    if raw is None or raw == "":
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    return value if isinstance(value, dict) else {POSITIONAL: raw}


def render(stored):
    """The wire form of a stored input: the raw string a caller gave, or the JSON text."""
    if stored is None:
        return None
    if set(stored) == {POSITIONAL}:
        return stored[POSITIONAL]
    return json.dumps(stored)


def as_args(stored):
    """The stored input as the arguments of an image function's container.

    The raw string is split like a shell command line (``a 'b c'`` gives ``a`` and
    ``b c``); a JSON object is passed as one argument, its JSON text. (Qinling split the
    string on whitespace and failed on a JSON object.)
    """
    if stored is None:
        return []
    if set(stored) == {POSITIONAL}:
        try:
            return shlex.split(stored[POSITIONAL])
        except ValueError as e:
            raise exceptions.InputError(f"The input is not a valid argument list: {e}.") from e
    return [json.dumps(stored)]

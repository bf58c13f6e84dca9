"""Checks of request parameters that WSME types do not cover: how a path, a query string
or a form carries a value. The checks of the values themselves, which the services run
too, are in ``qinling_lite.services.validation``."""

from oslo_utils import strutils

from qinling_lite import exceptions
from qinling_lite.api import policy


def boolean(value, name):
    """A real boolean: ``false``, ``0``, ``no`` are false (in Qinling any value was true)."""
    try:
        return strutils.bool_from_string(value, strict=True) if value else False
    except ValueError as e:
        raise exceptions.InputError(f"Invalid boolean for {name}: {value!r}.") from e


# The largest value of an Integer column on every database (MySQL and PostgreSQL: 32 bits).
INT_MAX = 2**31 - 1


def integer(value, minimum=-INT_MAX - 1, maximum=INT_MAX, text=False):
    """``value`` as an int within [minimum, maximum], or ValueError.

    An integer is a JSON integer: not a boolean, a float or a string (Python and WSME
    would take ``true``, truncate ``5.5`` and read an Arabic-Indic digit as a number).
    ``text``: a string of ASCII decimal digits is taken too, as a path or a query
    parameter carries it.
    """
    if text and isinstance(value, str):
        value = text_int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("An integer is required.")
    if not minimum <= value <= maximum:
        raise ValueError(f"The value must be from {minimum} to {maximum}.")
    return value


def text_int(value):
    """A form field or query parameter meant as an integer: the int of a string of ASCII
    decimal digits; anything else as it is, for the integer check to refuse."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        try:
            return int(value)
        except ValueError:  # more digits than Python converts
            return value
    return value


def version_number(value, minimum=1):
    """A function version number from a path or query: ASCII digits, from ``minimum``
    (0 names the function itself, where admin calls accept it) to INT_MAX."""
    try:
        return integer(value, minimum, INT_MAX, text=True)
    except ValueError:
        raise exceptions.InputError(f"Invalid version number: {value!r}.") from None


def filters(**values):
    """The list filters a request gave, by column (``db.filters``: ``op:value`` forms)."""
    return {column: value for column, value in values.items() if value is not None}


def list_scope(ctx, resource, all_projects, project_id):
    """The project a list is limited to (None: every project) and the extra filters.

    The caller needs ``<resource>:get_all``; ``all_projects`` and ``project_id`` need
    ``<resource>:get_all:all_projects`` (admin by default); others get a 403, never a 500.
    """
    policy.enforce(ctx, f"{resource}:get_all")
    everything = boolean(all_projects, "all_projects")
    if not (everything or project_id):
        return ctx.project_id, {}
    policy.enforce(ctx, f"{resource}:get_all:all_projects")
    return None, ({"project_id": project_id} if project_id else {})

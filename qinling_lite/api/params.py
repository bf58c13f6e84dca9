"""Checks of request parameters that WSME types do not cover."""

from oslo_utils import strutils, uuidutils

from qinling_lite import exceptions
from qinling_lite.api import policy


def uuid(value, name="id"):
    if not uuidutils.is_uuid_like(value):
        raise exceptions.InputError(f"Expected a uuid for {name} but received {value!r}.")
    return value


def boolean(value, name):
    """A real boolean: ``false``, ``0``, ``no`` are false (in Qinling any value was true)."""
    try:
        return strutils.bool_from_string(value, strict=True) if value else False
    except ValueError as e:
        raise exceptions.InputError(f"Invalid boolean for {name}: {value!r}.") from e


def version_number(value, minimum=1):
    """A function version number from a path or query: an integer from ``minimum``
    (0 names the function itself, where admin calls accept it)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < minimum:
        raise exceptions.InputError(f"Invalid version number: {value!r}.")
    return number


def bounded_int(value, name, minimum, maximum, unit):
    """An integer form field within [minimum, maximum], with Qinling's messages."""
    try:
        number = int(value)
    except (TypeError, ValueError) as e:
        raise exceptions.InputError(
            f"Invalid {name} resource specified. An integer is required."
        ) from e
    if not minimum <= number <= maximum:
        raise exceptions.InputError(
            f"{name} resource limitation not within the allowable range: "
            f"{minimum} ~ {maximum}({unit})."
        )
    return number


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

"""Checks of the values a caller sends, whichever way they came (JSON body, form field,
path or query string), with the messages the API answers them with."""

from typing import Any

from oslo_utils import uuidutils

from qinling_lite import exceptions


def uuid(value: Any, name: str = "id") -> str:
    """``value`` if it is a UUID; the error names it ``name``."""
    if not uuidutils.is_uuid_like(value):
        raise exceptions.InputError(f"Expected a uuid for {name} but received {value!r}.")
    return value


def bounded_int(value: Any, name: str, minimum: int, maximum: int, unit: str) -> int:
    """An integer within [minimum, maximum], with Qinling's messages: a JSON integer, or
    a form field read by ``qinling_lite.api.params.text_int``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise exceptions.InputError(f"Invalid {name} resource specified. An integer is required.")
    if not minimum <= value <= maximum:
        raise exceptions.InputError(
            f"{name} resource limitation not within the allowable range: "
            f"{minimum} ~ {maximum}({unit})."
        )
    return value

"""Webhook input templates: which part of a posted body becomes each keyword argument.

A template is a JSON object ``{argument name: source}``. A source is a JSON Pointer
(RFC 6901: ``""`` is the whole body, ``/a/0/b~1c`` its ``a``, first element, key
``b/c``) or ``trait:NAME``, the value of the Aodh event trait NAME: the third element of
the ``[name, type, value]`` entry named NAME in the body's ``reason_data.event.traits``.
"""

import keyword
import re
from collections.abc import Mapping
from typing import Any

from qinling_lite import exceptions

MAX_ENTRIES = 64
MAX_NAME_LENGTH = 255
MAX_SOURCE_LENGTH = 1024
TRAIT_PREFIX = "trait:"
# The argument every function gets from the service.
RESERVED_NAME = "context"
_BAD_ESCAPE = re.compile(r"~(?![01])")
# An array index as RFC 6901 spells it ("-", past the end, is never there).
_INDEX = re.compile(r"0|[1-9][0-9]*")


class _Missing(Exception):
    """A source that is not in the body."""


def validate(template: Any) -> dict[str, str] | None:
    """``template`` if it is a valid template (None: no template); else InputError
    naming the first bad entry."""
    if template is None:
        return None
    if not isinstance(template, dict):
        raise exceptions.InputError(
            "input_template must be a JSON object mapping argument names to sources "
            "(JSON Pointers or trait:NAME), or null."
        )
    if len(template) > MAX_ENTRIES:
        raise exceptions.InputError(
            f"input_template has {len(template)} entries; at most {MAX_ENTRIES} are allowed."
        )
    for name, source in template.items():
        problem = _name_problem(name) or _source_problem(source)
        if problem:
            shown = name if len(name) <= 64 else name[:64] + "..."
            raise exceptions.InputError(f"input_template entry {shown!r}: {problem}")
    return template


def _name_problem(name: str) -> str | None:
    if len(name) > MAX_NAME_LENGTH:
        return f"the argument name has more than {MAX_NAME_LENGTH} characters."
    if not name.isidentifier() or keyword.iskeyword(name):
        return "the argument name must be a Python identifier that is not a keyword."
    if name == RESERVED_NAME:
        return f"{RESERVED_NAME!r} is reserved: the service passes it to every function."
    return None


def _source_problem(source: Any) -> str | None:
    if not isinstance(source, str):
        return "the source must be a string: a JSON Pointer or trait:NAME."
    if len(source) > MAX_SOURCE_LENGTH:
        return f"the source has more than {MAX_SOURCE_LENGTH} characters."
    if source.startswith(TRAIT_PREFIX):
        return None if source[len(TRAIT_PREFIX) :] else "trait: needs a trait name."
    if source and not source.startswith("/"):
        return f"{source!r} is neither a JSON Pointer (empty, or starting with '/') nor trait:NAME."
    try:
        _tokens(source)
    except ValueError as e:
        return str(e)
    return None


def _tokens(pointer: str) -> list[str]:
    """The reference tokens of a JSON Pointer; ValueError for a ``~`` not followed by
    0 or 1."""
    if _BAD_ESCAPE.search(pointer):
        raise ValueError(f"{pointer!r} is not a JSON Pointer: '~' must be followed by 0 or 1.")
    return [token.replace("~1", "/").replace("~0", "~") for token in pointer.split("/")[1:]]


def apply(template: Mapping[str, str], body: Any) -> dict[str, Any]:
    """The input ``template`` maps ``body`` to; InputError listing every entry whose
    source is not in the body."""
    values: dict[str, Any] = {}
    missing = []
    for name, source in template.items():
        try:
            values[name] = _value(source, body)
        except _Missing:
            missing.append(f"{name} ({source})")
    if missing:
        raise exceptions.InputError(f"input_template cannot map the body: {', '.join(missing)}")
    return values


def _value(source: str, body: Any) -> Any:
    if source.startswith(TRAIT_PREFIX):
        return _trait(source[len(TRAIT_PREFIX) :], body)
    value = body
    for token in _tokens(source):
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and _INDEX.fullmatch(token) and int(token) < len(value):
            value = value[int(token)]
        else:
            raise _Missing
    return value


def _trait(name: str, body: Any) -> Any:
    try:
        traits = body["reason_data"]["event"]["traits"]
    except (KeyError, TypeError):
        raise _Missing from None
    if isinstance(traits, list):
        for trait in traits:
            if isinstance(trait, list) and len(trait) == 3 and trait[0] == name:
                return trait[2]
    raise _Missing

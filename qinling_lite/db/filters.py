"""List filters with Qinling's operator prefixes (``status=neq:success``)."""

import sqlalchemy as sa
from oslo_utils import strutils, timeutils

from qinling_lite import exceptions

_OPERATORS = {
    "eq": lambda col, v: col == v,
    "neq": lambda col, v: col != v,
    "gt": lambda col, v: col > v,
    "gte": lambda col, v: col >= v,
    "lt": lambda col, v: col < v,
    "lte": lambda col, v: col <= v,
    "in": lambda col, v: col.in_(v),
    "nin": lambda col, v: col.not_in(v),
    "has": lambda col, v: col.contains(v, autoescape=True),
}


def parse(raw):
    """Split ``op:value`` into an operator name and a value (lists for in/nin)."""
    op, sep, value = raw.partition(":")
    if not sep or op not in _OPERATORS:
        op, value = "eq", raw
    if op in ("in", "nin"):
        value = [v for v in value.split(",") if v]
    return op, value


def _convert(column, value):
    """A filter value as the column's Python type (booleans, integers, UTC timestamps)."""
    python_type = column.type.python_type
    try:
        if python_type is bool:
            return strutils.bool_from_string(value, strict=True)
        if python_type is int:
            return int(value)
        if python_type.__name__ == "datetime":
            return timeutils.normalize_time(timeutils.parse_isotime(value))
    except ValueError as e:
        raise exceptions.InputError(f"Invalid value for {column.key}: {value!r}") from e
    return value


def apply(query, model, filters):
    """Add a WHERE clause per ``{column: raw value}``; unknown columns are a 400."""
    columns = sa.inspect(model).columns
    for key, raw in filters.items():
        if key not in columns:
            raise exceptions.InputError(f"Unknown filter: {key}")
        column = columns[key]
        op, value = parse(raw)
        if op == "has" and column.type.python_type is not str:
            raise exceptions.InputError(f"Operator 'has' needs a text field, not {key}.")
        if isinstance(value, list):
            value = [_convert(column, v) for v in value]
        else:
            value = _convert(column, value)
        query = query.where(_OPERATORS[op](getattr(model, key), value))
    return query

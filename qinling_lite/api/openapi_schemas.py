"""OpenAPI 3.0 schemas of the v1 API's bodies, generated from its WSME types.

Each complex type gives two schemas: the representation (every attribute, ``null``
included, as ``from_db`` fills them) and, for a type that is also a request body, the
body (the writable attributes, the mandatory ones required). Both refuse unknown
attributes, as the API does.
"""

from wsme import types as wtypes

from qinling_lite.api import types

# The one error shape (``errors.body``); a failed webhook invocation adds its execution.
ERROR = {
    "type": "object",
    "required": ["faultcode", "faultstring", "debuginfo"],
    "properties": {
        "faultcode": {"type": "string", "enum": ["Client", "Server"]},
        "faultstring": {"type": "string"},
        "debuginfo": {"type": "string", "nullable": True},
        "execution_id": {"type": "string", "format": "uuid"},
    },
    "additionalProperties": False,
}


def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}


def of_datatype(datatype):
    """The schema of a WSME attribute type (``null`` allowed: every attribute may be)."""
    if wtypes.iscomplex(datatype):
        return {**ref(datatype.__name__), "nullable": True}
    if isinstance(datatype, wtypes.ArrayType):
        items = _not_null(of_datatype(datatype.item_type))
        return {"type": "array", "items": items, "nullable": True}
    if isinstance(datatype, wtypes.DictType):
        values = _not_null(of_datatype(datatype.value_type))
        return {"type": "object", "additionalProperties": values, "nullable": True}
    return {**_scalar(datatype), "nullable": True}


def _not_null(schema):
    if "$ref" in schema:
        return ref(schema["$ref"].rsplit("/", 1)[1])
    return {k: v for k, v in schema.items() if k != "nullable"}


def _scalar(datatype):
    if isinstance(datatype, types.Uuid):
        return {"type": "string", "format": "uuid"}
    if isinstance(datatype, wtypes.Enum):
        return {"type": "string", "enum": sorted(datatype.values)}
    if isinstance(datatype, wtypes.StringType):
        bounds = {"minLength": datatype.min_length, "maxLength": datatype.max_length}
        return {"type": "string", **{k: v for k, v in bounds.items() if v is not None}}
    if isinstance(datatype, types.Integer):
        return {"type": "integer", "minimum": datatype.minimum, "maximum": datatype.maximum}
    if isinstance(datatype, types.Boolean):
        return {"type": "boolean"}
    if isinstance(datatype, types.JsonObject):
        return {"type": "object"}
    if datatype is int:
        return {"type": "integer"}
    if datatype is wtypes.text:
        return {"type": "string"}
    raise TypeError(f"No OpenAPI schema for the WSME type {datatype!r}.")


def representation(cls, **overrides):
    """The schema of ``cls`` as the API renders it: every attribute, ``overrides``
    (attribute name -> schema) replacing the generated ones."""
    attributes = wtypes.list_attributes(cls)
    return {
        "type": "object",
        "required": [attr.key for attr in attributes],
        "properties": {
            attr.key: overrides.get(attr.key) or of_datatype(attr.datatype) for attr in attributes
        },
        "additionalProperties": False,
    }


def body(cls):
    """The schema of ``cls`` as a request body: its writable attributes."""
    attributes = [attr for attr in wtypes.list_attributes(cls) if not attr.readonly]
    schema = {
        "type": "object",
        "properties": {attr.key: of_datatype(attr.datatype) for attr in attributes},
        "additionalProperties": False,
    }
    required = [attr.key for attr in attributes if attr.mandatory]
    return {**schema, "required": required} if required else schema

"""Request and response types of the v1 API (WSME), apart from the controllers."""

import inspect
import json
from collections.abc import Callable
from typing import Any

from wsme import types as wtypes
from wsme.rest import json as wsme_json

from qinling_lite import function_input, retry_reasons
from qinling_lite.api import params
from qinling_lite.services import validation, webhook_auth

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def format_time(value):
    return None if value is None else value.strftime(TIMESTAMP_FORMAT)


class Uuid(wtypes.UuidType):
    """A UUID, checked in paths and query strings too (WSME checks it only in bodies)."""

    def frombasetype(self, value):
        return None if value is None else validation.uuid(value)


UUID = Uuid()


class Integer(wtypes.UserType):
    """A JSON integer within [minimum, maximum] (``params.integer``); by default within
    the range of an Integer column.

    ``text``: a string of ASCII decimal digits is taken too, for ``function_version``,
    which ``openstack function alias update`` sends as a string.
    """

    basetype = int
    name = "integer"

    def __init__(self, minimum=-params.INT_MAX - 1, maximum=params.INT_MAX, text=False):
        self.minimum = minimum
        self.maximum = maximum
        self.text = text

    def validate(self, value):
        return params.integer(value, self.minimum, self.maximum, self.text)


class Boolean(wtypes.UserType):
    """A JSON boolean, ``true`` or ``false`` (WSME's ``bool`` takes 1 and "yes" too)."""

    basetype = bool
    name = "boolean"

    def validate(self, value):
        if not isinstance(value, bool):
            raise ValueError("A boolean (true or false) is required.")
        return value


class JsonObject(wtypes.UserType):
    """A JSON object (or null) in a body, taken as sent for the service to check: WSME's
    dict type would convert its values and answer errors that name no entry."""

    basetype = dict
    name = "json_object"


@wsme_json.fromjson.when_type(Integer)
@wsme_json.fromjson.when_type(Boolean)
@wsme_json.fromjson.when_type(JsonObject)
def _as_sent(datatype, value):
    """The JSON value as it came, for the type's ``validate`` to check when the attribute
    is set (WSME would convert it first, truncating 5.5 and taking true as 1)."""
    return value


BOOLEAN = Boolean()
# A function version number in a body: 0 (the function itself) or a version.
VERSION = Integer(minimum=0, text=True)


class Base(wtypes.Base):
    """A WSME complex type whose attributes keep their declaration order.

    WSME otherwise finds that order by parsing the source of the class and of each base
    (``inspect.getsourcelines``), which cost 0.6 s of CPU on every import of the API.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        attributes = {
            name
            for name, value in inspect.getmembers(cls, wtypes.iswsattr)
            if not name.startswith("_") and not inspect.isroutine(value)
        }
        declared = dict.fromkeys(name for klass in cls.__mro__ for name in vars(klass))
        cls._wsme_attr_order = [name for name in declared if name in attributes]


class Body(Base):
    def to_values(self):
        """The attributes the caller set, as a dict (unset ones left out)."""
        return {
            attr.key: getattr(self, attr.key)
            for attr in wtypes.list_attributes(type(self))
            if getattr(self, attr.key) is not wtypes.Unset
        }


class Resource(Body):
    """Common fields; ``from_db`` fills every declared attribute (null included)."""

    id = wtypes.wsattr(UUID, readonly=True)
    project_id = wtypes.wsattr(wtypes.text, readonly=True)
    created_at = wtypes.wsattr(wtypes.text, readonly=True)
    updated_at = wtypes.wsattr(wtypes.text, readonly=True)

    _converters: dict[str, Callable[[Any], Any]] = {
        "created_at": format_time,
        "updated_at": format_time,
    }

    @classmethod
    def from_db(cls, obj, **extra):
        values = {}
        for attr in wtypes.list_attributes(cls):
            if attr.key in extra:
                values[attr.key] = extra[attr.key]
            else:
                value = getattr(obj, attr.key)
                convert = cls._converters.get(attr.key)
                values[attr.key] = convert(value) if convert else value
        return cls(**values)


class Runtime(Resource):
    name = wtypes.wsattr(wtypes.StringType(max_length=255))
    description = wtypes.wsattr(wtypes.StringType(max_length=255))
    image = wtypes.wsattr(wtypes.StringType(min_length=1, max_length=255))
    is_public = wtypes.wsattr(BOOLEAN, default=True)
    trusted = wtypes.wsattr(BOOLEAN, default=True)
    status = wtypes.wsattr(wtypes.text, readonly=True)
    status_reason = wtypes.wsattr(wtypes.text, readonly=True)


class Runtimes(Base):
    runtimes = [Runtime]


class RuntimeUpdate(Body):
    name = wtypes.wsattr(wtypes.StringType(max_length=255))
    description = wtypes.wsattr(wtypes.StringType(max_length=255))
    image = wtypes.wsattr(wtypes.StringType(min_length=1, max_length=255))


class RuntimePool(Base):
    name = wtypes.text
    capacity = {wtypes.text: int}


class Function(Resource):
    """A function as listed: ``code`` is a JSON string, as Qinling renders it."""

    name = wtypes.text
    description = wtypes.text
    runtime_id = wtypes.text
    code = wtypes.text
    entry = wtypes.text
    cpu = int
    memory_size = int
    timeout = int
    count = int
    latest_version = int
    # Extensions: retries of failed asynchronous executions, and where the last failure
    # goes (null: the deployment's default retries, every outcome, nowhere).
    retry_attempts = int
    retry_on = [wtypes.text]
    dead_letter_function_id = wtypes.text

    _converters = {
        **Resource._converters,
        "code": json.dumps,
        "retry_on": lambda r: None if r is None else retry_reasons.parse(r),
    }


class Functions(Base):
    functions = [Function]


class FunctionVersion(Resource):
    function_id = wtypes.wsattr(UUID, readonly=True)
    version_number = wtypes.wsattr(int, readonly=True)
    description = wtypes.wsattr(wtypes.StringType(max_length=255))
    count = wtypes.wsattr(int, readonly=True)


class FunctionVersions(Base):
    function_versions = [FunctionVersion]


class FunctionAlias(Resource):
    name = wtypes.wsattr(wtypes.StringType(min_length=1, max_length=255))
    function_id = wtypes.wsattr(UUID)
    function_version = wtypes.wsattr(VERSION)
    description = wtypes.wsattr(wtypes.StringType(max_length=255))


class FunctionAliases(Base):
    function_aliases = [FunctionAlias]


class Job(Resource):
    name = wtypes.wsattr(wtypes.StringType(max_length=255))
    function_id = wtypes.wsattr(UUID)
    function_alias = wtypes.wsattr(wtypes.StringType(max_length=255))
    function_version = wtypes.wsattr(VERSION)
    function_input = wtypes.wsattr(wtypes.StringType(max_length=65535))
    status = wtypes.text
    pattern = wtypes.wsattr(wtypes.StringType(max_length=32))
    count = wtypes.wsattr(Integer())
    first_execution_time = wtypes.text
    next_execution_time = wtypes.text

    _converters = {
        **Resource._converters,
        "first_execution_time": format_time,
        "next_execution_time": format_time,
    }


class Jobs(Base):
    jobs = [Job]


class ScaleInfo(Body):
    count = wtypes.wsattr(Integer(minimum=1), mandatory=True)


class Worker(Base):
    function_id = wtypes.text
    function_version = int
    worker_name = wtypes.text


class Workers(Base):
    workers = [Worker]


class Execution(Resource):
    function_id = wtypes.wsattr(UUID)
    function_version = wtypes.wsattr(VERSION, default=0)
    function_alias = wtypes.wsattr(wtypes.StringType(max_length=255))
    description = wtypes.wsattr(wtypes.StringType(max_length=255))
    sync = wtypes.wsattr(BOOLEAN, default=True)
    input = wtypes.text
    status = wtypes.wsattr(wtypes.text, readonly=True)
    result = wtypes.wsattr(wtypes.text, readonly=True)
    # Extensions: a retry names the execution it retries and its number (0: the first
    # run), and is not run before ``not_before``; a dead-letter execution names the
    # failed execution it reports.
    retry_of = wtypes.wsattr(wtypes.text, readonly=True)
    retry_attempt = wtypes.wsattr(int, readonly=True)
    not_before = wtypes.wsattr(wtypes.text, readonly=True)
    dead_letter_of = wtypes.wsattr(wtypes.text, readonly=True)

    _converters = {
        **Resource._converters,
        "not_before": format_time,
        "input": function_input.render,
        "result": lambda r: None if r is None else json.dumps(r),
    }


class Executions(Base):
    executions = [Execution]


class Webhook(Resource):
    function_id = wtypes.wsattr(UUID)
    function_version = wtypes.wsattr(VERSION)
    function_alias = wtypes.wsattr(wtypes.StringType(max_length=255))
    description = wtypes.wsattr(wtypes.StringType(max_length=255))
    webhook_url = wtypes.wsattr(wtypes.text, readonly=True)
    # Extensions: how invocations authenticate, invocations allowed per minute, and
    # whether an invocation waits for the function and answers its output.
    auth = wtypes.wsattr(wtypes.Enum(str, *webhook_auth.METHODS))
    secret = wtypes.wsattr(wtypes.text, readonly=True)
    rate_limit = wtypes.wsattr(Integer(minimum=0))
    sync = wtypes.wsattr(BOOLEAN)
    # Extension: which parts of an invocation's JSON body become the function's input
    # (services/input_templates.py); null: the body and query parameters, as in Qinling.
    input_template = wtypes.wsattr(JsonObject())


class Webhooks(Base):
    webhooks = [Webhook]


class Link(Base):
    href = wtypes.text
    target = wtypes.text
    rel = wtypes.text


class APIVersion(Base):
    id = wtypes.text
    status = wtypes.text
    links = [Link]


class APIVersions(Base):
    versions = [APIVersion]


class V1Root(Base):
    uri = wtypes.text


def plain_view(cls, obj, **extra):
    """An object as plain pecan endpoints render it: a dict of every attribute of ``cls``."""
    view = cls.from_db(obj, **extra)
    return {attr.key: getattr(view, attr.key) for attr in wtypes.list_attributes(cls)}


def function_view(function):
    """A function as plain pecan endpoints render it: ``code`` as a JSON object."""
    return {**plain_view(Function, function), "code": function.code}

"""What the hostile input tests share: requests aimed at the resources of the
``target`` fixture (see ``conftest.py``), and the check that an attack is a 4xx in the
one JSON error shape that stores nothing and changes nothing.

Paths and bodies name the resources they aim at as ``{function}``, ``{webhook}``,
``{job}`` and ``{runtime}``.
"""

import json

import pytest

from tests.functional.conftest import wait_for
from tests.functional.test_bad_input import assert_error, package_files
from tests.packages import make_zip

ECHO = (
    "def main(*args, **kwargs):\n"
    "    kwargs.pop('context')\n"
    "    return {'args': list(args), 'kwargs': kwargs}\n"
)

PACKAGE = make_zip({"main.py": "def main(**kwargs):\n    return 1\n"})
INVOKE = "/v1/webhooks/{webhook}/invoke"
FUNCTION = "/v1/functions/{function}"


def stored(client, server):
    """Everything the service holds, as the API and the package store show it."""
    state = {
        name: client.get(f"/v1/{name}").json()[name]
        for name in ("runtimes", "functions", "executions", "jobs", "webhooks")
    }
    state["function_aliases"] = client.get("/v1/aliases").json()["function_aliases"]
    for function in state["functions"]:
        versions = client.get(f"/v1/functions/{function['id']}/versions").json()
        state[function["id"]] = versions["function_versions"]
    state["packages"] = package_files(server)
    return state


def raw(text, content_type="application/json"):
    """A body of the JSON text ``text`` (str, sent as UTF-8, or bytes as they are)."""
    data = text.encode() if isinstance(text, str) else text
    return {"data": data, "headers": {"Content-Type": content_type}}


def obj(value):
    """A body of ``value`` as JSON (``json.dumps`` writes a lone surrogate as its escape)."""
    return raw(json.dumps(value))


def fields(values, package=False):
    """Form fields; multipart with a ZIP package part when ``package``."""
    return {"data": values, "files": {"package": ("f.zip", PACKAGE)} if package else None}


def _aimed(value, target):
    if isinstance(value, bytes):
        return _aimed(value.decode("utf-8", "surrogateescape"), target).encode(
            "utf-8", "surrogateescape"
        )
    if isinstance(value, str):
        for name, id_ in target.items():
            value = value.replace("{" + name + "}", id_)
        return value
    if isinstance(value, dict):
        return {k: _aimed(v, target) for k, v in value.items()}
    return value


def attack(client, server, target, method, path, kwargs, code, message):
    """Send the request, aimed at ``target``: it is answered ``code`` with ``message`` in
    the error shape, and nothing the service holds has changed."""
    before = stored(client, server)
    response = client.http.request(
        method, client.url + _aimed(path, target), **_aimed(kwargs, target)
    )
    faultstring = assert_error(response, code)
    assert message in faultstring
    assert stored(client, server) == before
    return faultstring


def case(method, path, kwargs, *expected, id):
    return pytest.param(method, path, kwargs, *expected, id=id)


def job(**values):
    return obj({"function_id": "{function}", **values})


def _finished(client, execution_id):
    def done():
        execution = client.get(f"/v1/executions/{execution_id}").json()
        return execution if execution["status"] not in ("pending", "running") else None

    execution = wait_for(done, timeout=30)
    assert execution and execution["status"] == "success", execution
    return execution


def _output(execution):
    return json.loads(execution["result"])["output"]

"""qinling-lite behind a real Keystone: who may call what, trusts, and token webhooks.

One ``qinling-lite-serve`` with ``[api] auth_enable = true`` validates tokens against
the Keystone fixture (``tests.keystone``: users admin, demo and other, each a member of a
project of its name, and the trustee ``qinling``). Sandboxed workers have no network;
``context['os_session']`` reaches Keystone, and nothing else, through the egress proxy.
"""

import json
import types
import uuid

import pytest
import requests
from keystoneclient.v3 import client as ks_client

from tests import cli as osc
from tests.functional.conftest import Client, serving, wait_for
from tests.packages import make_zip

ROLES = ("admin", "owner", "other", "anonymous")
USERS = {"admin": "admin", "owner": "demo", "other": "other"}
TRUSTEE_PASSWORD = "qinling-secret"
FUTURE = "2099-01-01T00:00:00"

OS_SESSION_PROBE = """import json, os, socket, urllib.parse

def main(context=None, **kwargs):
    session = context["os_session"]
    project_id = session.get_project_id()
    project = session.get(
        "/projects/" + project_id, endpoint_filter={"service_type": "identity"}
    ).json()["project"]
    seen = json.dumps({
        "context": {k: v for k, v in context.items() if k != "os_session"},
        "session": vars(session),
        "environ": dict(os.environ),
        "cmdline": open("/proc/self/cmdline", "rb").read().decode(errors="replace"),
    }, default=repr)
    try:
        open(kwargs["config_file"]).close()
        config_readable = True
    except OSError:
        config_readable = False
    api = urllib.parse.urlsplit(kwargs["api_url"])
    try:
        socket.create_connection((api.hostname, api.port), timeout=2).close()
        api_reached_directly = True
    except OSError:
        api_reached_directly = False
    try:
        session.get(kwargs["api_url"] + "/v1/runtimes")
        api_reached_through_os_session = True
    except OSError:
        api_reached_through_os_session = False
    return {
        "api_reached_directly": api_reached_directly,
        "api_reached_through_os_session": api_reached_through_os_session,
        "project": project["name"],
        "user_id": session.get_user_id(),
        "password_seen": kwargs["password"] in seen,
        "config_readable": config_readable,
    }
"""


@pytest.fixture(scope="module")
def secured(keystone, tmp_path_factory):
    """A qinling-lite-serve that authenticates with the Keystone fixture."""
    options = keystone.authtoken_options()
    authtoken = "".join(f"{key} = {value}\n" for key, value in options.items())
    config = (
        "[api]\nauth_enable = true\n"
        f"[keystone_authtoken]\n{authtoken}"
        f"[trustee]\nauth_url = {keystone.url}\nusername = qinling\n"
        f"password = {TRUSTEE_PASSWORD}\nuser_domain_id = default\n"
        f"[local_orchestrator]\npool_size = 2\negress_endpoints = {keystone.url}\n"
    )
    with serving(tmp_path_factory.mktemp("secured"), config) as description:
        yield description


class Caller(Client):
    """A client sending one user's token (none for the anonymous caller)."""

    def __init__(self, url, token=None):
        super().__init__(url)
        if token:
            self.http.headers["X-Auth-Token"] = token


@pytest.fixture(scope="module")
def callers(secured, keystone):
    made = {role: Caller(secured["url"], keystone.token(user)) for role, user in USERS.items()}
    made["anonymous"] = Caller(secured["url"])
    return made


@pytest.fixture(scope="module")
def world(callers):
    """The owner's resources (plus an admin's private runtime), made through the API."""
    admin, owner = callers["admin"], callers["owner"]
    w = types.SimpleNamespace()
    w.runtime = admin.create_runtime()
    private = admin.post("/v1/runtimes", json={"image": "python3", "is_public": False})
    assert private.status_code == 201, private.text
    w.private_runtime = private.json()
    w.function = owner.create_function(w.runtime["id"])
    version = owner.post(f"/v1/functions/{w.function['id']}/versions", json={})
    assert version.status_code == 201, version.text
    alias = owner.post("/v1/aliases", json={"name": "prod", "function_id": w.function["id"]})
    assert alias.status_code == 201, alias.text
    w.execution = owner.run(w.function["id"])
    job = owner.post(
        "/v1/jobs", json={"function_id": w.function["id"], "first_execution_time": FUTURE}
    )
    assert job.status_code == 201, job.text
    w.job = job.json()
    webhook = owner.post("/v1/webhooks", json={"function_id": w.function["id"]})
    assert webhook.status_code == 201, webhook.text
    w.webhook = webhook.json()
    return w


def fresh(callers, world, kind):
    """A new resource of the owner's, for a call that destroys it."""
    owner = callers["owner"]
    fid = world.function["id"]
    if kind == "runtime":
        created = callers["admin"].post("/v1/runtimes", json={"image": "python3"}).json()
        return f"/v1/runtimes/{created['id']}"
    if kind == "function":
        return f"/v1/functions/{owner.create_function(world.runtime['id'])['id']}"
    if kind == "versions":  # a version is only made of a changed package
        return f"/v1/functions/{owner.create_function(world.runtime['id'])['id']}/versions"
    if kind == "version":
        function = owner.create_function(world.runtime["id"])
        owner.post(f"/v1/functions/{function['id']}/versions", json={})
        return f"/v1/functions/{function['id']}/versions/1"
    if kind == "alias":
        name = f"a-{uuid.uuid4().hex[:8]}"
        owner.post("/v1/aliases", json={"name": name, "function_id": fid})
        return f"/v1/aliases/{name}"
    if kind == "execution":
        return f"/v1/executions/{owner.run(fid)['id']}"
    if kind == "job":
        body = {"function_id": fid, "first_execution_time": FUTURE}
        return f"/v1/jobs/{owner.post('/v1/jobs', json=body).json()['id']}"
    if kind == "webhook":
        return f"/v1/webhooks/{owner.post('/v1/webhooks', json={'function_id': fid}).json()['id']}"
    raise AssertionError(kind)


def package_form(world, role):
    return {
        "data": {"runtime_id": world.runtime["id"], "code": '{"source": "package"}'},
        "files": {"package": ("f.zip", make_zip({"main.py": "def main(**kw):\n    return 1\n"}))},
    }


# (name, method, path or fresh-resource kind, request arguments, expected codes in ROLES order)
# Anonymous callers get 401 everywhere but on webhook invocations. Another project's
# resource is a 404 (its existence is not revealed); an admin-only call is a 403.
MATRIX = [
    ("list runtimes", "GET", "/v1/runtimes", {}, (200, 200, 200, 401)),
    ("create runtime", "POST", "/v1/runtimes", {"json": {"image": "p"}}, (201, 403, 403, 401)),
    ("show runtime", "GET", "/v1/runtimes/{runtime}", {}, (200, 200, 200, 401)),
    ("show private runtime", "GET", "/v1/runtimes/{private_runtime}", {}, (200, 404, 404, 401)),
    ("update runtime", "PUT", "/v1/runtimes/{runtime}", {"json": {"name": "n"}},
     (200, 403, 403, 401)),
    ("update runtime image", "PUT", "/v1/runtimes/{runtime}", {"json": {"image": "python3"}},
     (200, 403, 403, 401)),
    ("runtime pool", "GET", "/v1/runtimes/{runtime}/pool", {}, (200, 403, 403, 401)),
    ("delete runtime", "DELETE", "runtime", {}, (204, 403, 403, 401)),
    ("create function", "POST", "/v1/functions", package_form, (201, 201, 201, 401)),
    ("list functions", "GET", "/v1/functions", {}, (200, 200, 200, 401)),
    ("list all projects' functions", "GET", "/v1/functions?all_projects=true", {},
     (200, 403, 403, 401)),
    ("list a project's functions", "GET", "/v1/functions?project_id={project}", {},
     (200, 403, 403, 401)),
    ("show function", "GET", "/v1/functions/{function}", {}, (200, 200, 404, 401)),
    ("download function", "GET", "/v1/functions/{function}?download=true", {},
     (200, 200, 404, 401)),
    ("update function", "PUT", "/v1/functions/{function}", {"data": {"name": "n"}},
     (200, 200, 404, 401)),
    ("delete function", "DELETE", "function", {}, (204, 204, 404, 401)),
    ("detach function", "POST", "/v1/functions/{function}/detach", {}, (202, 403, 403, 401)),
    ("scale up function", "POST", "/v1/functions/{function}/scale_up", {"json": {"count": 1}},
     (202, 403, 403, 401)),
    ("scale down function", "POST", "/v1/functions/{function}/scale_down",
     {"json": {"count": 1}}, (202, 403, 403, 401)),
    ("function workers", "GET", "/v1/functions/{function}/workers", {}, (200, 403, 403, 401)),
    ("create version", "POST", "versions", {"json": {}},
     (201, 201, 404, 401)),
    ("list versions", "GET", "/v1/functions/{function}/versions", {}, (200, 200, 404, 401)),
    ("show version", "GET", "/v1/functions/{function}/versions/1", {}, (200, 200, 404, 401)),
    ("download version", "GET", "/v1/functions/{function}/versions/1?download=true", {},
     (200, 200, 404, 401)),
    ("delete version", "DELETE", "version", {}, (204, 204, 404, 401)),
    ("scale up version", "POST", "/v1/functions/{function}/versions/1/scale_up",
     {"json": {"count": 1}}, (202, 403, 403, 401)),
    ("scale down version", "POST", "/v1/functions/{function}/versions/1/scale_down",
     {"json": {"count": 1}}, (202, 403, 403, 401)),
    ("version workers", "GET", "/v1/functions/{function}/workers?function_version=1", {},
     (200, 403, 403, 401)),
    ("detach version", "POST", "/v1/functions/{function}/versions/1/detach", {},
     (202, 403, 403, 401)),
    ("create alias", "POST", "/v1/aliases",
     lambda w, role: {"json": {"name": f"x-{role}", "function_id": w.function["id"]}},
     (201, 201, 404, 401)),
    ("list aliases", "GET", "/v1/aliases", {}, (200, 200, 200, 401)),
    ("list all aliases", "GET", "/v1/aliases?all_projects=true", {}, (200, 403, 403, 401)),
    # Alias names live in the caller's project: the admin's project has no "prod".
    ("show alias", "GET", "/v1/aliases/prod", {}, (404, 200, 404, 401)),
    ("update alias", "PUT", "/v1/aliases/prod", {"json": {"description": "d"}},
     (404, 200, 404, 401)),
    ("delete alias", "DELETE", "alias", {}, (404, 204, 404, 401)),
    ("run function", "POST", "/v1/executions", {"json": {"function_id": "{function}"}},
     (201, 201, 404, 401)),
    ("run alias", "POST", "/v1/executions", {"json": {"function_alias": "prod"}},
     (404, 201, 404, 401)),
    ("list executions", "GET", "/v1/executions", {}, (200, 200, 200, 401)),
    ("list all executions", "GET", "/v1/executions?all_projects=true", {}, (200, 403, 403, 401)),
    ("show execution", "GET", "/v1/executions/{execution}", {}, (200, 200, 404, 401)),
    ("execution log", "GET", "/v1/executions/{execution}/log", {}, (200, 200, 404, 401)),
    ("delete execution", "DELETE", "execution", {}, (204, 204, 404, 401)),
    ("create job", "POST", "/v1/jobs",
     {"json": {"function_id": "{function}", "first_execution_time": FUTURE}},
     (201, 201, 404, 401)),
    ("list jobs", "GET", "/v1/jobs", {}, (200, 200, 200, 401)),
    ("list all jobs", "GET", "/v1/jobs?all_projects=true", {}, (200, 403, 403, 401)),
    ("show job", "GET", "/v1/jobs/{job}", {}, (200, 200, 404, 401)),
    ("update job", "PUT", "/v1/jobs/{job}", {"json": {"name": "n"}}, (200, 200, 404, 401)),
    ("delete job", "DELETE", "job", {}, (204, 204, 404, 401)),
    ("create webhook", "POST", "/v1/webhooks", {"json": {"function_id": "{function}"}},
     (201, 201, 404, 401)),
    ("list webhooks", "GET", "/v1/webhooks", {}, (200, 200, 200, 401)),
    ("list all webhooks", "GET", "/v1/webhooks?all_projects=true", {}, (200, 403, 403, 401)),
    ("show webhook", "GET", "/v1/webhooks/{webhook}", {}, (200, 200, 404, 401)),
    ("update webhook", "PUT", "/v1/webhooks/{webhook}", {"json": {"description": "d"}},
     (200, 200, 404, 401)),
    ("delete webhook", "DELETE", "webhook", {}, (204, 204, 404, 401)),
    ("invoke webhook", "POST", "/v1/webhooks/{webhook}/invoke", {"json": {}},
     (202, 202, 202, 202)),
    ("version document", "GET", "/", {}, (200, 200, 200, 200)),
    ("v1 document", "GET", "/v1/", {}, (200, 200, 200, 200)),
    ("openapi document", "GET", "/v1/openapi.json", {}, (200, 200, 200, 200)),
]  # fmt: skip


def _fill(value, ids):
    if isinstance(value, str):
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("name,method,path,arguments,expected", MATRIX, ids=[m[0] for m in MATRIX])
def test_matrix(callers, world, keystone, name, method, path, arguments, expected):
    ids = {
        "runtime": world.runtime["id"],
        "private_runtime": world.private_runtime["id"],
        "function": world.function["id"],
        "execution": world.execution["id"],
        "job": world.job["id"],
        "webhook": world.webhook["id"],
        "project": keystone.project_id("demo"),
    }
    got = {}
    for role in ROLES:
        target = path if path.startswith("/") else fresh(callers, world, path)
        kwargs = arguments(world, role) if callable(arguments) else _fill(arguments, ids)
        caller = callers[role]
        response = caller.http.request(method, caller.url + target.format(**ids), **kwargs)
        got[role] = response.status_code
        if response.status_code >= 400:
            body = response.json()  # the one JSON error shape, 401s included
            assert set(body) == {"faultcode", "faultstring", "debuginfo"}, body
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")
    assert got == dict(zip(ROLES, expected, strict=True))


def test_admin_sees_other_projects_resources_in_lists(callers, world):
    listed = callers["admin"].get("/v1/functions?all_projects=true").json()["functions"]
    assert world.function["id"] in {f["id"] for f in listed}
    own = callers["other"].get("/v1/functions").json()["functions"]
    assert world.function["id"] not in {f["id"] for f in own}


def test_webhook_function_gets_an_os_session_as_its_owner(callers, world, keystone, secured):
    owner = callers["owner"]
    function = owner.create_function(world.runtime["id"], source=OS_SESSION_PROBE, module="probe")
    webhook = owner.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    body = {
        "password": TRUSTEE_PASSWORD,
        "config_file": str(secured["data_dir"] / "qinling-lite.conf"),
        "api_url": secured["url"],
    }
    answer = requests.post(webhook["webhook_url"], json=body, timeout=10)  # no token at all
    assert answer.status_code == 202, answer.text

    def finished():
        execution = owner.get(f"/v1/executions/{answer.json()['execution_id']}").json()
        return execution["status"] not in ("pending", "running") and execution

    execution = wait_for(finished, timeout=30)
    assert execution["status"] == "success", execution
    output = json.loads(execution["result"])["output"]
    assert output == {
        "api_reached_directly": False,  # the sandbox has no network
        "api_reached_through_os_session": False,  # the proxy tunnels to Keystone only
        "project": "demo",
        "user_id": keystone.user_id("demo"),  # the trust impersonates the owner
        "password_seen": False,
        "config_readable": False,
    }


def test_deleting_the_function_deletes_its_trust(callers, world, keystone):
    demo = ks_client.Client(session=keystone.session("demo"))
    before = {t.id for t in demo.trusts.list(trustor_user=keystone.user_id("demo"))}
    function = callers["owner"].create_function(world.runtime["id"])
    during = {t.id for t in demo.trusts.list(trustor_user=keystone.user_id("demo"))}
    (trust,) = during - before
    assert callers["owner"].delete(f"/v1/functions/{function['id']}").status_code == 204
    after = {t.id for t in demo.trusts.list(trustor_user=keystone.user_id("demo"))}
    assert trust not in after


def trust_scoped_token(keystone):
    """What Aodh sends with a ``trust+http://`` action: a token of the alarm's owner
    (demo) through a trust to Aodh's service user (here: other)."""
    _, trusted = keystone.trust_session("demo", "other")
    return trusted.get_token()


def test_token_webhook_takes_an_aodh_trust_token_and_refuses_others(callers, world, keystone):
    owner = callers["owner"]
    webhook = owner.post(
        "/v1/webhooks", json={"function_id": world.function["id"], "auth": "token"}
    ).json()
    assert webhook["auth"] == "token"
    url = webhook["webhook_url"]
    event = {"alarm_name": "cpu", "current": "alarm"}

    def executions():
        listed = owner.get(f"/v1/executions?function_id={world.function['id']}").json()
        return {e["id"] for e in listed["executions"]}

    before = executions()
    for headers, code in (
        ({}, 401),
        ({"X-Auth-Token": "not-a-token"}, 401),
        ({"X-Auth-Token": keystone.token("other")}, 403),  # a token of another project
    ):
        refused = requests.post(url, json=event, headers=headers, timeout=10)
        assert refused.status_code == code, refused.text
        assert refused.json()["faultcode"] == "Client"
    assert executions() == before  # nothing stored

    accepted = requests.post(
        url, json=event, headers={"X-Auth-Token": trust_scoped_token(keystone)}, timeout=10
    )
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["execution_id"] in executions()


@pytest.fixture(scope="module")
def user_cli(openstack, keystone, secured, tmp_path_factory):
    """``user_cli(user)``: the openstack CLI of a Keystone user, which finds qinling-lite
    in the catalog as Qinling's clients expect (service type ``function-engine``)."""
    kc = ks_client.Client(session=keystone.session("admin"))
    service = kc.services.create("qinling", type="function-engine")
    kc.endpoints.create(service, secured["url"], interface="public", region="RegionOne")
    cwd = tmp_path_factory.mktemp("cli")
    return lambda user: osc.Cli(openstack, secured["url"], cwd, auth=keystone.cli_auth(user))


def test_openstack_cli_through_keystone(user_cli, world, keystone, tmp_path):
    demo, other = user_cli("demo"), user_cli("other")
    (source := tmp_path / "hello_world.py").write_text(
        "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"
    )
    function = demo.json(
        "function", "create", "--runtime", world.runtime["id"], "--entry", "hello_world.main",
        "--file", str(source), "--name", "cli-keystone",
    )  # fmt: skip
    assert function["project_id"] == keystone.project_id("demo")
    run = demo.json(
        "function", "execution", "create", "--function", function["id"], "--input", "CLI"
    )
    assert (run["status"], json.loads(run["result"])["output"]) == ("success", "Hello, CLI")
    assert function["id"] in demo.value("function", "list", "-c", "id").split()

    assert function["id"] not in other.value("function", "list", "-c", "id").split()
    _, error = other.error("function", "show", function["id"])
    assert f"Function not found [id={function['id']}]" in error
    _, error = demo.error("runtime", "create", "python3")
    assert "Operation not allowed." in error

"""The Swift object-upload scenario, as users wrote it, with a real Keystone and Swift.

A user uploads an object to Swift; Aodh's event alarm for ``objectstorage.object.upload``
POSTs its body to a token webhook with an input template, with a token scoped to the
alarm's trust in ``X-Auth-Token`` (Aodh's ``trust+http://`` action); the function, on a
runtime with the OpenStack libraries, looks at the object as its owner with
python-swiftclient over ``context['os_session']``. The same function also comes from
Swift itself (``code.source`` swift), and openstacksdk takes the session too.
"""

import hashlib
import json

import pytest
import requests

from tests.functional.conftest import Client, serving, wait_for
from tests.packages import make_zip

IMAGE = "openstack-python3"
# The function of the Qinling guide, byte for byte.
STAT_OBJECT = """import swiftclient
def stat_object(context, container, object):
    conn = swiftclient.Connection(
        session=context['os_session'],
        os_options={'region_name': 'RegionOne'},
    )
    obj_header = conn.head_object(container, object)
    return obj_header
"""
LIST_CONTAINERS = """import openstack
def main(context):
    conn = openstack.connection.Connection(session=context['os_session'], region_name='RegionOne')
    return sorted(container.name for container in conn.object_store.containers())
"""
STAT_INPUT = json.dumps({"container": "lingxian", "object": "tox.ini"})
TEMPLATE = {"container": "trait:container", "object": "trait:object"}
TRUSTEE_PASSWORD = "qinling-secret"
AODH_PASSWORD = "aodh-secret"


class Caller(Client):
    """A client sending one user's token."""

    def __init__(self, url, token):
        super().__init__(url)
        self.http.headers["X-Auth-Token"] = token


@pytest.fixture(scope="module")
def cloud(keystone, swift, openstack_runtime_environment, tmp_path_factory):
    """qinling-lite behind the Keystone fixture, with Swift in its users' catalogs and a
    runtime image that names the OpenStack runtime environment."""
    authtoken = "".join(f"{k} = {v}\n" for k, v in keystone.authtoken_options().items())
    config = (
        "[api]\nauth_enable = true\n"
        f"[keystone_authtoken]\n{authtoken}"
        f"[trustee]\nauth_url = {keystone.url}\nusername = qinling\n"
        f"password = {TRUSTEE_PASSWORD}\nuser_domain_id = default\n"
        "[local_orchestrator]\npool_size = 1\n"
        f"egress_endpoints = {keystone.url},{swift.url}\n"
        f"runtime_environments = {IMAGE}:{openstack_runtime_environment}\n"
    )
    with serving(tmp_path_factory.mktemp("swift-scenario"), config) as description:
        yield description


@pytest.fixture(scope="module")
def owner(cloud, keystone):
    return Caller(cloud["url"], keystone.token("demo"))


@pytest.fixture(scope="module")
def runtime(cloud, keystone):
    return Caller(cloud["url"], keystone.token("admin")).create_runtime(IMAGE)


@pytest.fixture(scope="module")
def uploaded(swift):
    """An object the owner uploaded, and its headers as Swift reports them."""
    swift.put_container("demo", "lingxian")
    swift.put_object("demo", "lingxian", "tox.ini", b"[tox]\nenvlist = py3\n" * 90)
    return swift.head_object("demo", "lingxian", "tox.ini")


def wait_final(client, execution_id):
    def final():
        execution = client.get(f"/v1/executions/{execution_id}").json()
        return execution["status"] not in ("running", "pending") and execution

    execution = wait_for(final, timeout=60, interval=0.1)
    assert execution, f"execution {execution_id} did not end"
    return execution


def alarm_body(keystone, container, name):
    """The body Aodh POSTs for an event alarm on ``objectstorage.object.upload``."""
    return {
        "alarm_name": "object-upload",
        "alarm_id": "0b323052-9585-45bc-bd65-891b608d8c14",
        "severity": "low",
        "previous": "insufficient data",
        "current": "alarm",
        "reason": "Event <id=d38b421b,event_type=objectstorage.object.upload> hits the query.",
        "reason_data": {
            "type": "event",
            "event": {
                "message_id": "d38b421b-f239-4ff3-aef4-3071662b5e6c",
                "event_type": "objectstorage.object.upload",
                "generated": "2026-12-03T00:02:48.457008",
                "traits": [
                    ["tenant_id", 1, keystone.project_id("demo")],
                    ["container", 1, container],
                    ["object", 1, name],
                ],
                "raw": {},
                "message_signature": "9386",
            },
        },
    }


def trust_token(keystone, trustor, trustee, password):
    """A token scoped to a new trust from ``trustor`` to ``trustee``, as Aodh gets one
    for a ``trust+http://`` alarm action."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3
    from keystoneclient.v3 import client as ks_client

    kc = ks_client.Client(session=keystone.session(trustor))
    trust = kc.trusts.create(
        trustor_user=keystone.user_id(trustor),
        trustee_user=keystone.user_id(trustee),
        project=keystone.project_id(trustor),
        role_names=["member"],
        impersonation=True,
    )
    auth = v3.Password(
        auth_url=keystone.url,
        username=trustee,
        password=password,
        user_domain_id="default",
        trust_id=trust.id,
    )
    return ks_session.Session(auth=auth).get_token()


def test_an_object_upload_alarm_runs_the_guide_function_as_its_owner(
    owner, runtime, uploaded, keystone
):
    function = owner.create_function(
        runtime["id"], source=STAT_OBJECT, module="test_swift", entry="test_swift.stat_object"
    )
    webhook = owner.post(
        "/v1/webhooks",
        json={"function_id": function["id"], "auth": "token", "input_template": TEMPLATE},
    )
    assert webhook.status_code == 201, webhook.text
    token = trust_token(keystone, "demo", "aodh", AODH_PASSWORD)
    answer = requests.post(
        webhook.json()["webhook_url"],
        json=alarm_body(keystone, "lingxian", "tox.ini"),
        headers={"X-Auth-Token": token},
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    execution = wait_final(owner, answer.json()["execution_id"])
    assert execution["status"] == "success", execution
    assert json.loads(execution["input"]) == {"container": "lingxian", "object": "tox.ini"}
    output = json.loads(execution["result"])["output"]
    assert isinstance(output, dict), output
    assert output["etag"] == uploaded["etag"]
    assert output["content-length"] == uploaded["content-length"]


def test_a_swift_function_runs_its_object_and_the_next_upload(owner, runtime, uploaded, swift):
    swift.put_container("demo", "functions")
    package = make_zip({"test_swift.py": STAT_OBJECT})
    swift.put_object("demo", "functions", "test_swift.zip", package)
    created = owner.post(
        "/v1/functions",
        data={
            "runtime_id": runtime["id"],
            "code": json.dumps(
                {"source": "swift", "swift": {"container": "functions", "object": "test_swift.zip"}}
            ),
            "entry": "test_swift.stat_object",
        },
    )
    assert created.status_code == 201, created.text
    function = created.json()
    code = json.loads(function["code"]) if isinstance(function["code"], str) else function["code"]
    assert code["md5sum"] == hashlib.md5(package, usedforsecurity=False).hexdigest()
    execution = owner.run(function["id"], input=STAT_INPUT)
    assert execution["status"] == "success", execution
    assert json.loads(execution["result"])["output"]["etag"] == uploaded["etag"]

    downloaded = owner.get(f"/v1/functions/{function['id']}?download=true")
    assert downloaded.status_code == 200
    assert downloaded.content == package

    changed = STAT_OBJECT.replace("return obj_header", "return {'changed': obj_header['etag']}")
    swift.put_object("demo", "functions", "test_swift.zip", make_zip({"test_swift.py": changed}))
    execution = owner.run(function["id"], input=STAT_INPUT)
    assert execution["status"] == "success", execution
    assert json.loads(execution["result"])["output"] == {"changed": uploaded["etag"]}


def test_another_project_cannot_make_a_function_of_the_owners_object(
    cloud, runtime, keystone, swift, owner
):
    swift.put_container("demo", "private")
    swift.put_object("demo", "private", "f.zip", make_zip({"main.py": "def main():\n    pass\n"}))
    other = Caller(cloud["url"], keystone.token("other"))
    before = owner.get("/v1/functions").json()["functions"]
    answer = other.post(
        "/v1/functions",
        data={
            "runtime_id": runtime["id"],
            "code": json.dumps(
                {"source": "swift", "swift": {"container": "private", "object": "f.zip"}}
            ),
        },
    )
    assert answer.status_code == 400, answer.text
    assert answer.json()["faultstring"].startswith("Failed to validate object in Swift: ")
    assert other.get("/v1/functions").json()["functions"] == []
    assert owner.get("/v1/functions").json()["functions"] == before


def test_openstacksdk_lists_the_owners_containers(owner, runtime, uploaded):
    function = owner.create_function(runtime["id"], source=LIST_CONTAINERS, module="containers")
    execution = owner.run(function["id"])
    assert execution["status"] == "success", execution
    assert "lingxian" in json.loads(execution["result"])["output"]

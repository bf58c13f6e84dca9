"""``[webhook] require_auth``: no anonymous webhook may be made, and one made before the
option was turned on answers 401, records nothing, and is what the status check warns of.

Token webhooks need Keystone: the services tests cover them under the option.
"""

import json
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from tests.functional.conftest import Client, serving
from tests.functional.test_webhook_auth import BODY, sign

STATUS = os.path.join(os.path.dirname(sys.executable), "qinling-lite-status")
SIGNED = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    config = "[local_orchestrator]\npool_size = 2\n[webhook]\nrequire_auth = true\n"
    with serving(tmp_path_factory.mktemp("require-auth"), config) as description:
        yield description


@pytest.fixture(scope="module")
def client(secured):
    return Client(secured["url"])


@pytest.fixture(scope="module")
def function(client):
    return client.create_function(client.create_runtime()["id"])


def executions(client):
    return client.get("/v1/executions").json()["executions"]


def webhook(client, function, **fields):
    created = client.post("/v1/webhooks", json={"function_id": function["id"], **fields})
    assert created.status_code == 201, created.text
    return created.json()


def made_anonymous(secured, webhook_id):
    """As if the webhook was made before ``require_auth`` was turned on."""
    engine = sa.create_engine(secured["database"], poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE webhooks SET auth = 'none', secret = NULL WHERE id = :id"),
            {"id": webhook_id},
        )
    engine.dispose()


def test_no_anonymous_webhook_can_be_made(client, function):
    for fields in ({}, {"auth": "none"}):  # {}: a Qinling client, which sends no auth
        refused = client.post("/v1/webhooks", json={"function_id": function["id"], **fields})
        assert refused.status_code == 400, refused.text
        assert "require_auth" in refused.json()["faultstring"]
        assert "choose auth 'hmac' instead of 'none'" in refused.json()["faultstring"]
    assert client.get("/v1/webhooks").json()["webhooks"] == []

    signed = webhook(client, function, auth="hmac")
    refused = client.put(f"/v1/webhooks/{signed['id']}", json={"auth": "none"})
    assert refused.status_code == 400, refused.text
    assert client.get(f"/v1/webhooks/{signed['id']}").json()["auth"] == "hmac"


def test_an_anonymous_webhook_answers_401_and_records_nothing(client, secured, function):
    old = webhook(client, function, auth="hmac", rate_limit=1)
    made_anonymous(secured, old["id"])
    before = executions(client)
    for sync in (False, True):
        client.put(f"/v1/webhooks/{old['id']}", json={"sync": sync})
        for _ in range(2):
            refused = client.http.post(old["webhook_url"], data=BODY, headers=SIGNED)
            assert refused.status_code == 401, refused.text
            assert refused.json()["faultcode"] == "Client"
            assert "require_auth" in refused.json()["faultstring"]
    assert executions(client) == before

    # Switched to HMAC by its owner, its first invocation is within the limit of 1 a
    # minute: the refused ones were not counted.
    secret = client.put(f"/v1/webhooks/{old['id']}", json={"auth": "hmac"}).json()["secret"]
    headers = {**SIGNED, "X-Qinling-Signature": sign(secret, BODY)}
    answer = client.http.post(old["webhook_url"], data=BODY, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json() == "Hello, World"
    assert len(executions(client)) == len(before) + 1


def test_signed_invocations_run(client, function):
    hook = webhook(client, function, auth="hmac")
    unsigned = client.http.post(hook["webhook_url"], data=BODY, headers=SIGNED)
    assert unsigned.status_code == 401, unsigned.text
    headers = {**SIGNED, "X-Qinling-Signature": sign(hook["secret"], BODY)}
    accepted = client.http.post(hook["webhook_url"], data=BODY, headers=headers)
    assert accepted.status_code == 202, accepted.text
    listed = {e["id"]: e for e in executions(client)}
    execution = listed[accepted.json()["execution_id"]]
    assert json.loads(execution["input"]) == json.loads(BODY)


def test_the_status_check_names_the_anonymous_webhooks(client, secured, function):
    hook = webhook(client, function, auth="hmac")
    made_anonymous(secured, hook["id"])
    config_file = secured["data_dir"] / "qinling-lite.conf"
    run = subprocess.run(
        [STATUS, "--config-file", str(config_file), "upgrade", "check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout + run.stderr  # a warning
    assert "Anonymous webhooks" in run.stdout and "Result: Warning" in run.stdout
    assert hook["id"] in run.stdout

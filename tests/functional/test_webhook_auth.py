"""Per-webhook authentication (HMAC signatures) and rate limits, without Keystone.

Token webhooks need Keystone: ``test_keystone.py`` covers them.
"""

import hashlib
import hmac
import json

from tests.functional.conftest import wait_for

BODY = json.dumps({"alarm_name": "cpu", "current": "alarm"}).encode()


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def executions_of(client, function_id):
    return client.get("/v1/executions", params={"function_id": function_id}).json()["executions"]


def test_hmac_webhook_accepts_a_correct_signature_only(client, runtime):
    function = client.create_function(runtime["id"])
    created = client.post("/v1/webhooks", json={"function_id": function["id"], "auth": "hmac"})
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["auth"] == "hmac"
    secret = webhook["secret"]
    assert len(secret) >= 43  # 256 bits, URL-safe base64
    assert client.get(f"/v1/webhooks/{webhook['id']}").json()["secret"] == secret
    url = webhook["webhook_url"]
    headers = {"Content-Type": "application/json"}

    for signature in (None, sign("not-the-secret", BODY), sign(secret, BODY + b" ")):
        sent = {**headers, "X-Qinling-Signature": signature} if signature else headers
        refused = client.http.post(url, data=BODY, headers=sent)
        assert refused.status_code == 401, refused.text
        assert refused.json()["faultcode"] == "Client"
        assert "X-Qinling-Signature" in refused.json()["faultstring"]
    assert executions_of(client, function["id"]) == []  # nothing recorded

    accepted = client.http.post(
        url, data=BODY, headers={**headers, "X-Qinling-Signature": sign(secret, BODY)}
    )
    assert accepted.status_code == 202, accepted.text

    def finished():
        (execution,) = executions_of(client, function["id"])
        return execution["status"] not in ("pending", "running") and execution

    execution = wait_for(finished, timeout=10)
    assert execution["status"] == "success"
    assert json.loads(execution["input"]) == json.loads(BODY)


def test_switching_auth_sets_and_clears_the_secret(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = client.post("/v1/webhooks", json={"function_id": function["id"]}).json()
    assert (webhook["auth"], webhook["secret"]) == ("none", None)
    hmac_hook = client.put(f"/v1/webhooks/{webhook['id']}", json={"auth": "hmac"}).json()
    assert hmac_hook["secret"]
    kept = client.put(f"/v1/webhooks/{webhook['id']}", json={"description": "d"}).json()
    assert kept["secret"] == hmac_hook["secret"]
    plain = client.put(f"/v1/webhooks/{webhook['id']}", json={"auth": "none"}).json()
    assert plain["secret"] is None
    answer = client.http.post(plain["webhook_url"], json={})
    assert answer.status_code == 202, answer.text


def test_bad_auth_settings_are_400(client, runtime):
    function = client.create_function(runtime["id"])
    for body in ({"auth": "password"}, {"rate_limit": -1}, {"auth": "token"}):
        answer = client.post("/v1/webhooks", json={"function_id": function["id"], **body})
        assert answer.status_code == 400, (body, answer.text)
    # Token webhooks need Keystone, which this server does not use.
    assert "auth_enable" in answer.json()["faultstring"]


def test_rate_limit_answers_429_with_retry_after(client, runtime):
    function = client.create_function(runtime["id"])
    webhook = client.post(
        "/v1/webhooks", json={"function_id": function["id"], "rate_limit": 3}
    ).json()
    assert webhook["rate_limit"] == 3
    answers = [client.http.post(webhook["webhook_url"], json={"n": n}) for n in range(7)]
    codes = [a.status_code for a in answers]
    # The calls span one minute window, or two if a minute boundary falls between them.
    assert set(codes) == {202, 429} and 3 <= codes.count(202) <= 6, codes
    assert codes[:3] == [202, 202, 202], codes
    limited = [a for a in answers if a.status_code == 429]
    assert 1 <= int(limited[0].headers["Retry-After"]) <= 61
    assert "3 invocations a minute" in limited[0].json()["faultstring"]
    assert len(executions_of(client, function["id"])) == codes.count(202)

    unlimited = client.put(f"/v1/webhooks/{webhook['id']}", json={"rate_limit": 0}).json()
    assert unlimited["rate_limit"] is None
    assert client.http.post(webhook["webhook_url"], json={}).status_code == 202

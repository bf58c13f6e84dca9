"""The Keystone fixture itself: tokens, a trust to the service user, keystonemiddleware.

Keystone runs from a venv of its own, built once and kept in pytest's cache directory
(``QINLING_LITE_KEYSTONE_VENV`` names another place); building it takes about a minute.
"""

import json

import pytest
import requests
import webob
from keystonemiddleware import auth_token


def validate(keystone, token):
    response = requests.get(
        f"{keystone.url}/auth/tokens",
        headers={"X-Auth-Token": keystone.token("admin"), "X-Subject-Token": token},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def test_user_token_validates(keystone):
    assert keystone.url.startswith("http://127.0.0.1:") and keystone.url.endswith("/v3")
    info = validate(keystone, keystone.token("demo"))
    assert info["project"]["id"] == keystone.project_id("demo")
    assert info["project"]["name"] == "demo"
    assert info["user"]["name"] == "demo"
    assert "member" in {role["name"] for role in info["roles"]}
    other = validate(keystone, keystone.token("other"))
    assert other["project"]["id"] == keystone.project_id("other") != keystone.project_id("demo")


@pytest.mark.parametrize("trustee", ["qinling", "aodh"])
def test_trust_to_service_user(keystone, trustee):
    trust_id, trusted = keystone.trust_session("demo", trustee)
    info = validate(keystone, trusted.get_token())
    assert info["project"]["id"] == keystone.project_id("demo")
    assert info["user"]["id"] == keystone.user_id("demo")  # impersonation
    assert info["OS-TRUST:trust"]["id"] == trust_id
    assert "member" in {role["name"] for role in info["roles"]}


def echo(environ, start_response):
    body = json.dumps({k: v for k, v in environ.items() if k.startswith("HTTP_X_")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


@pytest.mark.parametrize("user", ["qinling", "swift"])
def test_keystonemiddleware(keystone, user):
    app = auth_token.filter_factory({}, **keystone.authtoken_options(user=user))(echo)
    ok = webob.Request.blank("/", headers={"X-Auth-Token": keystone.token("demo")})
    response = ok.get_response(app)
    assert response.status_int == 200, response.text
    assert response.json["HTTP_X_PROJECT_ID"] == keystone.project_id("demo")
    assert "member" in response.json["HTTP_X_ROLES"].split(",")

    bogus = webob.Request.blank("/", headers={"X-Auth-Token": "bogus"}).get_response(app)
    assert bogus.status_int == 401
    assert keystone.url in bogus.headers["WWW-Authenticate"]
    assert webob.Request.blank("/").get_response(app).status_int == 401

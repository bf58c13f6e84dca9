"""``context['os_session']``: the runtime server's OpenStack session, against a local API."""

import http.server
import json
import sys
import threading

import pytest

from qinling_lite.runtime import os_session


class FakeService(http.server.BaseHTTPRequestHandler):
    """Answers every request with what it received; ``/missing`` is a 404."""

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        status = 404 if self.path.endswith("/missing") else 200
        payload = json.dumps(
            {"method": self.command, "path": self.path, "token": self.headers["X-Auth-Token"],
             "content_type": self.headers["Content-Type"], "body": body}
        ).encode()  # fmt: skip
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_DELETE = _answer  # noqa: N815 (http.server names)

    def log_message(self, *args):
        pass


@pytest.fixture
def service():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeService)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def session(service):
    return os_session.OpenStackSession(
        {
            "auth_url": f"{service}/identity/v3",
            "token": "trust-scoped-token",
            "expires_at": "2099-01-01T00:00:00+00:00",
            "user_id": "owner",
            "project_id": "project-1",
            "catalog": [
                {
                    "type": "object-store",
                    "endpoints": [
                        {"interface": "internal", "region_id": "R1", "url": f"{service}/int"},
                        {"interface": "public", "region_id": "R1", "url": f"{service}/swift/"},
                    ],
                }
            ],
        }
    )


def test_ids_token_and_endpoints(session, service):
    assert (session.get_user_id(), session.get_project_id()) == ("owner", "project-1")
    assert session.get_token() == "trust-scoped-token"
    assert session.get_endpoint("object-store") == f"{service}/swift/"
    assert session.get_endpoint("object-store", interface="internal") == f"{service}/int"
    assert session.get_endpoint("object-store", region_name="R2") is None
    assert session.get_endpoint("compute") is None
    # Identity falls back to the URL the token came from.
    assert session.get_endpoint("identity") == f"{service}/identity/v3"


def test_calls_carry_the_token_and_resolve_endpoints(session):
    answer = session.get("/v1/AUTH_p/c", endpoint_filter={"service_type": "object-store"})
    assert answer.status_code == 200
    assert answer.json() == {
        "method": "GET", "path": "/swift/v1/AUTH_p/c", "token": "trust-scoped-token",
        "content_type": None, "body": None,
    }  # fmt: skip
    posted = session.post(
        "/projects", endpoint_filter={"service_type": "identity"}, json={"name": "x"}
    ).json()
    assert (posted["path"], posted["content_type"]) == ("/identity/v3/projects", "application/json")
    assert json.loads(posted["body"]) == {"name": "x"}


def test_error_statuses_raise_unless_asked_not_to(session, service):
    with pytest.raises(os_session.OpenStackError) as error:
        session.delete(f"{service}/missing")
    assert error.value.response.status_code == 404
    answer = session.get(f"{service}/missing", raise_exc=False)
    assert answer.status_code == 404 and answer.json()["path"] == "/missing"


def test_only_http_urls_and_known_services(session):
    with pytest.raises(ValueError, match="not an HTTP URL"):
        session.get("file:///etc/passwd")
    with pytest.raises(ValueError, match="no endpoint"):
        session.get("/servers", endpoint_filter={"service_type": "compute"})


# With keystoneauth1 (a runtime with libraries): a real keystoneauth1 Session.

SWIFT_URL = "http://swift.example:8080/v1/AUTH_project-1"


def worker_credentials(catalog_url=SWIFT_URL):
    """``context['os_auth']`` as the engine sends it."""
    return {
        "auth_url": "http://keystone.example:5000/v3",
        "token": "trust-scoped-token",
        "expires_at": "2099-01-01T00:00:00+00:00",
        "user_id": "owner",
        "project_id": "project-1",
        "catalog": [
            {
                "type": "object-store",
                "name": "swift",
                "id": "s1",
                "endpoints": [
                    {"interface": "public", "region_id": "RegionOne", "region": "RegionOne",
                     "url": catalog_url, "id": "e1"},
                    {"interface": "internal", "region_id": "RegionOne", "region": "RegionOne",
                     "url": "http://swift.internal:8080/v1/AUTH_project-1", "id": "e2"},
                ],
            }
        ],
    }  # fmt: skip


@pytest.fixture
def ks_session():
    pytest.importorskip("keystoneauth1")
    return os_session.make_session(worker_credentials(), egress=None)


def test_keystoneauth_session_answers_from_the_catalog(ks_session):
    from keystoneauth1 import exceptions, session

    assert type(ks_session) is session.Session
    assert ks_session.get_token() == "trust-scoped-token"
    assert (ks_session.get_user_id(), ks_session.get_project_id()) == ("owner", "project-1")
    assert ks_session.get_endpoint(service_type="object-store", interface="public") == SWIFT_URL
    assert (
        ks_session.get_endpoint(
            service_type="object-store", interface="internal", region_name="RegionOne"
        )
        == "http://swift.internal:8080/v1/AUTH_project-1"
    )
    with pytest.raises(exceptions.EndpointNotFound):
        ks_session.get_endpoint(service_type="object-store", region_name="R2")
    assert ks_session.get_auth_headers() == {"X-Auth-Token": "trust-scoped-token"}
    assert not ks_session.auth.get_auth_ref(ks_session).will_expire_soon(60)


def test_keystoneauth_calls_go_through_the_forwarder(ks_session, proxy_env, egress):
    answer = ks_session.get("/c/o", endpoint_filter={"service_type": "object-store"})
    seen = answer.json()
    assert seen["path"] == "/v1/AUTH_project-1/c/o"
    assert seen["headers"]["x-auth-token"] == "trust-scoped-token"
    assert egress.requests == ["CONNECT swift.example:8080"]
    # What the egress proxy refuses raises, as any failed call does.
    from keystoneauth1 import exceptions

    with pytest.raises(exceptions.HttpError) as refused:
        ks_session.get("http://keystone.example:5000/v3/projects")
    assert refused.value.http_status == 403


def test_without_keystoneauth_the_stdlib_session(monkeypatch):
    monkeypatch.setitem(sys.modules, "keystoneauth1", None)  # import fails
    session = os_session.make_session(worker_credentials(), egress=None)
    assert type(session) is os_session.OpenStackSession
    assert session.get_endpoint("object-store") == SWIFT_URL


def test_python_swiftclient_accepts_it(ks_session, proxy_env):
    swiftclient = pytest.importorskip("swiftclient.client")
    connection = swiftclient.Connection(session=ks_session, os_options={"region_name": "RegionOne"})
    headers = connection.head_object("c", "o")
    assert headers["content-type"] == "application/json"


def test_openstacksdk_accepts_it(ks_session):
    openstack = pytest.importorskip("openstack.connection")
    connection = openstack.Connection(session=ks_session)
    assert connection.session is ks_session
    assert connection.current_project_id == "project-1"

"""The Swift fixture itself: Keystone auth, ACLs between projects, trust-scoped tokens.

Swift runs from a venv of its own, built once and kept in pytest's cache directory
(``QINLING_LITE_SWIFT_VENV`` names another place); building it takes about half a minute.
"""

import hashlib

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import access

from tests import swift as sw

DATA = b"def main():\n    return 'hello from swift'\n"


@pytest.fixture(scope="module")
def stored(swift):
    """demo's container ``functions`` with the object ``hello.py``; its PUT headers."""
    swift.put_container("demo", "functions")
    return swift.put_object("demo", "functions", "hello.py", DATA)


def test_catalog_has_the_endpoints(keystone, swift):
    demo = keystone.session("demo")  # a fresh login: the catalog has the endpoints
    for interface in sw.INTERFACES:
        url = demo.get_endpoint(
            service_type="object-store", region_name="RegionOne", interface=interface
        )
        assert url == swift.account_url(keystone.project_id("demo"))
    assert swift.url.startswith("http://127.0.0.1:")


def test_demo_puts_and_heads_an_object(swift, stored):
    md5 = hashlib.md5(DATA).hexdigest()
    assert stored["Etag"] == md5
    head = swift.head_object("demo", "functions", "hello.py")
    assert head["Etag"] == md5
    assert int(head["Content-Length"]) == len(DATA)
    assert swift.get_object("demo", "functions", "hello.py") == DATA
    assert swift.request("demo", "HEAD", "functions/missing.py").status_code == 404


def test_other_project_is_forbidden(keystone, swift, stored):
    container = f"{swift.account_url(keystone.project_id('demo'))}/functions"
    for method in ("HEAD", "GET"):
        assert swift.request("other", method, container).status_code == 403
        assert swift.request("other", method, f"{container}/hello.py").status_code == 403
    assert swift.request("other", "PUT", f"{container}/x.py", data=b"x").status_code == 403


def test_bogus_or_missing_token_is_unauthorized(keystone, swift, stored):
    url = f"{swift.account_url(keystone.project_id('demo'))}/functions/hello.py"
    assert requests.head(url, headers={"X-Auth-Token": "bogus"}, timeout=30).status_code == 401
    assert requests.head(url, timeout=30).status_code == 401


def test_trust_scoped_token_heads_the_owners_object(keystone, swift, stored):
    """As a worker will: only the trust-scoped token and its catalog, no password."""
    trust_id, trusted = keystone.trust_session("demo", "qinling")
    info = trusted.auth.get_access(trusted)
    assert info.trust_id == trust_id and info.project_id == keystone.project_id("demo")
    worker = ks_session.Session(auth=access.AccessInfoPlugin(info))
    head = swift.head_object(worker, "functions", "hello.py")
    assert head["Etag"] == stored["Etag"]
    assert int(head["Content-Length"]) == len(DATA)


def test_a_second_swift_takes_the_catalog_and_gives_it_back(keystone, swift_venv, swift):
    demo_account = swift.account_url(keystone.project_id("demo"))

    def catalog():
        return keystone.session("demo").get_endpoint(
            service_type="object-store", region_name="RegionOne", interface="public"
        )

    with sw.Swift(swift_venv, keystone) as second:
        assert second.url != swift.url
        assert catalog() == second.account_url(keystone.project_id("demo"))
        second.put_container("demo", "elsewhere")
        assert swift.request("demo", "HEAD", f"{demo_account}/elsewhere").status_code == 404
    assert catalog() == demo_account
    assert swift.request(keystone.session("demo"), "HEAD").status_code in (200, 204)

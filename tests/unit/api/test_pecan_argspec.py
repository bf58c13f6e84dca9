"""pecan's argument-spec lookups are cached (``qinling_lite.api.pecan_argspec``).

The patch replaces ``pecan.util._getargspec``, a private name: these tests fail if pecan
renames it or stops routing through it, rather than letting the cache silently go.
"""

import pecan
import pecan.rest
import pecan.util
import pytest
import webob

from qinling_lite import storage
from qinling_lite.api import app as api_app
from qinling_lite.api import pecan_argspec


class Items(pecan.rest.RestController):
    @pecan.expose("json")
    def get_one(self, item_id):
        return {"id": item_id}


class Root:
    items = Items()


@pytest.fixture
def uncached(monkeypatch):
    """pecan's own lookup back in place for the test (the patch is process-wide)."""
    original = getattr(pecan.util._getargspec, "__wrapped__", pecan.util._getargspec)
    monkeypatch.setattr(pecan.util, "_getargspec", original)
    return original


def test_install_caches_the_lookup_once(uncached):
    pecan_argspec.install()
    cached = pecan.util._getargspec
    assert cached is not uncached and cached.__wrapped__ is uncached
    pecan_argspec.install()
    assert pecan.util._getargspec is cached  # not wrapped twice


def test_pecans_routing_goes_through_the_cache(uncached):
    pecan_argspec.install()
    cached = pecan.util._getargspec
    app = pecan.make_app(Root())
    assert webob.Request.blank("/items/7").get_response(app).json == {"id": "7"}
    first = cached.cache_info()
    assert first.currsize > 0  # pecan looked the controller's spec up through it
    assert webob.Request.blank("/items/8").get_response(app).json == {"id": "8"}
    second = cached.cache_info()
    assert second.hits > first.hits and second.currsize == first.currsize


def test_the_api_application_installs_it(uncached, config_fixture, tmp_path):
    config_fixture.config(state_path=str(tmp_path))
    api_app.setup_app(config_fixture.conf, None, storage.load(config_fixture.conf))
    assert pecan.util._getargspec.__wrapped__ is uncached

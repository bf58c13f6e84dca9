"""The trustee against a real Keystone: trusts made, used by the engine, deleted."""

import json

import pytest
from keystoneauth1.identity import v3

from qinling_lite import config, context, exceptions
from qinling_lite.identity import trustee as trustee_module


@pytest.fixture
def trustee(keystone, config_fixture):
    config_fixture.config(
        group=config.TRUSTEE_GROUP,
        auth_url=keystone.url,
        username="qinling",
        password="qinling-secret",
        user_domain_id="default",
    )
    return trustee_module.Trustee(config.CONF)


def caller(keystone, user):
    """The caller's context and auth plugin, as the API has them for a request."""
    credentials = keystone.credentials(user)
    auth = v3.Password(**credentials)
    ctx = context.RequestContext(
        user_id=keystone.user_id(user),
        project_id=keystone.project_id(credentials["project_name"]),
        roles=["member", "reader"],
        overwrite=False,
    )
    return ctx, auth


def test_trust_gives_workers_the_owners_token_and_dies_with_the_trust(trustee, keystone):
    assert trustee.user_id() == keystone.user_id("qinling")
    ctx, auth = caller(keystone, "demo")
    trust_id = trustee.create_trust(ctx, auth)

    credentials = trustee.worker_credentials(trust_id)
    assert set(credentials) == {"auth_url", "token", "expires_at", "user_id", "project_id",
                                "catalog"}  # fmt: skip
    assert credentials["user_id"] == keystone.user_id("demo")  # impersonation
    assert credentials["project_id"] == keystone.project_id("demo")
    assert {service["type"] for service in credentials["catalog"]} == {"identity"}
    assert "qinling-secret" not in json.dumps(credentials)
    # The token is reused while it is fresh.
    assert trustee.worker_credentials(trust_id)["token"] == credentials["token"]

    trustee.delete_trust(trust_id, auth)
    with pytest.raises(exceptions.NotAllowed, match="Logging in through trust"):
        trustee.worker_credentials(trust_id)
    trustee.delete_trust(trust_id, auth)  # already gone: nothing to do


def test_keystone_refusing_a_trust_is_a_403(trustee, keystone):
    ctx, auth = caller(keystone, "demo")
    ctx.roles = ["admin"]  # demo does not have it
    with pytest.raises(exceptions.NotAllowed, match="Creating a trust"):
        trustee.create_trust(ctx, auth)

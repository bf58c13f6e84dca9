"""The trustee without Keystone: when it is enabled, and Keystone unreachable.

The trusts themselves are tested against a real Keystone in tests/functional/identity.
"""

import pytest

from qinling_lite import config, exceptions
from qinling_lite.identity import trustee as trustee_module

# Nothing listens on the discard port of the loopback address.
UNREACHABLE = "http://127.0.0.1:9/v3"


@pytest.fixture
def trustee_conf(config_fixture):
    config_fixture.config(
        group=config.TRUSTEE_GROUP,
        auth_url=UNREACHABLE,
        username="qinling",
        password="qinling-secret",
        user_domain_id="default",
    )
    return config_fixture


def test_enabled_only_with_authentication_and_a_trustee(trustee_conf):
    assert trustee_module.Trustee(config.CONF).enabled
    trustee_conf.config(group="api", auth_enable=False)
    assert not trustee_module.Trustee(config.CONF).enabled
    trustee_conf.config(group="api", auth_enable=True)
    trustee_conf.config(group=config.TRUSTEE_GROUP, username=None)
    assert not trustee_module.Trustee(config.CONF).enabled


def test_unreachable_keystone_is_a_503(trustee_conf):
    with pytest.raises(exceptions.IdentityUnavailable):
        trustee_module.Trustee(config.CONF).worker_credentials("some-trust")

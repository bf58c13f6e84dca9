"""Fixtures shared by every test directory: configuration overrides that undo themselves."""

import contextlib

import oslo_config.fixture
import pytest
from oslo_config import cfg

from qinling_lite import config
from tests import runtime_environments


@pytest.fixture
def config_fixture():
    """oslo.config's ``Config`` fixture on the service's parsed CONF.

    ``config_fixture.config(group=..., name=value)`` overrides options; teardown resets
    them all, whether or not the test passed.
    """
    # Other tests may have registered keystonemiddleware's options, some required: the
    # configuration is parsed all the same, only their check fails.
    with contextlib.suppress(cfg.RequiredOptError):
        config.CONF([], project="qinling-lite")
    fixture = oslo_config.fixture.Config(config.CONF)
    fixture.setUp()
    yield fixture
    fixture.cleanUp()


@pytest.fixture(scope="session")
def openstack_runtime_environment(request, tmp_path_factory):
    """The directory of the "openstack" runtime environment (python-swiftclient,
    keystoneauth1, openstacksdk), built once with ``qinling-lite-manage
    runtime-environment build`` (about half a minute) and kept, see
    ``tests.runtime_environments``."""
    return runtime_environments.install(
        runtime_environments.directory(request.config, tmp_path_factory)
    )

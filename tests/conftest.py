"""Fixtures shared by every test directory: configuration overrides that undo themselves."""

import contextlib

import oslo_config.fixture
import pytest
from oslo_config import cfg

from qinling_lite import config


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

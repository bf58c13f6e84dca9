"""Fixtures shared by unit and functional tests: a real Keystone."""

import pytest

from tests import keystone as ks


@pytest.fixture(scope="session")
def keystone_venv(request, tmp_path_factory):
    """Keystone's own venv, built once (about a minute) and kept, see ``tests.keystone``."""
    return ks.install(ks.venv_directory(request.config, tmp_path_factory))


@pytest.fixture(scope="module")
def keystone(keystone_venv):
    with ks.Keystone(keystone_venv) as server:
        yield server

"""Every services test runs on a throwaway, migrated SQLite database."""

import pytest

from qinling_lite import storage
from tests import db_backends


@pytest.fixture(autouse=True)
def database(tmp_path):
    with db_backends.migrated_sqlite(tmp_path):
        yield


@pytest.fixture
def store(conf):
    """The package store of the module's ``conf``."""
    return storage.load(conf)

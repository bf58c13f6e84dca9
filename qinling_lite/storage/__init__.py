"""Function package storage."""

from qinling_lite.storage import file_system

_PROVIDERS = {"local": file_system.FileSystemStorage}


def load(conf):
    """The package store named by ``[storage] provider``."""
    return _PROVIDERS[conf.storage.provider](conf)

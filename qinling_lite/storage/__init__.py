"""Function package stores, chosen by ``[storage] provider`` among the entry points of
``qinling_lite.package_stores`` (``file_system``); see ``base.PackageStore``."""

from qinling_lite import drivers
from qinling_lite.storage import base

NAMESPACE = "qinling_lite.package_stores"
OPTION = "[storage] provider"


def store_class(conf) -> type[base.PackageStore]:
    """The class of the configured package store.

    Raises drivers.DriverError when the name is unknown or its packages are missing.
    """
    return drivers.load_class(NAMESPACE, conf.storage.provider, OPTION, base.PackageStore)


def load(conf) -> base.PackageStore:
    """A new instance of the configured package store."""
    return store_class(conf)(conf)

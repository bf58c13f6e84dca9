"""Drivers chosen by a config option among the entry points of a namespace (stevedore).

A new orchestrator or package store is a class and an entry point in its namespace
(``setup.cfg``); nothing here names one.
"""

import functools
import importlib.metadata
from typing import TypeVar

from stevedore import driver, exception

T = TypeVar("T")


class DriverError(Exception):
    """The driver a config option names is unknown, lacks its Python packages, or is not
    a class of the interface it is loaded as."""


def available(namespace: str) -> list[str]:
    """The names of the drivers installed in ``namespace``, sorted; none is imported."""
    return sorted(importlib.metadata.entry_points(group=namespace).names)


@functools.cache
def load_class(namespace: str, name: str, option: str, interface: type[T]) -> type[T]:
    """The class (imported, not instantiated) of the driver ``name`` of ``namespace``.

    ``option`` (e.g. ``[engine] orchestrator``) is what the errors tell the operator to
    change. Raises DriverError for an unknown name, a missing dependency, or a class that
    does not implement ``interface``.
    """

    def missing_dependency(manager, entry_point, error):
        if not isinstance(error, ModuleNotFoundError):
            raise error
        message = (
            f"{option} = {name} needs the Python module {error.name!r}, which is not installed"
        )
        if entry_point.extras:
            message += f": install qinling-lite[{','.join(entry_point.extras)}]"
        raise DriverError(message + ".") from error

    try:
        manager = driver.DriverManager(namespace, name, on_load_failure_callback=missing_dependency)
    except exception.NoMatches:
        raise DriverError(
            f"{option} = {name} names no installed driver; available: "
            f"{', '.join(available(namespace)) or 'none'}."
        ) from None
    plugin = manager.driver
    if not (isinstance(plugin, type) and issubclass(plugin, interface)):
        expected = f"{interface.__module__}.{interface.__qualname__}"
        raise DriverError(f"{option} = {name} is {plugin!r}, not a {expected}.")
    return plugin

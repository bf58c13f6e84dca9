"""Orchestrators: where function workers run, chosen by ``[engine] orchestrator`` among
the entry points of ``qinling_lite.orchestrators`` (``local``, ``kubernetes``).

An orchestrator's module, and the client libraries it imports, load only when it is the
one configured.
"""

from qinling_lite import drivers
from qinling_lite.orchestrator import base

NAMESPACE = "qinling_lite.orchestrators"
OPTION = "[engine] orchestrator"


def orchestrator_class(conf) -> type[base.Orchestrator]:
    """The class of the configured orchestrator, imported but not started.

    Raises drivers.DriverError when the name is unknown or its packages are missing.
    """
    return drivers.load_class(NAMESPACE, conf.engine.orchestrator, OPTION, base.Orchestrator)


def load(conf) -> base.Orchestrator:
    """A new instance of the configured orchestrator."""
    return orchestrator_class(conf)(conf)


def supports(conf, capability: type) -> bool:
    """Whether the configured orchestrator has ``capability``, a mixin of ``base`` such as
    ``base.ImageFunctions``; the orchestrator is not started."""
    return issubclass(orchestrator_class(conf), capability)

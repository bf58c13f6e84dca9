"""Orchestrators: where function workers run, chosen by ``[engine] orchestrator``."""

import importlib

# Imported on demand: an orchestrator's client libraries load only when it is used.
_ORCHESTRATORS = {
    "local": "qinling_lite.orchestrator.local.orchestrator:LocalOrchestrator",
    "kubernetes": "qinling_lite.orchestrator.kubernetes.orchestrator:KubernetesOrchestrator",
}


def load(conf):
    """Return a new instance of the orchestrator named by ``conf.engine.orchestrator``."""
    module, _, name = _ORCHESTRATORS[conf.engine.orchestrator].partition(":")
    return getattr(importlib.import_module(module), name)(conf)

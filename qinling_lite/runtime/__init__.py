"""The runtime server that runs inside every worker, and the engine-worker protocol.

Standard library only, and nothing of the control plane: it ships to workers as one
zip application (``archive``), where it is the package ``qinling_runtime``.
"""

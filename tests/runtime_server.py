"""The runtime server as workers run it, for tests that start it as a process."""

import pathlib
import sys

from qinling_lite.runtime import archive


def command(directory, python=sys.executable):
    """The argv (before the server's options) of a runtime server: its zip application,
    written into ``directory``, under an isolated interpreter."""
    path = pathlib.Path(directory) / "runtime.pyz"
    path.write_bytes(archive.build())
    return [python, "-I", "-S", str(path)]

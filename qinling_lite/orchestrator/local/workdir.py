"""Private directories of local workers, under ``[local_orchestrator] work_dir``.

Each orchestrator owns one directory there, locked for as long as it lives; on start, the
directories of orchestrators that are gone (unlocked) are removed. Each worker gets a short
random directory inside it, holding its Unix socket (and, without a sandbox, its work
directory).
"""

import contextlib
import fcntl
import os
import shutil
import tempfile

from qinling_lite import exceptions
from qinling_lite.orchestrator.local import process

LOCK_NAME = ".lock"
MAX_SOCKET_PATH = 107  # sun_path holds 108 bytes with the final NUL


class WorkDir:
    """This process's directory of worker directories; ``name`` is its name."""

    def __init__(self, root):
        os.makedirs(root, mode=0o711, exist_ok=True)
        with _locked(os.path.join(root, LOCK_NAME)):
            _remove_stale(root)
            self.path = tempfile.mkdtemp(prefix="", dir=root)
            self._lock = open(os.path.join(self.path, LOCK_NAME), "wb")
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.name = os.path.basename(self.path)
        os.chmod(self.path, 0o711)  # noqa: S103 (traversable, not listable, by workers)
        longest = os.path.join(self.path, "x" * 8, process.SOCKET_NAME)
        if len(os.fsencode(longest)) > MAX_SOCKET_PATH:
            self.close()
            raise exceptions.OrchestratorError(
                f"work_dir {root} is too long: worker socket paths like {longest} exceed "
                f"{MAX_SOCKET_PATH} bytes."
            )

    def create(self):
        """A new private directory (mode 0700) for one worker."""
        return tempfile.mkdtemp(prefix="", dir=self.path)

    def close(self):
        shutil.rmtree(self.path, ignore_errors=True)
        self._lock.close()


@contextlib.contextmanager
def _locked(path):
    with open(path, "wb") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _remove_stale(root):
    """Remove the directories no live orchestrator holds."""
    for entry in os.scandir(root):
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            with open(os.path.join(entry.path, LOCK_NAME), "rb") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live orchestrator holds it
        except FileNotFoundError:
            pass
        shutil.rmtree(entry.path, ignore_errors=True)

"""A local worker process that does not come up."""

import os
import subprocess
import sys

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator.local import process


def start(directory, code):
    os.mkdir(directory)
    log = os.memfd_create("worker-log")
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=log, stderr=log, start_new_session=True
    )
    return process.LocalWorker(str(directory), proc, idle_timeout=1, log=log)


def test_early_exit_is_reported_with_its_output(tmp_path):
    worker = start(tmp_path / "w", "import sys; sys.exit('cannot bind')")
    with pytest.raises(exceptions.OrchestratorError, match="exited with code 1: cannot bind"):
        worker.wait_ready(5)
    worker.kill()
    worker.close()
    assert not (tmp_path / "w").exists()


def test_silence_is_reported_after_the_timeout(tmp_path):
    worker = start(tmp_path / "w", "import time; time.sleep(60)")
    with pytest.raises(exceptions.OrchestratorError, match="did not answer within 0.2 s"):
        worker.wait_ready(0.2)
    worker.kill()
    worker.close()
    assert worker.process.returncode is not None

"""The fake cluster's kubelet, for the pods created directly (those of image functions).

There is no container engine here: an image is a Python program (``images`` maps image
references to source code), run as a real process with the container's args as its
arguments (as an ENTRYPOINT gets them), its stdout and stderr as the container's log.
The pod's status follows the process as a kubelet reports it: Pending (waiting:
ContainerCreating) until the next sync starts it, Running, then Succeeded or Failed with
the exit code and the start and finish times (whole seconds, as the API server has
them). An image not in ``images`` cannot be pulled (ErrImagePull, then
ImagePullBackOff), a malformed reference is InvalidImageName, and
``activeDeadlineSeconds`` kills the process (Failed, DeadlineExceeded).
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# A lowercase image reference: [registry[:port]/]path[:tag][@digest].
REFERENCE = re.compile(
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
    r"(?::\w[\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def now():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Container:
    def __init__(self):
        self.admitted = time.monotonic()
        self.process = None
        self.log_path = None
        self.started_at = None
        self.pulls = 0
        self.synced = False


class Kubelet:
    def __init__(self, images):
        self.images = dict(images)
        self._dir = tempfile.mkdtemp(prefix="ql-kubelet-")
        self._containers = {}  # pod key -> _Container

    def admit(self, key, pod):
        """Take a new pod: Pending, its container waiting to be created."""
        self._containers[key] = _Container()
        pod["status"] = {
            "phase": "Pending",
            "startTime": now(),
            "containerStatuses": [_status(pod, {"waiting": {"reason": "ContainerCreating"}})],
        }

    def owns(self, key):
        return key in self._containers

    def sync(self, key, pod):
        """Bring the pod's status up to date with its process."""
        status = pod["status"]
        if status["phase"] in ("Succeeded", "Failed"):
            return
        record = self._containers[key]
        if not record.synced:  # the pod is seen Pending at least once
            record.synced = True
            return
        if record.process is None and not self._start(key, pod, record):
            return
        deadline = pod["spec"].get("activeDeadlineSeconds")
        if deadline is not None and time.monotonic() - record.admitted >= deadline:
            record.process.kill()
            record.process.wait()
            status.update(
                phase="Failed",
                reason="DeadlineExceeded",
                message="Pod was active on the node longer than the specified deadline",
            )
            self._terminated(pod, record, 137, "Error")
            return
        code = record.process.poll()
        if code is not None:
            status["phase"] = "Succeeded" if code == 0 else "Failed"
            self._terminated(pod, record, code, "Completed" if code == 0 else "Error")

    def log(self, key, limit_bytes=None):
        """The container's log, or None while it has not started."""
        record = self._containers.get(key)
        if record is None or record.log_path is None:
            return None
        with open(record.log_path, "rb") as log:
            return log.read(limit_bytes or -1).decode("utf-8", errors="replace")

    def remove(self, key):
        """Kill the pod's process (the pod is deleted)."""
        record = self._containers.pop(key, None)
        if record and record.process:
            record.process.kill()
            record.process.wait()
            os.unlink(record.log_path)

    def running(self):
        """Keys of the pods whose process is alive."""
        return {
            key
            for key, record in self._containers.items()
            if record.process and record.process.poll() is None
        }

    def close(self):
        for key in list(self._containers):
            self.remove(key)
        shutil.rmtree(self._dir, ignore_errors=True)

    def _start(self, key, pod, record):
        """Pull the image and start the process; False if it cannot start."""
        image = pod["spec"]["containers"][0]["image"]
        if not REFERENCE.match(image):
            message = f'couldn\'t parse image reference "{image}": invalid reference format'
            return self._waiting(pod, "InvalidImageName", message)
        program = self.images.get(image)
        if program is None:
            record.pulls += 1
            if record.pulls == 1:
                message = f'failed to pull image "{image}": pull access denied'
                return self._waiting(pod, "ErrImagePull", message)
            return self._waiting(pod, "ImagePullBackOff", f'Back-off pulling image "{image}"')
        record.log_path = os.path.join(self._dir, f"{key[0]}_{key[1]}.log")
        with open(record.log_path, "wb") as log:
            record.process = subprocess.Popen(
                [sys.executable, "-I", "-c", program, *pod["spec"]["containers"][0]["args"]],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={},
            )
        record.started_at = now()
        pod["status"]["phase"] = "Running"
        pod["status"]["containerStatuses"] = [
            _status(pod, {"running": {"startedAt": record.started_at}}, started=True)
        ]
        return True

    def _waiting(self, pod, reason, message):
        pod["status"]["containerStatuses"] = [
            _status(pod, {"waiting": {"reason": reason, "message": message}})
        ]
        return False

    def _terminated(self, pod, record, code, reason):
        state = {
            "terminated": {
                "exitCode": code,
                "reason": reason,
                "startedAt": record.started_at,
                "finishedAt": now(),
                "containerID": f"fake://{pod['metadata']['uid']}",
            }
        }
        pod["status"]["containerStatuses"] = [_status(pod, state)]


def _status(pod, state, started=False):
    container = pod["spec"]["containers"][0]
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "",
        "ready": started,
        "restartCount": 0,
        "started": started,
        "state": state,
    }

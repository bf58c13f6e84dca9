"""Runtime server: the HTTP server that runs inside every worker.

It loads one function package, pre-imports the user code once, then runs each
execution in a forked child of this warm process, with resource limits.

It must only import the standard library: it runs as ``python3 -I -S server.py``
in a sandbox where nothing else is importable. It is single-threaded on purpose,
because executions are forked from this process: one execution at a time.
"""

import argparse
import contextlib
import gc
import http.client
import http.server
import importlib
import io
import json
import math
import os
import resource
import select
import shutil
import signal
import socket
import socketserver
import sys
import tempfile
import time
import traceback
import urllib.parse
import zipfile

MIB = 1024 * 1024
MAX_BODY_BYTES = 64 * MIB
REPORT_READ_BYTES = 64 * 1024
KILL_ROUNDS = 100
TIMEOUT_OUTPUT = "Function execution timeout."
NO_RESULT_OUTPUT = "Function exited without returning a result."
RESOURCE_OUTPUT = "Function execution failed because of too much resource consumption."
MEMORY_OUTPUT = "Function execution failed: memory limit of %d bytes exceeded."
OUTPUT_TOO_LARGE = "Function output of %d bytes exceeds the limit of %d bytes."
OUTPUT_OVER_LIMIT = "Function output exceeds the limit of %d bytes."
# The largest output, in bytes of its JSON, of an execution request without
# ``max_result_size``; the report line holds that and at most this much more.
MAX_RESULT_BYTES = MIB
REPORT_OVERHEAD = 64
# What any package may extract to, whatever the API allowed when it was stored.
MAX_PACKAGE_BYTES = 1024 * MIB
MAX_PACKAGE_ENTRIES = 100_000
EXTRACT_CHUNK_BYTES = 64 * 1024
EXECUTE_FIELDS = {
    "execution_id": str,
    "input": dict,
    "timeout": (int, float),
    "memory_size": int,
    "cpu": int,
    "context": dict,
}


# The worker's channel to the egress proxy (``--egress-fd``), when it has no network.
EGRESS = {"channel": None}
# Whether the server and its executions are alone in their pid namespace, but for its
# pid 1 (``--own-pid-namespace``, or the server is pid 1 itself, as in a container).
PID_NAMESPACE = {"own": False}
_PR_SET_CHILD_SUBREAPER = 36


class HTTPError(Exception):
    """An error answered to the client as ``{"error": message}``."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class OpenStackResponse:
    """An HTTP answer to an ``OpenStackSession`` call."""

    def __init__(self, status_code, headers, content):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.content)


class OpenStackError(Exception):
    """An OpenStack API answered an error status; ``response`` holds the answer."""

    def __init__(self, response):
        super().__init__(f"HTTP {response.status_code}: {response.text[:200]}")
        self.response = response


class OpenStackSession:
    """``context['os_session']``: OpenStack API calls as the function's owner.

    It holds only the token the engine obtained through the function's trust (scoped to
    the owner's project, expiring, revoked with the trust) and the token's service
    catalog. The calls mirror keystoneauth1's Session: ``get(url)``, relative URLs with
    ``endpoint_filter={"service_type": ...}``, ``raise_exc``, ``get_endpoint``. In a
    sandbox without a network, calls go through tunnels of the ``egress`` proxy.
    """

    def __init__(self, auth, egress=None):
        self._auth = auth
        self._egress = egress

    def get_token(self):
        return self._auth["token"]

    def get_user_id(self):
        return self._auth["user_id"]

    def get_project_id(self):
        return self._auth["project_id"]

    def get_endpoint(self, service_type, interface="public", region_name=None):
        """The URL of ``service_type`` in the token's catalog (None if absent)."""
        for service in self._auth["catalog"]:
            if service.get("type") != service_type:
                continue
            for endpoint in service.get("endpoints", []):
                if endpoint.get("interface") == interface and region_name in (
                    None,
                    endpoint.get("region_id"),
                ):
                    return endpoint["url"]
        return self._auth["auth_url"] if service_type == "identity" else None

    def request(self, url, method, **kwargs):
        """``method`` on ``url``; keyword arguments: json, data, headers,
        endpoint_filter, raise_exc (default True), timeout (seconds, default 30)."""
        endpoint_filter = kwargs.get("endpoint_filter")
        if endpoint_filter:
            base = self.get_endpoint(**endpoint_filter)
            if base is None:
                raise ValueError(f"no endpoint in the catalog for {endpoint_filter}")
            url = f"{base.rstrip('/')}/{url.lstrip('/')}"
        headers = {"Accept": "application/json", **kwargs.get("headers", {})}
        headers["X-Auth-Token"] = self._auth["token"]
        data = kwargs.get("data")
        if kwargs.get("json") is not None:
            data = json.dumps(kwargs["json"]).encode()
            headers.setdefault("Content-Type", "application/json")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an HTTP URL: {url}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection = self._connection(parts.scheme, parts.hostname, port, kwargs.get("timeout", 30))
        try:
            connection.request(method, target, body=data, headers=headers)
            answer = connection.getresponse()
            response = OpenStackResponse(answer.status, dict(answer.getheaders()), answer.read())
        finally:
            connection.close()
        if response.status_code >= 400 and kwargs.get("raise_exc", True):
            raise OpenStackError(response)
        return response

    def _connection(self, scheme, host, port, timeout):
        if self._egress is not None:
            return _TunnelledConnection(self._egress, scheme == "https", host, port, timeout)
        if scheme == "https":
            return http.client.HTTPSConnection(host, port, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def get(self, url, **kwargs):
        return self.request(url, "GET", **kwargs)

    def head(self, url, **kwargs):
        return self.request(url, "HEAD", **kwargs)

    def post(self, url, **kwargs):
        return self.request(url, "POST", **kwargs)

    def put(self, url, **kwargs):
        return self.request(url, "PUT", **kwargs)

    def patch(self, url, **kwargs):
        return self.request(url, "PATCH", **kwargs)

    def delete(self, url, **kwargs):
        return self.request(url, "DELETE", **kwargs)


class _TunnelledConnection(http.client.HTTPConnection):
    """HTTP, or HTTPS end to end, through a tunnel of the egress proxy.

    The proxy gets ``CONNECT host:port`` and one end of a new socket pair on the worker's
    channel, and answers on that socket, which then carries the connection.
    """

    def __init__(self, channel, tls, host, port, timeout):
        super().__init__(host, port, timeout=timeout)
        self._channel = channel
        self._tls = tls

    def connect(self):
        sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with theirs:
                request = f"CONNECT {self.host}:{self.port}".encode()
                socket.send_fds(self._channel, [request], [theirs.fileno()])
            sock.settimeout(self.timeout)
            head = b""
            while not head.endswith(b"\r\n\r\n") and len(head) < 8192:
                byte = sock.recv(1)
                if not byte:
                    break
                head += byte
            status = head.split(b"\r\n", 1)[0].decode("latin-1")
            if status.split()[1:2] != ["200"]:
                raise OSError(f"egress to {self.host}:{self.port} refused: {status or 'closed'}")
            if self._tls:
                import ssl

                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


class Terminate(BaseException):
    """Raised by the SIGTERM handler to stop the server."""


def _on_sigterm(signum, frame):
    raise Terminate


# --- package loading ---------------------------------------------------------


def _parse_load_query(query):
    """Return (function_id, version, module name, attribute name) from /load's query."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    values = {}
    for name in ("function_id", "version", "entry"):
        found = params.get(name, [])
        if len(found) != 1 or not found[0]:
            raise HTTPError(400, f"query parameter {name!r} is required exactly once")
        values[name] = found[0]
    try:
        version = int(values["version"])
    except ValueError:
        raise HTTPError(400, "query parameter 'version' must be an integer") from None
    module, _, attribute = values["entry"].rpartition(".")
    if not module or not attribute:
        raise HTTPError(400, "entry must look like 'module.function'")
    return values["function_id"], version, module, attribute


def _extract_package(package, dest, max_bytes=MAX_PACKAGE_BYTES, max_entries=MAX_PACKAGE_ENTRIES):
    """Extract the zip bytes into a fresh ``dest``, refusing members that escape it.

    At most ``max_bytes`` are written, whatever the headers say: the sizes the central
    directory declares must add up to no more (the API checked them against its own,
    lower limit), and no member is written past its declared size, however much its
    data inflates to. An extraction that fails part way leaves no ``dest`` behind.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(package)) as archive:
            members = archive.infolist()
            if len(members) > max_entries:
                raise HTTPError(400, f"package has more than {max_entries} entries")
            declared = sum(member.file_size for member in members)
            if declared > max_bytes:
                raise HTTPError(413, f"package expands to {declared} bytes, over {max_bytes}")
            root = os.path.realpath(dest)
            targets = []
            for member in members:
                target = os.path.normpath(os.path.join(root, member.filename))
                if os.path.commonpath([root, target]) != root or (
                    target == root and not member.filename.endswith("/")
                ):
                    raise HTTPError(400, f"unsafe path in package: {member.filename!r}")
                targets.append(target)
            shutil.rmtree(dest, ignore_errors=True)
            try:
                os.makedirs(root)
                for member, target in zip(members, targets, strict=True):
                    _extract_member(archive, member, target)
            except BaseException:
                shutil.rmtree(dest, ignore_errors=True)
                raise
    except (zipfile.BadZipFile, RuntimeError, EOFError, ValueError) as exc:
        # RuntimeError: an encrypted member; NotImplementedError: an unknown method.
        raise HTTPError(400, f"package is not a valid zip file: {exc}") from None
    except OSError as exc:
        raise HTTPError(400, f"package cannot be extracted: {exc.strerror or exc}") from None


def _extract_member(archive, member, target):
    """Write one member at ``target``, refusing data beyond its declared size."""
    if member.filename.endswith("/"):  # not is_dir(), which fails on an empty name
        os.makedirs(target, exist_ok=True)
        return
    os.makedirs(os.path.dirname(target), exist_ok=True)
    left = member.file_size
    with archive.open(member) as source, open(target, "wb") as out:
        while True:
            try:
                chunk = source.read(min(EXTRACT_CHUNK_BYTES, left + 1))
            except Exception as exc:  # whatever a decompressor raises on corrupt data
                raise HTTPError(
                    400, f"package member {member.filename!r} cannot be read: {exc}"
                ) from None
            if not chunk:
                return
            left -= len(chunk)
            if left < 0:
                raise HTTPError(
                    400, f"package member {member.filename!r} holds more than it declares"
                )
            out.write(chunk)


def _import_entry(module, attribute):
    """Import the entry function; return (function, None) or (None, error text)."""
    try:
        func = getattr(importlib.import_module(module), attribute)
    except (Exception, SystemExit) as exc:
        return None, "".join(traceback.format_exception_only(exc)).strip()
    if not callable(func):
        return None, f"{module}.{attribute} is not callable"
    return func, None


@contextlib.contextmanager
def _output_redirected_to(fd):
    """Point file descriptors 1 and 2 at ``fd`` for the duration of the block."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])


def _read_log(fd, max_bytes):
    """Return what was written to the file ``fd``, truncated to ``max_bytes``."""
    data = os.pread(fd, max_bytes + 1, 0)
    text = data[:max_bytes].decode("utf-8", errors="replace")
    if text and not text.endswith("\n"):
        text += "\n"
    if len(data) > max_bytes:
        text += "... log truncated ...\n"
    return text


# --- executions ---------------------------------------------------------------


def _parse_execute(body):
    """Return the validated /execute request."""
    try:
        request = json.loads(body)
    except ValueError:
        raise HTTPError(400, "body is not valid JSON") from None
    if not isinstance(request, dict):
        raise HTTPError(400, "body must be a JSON object")
    for name, kind in EXECUTE_FIELDS.items():
        value = request.get(name)
        if isinstance(value, bool) or not isinstance(value, kind):
            raise HTTPError(400, f"field {name!r} is missing or has a wrong type")
    if not (math.isfinite(request["timeout"]) and request["timeout"] > 0):
        raise HTTPError(400, "field 'timeout' must be a positive number")
    if request["memory_size"] <= 0:
        raise HTTPError(400, "field 'memory_size' must be positive")
    limit = request.setdefault("max_result_size", MAX_RESULT_BYTES)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
        raise HTTPError(400, "field 'max_result_size' must be a positive integer")
    return request


def _vm_size():
    """Return this process's virtual memory size in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize not found in /proc/self/status")


def _limit_resources(timeout, memory_size):
    """Lower this process's rlimits for one execution (hard limits are never raised)."""
    limits = {
        resource.RLIMIT_AS: _vm_size() + memory_size,
        resource.RLIMIT_CPU: math.ceil(timeout) + 1,
        resource.RLIMIT_FSIZE: 64 * MIB,
        resource.RLIMIT_NOFILE: 1024,
        resource.RLIMIT_CORE: 0,
    }
    for which, wanted in limits.items():
        hard = resource.getrlimit(which)[1]
        value = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
        resource.setrlimit(which, (value, value))


def _redirect_child_output(log_fd):
    """Send fds 1 and 2 and sys.stdout/sys.stderr to the execution's log file."""
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    for name, fd in (("stdout", 1), ("stderr", 2)):
        stream = open(
            fd, "w", buffering=1, encoding="utf-8", errors="backslashreplace", closefd=False
        )
        setattr(sys, name, stream)


def _report(success, output):
    """Return the child's report: the size of the output's JSON in bytes on a line, then
    the report line. An output that is not JSON becomes its str().

    The server reads the size first: it refuses an output over the limit without
    reading it (``_wait_child``).
    """
    try:
        encoded = json.dumps(output, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        encoded = json.dumps(str(output))
    head = b'%d\n{"success": %s, "output": ' % (len(encoded), b"true" if success else b"false")
    return b"".join((head, encoded.encode(), b"}\n"))


def _call(func, request):
    """Call the function as the request says; return the report line.

    ``input`` holds the keyword arguments, as they are; ``args`` (optional) the
    positional ones.
    """
    kwargs = dict(request["input"])
    args = tuple(request.get("args") or ())
    context = dict(request["context"])
    os_auth = context.pop("os_auth", None)
    kwargs["context"] = {
        **context,
        "os_session": OpenStackSession(os_auth, EGRESS["channel"]) if os_auth else None,
        "execution_id": request["execution_id"],
    }
    try:
        return _report(True, func(*args, **kwargs))
    except MemoryError:
        pass  # Leaving the except clause frees the traceback and what it holds.
    except BaseException as exc:
        return _report(False, str(exc) or type(exc).__name__)
    return _report(False, MEMORY_OUTPUT % request["memory_size"])


def _write_all(fd, data):
    while data:
        data = data[os.write(fd, data) :]


def _read_request(fd):
    """The execution request the parent writes to a spare child (None at end of file)."""
    chunks = []
    while chunk := os.read(fd, REPORT_READ_BYTES):
        chunks.append(chunk)
    return json.loads(b"".join(chunks)) if chunks else None


def _run_child(func, request_fd, log_fd, report_fd, server_fds):
    """Body of a forked spare child: wait for a request, run it, report. Never returns.

    ``server_fds`` are the server's descriptors, closed so user code cannot use them.
    The request pipe reaches end of file without a request when the server stops.
    """
    status = 1
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.setsid()
        _oom_victim_first()
        for fd in server_fds:
            os.close(fd)
        _redirect_child_output(log_fd)  # before the request: off the execution's path
        request = _read_request(request_fd)
        if request is None:
            status = 0
            return
        _limit_resources(request["timeout"], request["memory_size"])
        report = _call(func, request)
        sys.stdout.flush()
        sys.stderr.flush()
        _write_all(report_fd, report)
        status = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def _drain(fd, report, limit):
    """Append what non-blocking ``fd`` has to read now to the bytearray ``report``, up to
    ``limit`` bytes in all; return False at end of file or at the limit."""
    while len(report) < limit:
        try:
            data = os.read(fd, min(REPORT_READ_BYTES, limit - len(report)))
        except BlockingIOError:
            return True
        if not data:
            return False
        report += data
    return False


def _report_read(report, max_bytes):
    """Whether the server has all it reads of a child's report (``_report``): its two
    lines, a first line that is no size within ``max_bytes``, or more bytes than a
    report within ``max_bytes`` holds."""
    if len(report) > max_bytes + REPORT_OVERHEAD:
        return True
    end = report.find(b"\n")
    if end < 0:
        return False
    size = report[:end]
    if not (size.isdigit() and len(size) <= 20 and int(size) <= max_bytes):
        return True
    return report.find(b"\n", end + 1) >= 0


def _wait_child(pid, report_fd, deadline, max_bytes):
    """Collect the child's report until it is complete, the child exits, or the deadline.

    A report is read no further than shows an output over ``max_bytes`` (``_report_read``),
    however much the child writes. Every process of the execution is then killed
    (``_end_processes``), so nothing it started outlives it. They are reaped later
    (``Worker.prepare``), after the answer is sent, so that their exit does not delay it.
    Return (report bytes, timed out, wait status, end time).
    """
    report = bytearray()
    limit = max_bytes + REPORT_OVERHEAD + 1
    exited = reported = False
    try:
        pidfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pidfd, select.POLLIN)
            poller.register(report_fd, select.POLLIN)
            while not (exited or reported) and (remaining := deadline - time.monotonic()) > 0:
                for fd, _ in poller.poll(min(remaining, 3600.0) * 1000):
                    if fd == pidfd:
                        exited = True
                    elif not _drain(report_fd, report, limit):
                        poller.unregister(report_fd)
                    reported = _report_read(report, max_bytes)
            ended = time.monotonic()
        finally:
            os.close(pidfd)
    finally:
        _end_processes(pid)
        # Only a child that exited unreported is reaped now, for its wait status: a killed
        # one may take a while to exit (its CPU quota may be spent) and is reaped later.
        status = os.waitpid(pid, 0)[1] if exited and not reported else None
    _drain(report_fd, report, limit)
    return bytes(report), not (exited or reported), status, ended


def _end_processes(pid=None):
    """SIGKILL the execution's child ``pid`` and every process it started, however
    detached (``setsid``, double forks).

    Alone in its pid namespace (a sandbox, a container), the server kills every other
    process in it at once: ``kill(-1)`` spares only the caller and pid 1, and a process
    cannot fork once SIGKILL is pending. Otherwise (a plain process, for development) it
    kills its descendants until none is left. Either way, as a subreaper, it inherits
    the orphans, so that ``_reap_all`` returns only once every one is gone.
    """
    if PID_NAMESPACE["own"]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        return
    if pid is not None:  # killed before it is reaped: its group id cannot be reused yet
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for _ in range(KILL_ROUNDS):
        found = _descendants(os.getpid())
        if not found:
            return
        for other in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(other, signal.SIGKILL)
        time.sleep(0.001)


def _descendants(root):
    """Pids of the live (not zombie) processes below ``root``."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                fields = stat.read().rpartition(b")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found, todo = [], list(children.get(root, []))
    while todo:
        found.append(current := todo.pop())
        todo += children.get(current, [])
    return found


def _reap_all():
    """Wait for every child; call only when no child should be left alive."""
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _oom_victim_first():
    """In a forked child: be the OOM killer's first choice in the sandbox's cgroup."""
    with contextlib.suppress(OSError), open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")


def _parse_report(data, max_bytes):
    """Return (success, output) from the child's report (``_report``), or None without
    one. An output whose JSON is over ``max_bytes`` fails the execution, refused by the
    size the report declares, by a report longer than one within the limit, or by the
    size of the output itself."""
    size, newline, rest = data.partition(b"\n")
    if newline and size.isdigit() and len(size) <= 20 and int(size) > max_bytes:
        return False, OUTPUT_TOO_LARGE % (int(size), max_bytes)
    if len(data) > max_bytes + REPORT_OVERHEAD:
        return False, OUTPUT_OVER_LIMIT % max_bytes
    line, newline, _ = rest.partition(b"\n")
    if not newline:
        return None
    try:
        report = json.loads(line)
        success, output = bool(report["success"]), report["output"]
    except (ValueError, KeyError, TypeError):
        return None
    size = len(json.dumps(output))
    if size > max_bytes:
        return False, OUTPUT_TOO_LARGE % (size, max_bytes)
    return success, output


def _failure_output(timed_out, status):
    """Explain an execution that ended without a report."""
    if timed_out:
        return TIMEOUT_OUTPUT
    if status is None or os.waitstatus_to_exitcode(status) == 0:
        return NO_RESULT_OUTPUT
    return RESOURCE_OUTPUT


# --- worker state -------------------------------------------------------------


class Worker:
    """The one function this worker serves, and how to run it."""

    def __init__(self, workdir, max_log_bytes):
        self.workdir = workdir
        self.max_log_bytes = max_log_bytes
        self.function_id = None
        self.version = None
        self.func = None
        self.load_error = None
        self.load_logs = ""
        self.spare = None

    def ping(self):
        return {"status": "ok", "function_id": self.function_id, "version": self.version}

    def load(self, query, package):
        """Extract the package and import its entry; import errors are remembered."""
        function_id, version, module, attribute = _parse_load_query(query)
        if self.function_id is not None:
            if (function_id, version) != (self.function_id, self.version):
                raise HTTPError(409, f"worker already has function {self.function_id}")
            return {"loaded": True, "error": self.load_error}
        package_dir = os.path.join(self.workdir, "package")
        _extract_package(package, package_dir)
        sys.path.insert(0, package_dir)
        with tempfile.TemporaryFile(dir=self.workdir) as log:
            with _output_redirected_to(log.fileno()):
                self.func, self.load_error = _import_entry(module, attribute)
            if self.load_error is not None:
                self.load_logs = _read_log(log.fileno(), self.max_log_bytes)
        self.function_id, self.version = function_id, version
        # Objects of the warm process are never collected again, so the collector in
        # a forked child does not touch (and copy) their pages.
        gc.freeze()
        _end_processes()  # what the import started ends with it
        _reap_all()
        return {"loaded": True, "error": self.load_error}

    def execute(self, body, server_fds):
        """Run one execution in a fresh child forked ahead of time; return the answer."""
        if self.function_id is None:
            raise HTTPError(409, "no function loaded")
        request = _parse_execute(body)
        max_bytes = request["max_result_size"]
        if self.load_error is not None:
            return {
                "success": False,
                "output": _parse_report(_report(False, self.load_error), max_bytes)[1],
                "duration": 0.0,
                "logs": self.load_logs,
            }
        spare = self.spare if self.spare is not None and self.spare.alive() else None
        self.spare = None
        spare = spare or _Spare(self, server_fds)
        try:
            started = time.monotonic()
            spare.send(body)
            data, timed_out, status, ended = _wait_child(
                spare.pid, spare.report_fd, started + request["timeout"], max_bytes
            )
            printed = _read_log(spare.log_fd, self.max_log_bytes)
        finally:
            spare.close()
        success, output = _parse_report(data, max_bytes) or (
            False,
            _failure_output(timed_out, status),
        )
        execution_id = request["execution_id"]
        return {
            "output": output,
            "duration": round(ended - started, 3),
            "success": success,
            "logs": f"Start execution: {execution_id}\n{printed}"
            f"Finished execution: {execution_id}\n",
        }

    def prepare(self, server_fds):
        """Between requests: reap the last execution's processes (killed at its end) and
        fork the next execution's child.

        Forking costs about a millisecond; done here, after the answer went out, it is
        off the path of the next execution. No process of the last execution is left
        when the next one's child exists.
        """
        if self.spare is None:
            _reap_all()
            if self.func is not None:
                self.spare = _Spare(self, server_fds)

    def stop(self):
        if self.spare is not None:
            self.spare.kill()
            self.spare = None


class _Spare:
    """A child forked from the warm process, waiting on a pipe for its one execution."""

    def __init__(self, worker, server_fds):
        self.log_fd, log_path = tempfile.mkstemp(dir=worker.workdir, suffix=".log")
        os.unlink(log_path)
        request_fd, self.request_fd = os.pipe()
        self.report_fd, report_fd = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            fds = (*server_fds, self.request_fd, self.report_fd)
            _run_child(worker.func, request_fd, self.log_fd, report_fd, fds)
        os.close(request_fd)
        os.close(report_fd)
        os.set_blocking(self.report_fd, False)

    def alive(self):
        """Whether the child still waits (it may have been killed from outside)."""
        if os.waitpid(self.pid, os.WNOHANG)[0] == 0:
            return True
        self.pid = None
        self.close()
        return False

    def send(self, body):
        try:
            _write_all(self.request_fd, body)
        finally:
            os.close(self.request_fd)
            self.request_fd = None

    def close(self):
        for fd in (self.request_fd, self.report_fd, self.log_fd):
            if fd is not None:
                os.close(fd)
        self.request_fd = self.report_fd = self.log_fd = None

    def kill(self):
        """Stop a spare that will not be used; it exits at the end of its request pipe."""
        self.close()
        if self.pid is not None:
            os.waitpid(self.pid, 0)


# --- HTTP ---------------------------------------------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    """JSON protocol: GET /ping, POST /load, POST /execute."""

    protocol_version = "HTTP/1.1"
    server_version = "qinling-runtime"
    routes = {
        "/ping": ("GET", "_ping"),
        "/load": ("POST", "_load"),
        "/execute": ("POST", "_execute"),
    }

    def setup(self):
        self.timeout = self.server.idle_timeout
        super().setup()

    def log_message(self, format, *args):
        """Stay quiet: idle keep-alive timeouts are normal; crashes go to handle_error."""

    def _dispatch(self):
        url = urllib.parse.urlsplit(self.path)
        try:
            body = self._read_body()
            if url.path not in self.routes:
                raise HTTPError(404, "not found")
            method, handler = self.routes[url.path]
            if self.command != method:
                raise HTTPError(405, "method not allowed")
            status, answer = 200, getattr(self, handler)(url.query, body)
        except HTTPError as exc:
            status, answer = exc.status, {"error": exc.message}
        except Exception as exc:
            traceback.print_exc()
            status, answer = 500, {"error": f"internal error: {exc}"}
        self._send_json(status, answer)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch  # noqa: N815

    def _read_body(self):
        """Read exactly Content-Length bytes; errors close the connection."""
        if "Transfer-Encoding" in self.headers:
            self.close_connection = True
            raise HTTPError(411, "Content-Length is required")
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            raise HTTPError(400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            raise HTTPError(413, f"body larger than {MAX_BODY_BYTES} bytes")
        body = self.rfile.read(length)
        if len(body) != length:
            self.close_connection = True
            raise HTTPError(400, "incomplete body")
        return body

    def _send_json(self, status, answer):
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def _ping(self, query, body):
        return self.server.worker.ping()

    def _load(self, query, body):
        return self.server.worker.load(query, body)

    def _execute(self, query, body):
        return self.server.worker.execute(body, (self.server.fileno(), self.connection.fileno()))

    def handle_one_request(self):
        super().handle_one_request()
        self.server.worker.prepare((self.server.fileno(), self.connection.fileno()))


class _ServerMixin:
    """Settings shared by the Unix and TCP servers."""

    request_queue_size = 64

    def handle_error(self, request, client_address):
        """Print the traceback of a failed request, unless the client just went away."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            traceback.print_exc()


class UnixServer(_ServerMixin, socketserver.UnixStreamServer):
    """Single-threaded HTTP server on a Unix socket that anyone may connect to.

    The socket is bound under a temporary name and renamed to its path (replacing
    any stale file) once listening, so a client can connect as soon as it exists.
    """

    def server_bind(self):
        self.socket_path = self.server_address
        self.server_address = f"{self.socket_path}.tmp"
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.server_address)
        super().server_bind()
        os.chmod(self.server_address, 0o666)  # noqa: S103

    def server_activate(self):
        super().server_activate()
        os.rename(self.server_address, self.socket_path)


class InheritedUnixServer(_ServerMixin, socketserver.UnixStreamServer):
    """Single-threaded HTTP server on a listening Unix socket it was given."""

    def __init__(self, fd, handler):
        super().__init__(None, handler, bind_and_activate=False)
        self.socket.close()
        self.socket = socket.socket(fileno=fd)


class TCPServer(_ServerMixin, socketserver.TCPServer):
    """Single-threaded HTTP server on TCP."""

    allow_reuse_address = True


def _parse_args(argv):
    parser = argparse.ArgumentParser(description="qinling-lite runtime server")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix-socket", help="path of the Unix socket to listen on")
    where.add_argument("--host", help="address to listen on (with --port)")
    where.add_argument(
        "--listen-fd", type=int, help="inherited file descriptor of a listening Unix socket"
    )
    parser.add_argument("--port", type=int)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--idle-timeout", type=float, default=2.0)
    parser.add_argument("--max-log-bytes", type=int, default=MIB)
    parser.add_argument(
        "--own-pid-namespace",
        action="store_true",
        help="the server and its executions are alone in their pid namespace (but for its "
        "pid 1): each execution ends by killing every other process in it",
    )
    parser.add_argument(
        "--egress-fd",
        type=int,
        help="inherited file descriptor of the channel to the egress proxy, through which "
        "OpenStack APIs are reached",
    )
    args = parser.parse_args(argv)
    if (args.host is None) != (args.port is None):
        parser.error("--host and --port go together")
    return args


def _become_subreaper():
    """Inherit the orphans of this process's descendants, instead of pid 1."""
    import ctypes  # only here, once

    ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1)


def main(argv=None):
    args = _parse_args(argv)
    if args.egress_fd is not None:
        EGRESS["channel"] = socket.socket(fileno=args.egress_fd)
    os.makedirs(args.workdir, exist_ok=True)
    signal.signal(signal.SIGTERM, _on_sigterm)
    PID_NAMESPACE["own"] = args.own_pid_namespace or os.getpid() == 1
    _become_subreaper()
    if args.listen_fd is not None:
        server = InheritedUnixServer(args.listen_fd, Handler)
    elif args.unix_socket:
        server = UnixServer(args.unix_socket, Handler)
    else:
        server = TCPServer((args.host, args.port), Handler)
    server.worker = Worker(args.workdir, args.max_log_bytes)
    server.idle_timeout = args.idle_timeout
    try:
        server.serve_forever()
    except Terminate:
        pass
    finally:
        server.worker.stop()
        server.server_close()
        if args.unix_socket:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(args.unix_socket)


if __name__ == "__main__":
    main()

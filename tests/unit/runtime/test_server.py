"""Tests of the runtime server, run as a real process and spoken to over a Unix socket."""

import http.client
import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from tests import runtime_server
from tests.packages import make_zip

MIB = 1024 * 1024

HELLO = "def main(name='World', **kwargs):\n    return 'Hello, %s' % name\n"


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP connection over a Unix socket."""

    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


def call(conn, method, path, body=None):
    """Send one request on ``conn``; return (status, decoded JSON answer)."""
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    conn.request(method, path, body=body)
    response = conn.getresponse()
    assert response.getheader("Content-Type") == "application/json"
    data = response.read()
    assert int(response.getheader("Content-Length")) == len(data)
    return response.status, json.loads(data)


def execute_body(execution_id="exec-1", timeout=5, memory_size=64 * MIB, **extra):
    return {
        "execution_id": execution_id,
        "input": {},
        "timeout": timeout,
        "memory_size": memory_size,
        "cpu": 100,
        "context": {},
        **extra,
    }


def is_socket(path):
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except FileNotFoundError:
        return False


class ServerProcess:
    """A running runtime server process and a way to talk to it."""

    def __init__(self, tmp_path, *extra_args, pass_fds=()):
        self.socket_path = str(tmp_path / "w.sock")
        self.workdir = tmp_path / "wd"
        self.stderr_path = tmp_path / "stderr"
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [*runtime_server.command(tmp_path), "--unix-socket", self.socket_path]
                + ["--workdir", str(self.workdir), *extra_args],
                stdin=subprocess.DEVNULL,
                stderr=stderr,
                pass_fds=pass_fds,
            )
        deadline = time.monotonic() + 10
        while not is_socket(self.socket_path):
            assert self.process.poll() is None, "server died"
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    def connection(self):
        return UnixHTTPConnection(self.socket_path)

    def call(self, method, path, body=None):
        conn = self.connection()
        try:
            return call(conn, method, path, body)
        finally:
            conn.close()

    def load(self, files, entry="hello_world.main", function_id="f1", version=0):
        query = f"/load?function_id={function_id}&version={version}&entry={entry}"
        return self.call("POST", query, make_zip(files))

    def execute(self, **kwargs):
        status, answer = self.call("POST", "/execute", execute_body(**kwargs))
        assert status == 200, answer
        return answer

    def children(self):
        pid = self.process.pid
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()

    def spare_child(self):
        """The one child left between executions, forked ahead and waiting (polls)."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            children = self.children()
            states = []
            for child in children:
                with open(f"/proc/{child}/stat") as stat:
                    states.append(stat.read().split(") ")[1][0])
            if states == ["S"]:
                return children[0]
            time.sleep(0.01)
        raise AssertionError(f"children not settled: {children} {states}")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=10)


def loaded(worker, source, module="fn"):
    status, answer = worker.load({f"{module}.py": source}, entry=f"{module}.main")
    assert (status, answer) == (200, {"loaded": True, "error": None})
    return worker


def test_ping_before_and_after_load(worker):
    assert worker.call("GET", "/ping") == (
        200,
        {"status": "ok", "function_id": None, "version": None},
    )
    assert worker.load({"hello_world.py": HELLO}, version=3)[0] == 200
    assert worker.call("GET", "/ping") == (200, {"status": "ok", "function_id": "f1", "version": 3})


def test_hello_world(worker):
    assert worker.load({"hello_world.py": HELLO}) == (200, {"loaded": True, "error": None})
    answer = worker.execute()
    assert answer["success"] is True
    assert answer["output"] == "Hello, World"
    assert isinstance(answer["duration"], float)
    assert answer["logs"] == "Start execution: exec-1\nFinished execution: exec-1\n"
    answer = worker.execute(input={"name": "Qinling"})
    assert (answer["success"], answer["output"]) == (True, "Hello, Qinling")


def test_log_files_are_deleted_and_children_reaped(worker):
    loaded(worker, "import os\ndef main(**kwargs):\n    print('x')\n    return os.getpid()\n")
    pids = set()
    for _ in range(3):
        answer = worker.execute()
        assert answer["success"] is True
        pids.add(answer["output"])
    assert len(pids) == 3, "every execution ran in a fresh process"
    # Only the child forked ahead for the next execution is left, waiting.
    assert worker.spare_child() not in pids
    assert os.listdir(worker.workdir) == ["package"]


def test_reload_same_function_is_noop(worker):
    assert worker.load({"hello_world.py": HELLO})[0] == 200
    assert worker.load({"hello_world.py": HELLO}) == (200, {"loaded": True, "error": None})


def test_load_different_function_conflicts(worker):
    assert worker.load({"hello_world.py": HELLO})[0] == 200
    assert worker.load({"hello_world.py": HELLO}, function_id="f2")[0] == 409
    assert worker.load({"hello_world.py": HELLO}, version=1)[0] == 409


def test_args_are_positional(worker):
    loaded(worker, "def main(value, **kwargs):\n    return [value, sorted(kwargs)]\n")
    answer = worker.execute(args=[[1, 2]], input={"x": 1})
    assert answer["output"] == [[1, 2], ["context", "x"]]


def test_input_keys_are_keywords_whatever_their_names(worker):
    loaded(worker, "def main(*args, **kwargs):\n    return [args, sorted(kwargs)]\n")
    answer = worker.execute(input={"__function_input": "x"})
    assert answer["output"] == [[], ["__function_input", "context"]]


def test_context_is_passed(worker):
    loaded(worker, "def main(context, **kwargs):\n    return context\n")
    answer = worker.execute(
        execution_id="e-7", input={"context": "user value"}, context={"project_id": "p"}
    )
    assert answer["output"] == {"os_session": None, "execution_id": "e-7", "project_id": "p"}


def test_prints_go_to_logs(worker):
    source = (
        "import os, sys\n"
        "def main(**kwargs):\n"
        "    print('to stdout')\n"
        "    print('to stderr', file=sys.stderr)\n"
        "    os.write(1, b'raw fd\\n')\n"
        "    print('no newline', end='')\n"
        "    return 1\n"
    )
    loaded(worker, source)
    logs = worker.execute(execution_id="e1")["logs"]
    assert logs.startswith("Start execution: e1\n")
    assert logs.endswith("no newline\nFinished execution: e1\n")
    for text in ("to stdout\n", "to stderr\n", "raw fd\n"):
        assert text in logs


def test_logs_are_truncated(start_worker):
    worker = loaded(start_worker("--max-log-bytes", "10"), "def main(**kw):\n    print('x' * 50)\n")
    answer = worker.execute(execution_id="e1")
    assert answer["logs"] == (
        "Start execution: e1\nxxxxxxxxxx\n... log truncated ...\nFinished execution: e1\n"
    )


def test_exception_fails_execution(worker):
    loaded(worker, "def main(**kwargs):\n    raise ValueError('bad input')\n")
    answer = worker.execute()
    assert (answer["success"], answer["output"]) == (False, "bad input")


def test_exception_without_message_gives_class_name(worker):
    loaded(worker, "def main(**kwargs):\n    raise KeyboardInterrupt\n")
    assert worker.execute()["output"] == "KeyboardInterrupt"


def test_timeout(worker):
    loaded(worker, "import time\ndef main(**kwargs):\n    time.sleep(30)\n")
    answer = worker.execute(timeout=1)
    assert (answer["success"], answer["output"]) == (False, "Function execution timeout.")
    assert 1 <= answer["duration"] < 30  # cut at its timeout, not after its 30 s sleep
    spare = worker.spare_child()
    assert worker.children() == [spare]
    assert worker.call("GET", "/ping")[0] == 200


def test_timeout_kills_grandchildren(worker):
    source = (
        "import os, time\n"
        "def main(**kwargs):\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        time.sleep(30)\n"
        "    print('grandchild', pid, flush=True)\n"
        "    time.sleep(30)\n"
    )
    loaded(worker, source)
    answer = worker.execute(timeout=0.3)
    assert answer["output"] == "Function execution timeout."
    grandchild = int(answer["logs"].split("grandchild ")[1].split()[0])
    spare = worker.spare_child()
    assert worker.children() == [spare]
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{grandchild}") and time.monotonic() < deadline:
        with open(f"/proc/{grandchild}/stat") as stat:
            if stat.read().split(") ")[1][0] == "Z":
                break
        time.sleep(0.01)
    else:
        assert not os.path.exists(f"/proc/{grandchild}")


def test_memory_limit(worker):
    source = "def main(size, **kwargs):\n    b = bytearray(size)\n    return len(b)\n"
    loaded(worker, source)
    answer = worker.execute(memory_size=32 * MIB, args=[8 * MIB])
    assert (answer["success"], answer["output"]) == (True, 8 * MIB)
    answer = worker.execute(memory_size=32 * MIB, args=[200 * MIB])
    assert answer["success"] is False
    assert answer["output"] == (
        f"Function execution failed: memory limit of {32 * MIB} bytes exceeded."
    )


def test_killed_child_is_resource_failure(worker):
    loaded(worker, "import os\ndef main(**kwargs):\n    os.kill(os.getpid(), 9)\n")
    answer = worker.execute()
    assert answer["success"] is False
    assert answer["output"] == (
        "Function execution failed because of too much resource consumption."
    )


def test_child_exiting_without_result(worker):
    loaded(worker, "import os\ndef main(**kwargs):\n    os._exit(0)\n")
    answer = worker.execute()
    assert (answer["success"], answer["output"]) == (
        False,
        "Function exited without returning a result.",
    )


def test_non_json_result_is_str(worker):
    loaded(worker, "def main(**kwargs):\n    return {1, 2}\n")
    assert worker.execute()["output"] == "{1, 2}"


def test_import_error_is_remembered(worker):
    source = "print('importing')\nimport no_such_module_here\ndef main(**kwargs):\n    pass\n"
    status, answer = worker.load({"fn.py": source}, entry="fn.main")
    assert status == 200
    assert answer["loaded"] is True
    assert "No module named 'no_such_module_here'" in answer["error"]
    result = worker.execute()
    assert result == {
        "success": False,
        "output": answer["error"],
        "duration": 0.0,
        "logs": "importing\n",
    }


def test_missing_function_is_load_error(worker):
    status, answer = worker.load({"hello_world.py": HELLO}, entry="hello_world.nope")
    assert status == 200
    assert "has no attribute 'nope'" in answer["error"]
    assert worker.execute()["success"] is False


def test_syntax_error_is_load_error(worker):
    status, answer = worker.load({"fn.py": "def main(:\n"}, entry="fn.main")
    assert status == 200
    assert "SyntaxError" in answer["error"]


def test_package_in_subdirectory(worker):
    files = {"pkg/__init__.py": "", "pkg/mod.py": "def main(**kwargs):\n    return 'deep'\n"}
    assert worker.load(files, entry="pkg.mod.main") == (200, {"loaded": True, "error": None})
    assert worker.execute()["output"] == "deep"


def test_not_a_zip(worker):
    status, answer = worker.call("POST", "/load?function_id=f&version=1&entry=a.b", b"nope")
    assert status == 400
    assert "error" in answer
    assert worker.call("GET", "/ping")[1]["function_id"] is None


@pytest.mark.parametrize("name", ["../evil.py", "/tmp/evil.py", "a/../../evil.py"])
def test_zip_slip(worker, name):
    assert worker.load({name: "x = 1\n", "hello_world.py": HELLO})[0] == 400
    assert not (worker.workdir / "evil.py").exists()
    assert worker.call("GET", "/ping")[1]["function_id"] is None


@pytest.mark.parametrize(
    "query",
    [
        "function_id=f&version=1",
        "function_id=f&version=x&entry=a.b",
        "version=1&entry=a.b",
        "function_id=f&version=1&entry=main",
    ],
)
def test_bad_load_query(worker, query):
    zip_bytes = make_zip({"hello_world.py": HELLO})
    assert worker.call("POST", f"/load?{query}", zip_bytes)[0] == 400


def test_execute_before_load(worker):
    assert worker.call("POST", "/execute", execute_body())[0] == 409


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        json.dumps({"execution_id": "e"}).encode(),
        json.dumps(execute_body(timeout="1")).encode(),
        json.dumps(execute_body(input=[])).encode(),
        json.dumps(execute_body(memory_size=True)).encode(),
        json.dumps(execute_body(timeout=0)).encode(),
    ],
)
def test_bad_execute_request(worker, body):
    loaded(worker, HELLO)
    assert worker.call("POST", "/execute", body)[0] == 400


def test_unknown_path_and_wrong_method(worker):
    assert worker.call("GET", "/nope") == (404, {"error": "not found"})
    assert worker.call("GET", "/execute")[0] == 405
    assert worker.call("POST", "/ping")[0] == 405


def test_body_too_large(worker):
    conn = worker.connection()
    conn.putrequest("POST", "/load?function_id=f&version=1&entry=a.b")
    conn.putheader("Content-Length", str(64 * MIB + 1))
    conn.endheaders()
    response = conn.getresponse()
    assert response.status == 413
    conn.close()


def test_keep_alive(worker):
    loaded(worker, HELLO)
    conn = worker.connection()
    assert call(conn, "GET", "/ping")[0] == 200
    sock = conn.sock
    assert call(conn, "POST", "/execute", execute_body())[1]["output"] == "Hello, World"
    assert call(conn, "POST", "/execute", execute_body())[1]["output"] == "Hello, World"
    assert conn.sock is sock
    conn.close()


def test_idle_connection_is_dropped(start_worker):
    worker = start_worker("--idle-timeout", "0.3")
    idle = worker.connection()
    assert call(idle, "GET", "/ping")[0] == 200
    # Served within the client's timeout, although the single-threaded server has a
    # connection open that says nothing: it dropped that one.
    assert worker.call("GET", "/ping")[0] == 200
    idle.close()


def test_socket_replaces_stale_file_and_is_world_writable(tmp_path, start_worker):
    (tmp_path / "w.sock").write_text("stale")
    worker = start_worker()
    assert stat.S_IMODE(os.stat(worker.socket_path).st_mode) == 0o666
    assert worker.call("GET", "/ping")[0] == 200


def test_sigterm_exits_cleanly(worker):
    assert worker.call("GET", "/ping")[0] == 200
    assert worker.stop() == 0
    assert not os.path.exists(worker.socket_path)


def test_own_pid_namespace_is_refused_where_other_processes_are_visible(tmp_path):
    """Outside a sandbox, its kill(-1) at the end of an execution would kill every
    process it may signal: the server does not start."""
    result = subprocess.run(
        [*runtime_server.command(tmp_path), "--unix-socket", str(tmp_path / "w.sock")]
        + ["--workdir", str(tmp_path / "wd"), "--own-pid-namespace"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert b"this server is not alone in its pid namespace" in result.stderr
    assert not (tmp_path / "w.sock").exists()

"""What user code sees and may do in a local worker, and how workers start and end."""

import os
import signal
import socket
import subprocess
import sys
import textwrap

import pytest

import qinling_lite
from qinling_lite import config, exceptions, orchestrator
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.local import cgroups, process
from qinling_lite.orchestrator.local import sandbox as local_sandbox
from tests.unit.orchestrator.conftest import (
    MIB,
    SANDBOXES,
    Package,
    payload,
    processes_using,
    spec,
    wait_for,
    worker_pids,
)
from tests.unit.orchestrator.fake_environments import (  # noqa: F401
    IMAGE,
    LIBRARY,
    environment,
    library_probe,
)

PROBE = textwrap.dedent(
    """\
    import os, socket

    def readable(path):
        try:
            with open(path, 'rb'):
                return True
        except OSError:
            return False

    def importable(name):
        try:
            __import__(name)
            return True
        except ImportError:
            return False

    def main(paths, modules, **kwargs):
        with open('/proc/self/status') as status:
            caps = [line.split()[1] for line in status if line.startswith('CapEff')]
        return {
            'uid': os.getuid(),
            'gid': os.getgid(),
            'cap_eff': caps[0],
            'interfaces': [name for _, name in socket.if_nameindex()],
            'readable': {path: readable(path) for path in paths},
            'exists': {path: os.path.exists(path) for path in paths},
            'importable': {name: importable(name) for name in modules},
        }
    """
)


def probe(orch, paths=(), modules=()):
    with orch.worker(spec(entry="probe.main"), Package({"probe.py": PROBE}), wait=5) as worker:
        answer = worker.execute(payload(paths=list(paths), modules=list(modules)), timeout=10)
    assert answer["success"] is True, answer
    return answer["output"]


def is_root():
    return os.geteuid() == 0


def worker_uids(conf):
    """The uids (and gids) workers run as, when the engine runs as root."""
    opts = conf.local_orchestrator
    return range(opts.worker_uid_start, opts.worker_uid_start + opts.worker_uid_count)


@pytest.mark.parametrize("sandbox", [s for s in SANDBOXES if s == "bwrap"], indirect=True)
def test_bwrap_hides_the_host(orch, work_dir, conf):
    secret = os.path.join(work_dir, "secret.conf")
    with open(secret, "w") as file:
        file.write("password")
    control_plane = os.path.dirname(os.path.abspath(qinling_lite.__file__))
    paths = [
        "/etc/hostname",
        "/etc/passwd",
        secret,  # the state directory: config, database, other workers
        os.path.join(control_plane, "config", "__init__.py"),
        os.path.join(sys.prefix, "pyvenv.cfg"),
    ]
    seen = probe(orch, paths, ["qinling_lite", "oslo_config"])
    assert seen["exists"] == dict.fromkeys(paths, False)
    assert seen["importable"] == {"qinling_lite": False, "oslo_config": False}
    if is_root():
        assert seen["uid"] == seen["gid"] and seen["uid"] in worker_uids(conf)
    assert int(seen["cap_eff"], 16) == 0
    assert seen["interfaces"] == ["lo"]


@pytest.mark.parametrize("sandbox", SANDBOXES, indirect=True)
def test_as_root_each_worker_runs_as_a_uid_of_its_own(orch, conf):
    first = spec(function_id="f1", entry="probe.main")
    second = spec(function_id="f2", entry="probe.main")
    uids = []
    for function in (first, second):
        with orch.worker(function, Package({"probe.py": PROBE}), wait=5) as worker:
            answer = worker.execute(payload(paths=[], modules=[]), timeout=10)
        assert answer["success"] is True, answer
        uids.append((answer["output"]["uid"], answer["output"]["gid"]))
    if is_root():
        assert uids[0] != uids[1]
        assert all(uid == gid and uid in worker_uids(conf) for uid, gid in uids)
    elif orch._sandbox.kind == "none":
        assert uids == [(os.getuid(), os.getgid())] * 2


def test_worker_rlimits(orch, conf):
    pid = next(iter(worker_pids(conf.local_orchestrator.work_dir).values()))
    with open(f"/proc/{pid}/limits") as file:
        limits = {line[:26].strip(): line[26:].split()[:2] for line in file}
    address_space = conf.resource_limits.max_memory + local_sandbox.ADDRESS_SPACE_HEADROOM
    assert limits["Max address space"] == [str(address_space)] * 2
    assert limits["Max core file size"] == ["0", "0"]
    assert limits["Max open files"] == [str(local_sandbox.NOFILE)] * 2


def test_workers_die_with_the_control_plane(conf, make_orchestrator):
    """A control plane killed with SIGKILL takes its workers along."""
    opts = conf.local_orchestrator
    options = {name: opts[name] for name in ("sandbox", "python", "work_dir", "pool_size")}
    script = textwrap.dedent(
        f"""
        import os, signal
        from qinling_lite import config, orchestrator
        for name, value in {options!r}.items():
            config.CONF.set_override(name, value, "local_orchestrator")
        orchestrator.load(config.CONF).create_pool("rt", "python3")
        marker = f".{{os.getpid()}}."
        held = sum(marker in top for top, _, _ in os.walk("/sys/fs/cgroup"))
        print(marker, held, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(qinling_lite.__file__)))
    process = subprocess.run(
        [sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True, timeout=60
    )
    assert process.returncode == -signal.SIGKILL
    marker, held = process.stdout.split()
    assert int(held) > 0 or os.geteuid() != 0
    assert wait_for(lambda: processes_using(opts.work_dir) == [])
    # Its cgroups are gone once another orchestrator starts, whatever its work_dir
    # (another test process's orchestrator may have removed them already).
    make_orchestrator()
    assert not [path for path in cgroup_dirs() if marker in path]


def cgroup_dirs():
    """The directories of the orchestrators' cgroups, in every hierarchy."""
    found = []
    for top, _, _ in os.walk("/sys/fs/cgroup"):
        if os.path.basename(top) == cgroups.TOP:
            found += [entry.path for entry in os.scandir(top) if entry.is_dir()]
    return found


def test_bad_interpreter_fails_at_start(config_fixture, make_orchestrator, conf):
    config_fixture.config(group="local_orchestrator", python="/nonexistent/python3")
    with pytest.raises(exceptions.OrchestratorError, match="/nonexistent/python3"):
        make_orchestrator()
    assert processes_using(conf.local_orchestrator.work_dir) == []
    assert os.listdir(conf.local_orchestrator.work_dir) == [".lock"]


@pytest.mark.parametrize("sandbox", ["none"], indirect=True)
def test_bwrap_missing_fails_at_start(config_fixture, monkeypatch, make_orchestrator, tmp_path):
    config_fixture.config(group="local_orchestrator", sandbox="bwrap")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(exceptions.OrchestratorError, match="no bwrap on PATH"):
        make_orchestrator()


@pytest.mark.skipif(os.geteuid() != 0, reason="workers take uids of their own as root only")
@pytest.mark.parametrize("sandbox", ["none"], indirect=True)
def test_root_without_bwrap_says_what_to_install(
    config_fixture, monkeypatch, make_orchestrator, tmp_path
):
    """As root without bubblewrap, an interpreter that the workers' uids cannot run (one
    under a private home, as pyenv's under /root) is refused, with what to do."""
    private = tmp_path / "home"
    private.mkdir(mode=0o700)
    copy = private / "python"
    with open(os.path.realpath(sys.executable), "rb") as interpreter:
        copy.write_bytes(interpreter.read())
    copy.chmod(0o755)
    config_fixture.config(group="local_orchestrator", sandbox="auto", python=str(copy))
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap
    with pytest.raises(exceptions.OrchestratorError) as raised:
        make_orchestrator()
    assert "apt-get install bubblewrap" in str(raised.value)
    assert "[local_orchestrator] python" in str(raised.value)


@pytest.mark.parametrize("sandbox", ["none"], indirect=True)
def test_auto_without_bwrap_falls_back_to_none(
    config_fixture, monkeypatch, make_orchestrator, tmp_path
):
    config_fixture.config(group="local_orchestrator", sandbox="auto")
    monkeypatch.setenv("PATH", str(tmp_path))
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    assert probe(orch)["interfaces"] != []


def test_stale_worker_dirs_are_removed(make_orchestrator, conf):
    root = conf.local_orchestrator.work_dir
    make_orchestrator()
    live = set(os.listdir(root))
    os.makedirs(os.path.join(root, "crashed1", "w0rker00"))
    open(os.path.join(root, "crashed1", ".lock"), "w").close()
    os.makedirs(os.path.join(root, "halfmade"))
    make_orchestrator()
    left = set(os.listdir(root))
    assert live < left
    assert not left & {"crashed1", "halfmade"}


def test_too_long_work_dir_is_refused(config_fixture, work_dir):
    config_fixture.config(group="local_orchestrator", work_dir=os.path.join(work_dir, "x" * 100))
    with pytest.raises(exceptions.OrchestratorError, match="too long"):
        orchestrator.load(config.CONF)


@pytest.mark.skipif(os.geteuid() != 0, reason="workers have cgroups as root only")
def test_a_bound_worker_is_held_to_its_function(orch, conf):
    """Its cgroup: memory_size + the server's + the package, the process cap, its cpu as
    its weight; set before the package is imported."""
    package = Package({"probe.py": PROBE})
    function = base.FunctionSpec("f1", 0, "rt", "probe.main", "m", 300, 48 * MIB, 5)
    with orch.worker(function, package, wait=5) as worker:
        (memory, pids, cpu) = (worker.cgroup._limits[c] for c in ("memory", "pids", "cpu"))
        with open(f"{memory}/memory.limit_in_bytes") as file:
            limit = int(file.read())
        unpacked = process.unpacked_size(package.data)
        page = os.sysconf("SC_PAGE_SIZE")  # the kernel rounds the limit down to pages
        assert limit == (48 * MIB + process.SERVER_MEMORY + unpacked) // page * page
        with open(f"{pids}/pids.max") as file:
            assert int(file.read()) == conf.local_orchestrator.max_processes
        with open(f"{cpu}/cpu.shares") as file:
            assert int(file.read()) == 300 * 1024 // 1000


def _started(monkeypatch, made, tmp_path, library):
    """What ``made`` (a Sandbox) would run for a worker with ``library``: (its argv,
    bubblewrap's arguments read from their pipe, or None)."""
    seen = {"inner": None}

    class Popen:
        def __init__(self, argv, **kwargs):
            seen["argv"] = argv
            if "--args" in argv:
                data = os.read(int(argv[argv.index("--args") + 1]), 1 << 20)
                seen["inner"] = [arg.decode() for arg in data.split(b"\0")[:-1]]

    monkeypatch.setattr(local_sandbox.subprocess, "Popen", Popen)
    with socket.socket(socket.AF_UNIX) as listener:
        launch = local_sandbox.Launch(
            directory=str(tmp_path), listener=listener, log=1, library=library
        )
        made.start(launch, 10)
    return seen["argv"], seen["inner"]


def _server_args(argv):
    """The runtime server's arguments in a worker's argv."""
    return argv[argv.index("-S") + 2 :]


@pytest.mark.parametrize("library", [None, "/srv/env/lib/python3/site-packages"])
def test_bwrap_binds_an_environment_for_its_runtimes_only(monkeypatch, tmp_path, library):
    python = local_sandbox.default_python()
    made = local_sandbox.Sandbox(python, 1 << 30, 64, prefix=["bwrap", "--unshare-pid"])
    argv, inner = _started(monkeypatch, made, tmp_path, library)
    inside = local_sandbox.LIBRARY_INSIDE
    if library is None:
        assert "--library-path" not in _server_args(argv)
        assert inside not in inner
    else:
        assert _server_args(argv)[-2:] == ["--library-path", inside]
        at = inner.index(inside)
        assert inner[at - 2 : at + 1] == ["--ro-bind", library, inside]
        assert inner.count(library) == 1  # nothing else of the environment


@pytest.mark.parametrize("library", [None, "/srv/env/lib/python3/site-packages"])
def test_without_bwrap_the_server_gets_the_host_path(monkeypatch, tmp_path, library):
    made = local_sandbox.Sandbox(local_sandbox.default_python(), 1 << 30, 64)
    argv, inner = _started(monkeypatch, made, tmp_path, library)
    assert inner is None
    expected = [] if library is None else ["--library-path", library]
    assert _server_args(argv)[6:] == expected  # after --listen-fd, --workdir, --idle-timeout


def test_environments_in_sight_of_the_sandbox_are_hidden(tmp_path):
    python = local_sandbox.default_python()
    args = local_sandbox._bwrap_prefix(python, str(tmp_path), False, ["/usr/share/doc"])
    at = args.index("/usr/share/doc")
    assert args[at - 1] == "--tmpfs"
    assert str(tmp_path / "env") not in local_sandbox._bwrap_prefix(
        python, str(tmp_path), False, [str(tmp_path / "env")]
    )  # out of sight anyway


@pytest.mark.parametrize("sandbox", SANDBOXES, indirect=True)
def test_only_runtimes_with_an_environment_import_its_libraries(
    environment,  # noqa: F811
    make_orchestrator,
    sandbox,
):
    orch = make_orchestrator()
    orch.create_pool("rt", "python3")
    orch.create_pool("rt-libs", IMAGE)
    plain, plain_limit = library_probe(orch, "rt")
    assert plain == {"answer": None}
    others = [os.path.join(environment, "pyvenv.cfg"), os.path.join(environment, "bin", "secret")]
    seen, limit = library_probe(orch, "rt-libs", others)
    assert seen["answer"] == 42
    if sandbox == "bwrap":
        assert seen["file"] == f"{local_sandbox.LIBRARY_INSIDE}/{LIBRARY}/__init__.py"
        assert seen["writable"] is False
        assert seen["exists"] == dict.fromkeys(others, False)
    else:
        assert seen["file"].startswith(os.path.realpath(environment) + "/")
    if plain_limit is not None:  # the kernel rounds limits down to pages
        assert abs(limit - plain_limit - process.LIBRARY_MEMORY) < os.sysconf("SC_PAGE_SIZE")


def test_a_broken_environment_fails_at_start(config_fixture, make_orchestrator, conf, work_dir):
    missing = os.path.join(work_dir, "missing")
    config_fixture.config(group="local_orchestrator", runtime_environments={IMAGE: missing})
    with pytest.raises(exceptions.OrchestratorError) as raised:
        make_orchestrator()
    message = str(raised.value)
    assert f"'{missing}' of image '{IMAGE}' does not exist" in message
    assert f"qinling-lite-manage runtime-environment build {missing} --python " in message
    assert processes_using(conf.local_orchestrator.work_dir) == []

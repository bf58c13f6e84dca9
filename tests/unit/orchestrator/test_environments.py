"""Runtime environments: their check at the engine's start, the command that builds them
(``qinling-lite-manage runtime-environment build``, with a fake interpreter: no network)
and the Kubernetes image variant built from the same requirements."""

import os
import pathlib
import re
import subprocess
import sys

import pytest

from qinling_lite import exceptions
from qinling_lite.orchestrator.local import environments
from tests.unit.orchestrator.fake_environments import IMAGE, VERSION, make

ROOT = pathlib.Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "qinling_lite/orchestrator/local" / environments.REQUIREMENTS
MANAGE = [sys.executable, "-m", "qinling_lite.cmd.manage"]
# Logs each call; as ``-m venv DIR`` lays a virtualenv out whose python is itself; exits 1
# for pip when $FAKE_PIP_FAILS is set.
FAKE_PYTHON = f"""#!/bin/sh
printf '%s\\n' "$0 $*" >> "$FAKE_PYTHON_LOG"
if [ "$1 $2" = "-m venv" ]; then
    mkdir -p "$3/bin" "$3/lib/python{VERSION}/site-packages"
    touch "$3/pyvenv.cfg"
    ln -sf "$0" "$3/bin/python"
elif [ "$1 $2" = "-m pip" ] && [ -n "$FAKE_PIP_FAILS" ]; then
    exit 1
elif [ "$1" = "-I" ]; then
    echo {VERSION}
fi
"""


def test_check_gives_the_site_packages_of_each_environment(tmp_path):
    site = make(str(tmp_path / "env"))
    (tmp_path / "link").symlink_to(tmp_path / "env")
    found = environments.check(
        {IMAGE: str(tmp_path / "link"), "other": str(tmp_path / "env")}, "python3", VERSION
    )
    assert found == {IMAGE: os.path.realpath(site), "other": os.path.realpath(site)}
    assert environments.check({}, "python3", VERSION) == {}


@pytest.mark.parametrize(
    ("directory", "problem"),
    [
        ("relative/env", "is not an absolute path"),
        ("{tmp}/missing", "does not exist"),
        ("{tmp}/env", "has no lib/python2.7/site-packages: it is no virtualenv of the "
         "workers' interpreter /opt/python2.7 (Python 2.7)"),
    ],
)  # fmt: skip
def test_check_says_what_is_wrong_and_how_to_build(tmp_path, directory, problem):
    make(str(tmp_path / "env"))
    directory = directory.format(tmp=tmp_path)
    with pytest.raises(exceptions.OrchestratorError) as raised:
        environments.check({IMAGE: directory}, "/opt/python2.7", "2.7")
    assert str(raised.value) == (
        f"[local_orchestrator] runtime_environments: the environment {directory!r} of image "
        f"{IMAGE!r} {problem}. Build it with: qinling-lite-manage runtime-environment build "
        f"{directory} --python /opt/python2.7"
    )


@pytest.fixture
def fake_python(tmp_path, monkeypatch):
    python = tmp_path / "bin" / "fake-python"
    python.parent.mkdir()
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    monkeypatch.setenv("FAKE_PYTHON_LOG", str(tmp_path / "calls.log"))
    return python


def manage(tmp_path, *args, config=""):
    """Run qinling-lite-manage with ``config`` as its only configuration."""
    conf = tmp_path / "qinling-lite.conf"
    conf.write_text(config)
    return subprocess.run(
        [*MANAGE, "--config-file", str(conf), "runtime-environment", "build", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def calls(tmp_path):
    log = tmp_path / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_build_installs_the_packaged_requirements(tmp_path, fake_python):
    env = tmp_path / "openstack"
    done = manage(tmp_path, str(env), "--python", str(fake_python))
    assert done.returncode == 0, done.stderr
    assert calls(tmp_path) == [
        f"{fake_python} -m venv {env}",
        f"{env}/bin/python -m pip install --disable-pip-version-check -r {REQUIREMENTS}",
        f"{fake_python} -I -c {environments._VERSION}",
    ]
    lines = done.stdout.splitlines()
    assert lines[-2:] == ["[local_orchestrator]", f"runtime_environments = openstack:{env}"]
    assert lines[0].startswith(f"# Built with {fake_python}.")


def test_build_takes_requirements_and_the_configured_python(tmp_path, fake_python):
    requirements = tmp_path / "mine.txt"
    requirements.write_text("python-swiftclient\n")
    env = tmp_path / "mine"
    config = f"[local_orchestrator]\npython = {fake_python}\n"
    done = manage(tmp_path, str(env), "--requirements", str(requirements), config=config)
    assert done.returncode == 0, done.stderr
    assert calls(tmp_path)[:2] == [
        f"{fake_python} -m venv {env}",
        f"{env}/bin/python -m pip install --disable-pip-version-check -r {requirements}",
    ]
    again = manage(tmp_path, str(env), "--python", str(fake_python))  # a venv: installed into
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["{tmp}/full"], "{tmp}/full is neither empty nor a virtualenv: choose a new directory."),
        (["{tmp}/file"], "{tmp}/file exists and is not a directory."),
        (["{tmp}/env", "--requirements", "{tmp}/no.txt"], "No requirements file {tmp}/no.txt."),
        (["{tmp}/env", "--python", "no-such-python"], "No interpreter 'no-such-python': give a "
         "path or a name on PATH."),
        (["{tmp}/env", "--pip-fails"], "pip install failed (exit code 1), see above."),
    ],
)  # fmt: skip
def test_build_refuses(tmp_path, fake_python, monkeypatch, args, error):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "data").write_text("")
    (tmp_path / "file").write_text("")
    if "--pip-fails" in args:
        args.remove("--pip-fails")
        monkeypatch.setenv("FAKE_PIP_FAILS", "1")
    args = [arg.format(tmp=tmp_path) for arg in args]
    if "--python" not in args:
        args += ["--python", str(fake_python)]
    done = manage(tmp_path, *args)
    assert done.returncode == 1
    message = "qinling-lite-manage runtime-environment build: " + error.format(tmp=tmp_path)
    assert done.stderr.splitlines()[-1] == message
    assert done.stdout == ""
    if "pip" not in error:
        assert calls(tmp_path) == []


def test_build_needs_a_directory(tmp_path):
    done = manage(tmp_path)
    assert done.returncode == 2
    assert "directory" in done.stderr


def test_the_packaged_requirements_are_the_openstack_clients():
    names = [
        re.match(r"[A-Za-z0-9_.-]+", line).group(0)
        for line in REQUIREMENTS.read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert names == ["python-swiftclient", "keystoneauth1", "openstacksdk"]
    with environments.default_requirements() as path:
        assert pathlib.Path(path).read_text() == REQUIREMENTS.read_text()


def test_the_openstack_image_installs_the_same_requirements():
    """``docker build --target openstack``: the packaged requirements in a directory that
    the runtime server is told of; the default target stays the standard library only."""
    dockerfile = (ROOT / "runtimes/python/Dockerfile").read_text()
    stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
    names = [re.match(r"\S+(?: AS (\S+))?", stage).group(1) for stage in stages]
    assert "openstack" in names and names[-1] == "stdlib"
    openstack = stages[names.index("openstack")]
    libraries = stages[names.index(re.search(r"--from=(\S+)", openstack).group(1))]
    libraries = re.sub(r"\\\n\s*", " ", libraries)  # continued lines as one
    source = REQUIREMENTS.relative_to(ROOT)
    assert re.search(rf"^COPY {source} \S+/requirements.txt$", libraries, re.M)
    target = "--target /opt/qinling-lite/site-packages -r /build/requirements.txt"
    assert re.search(rf"pip install .*{re.escape(target)}$", libraries, re.M)
    entry = (
        'ENTRYPOINT ["python3", "-I", "-S", "/opt/qinling-lite/runtime.pyz", '
        '"--library-path", "/opt/qinling-lite/site-packages"]'
    )
    assert re.search(rf"^{re.escape(entry)}$", openstack, re.M)
    assert "--library-path" not in stages[-1]

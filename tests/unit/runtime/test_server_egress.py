"""The runtime server with a runtime's libraries (``--library-path``) and an egress channel
(``--egress-fd``): what functions import, and how their HTTP gets out."""

import sysconfig

import pytest

from tests.unit.runtime.test_os_session import worker_credentials
from tests.unit.runtime.test_server import loaded

PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "NO_PROXY", "no_proxy")


@pytest.fixture
def library(tmp_path):
    """A site directory: a module, a .pth file naming a directory of more, and modules
    named as a standard one and as the server's own package."""
    directory = tmp_path / "site-packages"
    (directory / "extra").mkdir(parents=True)
    (directory / "qinling_runtime").mkdir()
    (directory / "libmod.py").write_text("WHERE = 'library'\n")
    (directory / "shared.py").write_text("WHERE = 'library'\n")
    (directory / "extra" / "extramod.py").write_text("WHERE = 'extra'\n")
    (directory / "more.pth").write_text("# a comment\nextra\n")
    (directory / "json.py").write_text("raise ImportError('shadowed')\n")
    (directory / "qinling_runtime" / "__init__.py").write_text("raise ImportError('shadowed')\n")
    return directory


LIBRARY_USER = """
import json, sys
import extramod, libmod, shared

def main(**kwargs):
    return {
        "modules": [libmod.WHERE, extramod.WHERE, shared.WHERE],
        "json": json.__file__.startswith(sys.path[-2]),
        "first": sys.path[0].endswith("/package"),
        "last": [p.rsplit("/", 1)[-1] for p in sys.path[-2:]],
    }
"""


def test_libraries_come_last_and_their_pth_files_count(start_worker, library):
    worker = start_worker("--library-path", str(library))
    status, answer = worker.load(
        {"fn.py": LIBRARY_USER, "shared.py": "WHERE = 'package'\n"}, "fn.main"
    )
    assert (status, answer) == (200, {"loaded": True, "error": None})
    assert worker.execute()["output"] == {
        "modules": ["library", "extra", "package"],  # the package's own module first
        "json": False,  # the standard library's
        "first": True,
        "last": ["site-packages", "extra"],
    }


def test_a_library_path_must_be_a_directory(tmp_path):
    from tests.unit.runtime.test_server import ServerProcess

    with pytest.raises(AssertionError, match="server died"):
        ServerProcess(tmp_path, "--library-path", str(tmp_path / "none"))
    assert b"--library-path" in (tmp_path / "stderr").read_bytes()


HTTP_USER = f"""
import os, urllib.error, urllib.request

def main(url, **kwargs):
    settings = {{name: os.environ.get(name) for name in {PROXY_NAMES!r}}}
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return [settings, response.status, response.read().decode()]
    except urllib.error.HTTPError as error:
        return [settings, error.code, error.read().decode()]
"""


def test_functions_reach_the_channel_through_the_proxy_settings(start_worker, egress, monkeypatch):
    monkeypatch.setenv("NO_PROXY", "swift.example")  # the server's environment drops it
    fd = egress.worker_end.fileno()
    worker = loaded(start_worker("--egress-fd", str(fd), pass_fds=[fd]), HTTP_USER)
    settings, status, body = worker.execute(args=["http://swift.example:8080/v1/x"])["output"]
    proxy = settings["HTTP_PROXY"]
    assert proxy.startswith("http://127.0.0.1:")
    assert settings == {**dict.fromkeys(PROXY_NAMES[:4], proxy), "NO_PROXY": None, "no_proxy": None}
    assert (status, '"path": "/v1/x"' in body) == (200, True)
    # Anything else: the egress proxy refuses it, the function gets its refusal.
    for url in ("http://swift.example:22/", "http://127.0.0.1:1/", f"{proxy}/"):
        settings, status, body = worker.execute(args=[url])["output"]
        assert (status, "refused: 403 Forbidden" in body) == (403, True), url
    assert egress.requests == [
        "CONNECT swift.example:8080", "CONNECT swift.example:22", "CONNECT 127.0.0.1:1",
        f"CONNECT {proxy.removeprefix('http://')}",
    ]  # fmt: skip


SESSION_USER = """
import sys

def main(context, call=False, **kwargs):
    session = context["os_session"]
    answer = {
        "preloaded": "keystoneauth1.session" in sys.modules,
        "session": session and f"{type(session).__module__}.{type(session).__name__}",
    }
    if call:
        seen = session.get("/c", endpoint_filter={"service_type": "object-store"}).json()
        answer["seen"] = [seen["path"], seen["headers"]["x-auth-token"]]
    return answer
"""


def test_os_session_is_keystoneauth_from_the_libraries(start_worker, egress):
    pytest.importorskip("keystoneauth1")
    fd = egress.worker_end.fileno()
    purelib = sysconfig.get_paths()["purelib"]  # this venv's, which holds keystoneauth1
    worker = start_worker("--library-path", purelib, "--egress-fd", str(fd), pass_fds=[fd])
    loaded(worker, SESSION_USER)
    # keystoneauth1 is not imported until credentials come.
    assert worker.execute()["output"] == {"preloaded": False, "session": None}
    context = {"os_auth": worker_credentials()}
    answer = worker.execute(context=context, input={"call": True}, timeout=30)
    assert answer["output"] == {
        "preloaded": True,  # built in the child
        "session": "keystoneauth1.session.Session",
        "seen": ["/v1/AUTH_project-1/c", "trust-scoped-token"],
    }
    # Then the warm server imports it once, for the next children.
    assert worker.execute()["output"] == {"preloaded": True, "session": None}
    assert worker.execute(context=context)["output"]["session"] == "keystoneauth1.session.Session"


def test_without_the_library_os_session_is_the_stdlib_one(start_worker, egress):
    fd = egress.worker_end.fileno()
    worker = loaded(start_worker("--egress-fd", str(fd), pass_fds=[fd]), SESSION_USER)
    answer = worker.execute(context={"os_auth": worker_credentials()}, input={"call": True})
    assert answer["output"] == {
        "preloaded": False,
        "session": "qinling_runtime.os_session.OpenStackSession",
        "seen": ["/v1/AUTH_project-1/c", "trust-scoped-token"],
    }
    assert worker.execute()["output"] == {"preloaded": False, "session": None}

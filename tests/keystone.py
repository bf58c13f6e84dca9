"""A real Keystone (PyPI, SQLite + fernet) served by gunicorn on 127.0.0.1, for tests.

Keystone lives in a venv of its own (``install(directory)``) and runs only as subprocesses of
that venv. ``Keystone(venv)`` is a context manager: the first one in a process builds a "golden"
database and key set (``db_sync``, key setup, ``bootstrap``, then the users and projects in
``USERS``); every start copies it into a fresh directory, points the catalog at a free port and
starts gunicorn. Tokens work across copies, as they share the fernet keys.

Server machinery is stdlib only; ``token`` and provisioning import keystoneauth1/keystoneclient
from the calling interpreter (they come with keystonemiddleware).
"""

import atexit
import json
import os
import pathlib
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

from tests import venvs

PACKAGES = ("keystone==30.0.0", "keystonemiddleware", "gunicorn")
# user -> (project, role); each password is "<user>-secret".
USERS = {
    "admin": ("admin", "admin"),
    "demo": ("demo", "member"),
    "other": ("other", "member"),
    "qinling": ("service", "service"),
    "swift": ("service", "service"),  # the Swift proxy's authtoken user (tests.swift)
    "aodh": ("service", "service"),  # trustee of alarms, as Aodh's trust+ actions use
}
FOREIGN = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
CONF = """[DEFAULT]
log_file = {d}/keystone.log
[database]
connection = sqlite:///{d}/keystone.db
[identity]
password_hash_rounds = 4
[token]
provider = fernet
[fernet_tokens]
key_repository = {d}/fernet-keys
[fernet_receipts]
key_repository = {d}/fernet-keys
[credential]
key_repository = {d}/credential-keys
"""
# Keystone's oslo.config parses sys.argv on import: hide gunicorn's arguments from it.
SHIM = """import os, sys
os.environ.setdefault("OS_KEYSTONE_CONFIG_DIR", os.path.dirname(os.path.abspath(__file__)))
_argv, sys.argv = sys.argv, sys.argv[:1]
try:
    from keystone.wsgi.api import application  # noqa: F401
finally:
    sys.argv = _argv
"""
# keystone-manage db_sync, fernet_setup, credential_setup and bootstrap in one process: each
# keystone-manage run spends ~1.5 s of CPU importing Keystone.
MANAGE = """import os, sys
from keystone.cmd import cli
from keystone.conf import CONF
owner = ["--keystone-user", str(os.getuid()), "--keystone-group", str(os.getgid())]
url = "http://127.0.0.1:5000/v3"  # rewritten in every copy
boot = ["--bootstrap-password", "admin-secret", "--bootstrap-username", "admin",
        "--bootstrap-project-name", "admin", "--bootstrap-role-name", "admin",
        "--bootstrap-region-id", "RegionOne", "--bootstrap-admin-url", url,
        "--bootstrap-internal-url", url, "--bootstrap-public-url", url]
for args in (["db_sync"], ["fernet_setup", *owner], ["credential_setup", *owner],
             ["bootstrap", *boot]):
    CONF.clear()
    cli.main(argv=["keystone-manage", "--config-file", sys.argv[1], *args])
"""
_golden = {}  # venv -> golden directory, built once per process


class KeystoneError(AssertionError):
    pass


def _env(directory=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k not in FOREIGN}
    env["PYTHONWARNINGS"] = "ignore"  # eventlet's deprecation banner
    if directory:
        env["OS_KEYSTONE_CONFIG_DIR"] = str(directory)
    return env


def _run(command, what, timeout=600, log=None):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=_env())
    if done.returncode != 0:
        tail = (
            pathlib.Path(log).read_text(errors="replace")[-4000:]
            if log and os.path.exists(log)
            else ""
        )
        raise KeystoneError(
            f"{what} failed (rc {done.returncode}):\n{done.stdout}\n{done.stderr}\n{tail}"
        )


def venv_directory(config, tmp_path_factory):
    """``$QINLING_LITE_KEYSTONE_VENV``, else a directory in pytest's cache (or a tmp dir)."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return venvs.directory(
        config,
        tmp_path_factory,
        "QINLING_LITE_KEYSTONE_VENV",
        "keystone",
        f"keystone-30.0.0-{version}",
    )


def _check(directory):
    _run([os.path.join(directory, "bin", "keystone-manage"), "--version"], "keystone")


def install(directory):
    """Build the venv at ``directory`` unless complete (``tests.venvs``); return its path."""
    return venvs.install(directory, PACKAGES, _env(), _check)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _prepare(directory, golden=None):
    """Write config and shim into ``directory``; copy ``golden``'s DB and keys there."""
    os.makedirs(directory, exist_ok=True)
    pathlib.Path(directory, "keystone.conf").write_text(CONF.format(d=directory))
    pathlib.Path(directory, "ks_wsgi.py").write_text(SHIM)
    if golden:
        for keys in ("fernet-keys", "credential-keys"):
            shutil.copytree(os.path.join(golden, keys), os.path.join(directory, keys))
        shutil.copy(os.path.join(golden, "keystone.db"), directory)


def build_golden(venv):
    """The golden directory for ``venv``: DB with ``USERS``, keys, ``ids.json``. Cached."""
    if venv in _golden:
        return _golden[venv]
    base = tempfile.mkdtemp(prefix="keystone-golden-")
    atexit.register(shutil.rmtree, base, True)
    _prepare(base)
    pathlib.Path(base, "manage.py").write_text(MANAGE)
    python = os.path.join(venv, "bin", "python")
    command = [python, f"{base}/manage.py", f"{base}/keystone.conf"]
    _run(command, "keystone-manage", timeout=300, log=f"{base}/keystone.log")
    _golden[venv] = base  # provisional, so the server below can start from it
    try:
        with Keystone(venv) as ks:
            ids = _provision(ks)
            ks.stop()
            shutil.copy(os.path.join(ks.dir, "keystone.db"), base)
    except BaseException:
        del _golden[venv]
        raise
    pathlib.Path(base, "ids.json").write_text(json.dumps(ids))
    return base


def _provision(ks):
    from keystoneclient.v3 import client

    kc = client.Client(session=ks.session("admin"))
    ids = {"projects": {"admin": kc.projects.find(name="admin").id}, "users": {}}
    roles = {r.name: r for r in kc.roles.list()}
    for user, (project, role) in USERS.items():
        if project not in ids["projects"]:
            ids["projects"][project] = kc.projects.create(project, "default").id
        if user == "admin":
            ids["users"][user] = kc.users.find(name="admin").id
            continue
        made = kc.users.create(
            user,
            domain="default",
            password=f"{user}-secret",
            default_project=ids["projects"][project],
        )
        kc.roles.grant(roles[role], user=made, project=ids["projects"][project])
        ids["users"][user] = made.id
    return ids


class Keystone:
    """A Keystone server from the golden copy; ``.url`` is ``http://127.0.0.1:PORT/v3``."""

    def __init__(self, venv, ready_timeout=60):
        self.venv = venv
        self.ready_timeout = ready_timeout
        self.proc = None
        self.dir = None
        self.ids = {}

    def __enter__(self):
        golden = build_golden(self.venv)
        self.dir = tempfile.mkdtemp(prefix="keystone-")
        try:
            _prepare(self.dir, golden)
            if os.path.exists(os.path.join(golden, "ids.json")):
                self.ids = json.loads(pathlib.Path(golden, "ids.json").read_text())
            for attempt in range(3):  # another process may take the free port first
                self.port = _free_port()
                self.url = f"http://127.0.0.1:{self.port}/v3"
                with sqlite3.connect(os.path.join(self.dir, "keystone.db")) as db:
                    db.execute("UPDATE endpoint SET url = ?", (self.url,))
                db.close()
                try:
                    self._start()
                    break
                except KeystoneError as error:
                    if attempt == 2 or "Address already in use" not in str(error):
                        raise
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def _start(self):
        gunicorn = [os.path.join(self.venv, "bin", "gunicorn"), "--no-control-socket", "-w", "1"]
        gunicorn += ["--threads", "4", "-b", f"127.0.0.1:{self.port}", "--chdir", self.dir]
        gunicorn += ["--graceful-timeout", "1"]  # open keep-alive connections delay a stop
        with open(os.path.join(self.dir, "gunicorn.log"), "wb") as log:
            self.proc = subprocess.Popen(
                [*gunicorn, "ks_wsgi:application"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(self.dir),
                start_new_session=True,
            )
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise KeystoneError(f"gunicorn exited (rc {self.proc.returncode}):\n{self.logs()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise KeystoneError(f"Keystone not ready after {self.ready_timeout} s:\n{self.logs()}")

    def stop(self):
        """SIGTERM the gunicorn master and wait; SIGKILL its group if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def logs(self):
        text = ""
        for name in ("gunicorn.log", "keystone.log"):
            path = pathlib.Path(self.dir, name)
            if path.exists():
                text += f"--- {name}\n{path.read_text(errors='replace')[-4000:]}\n"
        return text

    def credentials(self, user):
        """Keyword arguments for ``keystoneauth1.identity.v3.Password`` (project-scoped)."""
        return {
            "auth_url": self.url,
            "username": user,
            "password": f"{user}-secret",
            "project_name": USERS[user][0],
            "user_domain_id": "default",
            "project_domain_id": "default",
        }

    def cli_auth(self, user):
        """``openstack`` arguments that log in as ``user`` (project-scoped)."""
        c = self.credentials(user)
        return [
            *("--os-auth-type", "password", "--os-identity-api-version", "3"),
            *("--os-auth-url", c["auth_url"], "--os-username", c["username"]),
            *("--os-password", c["password"], "--os-project-name", c["project_name"]),
            *("--os-user-domain-id", "default", "--os-project-domain-id", "default"),
        ]

    def session(self, user):
        """A new keystoneauth1 session of ``user`` (project-scoped).

        It logs in at its first request, so its token's catalog is the catalog of that moment:
        a session (or ``token``) made after a service registered its endpoints (e.g. a
        ``tests.swift.Swift`` started) has them; one that had logged in before does not.
        """
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        return session.Session(auth=v3.Password(**self.credentials(user)))

    def trust_session(self, trustor, trustee):
        """``(trust id, session)``: a trust from ``trustor`` to ``trustee`` (impersonation,
        member of the trustor's project), and ``trustee``'s session scoped to it."""
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        from keystoneclient.v3 import client

        trust = client.Client(session=self.session(trustor)).trusts.create(
            trustor_user=self.user_id(trustor),
            trustee_user=self.user_id(trustee),
            project=self.project_id(USERS[trustor][0]),
            role_names=["member"],
            impersonation=True,
        )
        login = self.credentials(trustee)
        del login["project_name"], login["project_domain_id"]
        return trust.id, session.Session(auth=v3.Password(trust_id=trust.id, **login))

    def token(self, user):
        """A fresh project-scoped token for ``user`` (a new login: its catalog is the current
        one, see ``session``)."""
        return self.session(user).get_token()

    def project_id(self, name):
        return self.ids["projects"][name]

    def user_id(self, name):
        return self.ids["users"][name]

    def authtoken_options(self, user="qinling", **overrides):
        """Paste-style options for ``keystonemiddleware.auth_token.filter_factory``, with
        ``user`` (of ``USERS``, role ``service``) as the service user."""
        c = self.credentials(user)
        options = {
            "www_authenticate_uri": self.url,
            "auth_url": self.url,
            "auth_type": "password",
            "username": c["username"],
            "password": c["password"],
            "project_name": c["project_name"],
            "user_domain_id": "default",
            "project_domain_id": "default",
            "token_cache_time": "-1",
            "delay_auth_decision": "false",
        }
        options.update(overrides)
        return options

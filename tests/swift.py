"""A real OpenStack Swift (PyPI) on 127.0.0.1 that authenticates with the Keystone fixture.

Swift lives in a venv of its own (``install(directory)``) and runs as ONE process of that venv:
the account, container, object and proxy WSGI apps on one eventlet hub, one replica, storage in
a plain directory. ``Swift(venv, keystone)`` is a context manager: it writes the configs into a
fresh temporary directory and starts the process, which binds its four sockets on free ports of
127.0.0.1 first (chosen by the kernel: no race with other fixtures), then builds the rings
(``RingBuilder``) for those ports and serves. Meanwhile the ``object-store`` endpoints of the
proxy are registered in the Keystone fixture's catalog (RegionOne). The start returns once an
authenticated HEAD of the ``demo`` account answers.

The proxy's pipeline has ``authtoken`` (service user ``swift``, no token cache, delayed auth
decision) and ``keystoneauth`` (``operator_roles = admin, member``), like a real deployment.
Swift logs to ``swift.log`` in its directory (no syslog), see ``logs()``.

The helpers (``request``, ``put_container``, ...) use keystoneauth1 from the calling interpreter
(no python-swiftclient needed): a user name means that user's session from the Keystone fixture,
made after the endpoints were registered so that its catalog has them; any keystoneauth1
session (e.g. one with a trust-scoped ``AccessInfoPlugin``) can be given instead.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

from tests import venvs

VERSION = "2.38.3"
PACKAGES = (f"swift=={VERSION}", "keystonemiddleware")
FOREIGN = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
REGION = "RegionOne"
INTERFACES = ("public", "internal", "admin")
SERVERS = ("account", "container", "object", "proxy")

SWIFT_CONF = """[swift-hash]
swift_hash_path_prefix = qinling-lite-test
swift_hash_path_suffix = qinling-lite-test
[storage-policy:0]
name = Policy-0
default = yes
"""
DEFAULT = """[DEFAULT]
bind_ip = 127.0.0.1
workers = 0
swift_dir = {d}/etc
devices = {d}/srv/node
mount_check = false
log_name = {name}
"""
BACKEND = """[pipeline:main]
pipeline = {name}-server
[app:{name}-server]
use = egg:swift#{name}
"""
PROXY = """[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats authtoken
    keystoneauth copy dlo slo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
{authtoken}
[filter:keystoneauth]
use = egg:swift#keystoneauth
operator_roles = admin, member
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:dlo]
use = egg:swift#dlo
[filter:slo]
use = egg:swift#slo
"""
# The one process: ``python inproc.py DIR``. It writes DIR/ports.json as soon as its sockets
# are bound, then builds the rings and serves the four apps.
INPROC = """import eventlet
eventlet.monkey_patch(all=False, socket=True, select=True, thread=True, time=True)
import json, logging, os, sys, time
import eventlet.wsgi

base = os.path.abspath(sys.argv[1])
etc = os.path.join(base, "etc")
os.environ["TZ"] = "UTC+0"  # as swift.common.wsgi.run_server does
time.tzset()
socks, ports = {}, {}
for name in ("account", "container", "object", "proxy"):
    socks[name] = eventlet.listen(("127.0.0.1", 0))
    ports[name] = socks[name].getsockname()[1]
with open(os.path.join(base, "ports.json.tmp"), "w") as f:
    json.dump(ports, f)
os.rename(os.path.join(base, "ports.json.tmp"), os.path.join(base, "ports.json"))

from swift.common.utils import logs


class FileLog(logging.FileHandler):  # Swift's loggers would go to syslog, else UDP
    def __init__(self, address=None, facility=None, **kwargs):
        super().__init__(os.path.join(base, "swift.log"))


logs.ThreadSafeSysLogHandler = FileLog
logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # keystonemiddleware & co
# "The option ... is not known": the [DEFAULT] and auth plugin options, as in any deployment
logging.getLogger("keystonemiddleware._common.config").setLevel(logging.ERROR)

from swift.common import constraints, utils, wsgi
from swift.common.http_protocol import SwiftHttpProtocol
from swift.common.ring import RingBuilder

for name in ("object", "container", "account"):
    builder = RingBuilder(6, 1, 1)  # part power 6, 1 replica, min_part_hours 1
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": ports[name],
                     "device": "sdb1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save(os.path.join(etc, name + ".ring.gz"))
utils.set_swift_dir(etc)
pool = eventlet.GreenPool()
for name, sock in socks.items():
    path = os.path.join(etc, name + "-server.conf")
    app = wsgi.loadapp(path, global_conf={"log_name": name},
                       allow_modify_pipeline=(name == "proxy"))
    pool.spawn(eventlet.wsgi.server, sock, app, wsgi.NullLogger(), protocol=SwiftHttpProtocol,
               custom_pool=eventlet.GreenPool(1024), capitalize_response_headers=False,
               url_length_limit=constraints.MAX_REQUEST_LINE, socket_timeout=60)
print("serving", ports, flush=True)
pool.waitall()
"""


class SwiftError(AssertionError):
    pass


def _env():
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_") and k not in FOREIGN}
    env["PYTHONWARNINGS"] = "ignore"  # eventlet's deprecation banner
    return env


def venv_directory(config, tmp_path_factory):
    """``$QINLING_LITE_SWIFT_VENV``, else a directory in pytest's cache (or a tmp dir)."""
    version = f"py{sys.version_info.major}{sys.version_info.minor}"
    return venvs.directory(
        config, tmp_path_factory, "QINLING_LITE_SWIFT_VENV", "swift", f"swift-{VERSION}-{version}"
    )


def _check(directory):
    python = os.path.join(directory, "bin", "python")
    probe = "import swift.proxy.server, swift.common.ring, keystonemiddleware.auth_token"
    venvs.run([python, "-c", probe], _env(), "import swift")


def install(directory):
    """Build the venv at ``directory`` unless complete (``tests.venvs``); return its path."""
    return venvs.install(directory, PACKAGES, _env(), _check)


class Swift:
    """A Swift proxy (and its backends) on 127.0.0.1; ``.url`` is ``http://127.0.0.1:PORT``.

    Starting points the ``object-store`` service's public/internal/admin endpoints (RegionOne)
    of ``keystone``'s catalog at ``{url}/v1/AUTH_%(tenant_id)s``, making them if missing;
    stopping gives them back to the Swift running before (else deletes them). So several
    Swifts can share one Keystone: the last one started is in the catalog, the others answer
    on their ``account_url`` (stop them in the reverse order of their starts). Tokens issued
    before a start have the old catalog in them: use a fresh ``keystone.session(user)`` (or
    ``session`` here) after it.
    """

    def __init__(self, venv, keystone, ready_timeout=60):
        self.venv = venv
        self.keystone = keystone
        self.ready_timeout = ready_timeout
        self.proc = None
        self.dir = None
        self.url = None
        self._endpoint = None
        self.ports = {}
        self.endpoints = []  # ids of the endpoints this one points at itself
        self._kc = None  # keystoneclient of admin
        self._service = None
        self._previous = {}  # interface -> the endpoint as it was before this start
        self._sessions = {}

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="swift-")
        try:
            self._write_configs()
            self._start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc):
        try:
            self.stop()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    def _write_configs(self):
        d = self.dir
        os.makedirs(os.path.join(d, "etc"))
        os.makedirs(os.path.join(d, "srv", "node", "sdb1"))
        pathlib.Path(d, "etc", "swift.conf").write_text(SWIFT_CONF)
        for name in SERVERS:
            text = DEFAULT.format(d=d, name=name)
            if name == "proxy":
                options = self.keystone.authtoken_options(
                    user="swift", delay_auth_decision="true", token_cache_time="-1"
                )
                authtoken = "\n".join(f"{k} = {v}" for k, v in options.items())
                text += PROXY.format(authtoken=authtoken)
            else:
                text += BACKEND.format(name=name)
            pathlib.Path(d, "etc", f"{name}-server.conf").write_text(text)
        pathlib.Path(d, "inproc.py").write_text(INPROC)

    def _start(self):
        python = os.path.join(self.venv, "bin", "python")
        with open(os.path.join(self.dir, "server.log"), "wb") as log:
            self.proc = subprocess.Popen(
                [python, os.path.join(self.dir, "inproc.py"), self.dir],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=_env(),
                cwd=self.dir,
                start_new_session=True,
            )
        deadline = time.monotonic() + self.ready_timeout
        self._catalog_before()  # while the process starts
        ports = pathlib.Path(self.dir, "ports.json")
        while not ports.exists():
            self._alive(deadline)
            time.sleep(0.02)
        self.ports = json.loads(ports.read_text())
        self.url = f"http://127.0.0.1:{self.ports['proxy']}"
        self._endpoint = f"{self.url}/v1/AUTH_%(tenant_id)s"
        self._register()  # while it imports Swift
        from keystoneauth1 import exceptions

        while True:  # the proxy's socket is bound: a request waits until it serves
            self._alive(deadline)
            try:
                response = self.request("demo", "HEAD", timeout=max(1, deadline - time.monotonic()))
            except exceptions.ConnectionError:
                time.sleep(0.05)
                continue
            if 200 <= response.status_code < 300:
                return
            raise SwiftError(f"HEAD of demo's account: {response.status_code}\n{self.logs()}")

    def _alive(self, deadline):
        if self.proc.poll() is not None:
            raise SwiftError(f"Swift exited (rc {self.proc.returncode}):\n{self.logs()}")
        if time.monotonic() > deadline:
            raise SwiftError(f"Swift not ready after {self.ready_timeout} s:\n{self.logs()}")

    def _catalog_before(self):
        """Log in as admin; find (or make) the ``object-store`` service and its endpoints."""
        from keystoneclient.v3 import client

        self._kc = client.Client(session=self.keystone.session("admin"))
        services = self._kc.services.list(type="object-store")
        if services:
            self._service = services[0]
        else:
            self._service = self._kc.services.create("swift", "object-store")
        self._previous = {
            e.interface: e
            for e in self._kc.endpoints.list(service=self._service)
            if e.region_id == REGION
        }

    def _register(self):
        """Point the RegionOne ``object-store`` endpoints at this proxy (update or make them)."""
        for interface in INTERFACES:
            if interface in self._previous:
                endpoint = self._kc.endpoints.update(self._previous[interface], url=self._endpoint)
            else:
                endpoint = self._kc.endpoints.create(
                    self._service, self._endpoint, interface=interface, region=REGION
                )
            self.endpoints.append(endpoint.id)

    def _unregister(self):
        """Give the endpoints that still point here back to the Swift before (else delete them)."""
        if not self.endpoints:
            return
        try:
            for endpoint in self._kc.endpoints.list(service=self._service):
                if endpoint.id not in self.endpoints or endpoint.url != self._endpoint:
                    continue  # not ours, or taken over by a later Swift still running
                before = self._previous.get(endpoint.interface)
                if before is not None:
                    self._kc.endpoints.update(endpoint, url=before.url)
                else:
                    self._kc.endpoints.delete(endpoint)
        except Exception:  # Keystone is gone
            pass
        self.endpoints = []

    def stop(self):
        """SIGTERM the process (by PID; SIGKILL if it lingers), then give back the endpoints."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        finally:
            self._unregister()

    def logs(self):
        """The tails of the process's output and of Swift's own log."""
        text = ""
        for name in ("server.log", "swift.log"):
            path = pathlib.Path(self.dir, name)
            if path.exists():
                text += f"--- {name}\n{path.read_text(errors='replace')[-4000:]}\n"
        return text

    def account_url(self, project_id):
        return f"{self.url}/v1/AUTH_{project_id}"

    def session(self, user):
        """``user``'s keystoneauth1 session (one per user, made after the registration), or
        ``user`` itself if it is a session already."""
        if not isinstance(user, str):
            return user
        if user not in self._sessions:
            self._sessions[user] = self.keystone.session(user)
        return self._sessions[user]

    def request(self, user, method, path="", **kwargs):
        """A ``requests.Response``, whatever its status. ``path`` (``container[/object]``,
        quoted) is relative to the account of ``user``'s catalog, unless it is a full URL."""
        session = self.session(user)
        if "://" not in path:
            account = session.get_endpoint(
                service_type="object-store", region_name=REGION, interface="public"
            )
            if not account:
                raise SwiftError("no object-store endpoint in the catalog of the session's token")
            path = f"{account.rstrip('/')}/{path}" if path else account
        kwargs.setdefault("timeout", 30)
        return session.request(path, method, raise_exc=False, **kwargs)

    def _ok(self, user, method, path, **kwargs):
        response = self.request(user, method, path, **kwargs)
        if response.status_code >= 300:
            raise SwiftError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    @staticmethod
    def _path(container, name=None):
        path = urllib.parse.quote(container, safe="")
        return path if name is None else f"{path}/{urllib.parse.quote(name)}"

    def put_container(self, user, name):
        """Create container ``name`` in ``user``'s account; its response headers."""
        return self._ok(user, "PUT", self._path(name)).headers

    def put_object(self, user, container, name, data, headers=None):
        """Upload ``data``; the response headers (``Etag`` is the MD5 of ``data``)."""
        path = self._path(container, name)
        return self._ok(user, "PUT", path, data=data, headers=headers or {}).headers

    def head_object(self, user, container, name):
        return self._ok(user, "HEAD", self._path(container, name)).headers

    def get_object(self, user, container, name):
        return self._ok(user, "GET", self._path(container, name)).content

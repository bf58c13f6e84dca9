"""qinling-lite deployed on this host, for the benchmarks and the fault tests.

- ``create_database`` and ``drop_database``: throwaway databases on the MySQL/MariaDB and
  PostgreSQL servers, reached with ``QINLING_LITE_TEST_MYSQL_URL`` and
  ``QINLING_LITE_TEST_POSTGRESQL_URL`` (an account that may create databases), by default
  the local servers. An unreachable server is an error, never a skip.
- ``ProductionShape``: a throwaway MariaDB (or PostgreSQL) database, the RabbitMQ broker,
  ``qinling-lite-api`` under gunicorn and N ``qinling-lite-engine`` processes, all on
  127.0.0.1. Each run has its own RPC topic and control exchange, so runs on one broker
  do not meet. The broker is ``QINLING_LITE_TEST_TRANSPORT_URL`` (default: the local
  RabbitMQ as guest); an unreachable broker is an error too.

Tests import this module as ``benchmarks.deployments``; it imports nothing of theirs.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import amqp
import kombu
import requests
import sqlalchemy as sa

TRANSPORT_URL = os.environ.get(
    "QINLING_LITE_TEST_TRANSPORT_URL", "rabbit://guest:guest@127.0.0.1:5672/"
)
BIN = Path(sys.executable).parent
START_TIMEOUT = 60
STOP_TIMEOUT = 30
LEFTOVER_WAIT = 5

_ADMIN_URLS = {
    "mysql": "mysql+pymysql://root@127.0.0.1:3306/",
    "postgresql": "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres",
}
_CREATE = {
    "mysql": "CREATE DATABASE {} CHARACTER SET utf8mb4",
    "postgresql": "CREATE DATABASE {}",
}
_DROP = {
    "mysql": "DROP DATABASE IF EXISTS {}",
    "postgresql": "DROP DATABASE IF EXISTS {} WITH (FORCE)",
}


class BackendUnavailableError(RuntimeError):
    """The database server of a backend cannot be reached."""


def _admin_url(backend):
    return sa.make_url(
        os.environ.get(f"QINLING_LITE_TEST_{backend.upper()}_URL", _ADMIN_URLS[backend])
    )


def _admin(backend, statement):
    engine = sa.create_engine(
        _admin_url(backend), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
    )
    try:
        connection = engine.connect()
    except sa.exc.OperationalError as e:
        raise BackendUnavailableError(
            f"The {backend} test server {engine.url} is unreachable "
            f"(set QINLING_LITE_TEST_{backend.upper()}_URL): {e}"
        ) from e
    with connection:
        connection.exec_driver_sql(statement)


def create_database(backend):
    """Create a fresh, uniquely named database (``sqlite``, ``mysql`` or ``postgresql``);
    return its SQLAlchemy URL."""
    name = f"qinling_lite_test_{uuid.uuid4().hex[:12]}"
    if backend == "sqlite":
        return f"sqlite:///{Path(tempfile.mkdtemp(prefix=name)) / 'test.sqlite'}"
    _admin(backend, _CREATE[backend].format(name))
    url = _admin_url(backend).set(database=name)
    if backend == "mysql":  # as install.rst says: oslo.db would connect in 3-byte utf8
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url.render_as_string(hide_password=False)


def drop_database(url):
    """Drop a database made by ``create_database``."""
    url = sa.make_url(url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        directory = Path(url.database).parent
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()
    else:
        _admin(backend, _DROP[backend].format(url.database))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.02):
    """Poll until ``predicate()`` returns something truthy; return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


class Client:
    """The service's REST API over HTTP (``client.get(path, ...)`` and so on)."""

    def __init__(self, url):
        self.url = url
        self.http = requests.Session()

    def __getattr__(self, method):
        return lambda path, **kw: self.http.request(method.upper(), self.url + path, **kw)

    def create_runtime(self, image="python3"):
        """A runtime, once it is available."""
        runtime = self.post("/v1/runtimes", json={"image": image}).json()

        def settled():
            status = self.get(f"/v1/runtimes/{runtime['id']}").json()["status"]
            return status != "creating" and status

        status = wait_for(settled, timeout=60)
        assert status == "available", status
        return runtime


class ProductionShape:
    """API and engines over RabbitMQ and a fresh database; a context manager.

    ``root`` (an empty directory) receives the config files, the state and one log per
    process (``api.log``, ``engine-N.log``). ``options`` adds or overrides config
    options, as ``{"section": {"option": value}}``.
    """

    def __init__(self, root, engines=2, backend="mysql", options=None):
        self.root = Path(root)
        self.name = f"qinling_lite_test_{uuid.uuid4().hex[:12]}"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client = Client(self.url)
        self.database = None
        self.engines = []  # (host, Popen), in the order started
        self._engines_wanted = engines
        self._backend = backend
        self._options = options or {}
        self._api = None

    def __enter__(self):
        try:
            self._check_broker()
            self.database = create_database(self._backend)
            self._write_config()
            self._run("qinling-lite-manage", "db", "upgrade")
            self._api = self._spawn("api", "qinling-lite-api")
            for _ in range(self._engines_wanted):
                self.start_engine()
            self._wait_api()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    # --- processes -------------------------------------------------------------------

    def start_engine(self):
        """Start one more engine, named ``engine-N``; return when it consumes its topic."""
        host = f"engine-{len(self.engines)}"
        conf = self.root / f"{host}.conf"
        conf.write_text(f"[engine]\nhost = {host}\n")
        process = self._spawn(host, "qinling-lite-engine", "--config-file", str(conf))
        self.engines.append((host, process))
        log = self.root / f"{host}.log"
        listening = f"Engine {host} listening on topic"
        assert wait_for(
            lambda: self._alive(process, log) and listening in log.read_text(),
            timeout=START_TIMEOUT,
            interval=0.1,
        ), f"{host} did not start: {log.read_text()}"
        return host

    def live_engines(self):
        """How many of the engines started are running."""
        return sum(process.poll() is None for _, process in self.engines)

    def pids(self):
        """Process ids of the API (the gunicorn master) and of the live engines."""
        processes = (self._api, *(process for _, process in self.engines))
        return [process.pid for process in processes if process and process.poll() is None]

    def kill_engine(self, index):
        """SIGKILL engine ``index`` (its workers die with it); return its engine id prefix."""
        host, process = self.engines[index]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)
        return f"{host}-{process.pid}-"

    def close(self):
        """Stop every process, check none is left, drop the database and broker objects."""
        processes = [p for p in (self._api, *(p for _, p in self.engines)) if p]
        for process in processes:
            _signal_group(process, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait(STOP_TIMEOUT)
        try:
            _check_leftovers(self.root)
        finally:
            if self.database:
                drop_database(self.database)
                self.database = None
            if processes:
                self._delete_broker_objects()

    def _spawn(self, name, command, *args):
        with open(self.root / f"{name}.log", "ab") as log:
            return subprocess.Popen(
                [str(BIN / command), "--config-file", str(self.root / "qinling-lite.conf"), *args],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def _run(self, command, *args):
        subprocess.run(
            [str(BIN / command), "--config-file", str(self.root / "qinling-lite.conf"), *args],
            check=True,
            capture_output=True,
        )

    def _wait_api(self):
        log = self.root / "api.log"

        def up():
            self._alive(self._api, log)
            with contextlib.suppress(requests.ConnectionError):
                return requests.get(self.url + "/", timeout=5).status_code == 200
            return False

        assert wait_for(up, timeout=START_TIMEOUT, interval=0.1), "the API did not start"

    @staticmethod
    def _alive(process, log):
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited: {log.read_text()}")
        return True

    # --- configuration and the broker ----------------------------------------------

    def _write_config(self):
        sections = {
            "DEFAULT": {
                "transport_url": TRANSPORT_URL,
                "control_exchange": self.name,
                "state_path": self.root / "state",
            },
            "database": {"connection": self.database},
            "api": {"host": "127.0.0.1", "port": self.port, "api_workers": 2, "auth_enable": False},
            "engine": {
                "topic": self.name,
                "lease_time": 6,
                "pending_sweep_interval": 1,
                "pending_grace": 2,
                "graceful_shutdown_timeout": 5,
            },
            "local_orchestrator": {"pool_size": 2},
            # Seconds reply and fanout queues outlive their last consumer.
            "oslo_messaging_rabbit": {"rabbit_transient_queues_ttl": 60},
        }
        for section, values in self._options.items():
            sections.setdefault(section, {}).update(values)
        (self.root / "qinling-lite.conf").write_text(
            "".join(
                f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
                for section, values in sections.items()
            )
        )

    def _check_broker(self):
        try:
            with broker() as connection:
                connection.ensure_connection(max_retries=1)
        except Exception as e:
            raise RuntimeError(
                f"RabbitMQ at {TRANSPORT_URL} is unreachable "
                f"(set QINLING_LITE_TEST_TRANSPORT_URL): {e}"
            ) from e

    def consumers(self):
        """How many engines consume the run's topic queue (0 if it does not exist)."""
        with broker() as connection:
            try:
                return connection.default_channel.queue_declare(self.name, passive=True)[2]
            except amqp.exceptions.NotFound:
                return 0

    def _delete_broker_objects(self):
        """The run's topic queues and exchange; its other queues expire, see the config."""
        with broker() as connection:
            channel = connection.default_channel
            for queue in (self.name, *(f"{self.name}.{host}" for host, _ in self.engines)):
                channel.queue_delete(queue)
            channel.exchange_delete(self.name)

    # --- HTTP and database helpers --------------------------------------------------

    def create_webhook(self, function_id):
        """A webhook for the function; return its invocation URL."""
        response = self.client.post("/v1/webhooks", json={"function_id": function_id})
        assert response.status_code == 201, response.text
        return response.json()["webhook_url"]

    def query(self, statement, **params):
        """Rows of a SQL statement run on the shape's database."""
        engine = sa.create_engine(self.database, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return connection.execute(sa.text(statement), params).all()
        finally:
            engine.dispose()


def broker():
    """A kombu connection to the test broker (a context manager)."""
    return kombu.Connection(TRANSPORT_URL.replace("rabbit://", "amqp://", 1), connect_timeout=5)


def _signal_group(process, signum):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def _check_leftovers(root):
    """Fail if processes naming ``root`` (workers) outlive their engine; SIGKILL them."""
    marker = os.fsencode(f"{root}/")
    if wait_for(lambda: not _processes_naming(marker), timeout=LEFTOVER_WAIT, interval=0.1):
        return
    leftovers = _processes_naming(marker)
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    raise RuntimeError(f"processes left behind (now killed): {leftovers}")


def _processes_naming(marker):
    """{pid: command line} of the processes whose command line contains ``marker``."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            with contextlib.suppress(OSError), open(f"{entry.path}/cmdline", "rb") as cmdline:
                args = cmdline.read()
                if marker in args:
                    found[int(entry.name)] = args.replace(b"\0", b" ").decode(errors="replace")
    return found

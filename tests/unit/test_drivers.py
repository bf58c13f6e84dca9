"""Orchestrators and package stores load by entry point: the installed ones, one a third
party adds with a distribution of its own, and clear errors for unknown names and
missing packages, at the start of each command."""

import importlib.metadata
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from stevedore import extension

from qinling_lite import drivers, orchestrator, storage
from qinling_lite.orchestrator import base
from qinling_lite.orchestrator.kubernetes import orchestrator as kubernetes_orchestrator
from qinling_lite.orchestrator.local import orchestrator as local_orchestrator
from qinling_lite.storage import file_system

PLUGIN = '''
from qinling_lite.orchestrator import base


class Unstartable(base.Orchestrator, base.ImageFunctions):
    """An orchestrator that must not be started to be asked about its capabilities."""

    def __new__(cls, conf):
        raise AssertionError("started")


class NotAnOrchestrator:
    """A class that does not implement the interface."""
'''


def _conf(orchestrator_name="local", store="file_system"):
    return types.SimpleNamespace(
        engine=types.SimpleNamespace(orchestrator=orchestrator_name),
        storage=types.SimpleNamespace(
            provider=store,
            file_system_dir="/nonexistent",
            max_package_size=1,
            max_package_uncompressed_size=1,
            max_package_entries=1,
            max_package_compression_ratio=1,
        ),
    )


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A distribution of a third party on sys.path: entry points into our namespaces."""
    (tmp_path / "third_party_drivers.py").write_text(PLUGIN)
    (tmp_path / "third_party_missing.py").write_text("import no_such_module_qinling_lite\n")
    (tmp_path / "third_party_broken.py").write_text("raise RuntimeError('broken plugin')\n")
    dist_info = tmp_path / "third_party_drivers-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: third-party-drivers\n")
    (dist_info / "entry_points.txt").write_text(
        textwrap.dedent(
            f"""\
            [{orchestrator.NAMESPACE}]
            unstartable = third_party_drivers:Unstartable
            missing = third_party_missing:Missing [extra]
            broken = third_party_broken:Broken
            not_an_orchestrator = third_party_drivers:NotAnOrchestrator
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    # stevedore lists a namespace's entry points once per process.
    monkeypatch.setattr(extension.ExtensionManager, "ENTRY_POINT_CACHE", {})
    drivers.load_class.cache_clear()
    yield
    drivers.load_class.cache_clear()


def test_the_installed_drivers_load_by_name():
    assert orchestrator.orchestrator_class(_conf("local")) is local_orchestrator.LocalOrchestrator
    assert (
        orchestrator.orchestrator_class(_conf("kubernetes"))
        is kubernetes_orchestrator.KubernetesOrchestrator
    )
    store = storage.load(_conf())
    assert isinstance(store, file_system.FileSystemStorage)
    assert store.root == "/nonexistent"


def test_capabilities_come_from_the_class():
    assert orchestrator.supports(_conf("kubernetes"), base.ImageFunctions)
    assert not orchestrator.supports(_conf("local"), base.ImageFunctions)
    assert not hasattr(local_orchestrator.LocalOrchestrator, "run_image")


def test_a_third_party_orchestrator_is_asked_without_being_started(plugins):
    conf = _conf("unstartable")
    assert orchestrator.supports(conf, base.ImageFunctions)
    with pytest.raises(AssertionError, match="started"):
        orchestrator.load(conf)


def test_an_unknown_orchestrator_lists_the_available_ones():
    with pytest.raises(drivers.DriverError) as error:
        orchestrator.load(_conf("nomad"))
    assert str(error.value) == (
        "[engine] orchestrator = nomad names no installed driver; available: kubernetes, local."
    )


def test_an_unknown_package_store_lists_the_available_ones():
    with pytest.raises(drivers.DriverError) as error:
        storage.load(_conf(store="swift"))
    assert str(error.value) == (
        "[storage] provider = swift names no installed driver; available: file_system."
    )


def test_a_missing_package_names_the_extra_to_install(plugins):
    with pytest.raises(drivers.DriverError) as error:
        orchestrator.load(_conf("missing"))
    assert str(error.value) == (
        "[engine] orchestrator = missing needs the Python module "
        "'no_such_module_qinling_lite', which is not installed: install "
        "qinling-lite[extra]."
    )


def test_without_the_kubernetes_package_its_orchestrator_names_the_extra():
    entry_point = importlib.metadata.entry_points(group=orchestrator.NAMESPACE)["kubernetes"]
    assert entry_point.extras == ["kubernetes"]
    # A fresh interpreter in which the kubernetes client cannot be imported.
    script = (
        "import sys, types\n"
        "sys.modules['kubernetes'] = None\n"
        "from qinling_lite import drivers, orchestrator\n"
        "conf = types.SimpleNamespace(engine=types.SimpleNamespace(orchestrator='kubernetes'))\n"
        "try:\n"
        "    orchestrator.load(conf)\n"
        "except drivers.DriverError as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout == (
        "[engine] orchestrator = kubernetes needs the Python module 'kubernetes', which is not "
        "installed: install qinling-lite[kubernetes].\n"
    )


def test_a_class_of_another_interface_is_refused(plugins):
    with pytest.raises(drivers.DriverError) as error:
        orchestrator.load(_conf("not_an_orchestrator"))
    assert str(error.value) == (
        "[engine] orchestrator = not_an_orchestrator is "
        "<class 'third_party_drivers.NotAnOrchestrator'>, not a "
        "qinling_lite.orchestrator.base.Orchestrator."
    )


def test_other_failures_of_a_driver_are_not_disguised(plugins):
    with pytest.raises(RuntimeError, match="broken plugin"):
        orchestrator.load(_conf("broken"))


@pytest.mark.parametrize(
    ("command", "section", "option", "value", "message"),
    [
        (
            "qinling-lite-api",
            "engine",
            "orchestrator",
            "nomad",
            "[engine] orchestrator = nomad names no installed driver; available: kubernetes, "
            "local.",
        ),
        (
            "qinling-lite-api",
            "storage",
            "provider",
            "swift",
            "[storage] provider = swift names no installed driver; available: file_system.",
        ),
        (
            "qinling-lite-engine",
            "engine",
            "orchestrator",
            "nomad",
            "[engine] orchestrator = nomad names no installed driver; available: kubernetes, "
            "local.",
        ),
    ],
    ids=["api-orchestrator", "api-store", "engine-orchestrator"],
)
def test_commands_refuse_to_start_with_an_unknown_driver(
    tmp_path, command, section, option, value, message
):
    config = tmp_path / "qinling-lite.conf"
    config.write_text(
        f"[DEFAULT]\nstate_path = {tmp_path}\n"
        f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
        f"[{section}]\n{option} = {value}\n"
    )
    result = subprocess.run(
        [Path(sys.executable).parent / command, "--config-file", config],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"{command}: {message}"


def test_the_engine_without_its_database_driver_names_the_extra(tmp_path):
    config = tmp_path / "qinling-lite.conf"
    config.write_text("[database]\nconnection = mysql+pymysql://root@127.0.0.1/test\n")
    # A fresh interpreter in which PyMySQL cannot be imported.
    script = (
        "import sys\n"
        "sys.modules['pymysql'] = None\n"
        "from qinling_lite.cmd import engine\n"
        f"engine.main(['--config-file', {str(config)!r}])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "qinling-lite-engine: [database] connection needs the Python module 'pymysql', which "
        "is not installed: install qinling-lite[mysql]."
    )

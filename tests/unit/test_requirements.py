"""setup.cfg declares what the code imports, and nothing it does not.

The service's imports (``qinling_lite/``, ``migrations/``) need a distribution in
``install_requires`` or in an extra that its users install; the tests' imports may also
come from the ``test`` extra. Modules are mapped to distributions by the installed
metadata (``importlib.metadata.packages_distributions``).
"""

import ast
import configparser
import importlib.metadata
import re
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
FIRST_PARTY = {
    "benchmarks",  # benchmarks.deployments
    "qinling_lite",
    "qinling_lite_client",  # client/, the openstack CLI plugin
    "tests",
}
# Imported by no module, used all the same: SQLAlchemy's database drivers.
DRIVERS = {"pymysql", "psycopg2-binary"}


def _canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(text):
    """The distribution names of a setup.cfg requirement list."""
    return {
        _canonical(re.match(r"[A-Za-z0-9._-]+", line).group())
        for line in text.splitlines()
        if line.strip()
    }


def _setup_cfg():
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg")
    required = _requirements(parser["options"]["install_requires"])
    extras = {name: _requirements(text) for name, text in parser["options.extras_require"].items()}
    return required, extras


def _imported_modules(*directories):
    """Top-level names of the absolute imports in the .py files under ``directories``."""
    names = set()
    for directory in directories:
        for path in (ROOT / directory).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names - FIRST_PARTY - set(sys.stdlib_module_names)


def _distributions(modules):
    """{module: its distribution}; a module no installed distribution provides maps to
    itself, so that it shows up as undeclared."""
    provided = importlib.metadata.packages_distributions()
    return {module: _canonical(provided.get(module, [module])[0]) for module in modules}


def test_every_import_of_the_service_is_declared():
    required, extras = _setup_cfg()
    service_extras = set().union(*(reqs for name, reqs in extras.items() if name != "test"))
    imported = _distributions(_imported_modules("qinling_lite", "migrations"))
    undeclared = {m: d for m, d in imported.items() if d not in required | service_extras}
    assert undeclared == {}


def test_every_import_of_the_tests_is_declared():
    required, extras = _setup_cfg()
    declared = required.union(*extras.values())
    imported = _distributions(_imported_modules("tests"))
    undeclared = {m: d for m, d in imported.items() if d not in declared}
    assert undeclared == {}


def test_every_requirement_is_imported():
    required, extras = _setup_cfg()
    imported = set(_distributions(_imported_modules("qinling_lite", "migrations")).values())
    service_extras = set().union(*(reqs for name, reqs in extras.items() if name != "test"))
    assert required - imported == set()
    assert service_extras - imported - DRIVERS == set()


def test_database_drivers_and_kubernetes_are_extras():
    required, extras = _setup_cfg()
    assert {"kubernetes", "pymysql", "psycopg2-binary"} & required == set()
    assert extras["kubernetes"] == {"kubernetes"}
    assert extras["mysql"] == {"pymysql"}
    assert extras["postgresql"] == {"psycopg2-binary"}

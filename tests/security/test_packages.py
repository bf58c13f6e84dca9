"""Hostile function packages against a real ``qinling-lite-serve`` at its default limits.

Each package is refused at upload, on every path that stores one: function create,
function update and version create (whose package may have been stored by an older
release that checked less: the test plants it in the package store). A refusal is 413
for a package too large uncompressed, 400 for the rest, in the one JSON error shape,
and nothing is stored. What only the data can tell (a size the headers understate) is
the worker's to refuse, each time it loads the package.
"""

import functools
import json

import pytest

from tests.functional.test_bad_input import assert_error, package_files
from tests.packages import (
    deflated_entry,
    make_zip,
    many_entries_zip,
    raw_zip,
    symlink_zip,
    zip_bomb,
)
from tests.security.hostile import stored

pytestmark = pytest.mark.usefixtures("no_traceback_logged")

MIB = 1024 * 1024
GIB = 1024 * MIB
MAIN = "def main(**kwargs):\n    return 'fine'\n"


@functools.cache
def hostile(name):
    """The package of one attack, built once."""
    return {
        # What the attacker uploaded: 4 x 1 GiB of zeros in 4.2 MB.
        "bomb": lambda: zip_bomb(["a.bin", "b.bin", "c.bin", "d.bin"], GIB),
        # Under the total limit, but 1,000 to 1.
        "dense": lambda: zip_bomb(["zeros.bin"], 64 * MIB),
        "traversal": lambda: make_zip({"main.py": MAIN, "../../x": "x"}),
        "absolute": lambda: make_zip({"main.py": MAIN, "/abs/x": "x"}),
        "symlink": lambda: symlink_zip("link", "/etc/passwd", {"main.py": MAIN}),
        "entries": lambda: many_entries_zip(20_000),
    }[name]()


ATTACKS = [
    pytest.param(
        "bomb",
        413,
        f"Package of {4 * GIB} bytes uncompressed exceeds the limit of {256 * MIB} bytes.",
        id="zip-bomb",
    ),
    pytest.param("dense", 400, "more than 100 to 1.", id="compression-ratio"),
    pytest.param(
        "traversal", 400, "Package entry '../../x' has a '..' path component.", id="traversal"
    ),
    pytest.param("absolute", 400, "Package entry '/abs/x' has an absolute path.", id="absolute"),
    pytest.param("symlink", 400, "Package entry 'link' is a symbolic link.", id="symlink"),
    pytest.param("entries", 400, "Package has more than 10000 entries.", id="20000-entries"),
]


@pytest.fixture(scope="module")
def function(client, runtime):
    """A function whose package the attacks try to replace."""
    return client.create_function(runtime["id"], source=MAIN, module="main")


def refused(client, server, code, message, method, path, **kwargs):
    """Send the request: answered ``code`` with ``message``, nothing stored changed."""
    before = stored(client, server)
    response = getattr(client, method)(path, **kwargs)
    assert message in assert_error(response, code)
    assert stored(client, server) == before


@pytest.mark.parametrize(("attack", "code", "message"), ATTACKS)
def test_function_create_refuses(client, server, runtime, attack, code, message):
    form = {"runtime_id": runtime["id"], "code": '{"source": "package"}', "entry": "main.main"}
    package = {"package": ("f.zip", hostile(attack))}
    refused(client, server, code, message, "post", "/v1/functions", data=form, files=package)


@pytest.mark.parametrize(("attack", "code", "message"), ATTACKS)
def test_function_update_refuses(client, server, function, attack, code, message):
    path = f"/v1/functions/{function['id']}"
    package = {"package": ("f.zip", hostile(attack))}
    refused(client, server, code, message, "put", path, files=package)
    assert client.get(path).json()["code"] == function["code"]


@pytest.fixture
def planted(server, function):
    """``plant(package)``: the function's stored package replaced by ``package``, as an
    older release may have stored it; the genuine one is put back afterwards."""
    path = server["data_dir"] / "packages" / function["project_id"] / function["id"]
    path = path / f"0_{function['code']['md5sum']}.zip"
    genuine = path.read_bytes()
    yield path.write_bytes
    path.write_bytes(genuine)


@pytest.mark.parametrize(("attack", "code", "message"), ATTACKS)
def test_version_create_refuses_a_package_stored_before_the_rules(
    client, server, function, planted, attack, code, message
):
    planted(hostile(attack))
    path = f"/v1/functions/{function['id']}/versions"
    refused(client, server, code, message, "post", path, json={})
    assert client.get(path).json()["function_versions"] == []


def test_the_function_is_unharmed_and_can_be_versioned(client, function):
    execution = client.run(function["id"])
    assert (execution["status"], json.loads(execution["result"])["output"]) == (
        "success",
        "fine",
    )
    response = client.post(f"/v1/functions/{function['id']}/versions", json={})
    assert response.status_code == 201, response.text


def test_a_size_the_headers_understate_is_the_worker_s_to_refuse(client, server, runtime):
    """The central directory says 1,000 bytes, the data inflates to 100 MiB: the API
    cannot know without inflating it; the worker stops at the declared size."""
    lying = raw_zip([deflated_entry("main.py", MAIN.encode() + b"#" * (100 * MIB), size=1000)])
    form = {"runtime_id": runtime["id"], "code": '{"source": "package"}', "entry": "main.main"}
    response = client.post("/v1/functions", data=form, files={"package": ("f.zip", lying)})
    assert response.status_code == 201, response.text
    execution = client.run(response.json()["id"])
    assert execution["status"] == "failed", execution
    output = json.loads(execution["result"])["output"]
    assert "answered /load with HTTP 400" in output
    assert "Bad CRC-32 for file 'main.py'" in output
    assert package_files(server)

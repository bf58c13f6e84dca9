"""qinling-lite's own ``openstack`` plugin (``client/``) against a live server, no Keystone.

Every command of python-qinlingclient 5.1.1 and every form of the old guides that 5.1.1
rejects. Commands run in-process (``tests.osc_plugin``), two through the installed
``openstack`` executable; each check reads the CLI's output and the server's state.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid
import zipfile

import pytest
import yaml

from tests import osc_plugin
from tests.cli import clean_env
from tests.functional.conftest import HELLO_WORLD, make_zip, wait_for
from tests.functional.test_openstack_cli import (
    ALIAS_FIELDS,
    EXECUTION_FIELDS,
    FUNCTION_FIELDS,
    JOB_FIELDS,
    RUNTIME_FIELDS,
    UNKNOWN,
    VERSION_FIELDS,
    WEBHOOK_FIELDS,
    capitalised,
    output,
)

OPENSTACK = os.path.join(os.path.dirname(sys.executable), "openstack")
GREET = "def main(name='World', **kwargs):\n    return 'Greetings, %s' % name\n"


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def cli(server, tmp_path_factory):
    return osc_plugin.Cli(server["url"], tmp_path_factory.mktemp("osc-plugin"))


@pytest.fixture(scope="module")
def named_runtime(client):
    """An available runtime with a name, to be found by it."""
    runtime = client.post("/v1/runtimes", json={"image": "python3", "name": unique("rt")}).json()
    assert wait_for(
        lambda: client.get(f"/v1/runtimes/{runtime['id']}").json()["status"] == "available", 60
    )
    return runtime


@pytest.fixture
def function_id(client, runtime):
    return client.create_function(runtime["id"])["id"]


def test_runtime_commands(cli, client):
    name = unique("runtime")
    # 5.1.1's form, every option.
    created = cli.json(
        "runtime", "create", "--name", name, "--description", "made by", "--private",
        "--untrusted", "python3",
    )  # fmt: skip
    assert list(created) == RUNTIME_FIELDS
    assert [created[k] for k in ("name", "description", "image", "is_public", "trusted")] == [
        name, "made by", "python3", False, False,
    ]  # fmt: skip
    # The guides' form NAME IMAGE, waiting until it is available.
    guide = cli.json("runtime", "create", f"{name}-guide", "python3", "--wait")
    assert (guide["name"], guide["image"], guide["status"]) == (
        f"{name}-guide",
        "python3",
        "available",
    )
    assert (guide["is_public"], guide["trusted"]) == (True, True)
    assert client.get(f"/v1/runtimes/{guide['id']}").json()["status"] == "available"
    _, stderr = cli.error("runtime", "create", "a", "python3", "--name", "b")
    assert "either as NAME or as --name" in stderr

    assert wait_for(
        lambda: client.get(f"/v1/runtimes/{created['id']}").json()["status"] == "available", 60
    )
    shown = cli.json("runtime", "show", created["id"])
    assert (shown["id"], shown["status"]) == (created["id"], "available")
    rows = cli.json("runtime", "list")
    assert all(list(row) == capitalised(RUNTIME_FIELDS) for row in rows)
    assert {created["id"], guide["id"]} <= {row["Id"] for row in rows}
    # The filters go to the server: runtimes filter on name, image and status only.
    named = cli.json("runtime", "list", "--filter", f"name={guide['name']}")
    assert [row["Id"] for row in named] == [guide["id"]]
    _, stderr = cli.error("runtime", "list", "--filter", "project_id=default")
    assert stderr.strip() == 'Unknown argument: "project_id" (HTTP 400)'

    pool = cli.json("runtime", "pool", "show", guide["id"])
    assert pool["name"] == guide["id"]
    assert {"total", "available"} <= set(pool["capacity"])

    deleted = cli.out("runtime", "delete", created["id"], guide["id"])
    assert deleted.splitlines() == [
        f"Request to delete runtime {created['id']} has been accepted.",
        f"Request to delete runtime {guide['id']} has been accepted.",
    ]
    for gone in (created["id"], guide["id"]):
        assert wait_for(lambda i=gone: client.get(f"/v1/runtimes/{i}").status_code == 404, 30)


def test_function_create_forms(cli, client, named_runtime, tmp_path):
    runtime = named_runtime
    (source := tmp_path / "hello_world.py").write_text(HELLO_WORLD)
    package = make_zip({"greet.py": GREET})
    (package_path := tmp_path / "greet.zip").write_bytes(package)

    # 5.1.1: --file, zipped alone into $TMPDIR and removed afterwards.
    name = unique("file")
    from_file = cli.json(
        "function", "create", "--runtime", runtime["id"], "--entry", "hello_world.main",
        "--file", str(source), "--name", name,
    )  # fmt: skip
    assert list(from_file) == FUNCTION_FIELDS
    assert [from_file[k] for k in ("name", "entry", "runtime_id", "timeout")] == [
        name, "hello_world.main", runtime["id"], 5,
    ]  # fmt: skip
    assert not list(tmp_path.parent.glob("osc-plugin*/*.zip"))
    stored = client.get(f"/v1/functions/{from_file['id']}", params={"download": "true"}).content
    assert from_file["code"] == {"source": "package", "md5sum": hashlib.md5(stored).hexdigest()}
    (tmp_path / "stored.zip").write_bytes(stored)
    with zipfile.ZipFile(tmp_path / "stored.zip") as archive:
        assert archive.namelist() == ["hello_world.py"]

    # 5.1.1: --package with the limits; the runtime by name.
    from_package = cli.json(
        "function", "create", "--runtime", runtime["name"], "--entry", "greet.main",
        "--package", str(package_path), "--cpu", "200", "--memory-size", "67108864",
        "--timeout", "3",
    )  # fmt: skip
    assert from_package["code"] == {"source": "package", "md5sum": hashlib.md5(package).hexdigest()}
    assert [from_package[k] for k in ("runtime_id", "cpu", "memory_size", "timeout")] == [
        runtime["id"], 200, 67108864, 3,
    ]  # fmt: skip

    # The guides' form NAME RUNTIME CODE, with --file and with --package.
    guide = cli.json(
        "function", "create", "test_swift", runtime["id"], '{"source": "package"}',
        "--entry", "hello_world.main", "--file", str(source),
    )  # fmt: skip
    assert (guide["name"], guide["runtime_id"], guide["code"]["source"]) == (
        "test_swift", runtime["id"], "package",
    )  # fmt: skip
    assert client.run(guide["id"])["status"] == "success"
    guide_package = cli.json(
        "function", "create", unique("guide"), runtime["name"], '{"source": "package"}',
        "--entry", "greet.main", "--package", str(package_path),
    )  # fmt: skip
    assert output(client.run(guide_package["id"], input='{"name": "guide"}')) == "Greetings, guide"

    # Swift and image functions: the request reaches the server, which says what it lacks.
    for args in (
        ["--runtime", runtime["id"], "--container", "c", "--object", "o.zip"],
        ["f", runtime["id"], '{"source": "swift", "swift": {"container": "c", "object": "o"}}'],
    ):
        _, stderr = cli.error("function", "create", *args, "--entry", "m.main")
        assert stderr.strip().startswith("Swift object not supported: ")
        assert stderr.strip().endswith("(HTTP 400)")
    for args in (
        ["--image", "busybox"],
        ["f", runtime["id"], '{"source": "image", "image": "busybox"}'],
    ):
        _, stderr = cli.error("function", "create", *args)
        assert stderr.startswith("Code source 'image' is not supported by this deployment")
    _, stderr = cli.error("function", "create", "--runtime", runtime["id"])
    assert stderr.startswith("Cannot create a function with the parameters given")
    _, stderr = cli.error("function", "create", "f", runtime["id"], '{"source": "ftp"}')
    assert "Invalid CODE" in stderr

    rows = cli.json("function", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(FUNCTION_FIELDS) for row in rows)
    assert {from_file["id"], from_package["id"], guide["id"]} <= {row["Id"] for row in rows}
    assert cli.json("function", "list", "--filter", "project_id=nobody") == []


def test_function_commands(cli, client, runtime, tmp_path):
    name = unique("fn")
    function = client.create_function(runtime["id"], name=name)
    fid = function["id"]
    # By name: the client finds the id in the list.
    assert cli.value("function", "show", name, "-c", "id") == fid

    target = tmp_path / "out.zip"
    printed = cli.out("function", "download", name, "-o", str(target))
    assert printed == f"Code package downloaded to {target}\n"
    stored = client.get(f"/v1/functions/{fid}", params={"download": "true"}).content
    assert target.read_bytes() == stored
    printed = cli.out("function", "download", fid)
    assert printed == f"Code package downloaded to {os.path.join(cli.cwd, fid)}.zip\n"

    updated = cli.json(
        "function", "update", fid, "--name", f"{name}-2", "--description", "renamed",
        "--entry", "hello_world.main", "--cpu", "150", "--memory-size", "40000000",
        "--timeout", "7",
    )  # fmt: skip
    assert [updated[k] for k in ("name", "description", "cpu", "memory_size", "timeout")] == [
        f"{name}-2", "renamed", 150, 40000000, 7,
    ]  # fmt: skip
    assert client.get(f"/v1/functions/{fid}").json()["timeout"] == 7

    (source := tmp_path / "hello_world.py").write_text(GREET)
    recoded = cli.json("function", "update", f"{name}-2", "--file", str(source))
    assert recoded["code"]["md5sum"] != function["code"]["md5sum"]
    assert output(client.run(fid)) == "Greetings, World"
    (package := tmp_path / "p.zip").write_bytes(make_zip({"hello_world.py": HELLO_WORLD}))
    recoded = cli.json("function", "update", fid, "--package", str(package))
    assert output(client.run(fid)) == "Hello, World"
    # --container/--object (5.1.1 lost their values): a package function stays one.
    _, stderr = cli.error("function", "update", fid, "--container", "c", "--object", "o")
    assert stderr.startswith("The function code type can not be changed. (HTTP 400)")
    assert client.get(f"/v1/functions/{fid}").json()["code"] == recoded["code"]

    workers = cli.json("function", "worker", "list", fid)
    assert [list(row) for row in workers] == [["Function_id", "Worker_name"]] * len(workers)
    assert workers and {row["Function_id"] for row in workers} == {fid}
    assert cli.json("function", "worker", "list", fid, "--filter", "function_version=0")
    assert cli.out("function", "scaleup", fid, "--count", "1") == (
        f"Request to scale up function {fid} has been accepted.\n"
    )
    assert cli.out("function", "scaledown", fid) == (
        f"Request to scale down function {fid} has been accepted.\n"
    )
    assert cli.out("function", "detach", fid) == (
        f"Request to detach function {fid} has been accepted.\n"
    )
    assert wait_for(
        lambda: client.get(f"/v1/functions/{fid}/workers").json() == {"workers": []}, 10
    )
    stdout, stderr = cli.error("function", "detach", UNKNOWN)
    assert stdout.strip() == f"Function not found [id={UNKNOWN}] (HTTP 404)"
    assert stderr.strip() == "Unable to detach the specified function."

    other = client.create_function(runtime["id"])["id"]
    deleted = cli.out("function", "delete", f"{name}-2", other)
    assert deleted.splitlines() == [
        f"Request to delete function {fid} has been accepted.",
        f"Request to delete function {other} has been accepted.",
    ]
    assert client.get(f"/v1/functions/{fid}").status_code == 404
    assert client.get(f"/v1/functions/{other}").status_code == 404


def test_execution_commands(cli, client, function_id):
    # 5.1.1's form, and the guides' positional form.
    sync = cli.json("function", "execution", "create", "--function", function_id, "--sync")
    assert list(sync) == EXECUTION_FIELDS
    assert (sync["status"], sync["sync"], output(sync)) == ("success", True, "Hello, World")
    guide = cli.json("function", "execution", "create", function_id, "--input", '{"name": "G"}')
    assert (guide["function_id"], output(guide)) == (function_id, "Hello, G")

    queued = cli.json("function", "execution", "create", "--function", function_id, "--async")
    assert (queued["sync"], queued["input"]) == (False, None)
    waited = cli.json(
        "function",
        "execution",
        "create",
        function_id,
        "--async",
        "--input",
        '{"name": "Wait"}',
        "--wait",
    )
    assert (waited["sync"], waited["status"], output(waited)) == (False, "success", "Hello, Wait")
    assert client.get(f"/v1/executions/{waited['id']}").json()["status"] == "success"
    assert wait_for(
        lambda: client.get(f"/v1/executions/{queued['id']}").json()["status"] == "success", 10
    )
    shown = cli.json("function", "execution", "show", queued["id"])
    assert (shown["status"], output(shown)) == ("success", "Hello, World")

    rows = cli.json(
        "function", "execution", "list",
        "--filter", f"function_id={function_id}", "--filter", "status=success",
    )  # fmt: skip
    assert all(list(row) == capitalised(EXECUTION_FIELDS) for row in rows)
    ids = [sync["id"], guide["id"], queued["id"], waited["id"]]
    assert sorted(row["Id"] for row in rows) == sorted(ids)

    log = cli.out("function", "execution", "log", "show", sync["id"])
    assert f"Start execution: {sync['id']}" in log and f"Finished execution: {sync['id']}" in log

    deleted = cli.out("function", "execution", "delete", "--execution", sync["id"])
    assert deleted == f"Request to delete execution {sync['id']} has been accepted.\n"
    deleted = cli.out("function", "execution", "delete", "--function", function_id)
    assert sorted(deleted.splitlines()) == sorted(
        f"Request to delete execution {i} has been accepted." for i in ids[1:]
    )
    assert client.get("/v1/executions", params={"function_id": function_id}).json() == {
        "executions": []
    }


def test_json_looking_logs_print_as_they_are(cli, client, runtime):
    """5.1.1 parses the log as JSON and crashes when it is a number or an object."""
    source = "def main(**kwargs):\n    print(42)\n    return 1\n"
    fid = client.create_function(runtime["id"], source=source, module="number")["id"]
    execution = client.run(fid)
    log = cli.out("function", "execution", "log", "show", execution["id"])
    assert log == client.get(f"/v1/executions/{execution['id']}/log").text
    assert "42" in log


def test_version_and_alias_commands(cli, client, function_id):
    version = cli.json("function", "version", "create", function_id, "--description", "first")
    assert list(version) == VERSION_FIELDS
    assert (version["function_id"], version["version_number"]) == (function_id, 1)
    rows = cli.json("function", "version", "list", function_id)
    assert [(row["Id"], row["Version_number"]) for row in rows] == [(version["id"], 1)]
    assert cli.json("function", "version", "show", function_id, "1") == version

    name = unique("alias")
    alias = cli.json(
        "function", "alias", "create", name, "--function", function_id,
        "--function-version", "1", "--description", "pinned",
    )  # fmt: skip
    assert list(alias) == ALIAS_FIELDS
    assert [alias[k] for k in ("name", "function_id", "function_version", "description")] == [
        name, function_id, 1, "pinned",
    ]  # fmt: skip
    rows = cli.json("function", "alias", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(ALIAS_FIELDS) for row in rows)
    assert [row["Function_version"] for row in rows if row["Name"] == name] == [1]
    by_alias = cli.json("function", "execution", "create", "--function-alias", name)
    assert (by_alias["function_alias"], by_alias["function_version"]) == (name, 1)

    updated = cli.json(
        "function", "alias", "update", name, "--function", function_id,
        "--function-version", "0", "--description", "latest",
    )  # fmt: skip
    assert (updated["function_version"], updated["description"]) == (0, "latest")
    assert cli.json("function", "alias", "show", name) == updated
    assert client.get(f"/v1/aliases/{name}").json()["function_version"] == 0
    deleted = cli.out("function", "alias", "delete", name)
    assert deleted == f"Request to delete function_alias {name} has been accepted.\n"
    assert client.get(f"/v1/aliases/{name}").status_code == 404

    assert cli.out("function", "version", "detach", function_id, "1") == (
        f"Request to detach function {function_id}(version 1) has been accepted.\n"
    )
    assert cli.out("function", "version", "delete", function_id, "1") == ""
    assert client.get(f"/v1/functions/{function_id}/versions").json() == {"function_versions": []}


def test_job_commands(cli, client, function_id):
    cron = cli.json(
        "job", "create", "--function", function_id, "--function-version", "0", "--name", "yearly",
        "--pattern", "0 0 1 1 *", "--function-input", '{"name": "Job"}', "--count", "3",
    )  # fmt: skip
    assert list(cron) == JOB_FIELDS
    assert [cron[k] for k in ("name", "status", "count", "pattern", "function_input")] == [
        "yearly", "running", 3, "0 0 1 1 *", '{"name": "Job"}',
    ]  # fmt: skip
    once = cli.json(
        "job", "create", "--function", function_id, "--first-execution-time", "2099-01-01 00:00:00"
    )
    assert (once["count"], once["first_execution_time"]) == (1, "2099-01-01T00:00:00Z")
    alias = unique("job-alias")
    client.post("/v1/aliases", json={"name": alias, "function_id": function_id})
    by_alias = cli.json("job", "create", "--function-alias", alias, "--pattern", "0 0 * * *")
    assert (by_alias["function_alias"], by_alias["pattern"]) == (alias, "0 0 * * *")

    rows = cli.json("job", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(JOB_FIELDS) for row in rows)
    assert {cron["id"], once["id"], by_alias["id"]} <= {row["Id"] for row in rows}
    assert cli.json("job", "show", once["id"]) == once

    updated = cli.json(
        "job", "update", cron["id"], "--name", "renamed", "--status", "paused",
        "--pattern", "0 0 2 1 *", "--function-input", "{}",
    )  # fmt: skip
    assert [updated[k] for k in ("name", "status", "pattern", "function_input")] == [
        "renamed", "paused", "0 0 2 1 *", "{}",
    ]  # fmt: skip
    resumed = cli.json(
        "job", "update", cron["id"], "--status", "running",
        "--next-execution-time", "2098-02-01 00:00:00",
    )  # fmt: skip
    assert resumed["status"] == "running"
    assert client.get(f"/v1/jobs/{cron['id']}").json()["status"] == "running"

    deleted = cli.out("job", "delete", cron["id"], once["id"], by_alias["id"])
    assert len(deleted.splitlines()) == 3
    assert client.get(f"/v1/jobs/{cron['id']}").status_code == 404


def test_webhook_commands(cli, client, server, function_id):
    assert client.post(f"/v1/functions/{function_id}/versions", json={}).status_code == 201
    webhook = cli.json("webhook", "create", "--function", function_id, "--description", "alarm")
    assert list(webhook) == WEBHOOK_FIELDS
    assert webhook["webhook_url"] == f"{server['url']}/v1/webhooks/{webhook['id']}/invoke"
    guide = cli.json("webhook", "create", function_id, "--function-version", "1")
    assert (guide["function_id"], guide["function_version"]) == (function_id, 1)
    alias = unique("hook-alias")
    client.post("/v1/aliases", json={"name": alias, "function_id": function_id})
    by_alias = cli.json("webhook", "create", "--function-alias", alias)
    assert by_alias["function_alias"] == alias

    rows = cli.json("webhook", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(WEBHOOK_FIELDS) for row in rows)
    assert {webhook["id"], guide["id"], by_alias["id"]} <= {row["Id"] for row in rows}

    updated = cli.json(
        "webhook", "update", webhook["id"], "--function-id", function_id,
        "--function-version", "1", "--description", "v1",
    )  # fmt: skip
    assert [updated[k] for k in ("function_id", "function_version", "description")] == [
        function_id, 1, "v1",
    ]  # fmt: skip
    assert cli.json("webhook", "show", webhook["id"]) == updated

    answer = client.http.post(guide["webhook_url"], json={}, headers={"X-Auth-Token": ""})
    assert answer.status_code == 202, answer.text

    deleted = cli.out("webhook", "delete", webhook["id"], guide["id"], by_alias["id"])
    assert len(deleted.splitlines()) == 3
    assert client.get(f"/v1/webhooks/{webhook['id']}").status_code == 404


def test_errors_print_the_faultstring(cli, function_id):
    _, stderr = cli.error("function", "show", UNKNOWN)
    assert stderr.strip() == f"Function not found [id={UNKNOWN}] (HTTP 404)"
    _, stderr = cli.error("function", "show", "no-such-name")
    assert stderr.strip() == "No Function matching {'name': 'no-such-name'}"
    _, stderr = cli.error("function", "execution", "create", function_id, "--function-version", "9")
    assert stderr.strip() == (
        f"FunctionVersion not found [function_id={function_id}, version_number=9] (HTTP 404)"
    )
    stdout, stderr = cli.error("webhook", "delete", UNKNOWN)
    assert stdout.strip() == f"Webhook not found [id={UNKNOWN}] (HTTP 404)"
    assert stderr.strip() == "Unable to delete the specified webhook(s)."


def test_output_formats_and_endpoints(cli, client, function_id, server):
    show = ("function", "show", function_id)
    assert yaml.safe_load(cli.out(*show, "-f", "yaml"))["id"] == function_id
    assert cli.json(*show)["code"]["source"] == "package"
    assert cli.value(*show, "-c", "id") == function_id
    assert f'id="{function_id}"' in cli.out(*show, "-f", "shell").splitlines()
    table = cli.out(*show, "-f", "table")
    assert table.startswith("+") and f"| id          | {function_id} " in table
    rows = yaml.safe_load(cli.out("function", "list", "-f", "yaml"))
    assert function_id in [row["Id"] for row in rows]

    # --qinling-url and QINLING_URL win over --os-endpoint; a token goes as admin_token.
    elsewhere = ["--os-auth-type", "none", "--os-endpoint", "http://127.0.0.1:9"]
    away = osc_plugin.Cli(server["url"], cli.cwd, auth=elsewhere)
    assert away.value("--qinling-url", server["url"], *show, "-c", "id") == function_id
    assert away.value(*show, "-c", "id", env={"QINLING_URL": server["url"]}) == function_id
    token = osc_plugin.Cli(server["url"], cli.cwd, auth=["--os-token", "secret"])
    assert token.value("--os-endpoint", server["url"], *show, "-c", "id") == function_id


def test_installed_openstack_runs_the_guide_forms(server, client, function_id, tmp_path):
    """The ``openstack`` executable finds the plugin through its entry points."""
    auth = ["--os-auth-type", "none", "--os-endpoint", server["url"]]
    done = subprocess.run(
        [OPENSTACK, *auth, "function", "execution", "create", function_id, "--input", "sub",
         "-f", "json"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path, env=clean_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    execution = json.loads(done.stdout)
    assert output(execution) == "Hello, sub"
    assert client.get(f"/v1/executions/{execution['id']}").json()["status"] == "success"

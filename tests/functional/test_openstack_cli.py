"""The real ``openstack`` CLI (python-qinlingclient 5.1.1) against qinling-lite, no Keystone.

The CLI lives in a virtual environment of its own, built once and kept in pytest's cache
directory (``QINLING_LITE_OSC_VENV`` names another place). Each command takes about a second,
so every check reads what one command prints, and set-up that is not under test goes over REST.
"""

import datetime
import hashlib
import json
import pathlib
import uuid
import zipfile

import pytest

from tests import cli as osc
from tests.functional.conftest import HELLO_WORLD, make_zip, wait_for

GREET = "def main(name='World', **kwargs):\n    return 'Greetings, %s' % name\n"
HI = "def main(name='World', **kwargs):\n    return 'Hi, %s' % name\n"
UNKNOWN = "6f0b7a3e-5c1d-4d8e-9a2b-3c4d5e6f7a8b"
RUNTIME_FIELDS = [
    "id", "name", "image", "status", "description", "is_public", "trusted", "project_id",
    "created_at", "updated_at",
]  # fmt: skip
FUNCTION_FIELDS = [
    "id", "name", "description", "count", "code", "runtime_id", "entry", "project_id",
    "created_at", "updated_at", "cpu", "memory_size", "timeout",
]  # fmt: skip
EXECUTION_FIELDS = [
    "id", "function_alias", "function_id", "function_version", "description", "input", "result",
    "status", "sync", "project_id", "created_at", "updated_at",
]  # fmt: skip
VERSION_FIELDS = [
    "id", "function_id", "description", "version_number", "count", "project_id", "created_at",
    "updated_at",
]  # fmt: skip
ALIAS_FIELDS = [
    "name", "function_id", "description", "function_version", "project_id", "created_at",
    "updated_at",
]  # fmt: skip
JOB_FIELDS = [
    "id", "name", "count", "status", "function_alias", "function_id", "function_version",
    "function_input", "pattern", "first_execution_time", "next_execution_time", "project_id",
    "created_at", "updated_at",
]  # fmt: skip
WEBHOOK_FIELDS = [
    "id", "function_alias", "function_id", "function_version", "description", "project_id",
    "created_at", "updated_at", "webhook_url",
]  # fmt: skip


def capitalised(fields):
    """The keys of a ``list -f json`` row."""
    return [field.capitalize() for field in fields]


def output(execution):
    return json.loads(execution["result"])["output"]


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="session")
def cli(openstack, server, tmp_path_factory):
    return osc.Cli(openstack, server["url"], tmp_path_factory.mktemp("cli"))


def test_runtime_commands(cli, client):
    name = unique("cli-runtime")
    created = cli.json("runtime", "create", "--name", name, "--description", "made by", "python3")
    assert list(created) == RUNTIME_FIELDS
    assert created["status"] in ("creating", "available")
    assert (created["name"], created["description"], created["image"]) == (
        name,
        "made by",
        "python3",
    )
    assert (created["is_public"], created["trusted"], created["project_id"]) == (
        True,
        True,
        "default",
    )
    runtime_id = created["id"]
    assert wait_for(
        lambda: client.get(f"/v1/runtimes/{runtime_id}").json()["status"] == "available", 60
    )
    shown = cli.json("runtime", "show", runtime_id)
    assert shown["status"] == "available"
    assert {k: v for k, v in shown.items() if k not in ("status", "updated_at")} == {
        k: v for k, v in created.items() if k not in ("status", "updated_at")
    }

    rows = cli.json("runtime", "list")
    assert all(list(row) == capitalised(RUNTIME_FIELDS) for row in rows)
    assert {"Id": runtime_id, "Name": name, "Status": "available"}.items() <= {
        k: v for row in rows if row["Id"] == runtime_id for k, v in row.items()
    }.items()

    pool = cli.json("runtime", "pool", "show", runtime_id)
    assert pool["name"] == runtime_id
    assert {"total", "available"} <= set(pool["capacity"])

    deleted = cli.out("runtime", "delete", runtime_id)
    assert deleted == f"Request to delete runtime {runtime_id} has been accepted.\n"
    # The engine removes the pool, then the row.
    assert wait_for(lambda: client.get(f"/v1/runtimes/{runtime_id}").status_code == 404, 30)


def test_function_commands(cli, client, runtime, tmp_path):
    (cli_dir := tmp_path / "src").mkdir()
    (source := cli_dir / "hello_world.py").write_text(HELLO_WORLD)
    name = unique("cli-file")
    from_file = cli.json(
        "function", "create", "--runtime", runtime["id"], "--entry", "hello_world.main",
        "--file", str(source), "--name", name,
    )  # fmt: skip
    assert list(from_file) == FUNCTION_FIELDS
    assert from_file["code"]["source"] == "package"
    assert (from_file["name"], from_file["entry"], from_file["runtime_id"]) == (
        name,
        "hello_world.main",
        runtime["id"],
    )
    assert (from_file["timeout"], from_file["count"], from_file["description"]) == (5, 0, None)
    # The client zipped the file into $TMPDIR (the CLI's working directory here) and removed it.
    assert not list(pathlib.Path(cli.cwd).glob("*.zip"))

    package = make_zip({"greet.py": GREET})
    (package_path := tmp_path / "greet.zip").write_bytes(package)
    from_package = cli.json(
        "function", "create", "--runtime", runtime["id"], "--entry", "greet.main",
        "--package", str(package_path), "--name", unique("cli-package"),
        "--cpu", "200", "--memory-size", "67108864", "--timeout", "3",
    )  # fmt: skip
    assert from_package["code"] == {"source": "package", "md5sum": hashlib.md5(package).hexdigest()}
    assert [from_package[k] for k in ("cpu", "memory_size", "timeout")] == [200, 67108864, 3]

    rows = cli.json("function", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(FUNCTION_FIELDS) for row in rows)
    listed = {row["Id"]: row for row in rows}
    assert listed[from_file["id"]]["Name"] == name
    assert listed[from_package["id"]]["Entry"] == "greet.main"

    # By name: the client lists the functions, picks the one called so, then shows it.
    assert cli.value("function", "show", name, "-c", "id") == from_file["id"]

    target = tmp_path / "downloaded.zip"
    printed = cli.out("function", "download", from_package["id"], "-o", str(target))
    assert printed == f"Code package downloaded to {target}\n"
    assert target.read_bytes() == package

    updated = cli.json(
        "function", "update", from_file["id"], "--name", f"{name}-renamed",
        "--description", "renamed", "--timeout", "7",
    )  # fmt: skip
    assert [updated[k] for k in ("name", "description", "timeout", "code")] == [
        f"{name}-renamed", "renamed", 7, from_file["code"],
    ]  # fmt: skip

    source.write_text(HI)
    recoded = cli.json("function", "update", from_file["id"], "--file", str(source))
    assert recoded["code"]["md5sum"] != from_file["code"]["md5sum"]
    assert recoded["name"] == f"{name}-renamed"
    stored = client.get(f"/v1/functions/{from_file['id']}", params={"download": "true"})
    target.write_bytes(stored.content)
    with zipfile.ZipFile(target) as archive:
        assert archive.read("hello_world.py").decode() == HI

    deleted = cli.out("function", "delete", from_file["id"], from_package["id"])
    assert deleted.splitlines() == [
        f"Request to delete function {from_file['id']} has been accepted.",
        f"Request to delete function {from_package['id']} has been accepted.",
    ]
    assert client.get(f"/v1/functions/{from_file['id']}").status_code == 404
    assert client.get(f"/v1/functions/{from_package['id']}").status_code == 404


def test_execution_commands(cli, client, runtime):
    function_id = client.create_function(runtime["id"])["id"]
    sync = cli.json(
        "function", "execution", "create", "--function", function_id, "--input", '{"name": "CLI"}'
    )
    assert list(sync) == EXECUTION_FIELDS
    assert (sync["status"], sync["sync"], sync["function_version"]) == ("success", True, 0)
    assert (sync["input"], output(sync)) == ('{"name": "CLI"}', "Hello, CLI")

    queued = cli.json("function", "execution", "create", "--function", function_id, "--async")
    assert (queued["sync"], queued["input"]) == (False, None)
    assert queued["status"] in ("pending", "running", "success")
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
    assert sorted(row["Id"] for row in rows) == sorted([sync["id"], queued["id"]])
    assert {row["Status"] for row in rows} == {"success"}

    log = cli.out("function", "execution", "log", "show", sync["id"])
    assert f"Start execution: {sync['id']}" in log
    assert f"Finished execution: {sync['id']}" in log

    deleted = cli.out("function", "execution", "delete", "--execution", sync["id"])
    assert deleted == f"Request to delete execution {sync['id']} has been accepted.\n"
    # By function: the client lists the function's executions and deletes each.
    deleted = cli.out("function", "execution", "delete", "--function", function_id)
    assert deleted == f"Request to delete execution {queued['id']} has been accepted.\n"
    assert client.get("/v1/executions", params={"function_id": function_id}).json() == {
        "executions": []
    }


def test_version_and_alias_commands(cli, client, runtime):
    function_id = client.create_function(runtime["id"])["id"]
    version = cli.json("function", "version", "create", function_id, "--description", "first")
    assert list(version) == VERSION_FIELDS
    assert [version[k] for k in ("function_id", "description", "version_number", "count")] == [
        function_id, "first", 1, 0,
    ]  # fmt: skip
    # Version 0 moves on; version 1 keeps the old code.
    changed = client.put(
        f"/v1/functions/{function_id}",
        data={"code": '{"source": "package"}'},
        files={"package": ("f.zip", make_zip({"hello_world.py": HI}))},
    )
    assert changed.status_code == 200, changed.text

    rows = cli.json("function", "version", "list", function_id)
    assert [list(row) for row in rows] == [capitalised(VERSION_FIELDS)]
    assert (rows[0]["Id"], rows[0]["Version_number"]) == (version["id"], 1)
    assert cli.json("function", "version", "show", function_id, "1") == version

    name = unique("cli-alias")
    alias = cli.json(
        "function", "alias", "create", name, "--function", function_id,
        "--function-version", "1", "--description", "pinned",
    )  # fmt: skip
    assert list(alias) == ALIAS_FIELDS
    assert [alias[k] for k in ("name", "function_id", "function_version", "description")] == [
        name, function_id, 1, "pinned",
    ]  # fmt: skip
    rows = cli.json("function", "alias", "list")
    assert all(list(row) == capitalised(ALIAS_FIELDS) for row in rows)
    assert [row["Function_version"] for row in rows if row["Name"] == name] == [1]

    by_alias = cli.json("function", "execution", "create", "--function-alias", name)
    assert (by_alias["function_alias"], by_alias["function_version"]) == (name, 1)
    assert output(by_alias) == "Hello, World"

    updated = cli.json(
        "function", "alias", "update", name, "--function-version", "0", "--description", "latest"
    )
    assert (updated["function_version"], updated["description"]) == (0, "latest")
    assert updated["function_id"] == function_id
    assert cli.json("function", "alias", "show", name) == updated

    deleted = cli.out("function", "alias", "delete", name)
    assert deleted == f"Request to delete function_alias {name} has been accepted.\n"
    assert client.get(f"/v1/aliases/{name}").status_code == 404

    assert cli.out("function", "version", "delete", function_id, "1") == ""
    assert client.get(f"/v1/functions/{function_id}/versions").json() == {"function_versions": []}


def test_job_commands(cli, client, runtime):
    function_id = client.create_function(runtime["id"])["id"]
    cron = cli.json(
        "job", "create", "--function", function_id, "--name", "yearly",
        "--pattern", "0 0 1 1 *", "--function-input", '{"name": "Job"}',
    )  # fmt: skip
    assert list(cron) == JOB_FIELDS
    assert [cron[k] for k in ("name", "status", "count", "pattern", "function_input")] == [
        "yearly", "running", None, "0 0 1 1 *", '{"name": "Job"}',
    ]  # fmt: skip
    assert cron["next_execution_time"] == cron["first_execution_time"]
    assert cron["first_execution_time"].endswith("-01-01T00:00:00Z")

    soon = datetime.datetime.now(datetime.UTC).replace(microsecond=0) + datetime.timedelta(
        minutes=3
    )
    once = cli.json(
        "job", "create", "--function", function_id,
        "--first-execution-time", soon.strftime("%Y-%m-%d %H:%M:%S"),
    )  # fmt: skip
    assert [once[k] for k in ("count", "pattern", "status", "function_version")] == [
        1, None, "running", 0,
    ]  # fmt: skip
    assert once["first_execution_time"] == soon.strftime("%Y-%m-%dT%H:%M:%SZ")

    rows = cli.json("job", "list")
    assert all(list(row) == capitalised(JOB_FIELDS) for row in rows)
    assert {cron["id"], once["id"]} <= {row["Id"] for row in rows}
    assert cli.json("job", "show", once["id"]) == once

    assert cli.value("job", "update", cron["id"], "--status", "paused", "-c", "status") == "paused"
    assert cli.value("job", "update", cron["id"], "--status", "running", "-c", "status") == (
        "running"
    )

    deleted = cli.out("job", "delete", cron["id"], once["id"])
    assert deleted.splitlines() == [
        f"Request to delete job {cron['id']} has been accepted.",
        f"Request to delete job {once['id']} has been accepted.",
    ]
    assert client.get("/v1/executions", params={"function_id": function_id}).json() == {
        "executions": []
    }


def test_webhook_commands(cli, client, runtime, server):
    function_id = client.create_function(runtime["id"])["id"]
    assert client.post(f"/v1/functions/{function_id}/versions", json={}).status_code == 201
    webhook = cli.json("webhook", "create", "--function", function_id, "--description", "alarm")
    assert list(webhook) == WEBHOOK_FIELDS
    assert [webhook[k] for k in ("function_id", "function_version", "description")] == [
        function_id, 0, "alarm",
    ]  # fmt: skip
    assert webhook["webhook_url"] == f"{server['url']}/v1/webhooks/{webhook['id']}/invoke"

    rows = cli.json("webhook", "list", "--filter", "project_id=default")
    assert all(list(row) == capitalised(WEBHOOK_FIELDS) for row in rows)
    assert [row["Description"] for row in rows if row["Id"] == webhook["id"]] == ["alarm"]

    updated = cli.json(
        "webhook", "update", webhook["id"], "--function-version", "1", "--description", "v1"
    )
    assert [updated[k] for k in ("function_id", "function_version", "description")] == [
        function_id, 1, "v1",
    ]  # fmt: skip
    assert cli.json("webhook", "show", webhook["id"]) == updated

    # What the seed does with curl.
    answer = client.http.post(
        webhook["webhook_url"],
        json={"alarm_name": "cpu_high", "current": "alarm"},
        headers={"X-Auth-Token": ""},
    )
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["execution_id"]
    assert wait_for(
        lambda: client.get(f"/v1/executions/{execution_id}").json()["status"] == "success", 10
    )
    rows = cli.json("function", "execution", "list", "--filter", f"function_id={function_id}")
    assert [(row["Id"], row["Function_version"], row["Sync"]) for row in rows] == [
        (execution_id, 1, False)
    ]
    assert rows[0]["Description"] == f"Created by Webhook {webhook['id']}"
    assert json.loads(rows[0]["Input"]) == {"alarm_name": "cpu_high", "current": "alarm"}

    deleted = cli.out("webhook", "delete", webhook["id"])
    assert deleted == f"Request to delete webhook {webhook['id']} has been accepted.\n"
    assert client.get(f"/v1/webhooks/{webhook['id']}").status_code == 404


def test_errors_print_the_faultstring(cli, client, runtime):
    stdout, stderr = cli.error("function", "show", UNKNOWN)
    assert stderr.strip() == f"Function not found [id={UNKNOWN}] (HTTP 404)"

    function_id = client.create_function(runtime["id"])["id"]
    stdout, stderr = cli.error(
        "function", "execution", "create", "--function", function_id, "--function-version", "9"
    )
    assert stderr.strip() == (
        f"FunctionVersion not found [function_id={function_id}, version_number=9] (HTTP 404)"
    )
    assert client.get("/v1/executions", params={"function_id": function_id}).json() == {
        "executions": []
    }

    # Delete commands print the error on stdout and a summary on stderr.
    stdout, stderr = cli.error("webhook", "delete", UNKNOWN)
    assert stdout.strip() == f"Webhook not found [id={UNKNOWN}] (HTTP 404)"
    assert stderr.strip() == "Unable to delete the specified webhook(s)."


def test_worker_admin_commands(cli, client, runtime):
    """detach, scaleup, scaledown, worker list and version detach (the admin worker calls)."""
    function_id = client.create_function(runtime["id"])["id"]
    assert client.post(f"/v1/functions/{function_id}/versions", json={}).status_code == 201
    assert client.run(function_id)["status"] == "success"

    workers = cli.json("function", "worker", "list", function_id)
    assert workers, "a worker should be warm after an execution"
    assert all(list(row) == ["Function_id", "Worker_name"] for row in workers)
    assert {row["Function_id"] for row in workers} == {function_id}
    assert all(row["Worker_name"] for row in workers)

    scaled = cli.out("function", "scaleup", function_id, "--count", "1")
    assert scaled == f"Request to scale up function {function_id} has been accepted.\n"
    scaled = cli.out("function", "scaledown", function_id)
    assert scaled == f"Request to scale down function {function_id} has been accepted.\n"

    detached = cli.out("function", "detach", function_id)
    assert detached == f"Request to detach function {function_id} has been accepted.\n"
    assert wait_for(
        lambda: client.get(f"/v1/functions/{function_id}/workers").json() == {"workers": []}, 10
    )
    detached = cli.out("function", "version", "detach", function_id, "1")
    assert detached == f"Request to detach function {function_id}(version 1) has been accepted.\n"
    # Detached workers restart cold: the function still runs.
    assert client.run(function_id)["status"] == "success"

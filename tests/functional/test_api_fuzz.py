"""Schemathesis drives the served OpenAPI document against a live ``qinling-lite-serve``.

``st run`` fuzzes every operation of ``GET /v1/openapi.json`` with a fixed budget:
``MAX_EXAMPLES`` requests per operation and phase (coverage: boundary and invalid values;
fuzzing: generated ones), seeded, one worker, so that a run is reproducible. The server is
its own (the run creates and changes resources), seeded with one resource of each kind:
outside DELETE (which would remove them), a path parameter or body field that names a
resource names the seeded one in three requests out of four, so that operations run on
existing resources and do not only answer 404. Every answer must be no 5xx, of a
documented status and media type, and match its documented schema; the test fails with
Schemathesis' report of the failing cases, each with the ``curl`` command that
reproduces it.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.functional.conftest import Client, serving

ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 30
SEED = 20260101
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
CONFIG = (
    "[local_orchestrator]\npool_size = 1\n"
    "[engine]\npending_sweep_interval = 1\npending_grace = 1\n"
    "[api]\nmax_function_versions = 3\n"
)


def seed(client):
    """One resource of each kind: path parameter name -> its id (or name, number)."""
    runtime = client.create_runtime()["id"]
    function = client.create_function(runtime)["id"]
    created = {
        "version": client.post(f"/v1/functions/{function}/versions", json={}),
        "alias": client.post(
            "/v1/aliases", json={"name": "a1", "function_id": function, "function_version": 1}
        ),
        "job": client.post("/v1/jobs", json={"function_id": function, "pattern": "0 0 1 1 *"}),
        "webhook": client.post("/v1/webhooks", json={"function_id": function}),
    }
    for response in created.values():
        assert response.status_code == 201, response.text
    return {
        "runtime_id": runtime,
        "function_id": function,
        "version_number": 1,
        "name": "a1",
        "execution_id": client.run(function)["id"],
        "job_id": created["job"].json()["id"],
        "webhook_id": created["webhook"].json()["id"],
    }


# Body fields that name a seeded resource -> the seed's name.
BODY_SEEDS = {"function_id": "function_id", "runtime_id": "runtime_id", "function_alias": "name"}


def st_config(seeds):
    """schemathesis.toml: each seed a dictionary, bound to its path parameter, and to the
    body fields that name it, outside DELETE (TOML strings and numbers are written as
    JSON ones)."""
    lines = []
    for name, value in seeds.items():
        lines += [f"[dictionaries.{name}]", f"values = [{json.dumps(value)}]"]
    targets = {f"path.{name}": name for name in seeds} | {
        f"body.{field}": name for field, name in BODY_SEEDS.items()
    }
    bindings = ", ".join(
        f'"{target}" = {{ dictionary = "{name}", probability = 0.75 }}'
        for target, name in targets.items()
    )
    lines += [
        "[[operations]]",
        'include-method-regex = "^(GET|POST|PUT)$"',
        f"parameters = {{ {bindings} }}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("fuzz"), CONFIG) as server:
        yield server, seed(Client(server["url"]))


def test_the_api_survives_fuzzing(live, tmp_path):
    server, seeds = live
    config = tmp_path / "schemathesis.toml"
    config.write_text(st_config(seeds))
    command = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{server['url']}/v1/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--request-timeout",
        "30",
        "--no-color",
    ]
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    took = time.monotonic() - started
    report = f"{run.stdout}\n{run.stderr}\n(st run took {took:.0f} s)"
    print(report)
    assert run.returncode == 0, report

"""The jobs API: validation, pause/resume/cancel, and the function it protects."""

import datetime

import pytest

IN_AN_HOUR = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).strftime(
    "%Y-%m-%dT%H:%M:%SZ"
)
JOB_FIELDS = {
    "id", "name", "count", "status", "function_alias", "function_id", "function_version",
    "function_input", "pattern", "first_execution_time", "next_execution_time", "project_id",
    "created_at", "updated_at",
}  # fmt: skip
UPDATE_KEYS = ("name", "status", "next_execution_time", "pattern", "function_input")


def cli_body(**given):
    """A job create body as the 5.1.1 CLI sends it: all eight keys, null when not given."""
    keys = (
        "function_alias", "function_id", "function_version", "name", "first_execution_time",
        "pattern", "function_input", "count",
    )  # fmt: skip
    return {key: given.get(key) for key in keys}


def update(client, job_id, **given):
    """A job update as the CLI sends it: all five keys, null when not given."""
    return client.put(f"/v1/jobs/{job_id}", json={k: given.get(k) for k in UPDATE_KEYS})


def test_cron_job_lifecycle(client, runtime):
    function = client.create_function(runtime["id"])
    body = cli_body(
        function_id=function["id"],
        name="every5",
        pattern="*/5 * * * *",
        function_input='{"name": "Job"}',
    )
    created = client.post("/v1/jobs", json=body)
    assert created.status_code == 201, created.text
    job = created.json()
    assert set(job) == JOB_FIELDS
    assert (job["status"], job["count"], job["function_version"]) == ("running", None, 0)
    assert job["next_execution_time"] == job["first_execution_time"]
    assert job["next_execution_time"].endswith("Z")

    paused = update(client, job["id"], status="paused")
    assert paused.status_code == 200, paused.text
    assert paused.json()["status"] == "paused"
    assert update(client, job["id"], status="running").json()["status"] == "running"
    assert update(client, job["id"], status="done").status_code == 400
    assert update(client, job["id"], pattern="").status_code == 400

    assert client.delete(f"/v1/functions/{function['id']}").status_code == 403
    assert update(client, job["id"], status="cancelled").json()["status"] == "cancelled"
    assert update(client, job["id"], name="x").status_code == 400
    assert job["id"] in [j["id"] for j in client.get("/v1/jobs").json()["jobs"]]
    assert client.delete(f"/v1/jobs/{job['id']}").status_code == 204
    assert client.get(f"/v1/jobs/{job['id']}").status_code == 404


def test_one_shot_job(client, runtime):
    function = client.create_function(runtime["id"])
    created = client.post(
        "/v1/jobs", json=cli_body(function_id=function["id"], first_execution_time=IN_AN_HOUR)
    )
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["count"], job["pattern"], job["next_execution_time"]) == (1, None, IN_AN_HOUR)
    assert update(client, job["id"], pattern="* * * * *").status_code == 400


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({}, "pattern or first_execution_time must be specified."),
        ({"pattern": "not a cron"}, "The specified pattern is not valid: not a cron"),
        ({"pattern": "* * * *"}, "The specified pattern is not valid: * * * *"),
        (
            {"first_execution_time": "2000-01-01T00:00:00Z"},
            "Execution time must be at least 1 minute in the future.",
        ),
        ({"first_execution_time": "yesterday"}, None),
        ({"first_execution_time": IN_AN_HOUR, "count": 2}, None),
        ({"pattern": "* * * * *", "count": 0}, None),
    ],
)
def test_bad_jobs_are_refused(client, runtime, given, message):
    function = client.create_function(runtime["id"])
    before = len(client.get("/v1/jobs").json()["jobs"])
    response = client.post("/v1/jobs", json=cli_body(function_id=function["id"], **given))
    assert response.status_code == 400, response.text
    if message:
        assert response.json()["faultstring"] == message
    assert len(client.get("/v1/jobs").json()["jobs"]) == before


def test_a_job_needs_a_function(client):
    assert client.post("/v1/jobs", json=cli_body(pattern="* * * * *")).status_code == 400
    unknown = cli_body(function_id="6f0b7a3e-5c1d-4d8e-9a2b-3c4d5e6f7a8b", pattern="* * * * *")
    assert client.post("/v1/jobs", json=unknown).status_code == 404

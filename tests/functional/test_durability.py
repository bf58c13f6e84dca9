"""An execution whose dispatch was lost still runs: the engine sweeps pending rows."""

import datetime
import json
import uuid

import sqlalchemy as sa

from tests.functional.conftest import wait_for


def test_a_pending_execution_nobody_dispatched_runs(client, server, runtime):
    function = client.create_function(runtime["id"])
    execution_id = str(uuid.uuid4())
    # As if the API committed the row and then died before telling any engine.
    engine = sa.create_engine(server["database"], poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO executions (id, project_id, function_id, function_version, "
                "sync, input, status, created_at) VALUES (:id, 'default', :function_id, 0, "
                ":sync, :input, 'pending', :created_at)"
            ),
            {
                "id": execution_id,
                "function_id": function["id"],
                "sync": False,
                "input": json.dumps({"name": "Sweep"}),
                "created_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
            },
        )
    engine.dispose()
    # Not run yet (the sweep waits for the grace period): no input shown, an empty log.
    log = client.get(f"/v1/executions/{execution_id}/log")
    assert (log.status_code, log.text) == (200, "")
    assert log.headers["Content-Type"].startswith("text/plain")

    done = wait_for(
        lambda: client.get(f"/v1/executions/{execution_id}").json()["status"] == "success",
        timeout=10,
        interval=0.1,
    )
    assert done
    result = json.loads(client.get(f"/v1/executions/{execution_id}").json()["result"])
    assert result["output"] == "Hello, Sweep"

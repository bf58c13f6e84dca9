"""A positional execution input is stored as a JSON string, not under a magic key.

It was ``{"__function_input": "<text>"}``, which a webhook body or an input object with
that key could imitate; now it is ``"<text>"``, and every object is keyword arguments.
Rows of the old form are rewritten (and back on downgrade), in batches.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:30:00
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

OLD_KEY = "__function_input"
BATCH = 500

executions = sa.table("executions", sa.column("id", sa.String(36)), sa.column("input", sa.Text))


def _rewrite(pattern, convert):
    """Rewrite the input of the executions whose input text is LIKE ``pattern`` with
    ``convert`` (stored value -> new value, or None to keep the row)."""
    connection = op.get_bind()
    last = ""
    while True:
        rows = connection.execute(
            sa.select(executions.c.id, executions.c.input)
            .where(executions.c.id > last, executions.c.input.like(pattern))
            .order_by(executions.c.id)
            .limit(BATCH)
        ).all()
        for id_, text in rows:
            value = convert(json.loads(text))
            if value is not None:
                connection.execute(
                    executions.update()
                    .where(executions.c.id == id_)
                    .values(input=json.dumps(value))
                )
        if len(rows) < BATCH:
            return
        last = rows[-1][0]


def _old_to_new(value):
    if isinstance(value, dict) and list(value) == [OLD_KEY] and isinstance(value[OLD_KEY], str):
        return value[OLD_KEY]
    return None


def _new_to_old(value):
    return {OLD_KEY: value} if isinstance(value, str) else None


def upgrade():
    _rewrite('{"' + OLD_KEY + '": %', _old_to_new)


def downgrade():
    _rewrite('"%', _new_to_old)

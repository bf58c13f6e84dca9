"""Retries of failed asynchronous executions, and dead-letter functions.

Functions get their retry settings and dead-letter function; each retry is an execution
row of its own, linked to the one it retries, which no engine claims before its
``not_before`` time.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 10:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("functions") as batch:
        batch.add_column(sa.Column("retry_attempts", sa.Integer))
        batch.add_column(sa.Column("retry_on", sa.String(64)))
        batch.add_column(sa.Column("dead_letter_function_id", sa.String(36)))
        batch.create_index("ix_functions_dead_letter_function_id", ["dead_letter_function_id"])
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("retry_of", sa.String(36)))
        batch.add_column(sa.Column("retry_attempt", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("not_before", Timestamp))
        batch.add_column(sa.Column("dead_letter_of", sa.String(36)))
        batch.create_index("ix_executions_retry_of", ["retry_of"], unique=True)
        batch.create_index("ix_executions_dead_letter_of", ["dead_letter_of"])
        batch.create_index("executions_status_not_before_idx", ["status", "not_before"])


def downgrade():
    with op.batch_alter_table("executions") as batch:
        batch.drop_index("executions_status_not_before_idx")
        batch.drop_index("ix_executions_dead_letter_of")
        batch.drop_index("ix_executions_retry_of")
        for column in ("dead_letter_of", "not_before", "retry_attempt", "retry_of"):
            batch.drop_column(column)
    with op.batch_alter_table("functions") as batch:
        batch.drop_index("ix_functions_dead_letter_function_id")
        for column in ("dead_letter_function_id", "retry_on", "retry_attempts"):
            batch.drop_column(column)

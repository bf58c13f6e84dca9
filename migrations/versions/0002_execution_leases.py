"""Execution leases: which engine runs an execution, until when, and how often it tried.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 02:05:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("executions") as batch:
        batch.add_column(sa.Column("engine_id", sa.String(255)))
        batch.add_column(sa.Column("lease_expires_at", Timestamp))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.drop_index("executions_status_updated_at_idx")
        batch.create_index("executions_status_created_at_idx", ["status", "created_at"])
        batch.create_index("executions_status_lease_expires_at_idx", ["status", "lease_expires_at"])

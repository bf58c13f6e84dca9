"""Cron and one-shot jobs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:40:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade():
    op.create_table(
        "jobs",
        sa.Column("name", sa.String(255)),
        sa.Column("function_id", sa.String(36), sa.ForeignKey("functions.id")),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.Column("function_input", sa.Text),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("pattern", sa.String(32)),
        sa.Column("count", sa.Integer),
        sa.Column("first_execution_time", Timestamp),
        sa.Column("next_execution_time", Timestamp, nullable=False),
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("created_at", Timestamp),
        sa.Column("updated_at", Timestamp),
    )
    op.create_index(op.f("ix_jobs_function_id"), "jobs", ["function_id"])
    op.create_index(
        "jobs_status_next_execution_time_idx", "jobs", ["status", "next_execution_time"]
    )

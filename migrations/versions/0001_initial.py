"""Initial schema: runtimes, functions, executions and webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 01:19:40
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# MySQL's TEXT holds 64 KiB; JSON values and logs need more.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# MySQL's DATETIME drops fractions of a second, which lists are ordered by.
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _common():
    """The columns every resource has, last as in the models."""
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("created_at", Timestamp),
        sa.Column("updated_at", Timestamp),
    ]


def upgrade():
    op.create_table(
        "runtimes",
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text),
        sa.Column("is_public", sa.Boolean, nullable=False),
        sa.Column("trusted", sa.Boolean, nullable=False),
        *_common(),
    )

    op.create_table(
        "functions",
        sa.Column("name", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("runtime_id", sa.String(36), sa.ForeignKey("runtimes.id")),
        sa.Column("code", LongText, nullable=False),
        sa.Column("entry", sa.String(80)),
        sa.Column("cpu", sa.Integer, nullable=False),
        sa.Column("memory_size", sa.BigInteger, nullable=False),
        sa.Column("timeout", sa.Integer, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("latest_version", sa.Integer, nullable=False),
        sa.Column("trust_id", sa.String(80)),
        *_common(),
    )
    op.create_index("ix_functions_runtime_id", "functions", ["runtime_id"])

    op.create_table(
        "executions",
        sa.Column("function_id", sa.String(36), nullable=False),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("description", sa.String(255)),
        sa.Column("sync", sa.Boolean, nullable=False),
        sa.Column("input", LongText),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("result", LongText),
        sa.Column("logs", LongText),
        *_common(),
    )
    op.create_index("ix_executions_function_id", "executions", ["function_id"])
    op.create_index(
        "executions_project_id_created_at_idx", "executions", ["project_id", "created_at"]
    )
    op.create_index("executions_status_updated_at_idx", "executions", ["status", "updated_at"])

    op.create_table(
        "webhooks",
        sa.Column("function_id", sa.String(36), sa.ForeignKey("functions.id")),
        sa.Column("function_version", sa.Integer),
        sa.Column("function_alias", sa.String(255)),
        sa.Column("description", sa.String(255)),
        *_common(),
    )
    op.create_index("ix_webhooks_function_id", "webhooks", ["function_id"])

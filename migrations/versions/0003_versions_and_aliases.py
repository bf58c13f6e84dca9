"""Function versions (package snapshots) and aliases.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 02:25:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _common():
    return [
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("project_id", sa.String(80), nullable=False),
        sa.Column("created_at", Timestamp),
        sa.Column("updated_at", Timestamp),
    ]


def upgrade():
    op.create_table(
        "function_versions",
        sa.Column(
            "function_id",
            sa.String(36),
            sa.ForeignKey("functions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version_number", sa.Integer, nullable=False),
        sa.Column("description", sa.String(255)),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("package_md5", sa.String(32), nullable=False),
        *_common(),
        sa.UniqueConstraint(
            "function_id", "version_number", name="function_versions_function_id_number_key"
        ),
    )
    op.create_table(
        "function_aliases",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("function_id", sa.String(36), sa.ForeignKey("functions.id"), nullable=False),
        sa.Column("function_version", sa.Integer, nullable=False),
        sa.Column("description", sa.String(255)),
        *_common(),
        sa.UniqueConstraint("project_id", "name", name="function_aliases_project_id_name_key"),
    )
    op.create_index(op.f("ix_function_aliases_function_id"), "function_aliases", ["function_id"])

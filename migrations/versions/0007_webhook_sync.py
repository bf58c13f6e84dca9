"""Synchronous webhooks: an invocation may wait for the function and answer its output.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 15:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("sync", sa.Boolean, nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("sync")

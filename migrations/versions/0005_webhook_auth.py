"""Per-webhook authentication (Keystone token or HMAC signature) and rate limit.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 05:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("auth", sa.String(16), nullable=False, server_default="none"))
        batch.add_column(sa.Column("secret", sa.String(64)))
        batch.add_column(sa.Column("rate_limit", sa.Integer))
        batch.add_column(sa.Column("rate_window", sa.BigInteger))
        batch.add_column(sa.Column("rate_count", sa.Integer, nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("webhooks") as batch:
        for column in ("rate_count", "rate_window", "rate_limit", "secret", "auth"):
            batch.drop_column(column)

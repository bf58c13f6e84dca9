"""Webhook input templates: which parts of the posted body become the function's input.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# JSON text, as the models' JsonEncoded stores it.
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")


def upgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.add_column(sa.Column("input_template", LongText, server_default=None))


def downgrade():
    with op.batch_alter_table("webhooks") as batch:
        batch.drop_column("input_template")

"""An index for counting a function's pending executions (the admission backlog).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 20:30:00
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("executions_function_id_status_idx", "executions", ["function_id", "status"])


def downgrade():
    op.drop_index("executions_function_id_status_idx", "executions")

"""A partial index of the runs still in flight (``ix_check_runs_open``).

The re-drive sweep reads the open runs every 30 s; ``check_runs`` keeps every run ever made (a
fleet of 10,000 hourly models adds 240,000 a day), so without it each sweep scans the whole history.

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OPEN = "status IN ('pending', 'running')"


def upgrade() -> None:
    op.create_index("ix_check_runs_open", "check_runs", ["created_at"], sqlite_where=sa.text(_OPEN),
                    postgresql_where=sa.text(_OPEN))


def downgrade() -> None:
    op.drop_index("ix_check_runs_open", table_name="check_runs")

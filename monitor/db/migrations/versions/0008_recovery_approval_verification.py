"""Recovery: approval deadline, follow-up verification, and ``pending_approval`` in the one-pending index.

Revision ID: 0008
Revises: 0007
"""
from alembic import op
import sqlalchemy as sa

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PENDING_BEFORE = "state IN ('scheduled', 'running')"
PENDING_AFTER = "state IN ('pending_approval', 'scheduled', 'running')"


def _pending_index(where: str) -> None:
    op.create_index("uq_recovery_actions_pending", "recovery_actions", ["model_id", "kind"], unique=True,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade() -> None:
    with op.batch_alter_table("recovery_actions") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("verify_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("verification_state", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("verification", sa.JSON(), nullable=True))
    op.drop_index("uq_recovery_actions_pending", table_name="recovery_actions")
    _pending_index(PENDING_AFTER)


def downgrade() -> None:
    op.drop_index("uq_recovery_actions_pending", table_name="recovery_actions")
    _pending_index(PENDING_BEFORE)
    with op.batch_alter_table("recovery_actions") as batch:
        batch.drop_column("verification")
        batch.drop_column("verification_state")
        batch.drop_column("verify_at")
        batch.drop_column("expires_at")

"""Cached drift reference (sorted numeric columns, category counts) per reference profile.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reference_profiles") as batch:
        batch.add_column(sa.Column("drift_reference", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("reference_profiles") as batch:
        batch.drop_column("drift_reference")

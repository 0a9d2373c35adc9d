"""Frozen windows as sets of row ids (a max-id watermark is not a snapshot on PostgreSQL).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "window_rows",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("prediction_id", sa.BigInteger(), nullable=False),
        sa.Column("label_id", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("key", "prediction_id", name=op.f("pk_window_rows")),
    )


def downgrade() -> None:
    op.drop_table("window_rows")

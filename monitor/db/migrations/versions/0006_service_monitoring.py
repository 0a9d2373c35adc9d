"""Service monitoring: availability probes of health URLs and host resource samples.

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "probe_results",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_probe_results_model_id_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_results")),
        sa.UniqueConstraint("model_id", "slot", name="uq_probe_results_model_slot"),
    )
    op.create_index("ix_probe_results_model_ts", "probe_results", ["model_id", "ts"])
    op.create_table(
        "host_metrics",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("ts", sa.DateTime(), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("cpu_pct", sa.Float(), nullable=False),
        sa.Column("memory_pct", sa.Float(), nullable=False),
        sa.Column("disk_pct", sa.Float(), nullable=True),
        sa.Column("rss_bytes", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_host_metrics_model_id_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_host_metrics")),
        sa.UniqueConstraint("host", "source", "ts", name="uq_host_metrics_host_source_ts"),
    )
    op.create_index("ix_host_metrics_model_ts", "host_metrics", ["model_id", "ts"])
    op.create_index("ix_host_metrics_host_ts", "host_metrics", ["host", "ts"])


def downgrade() -> None:
    op.drop_index("ix_host_metrics_host_ts", table_name="host_metrics")
    op.drop_index("ix_host_metrics_model_ts", table_name="host_metrics")
    op.drop_table("host_metrics")
    op.drop_index("ix_probe_results_model_ts", table_name="probe_results")
    op.drop_table("probe_results")

"""Alerts an on-call engineer trusts: acknowledged alerts stay open, silences, the alert
transitions of a grouped notification, and every delivery attempt.

Revision ID: 0007
Revises: 0006
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OPEN = "state IN ('firing', 'acknowledged')"
_FIRING = "state = 'firing'"
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=128), nullable=True))
        batch_op.drop_index("uq_alerts_open", sqlite_where=sa.text(_FIRING), postgresql_where=sa.text(_FIRING))
        batch_op.create_index("uq_alerts_open", ["model_id", "rule", "segment"], unique=True,
                              sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))

    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("rule", sa.String(length=64), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_silences")),
    )
    op.create_index("ix_silences_ends_at", "silences", ["ends_at"])

    op.create_table(
        "notification_alerts",
        sa.Column("notification_id", _ID, nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("transition", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], name=op.f("fk_notification_alerts_alert_id_alerts"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_notification_alerts_notification_id_notifications"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("notification_id", "alert_id", name=op.f("pk_notification_alerts")),
    )
    op.create_index(op.f("ix_notification_alerts_alert_id"), "notification_alerts", ["alert_id"])

    op.create_table(
        "delivery_attempts",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("notification_id", _ID, nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["notification_id"], ["notifications.id"],
                                name=op.f("fk_delivery_attempts_notification_id_notifications"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_attempts")),
        sa.UniqueConstraint("notification_id", "attempt", name="uq_delivery_attempts_notification_attempt"),
    )


def downgrade() -> None:
    op.drop_table("delivery_attempts")
    op.drop_index(op.f("ix_notification_alerts_alert_id"), table_name="notification_alerts")
    op.drop_table("notification_alerts")
    op.drop_index("ix_silences_ends_at", table_name="silences")
    op.drop_table("silences")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_open", sqlite_where=sa.text(_OPEN), postgresql_where=sa.text(_OPEN))
        batch_op.create_index("uq_alerts_open", ["model_id", "rule", "segment"], unique=True,
                              sqlite_where=sa.text(_FIRING), postgresql_where=sa.text(_FIRING))
        batch_op.drop_column("acknowledged_by")
        batch_op.drop_column("acknowledged_at")

"""The columnar log store: predictions and labels move from row tables into Parquet segments.

Creates ``log_segments`` (segment metadata), ``log_keys`` (every stored request id, for exact
duplicate counts) and ``window_segments`` (a check's frozen window); moves the rows of
``predictions`` and ``labels`` into segments in chunks (``monitor.logstore.legacy``), a row that can
no longer be stored going to ``quarantine`` with its reason; fails runs still in flight (their
frozen window was a list of row ids); drops ``predictions``, ``labels`` and ``window_rows``.

Revision ID: 0012
Revises: 0011
"""
import datetime as dt
from collections import defaultdict

from alembic import op
import sqlalchemy as sa

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

UTC = dt.timezone.utc


def _create() -> None:
    op.create_table(
        "log_segments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=True),
        sa.Column("min_ts", sa.DateTime(), nullable=True),
        sa.Column("max_ts", sa.DateTime(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("location", sa.Text(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_log_segments_model_id_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_segments")),
    )
    op.create_index("ix_log_segments_model_kind_ts", "log_segments", ["model_id", "kind", "min_ts"])
    op.create_table(
        "log_keys",
        sa.Column("model_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["models.id"], name=op.f("fk_log_keys_model_id_models"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "kind", "request_id", name=op.f("pk_log_keys")),
    )
    op.create_table(
        "window_segments",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("segment_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", "segment_id", name=op.f("pk_window_segments")),
    )


_PREDICTIONS = sa.table("predictions", *(sa.column(c) for c in (
    "id", "model_id", "version", "request_id", "ts", "features", "prediction", "score", "latency_ms", "status",
    "received_at")))
_LABELS = sa.table("labels", *(sa.column(c) for c in ("id", "model_id", "request_id", "label", "ts", "received_at")))
_STRINGS = {"predictions": ("request_id", "version", "status", "prediction"), "labels": ("request_id", "label")}


def _aware(value):
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(value):
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _move(bind, kind: str, source, root: str) -> None:
    from monitor.logstore import legacy

    segments = sa.table("log_segments", *(sa.column(c) for c in (
        "model_id", "kind", "version", "min_ts", "max_ts", "rows", "location", "checksum", "bytes", "created_at")))
    keys = sa.table("log_keys", sa.column("model_id"), sa.column("kind"), sa.column("request_id"))
    quarantine = sa.table("quarantine", *(sa.column(c) for c in (
        "model_id", "kind", "source", "row_number", "reason", "created_at")), sa.column("row", sa.JSON()))
    now = dt.datetime.now(UTC).replace(tzinfo=None)

    def add_segment(values):
        bind.execute(segments.insert().values(**{**values, "min_ts": _naive(values["min_ts"]),
                                                 "max_ts": _naive(values["max_ts"]), "created_at": now}))

    text = bind.dialect.name == "sqlite"  # psycopg decodes JSON columns itself
    after = 0
    while True:
        chunk = bind.execute(sa.select(source).where(source.c.id > after).order_by(source.c.id)
                             .limit(legacy.CHUNK)).mappings().all()
        if not chunk:
            return
        after = chunk[-1]["id"]
        groups, bad = defaultdict(list), []
        for stored in chunk:
            row = dict(stored)
            row["ts"] = _aware(row["ts"])
            value = "prediction" if kind == "predictions" else "label"
            row[value] = legacy.decoded(row[value], text)
            if kind == "predictions":
                row["features"] = legacy.decoded(row["features"], text) or {}
            reason = legacy.problem(row, _STRINGS[kind])
            if reason:
                bad.append({"model_id": row["model_id"], "kind": kind, "source": "migration 0012",
                            "row_number": row["id"], "reason": f"stored row {row['id']}: {reason}",
                            "row": legacy.clean({k: v for k, v in row.items() if k not in ("id", "received_at")}),
                            "created_at": now})
            else:
                groups[(row["model_id"], row.get("version"))].append(row)
        for (model_id, _version), rows in groups.items():
            legacy.write_group(root, model_id, kind, rows, add_segment)
            bind.execute(keys.insert(), [{"model_id": model_id, "kind": kind, "request_id": r["request_id"]}
                                         for r in rows])
        if bad:
            bind.execute(quarantine.insert(), bad)


def upgrade() -> None:
    from monitor.config import get_settings
    from monitor.logstore import root_for

    _create()
    bind = op.get_bind()
    settings = get_settings()
    root = root_for(bind.engine.url.render_as_string(hide_password=False), settings.logstore_url, settings.data_dir)
    _move(bind, "predictions", _PREDICTIONS, root)
    _move(bind, "labels", _LABELS, root)
    runs = sa.table("check_runs", sa.column("status"), sa.column("error"), sa.column("finished_at"))
    bind.execute(runs.update().where(runs.c.status.in_(["pending", "running"])).values(
        status="failed", error="collect: the log store migration (0012) replaced this run's frozen window; "
        "check the window again", finished_at=dt.datetime.now(UTC).replace(tzinfo=None)))
    op.drop_table("window_rows")
    op.drop_table("labels")
    op.drop_table("predictions")


def downgrade() -> None:
    raise NotImplementedError("0012 moved predictions and labels into segment files; restore a backup to go back")

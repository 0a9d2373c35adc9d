"""Prediction logs, labels and quarantined rows; loading a check's frozen window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import uuid

from sqlalchemy import and_, delete, func, insert, literal, select
from sqlalchemy.orm import Session

from monitor.db.schema import Label, Prediction, QuarantinedRow, WindowRow
from monitor.store.common import insert_ignoring_conflicts


@dataclass(frozen=True)
class InsertCounts:
    accepted: int
    duplicates: int


def insert_predictions(session: Session, model_id: int, rows: list[dict[str, Any]],
                       default_version: str | None) -> InsertCounts:
    """Insert normalised prediction rows; a request id the model already has is a duplicate."""
    records = [
        {"model_id": model_id, "request_id": r["request_id"], "ts": r["ts"],
         "version": r.get("version") or default_version, "features": r.get("features") or {},
         "prediction": r["prediction"], "score": r.get("score"), "latency_ms": r.get("latency_ms"),
         "status": r.get("status")}
        for r in rows
    ]
    inserted = insert_ignoring_conflicts(session, Prediction.__table__, records)
    return InsertCounts(len(inserted), len(records) - len(inserted))


def insert_labels(session: Session, model_id: int, rows: list[dict[str, Any]]) -> InsertCounts:
    records = [{"model_id": model_id, "request_id": r["request_id"], "label": r["label"],
                "ts": r.get("ts")} for r in rows]
    inserted = insert_ignoring_conflicts(session, Label.__table__, records)
    return InsertCounts(len(inserted), len(records) - len(inserted))


def save_batch(session: Session, model_id: int, kind: str, batch: Any, source: str,
               default_version: str | None) -> InsertCounts:
    """Write a validated :class:`monitor.ingest.Batch`: its good rows, and its rejected rows to
    quarantine, in the caller's transaction. The one write path of the client and the HTTP API."""
    if kind == "predictions":
        counts = insert_predictions(session, model_id, batch.rows, default_version)
    elif kind == "labels":
        counts = insert_labels(session, model_id, batch.rows)
    else:
        raise ValueError(f"unknown kind {kind!r}; expected 'predictions' or 'labels'")
    quarantine(session, model_id, kind, source, batch.rejected)
    return counts


def quarantine(session: Session, model_id: int | None, kind: str, source: str,
               rejected: Iterable[Any]) -> int:
    """Keep rejected rows with their reason, so nothing sent to modelwatch is silently lost."""
    rows = [{"model_id": model_id, "kind": kind, "source": source[:512], "row_number": r.row_number,
             "reason": r.reason, "row": r.row} for r in rejected]
    if rows:
        session.execute(QuarantinedRow.__table__.insert(), rows)
    return len(rows)


def quarantined(session: Session, model_id: int, limit: int = 100) -> list[QuarantinedRow]:
    return list(session.scalars(
        select(QuarantinedRow).where(QuarantinedRow.model_id == model_id)
        .order_by(QuarantinedRow.id.desc()).limit(limit)
    ))


def quarantined_between(session: Session, model_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Rows of the model set aside during a window's time span (they never reached the window)."""
    return session.scalar(select(func.count()).select_from(QuarantinedRow).where(
        QuarantinedRow.model_id == model_id, QuarantinedRow.created_at >= start,
        QuarantinedRow.created_at < end)) or 0


def _window_filter(model_id: int, start: dt.datetime, end: dt.datetime, version: str | None):
    conditions = [Prediction.model_id == model_id, Prediction.ts >= start, Prediction.ts < end]
    if version is not None:
        conditions.append(Prediction.version == version)
    return and_(*conditions)


def freeze_window(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                  version: str | None, key: str | None = None) -> dict[str, Any]:
    """Fix what a check sees: the window's prediction ids, each with the label id it has now.

    The copy is one ``INSERT ... SELECT`` inside the database (no rows travel), in the caller's
    transaction, so it lands together with the run's watermark; rows or labels that commit later
    never change the run's result, however often a stage is retried.
    """
    key = key or uuid.uuid4().hex
    label = and_(Label.model_id == Prediction.model_id, Label.request_id == Prediction.request_id)
    rows = (select(literal(key), Prediction.id, Label.id).select_from(Prediction).outerjoin(Label, label)
            .where(_window_filter(model_id, start, end, version)))
    session.execute(insert(WindowRow).from_select(["key", "prediction_id", "label_id"], rows))
    total, labelled, newest = session.execute(
        select(func.count(), func.count(WindowRow.label_id), func.max(Prediction.ts))
        .select_from(WindowRow).join(Prediction, Prediction.id == WindowRow.prediction_id)
        .where(WindowRow.key == key)).one()
    return {"key": key, "rows": int(total), "labelled_rows": int(labelled),
            "newest_prediction": newest.isoformat() if newest else None}


def release_window(session: Session, key: str) -> None:
    """Forget a frozen window once nothing will read it again (after the run's report)."""
    session.execute(delete(WindowRow).where(WindowRow.key == key))


_COLUMNS = ["request_id", "ts", "version", "prediction", "score", "latency_ms", "status", "features", "label"]


def _frame(result) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(result, columns=_COLUMNS)
    if len(frame):
        features = pd.DataFrame.from_records(frame.pop("features").tolist(), index=frame.index)
        features = features.drop(columns=[c for c in features.columns if c in frame.columns])
        frame = pd.concat([frame, features], axis=1)
    else:
        frame = frame.drop(columns=["features"])
    return frame


_SELECTED = (Prediction.request_id, Prediction.ts, Prediction.version, Prediction.prediction, Prediction.score,
             Prediction.latency_ms, Prediction.status, Prediction.features, Label.label)


def load_window(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                version: str | None, watermark: dict[str, Any]) -> pd.DataFrame:
    """The frozen window as a DataFrame: one row per prediction, its label (or None) beside it."""
    statement = (select(*_SELECTED).select_from(WindowRow)
                 .join(Prediction, Prediction.id == WindowRow.prediction_id)
                 .outerjoin(Label, Label.id == WindowRow.label_id)
                 .where(WindowRow.key == watermark["key"]).order_by(Prediction.id))
    return _frame(session.execute(statement).all())


def labelled_history(session: Session, model_id: int, since: dt.datetime, limit: int = 200_000) -> pd.DataFrame:
    """Recent labelled predictions of a model across versions (the retrain action's training data)."""
    statement = (select(*_SELECTED).join(Label, and_(Label.model_id == Prediction.model_id,
                                                     Label.request_id == Prediction.request_id))
                 .where(Prediction.model_id == model_id, Prediction.ts >= since)
                 .order_by(Prediction.id.desc()).limit(limit))
    return _frame(list(reversed(session.execute(statement).all())))

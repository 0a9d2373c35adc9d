"""Prediction logs, labels and quarantined rows; loading a check's frozen window."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from monitor.db.schema import Label, Prediction, QuarantinedRow
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
                  version: str | None) -> dict[str, Any]:
    """The watermark that fixes what a check sees: later rows never change a run's result.

    Ids only grow, so "predictions with id <= prediction_max_id and labels with id <= label_max_id"
    is the same set of rows however often a stage is retried.
    """
    prediction_max = session.scalar(select(func.max(Prediction.id)).where(Prediction.model_id == model_id)) or 0
    label_max = session.scalar(select(func.max(Label.id)).where(Label.model_id == model_id)) or 0
    in_window = _window_filter(model_id, start, end, version)
    rows = session.scalar(select(func.count()).select_from(Prediction).where(in_window)) or 0
    labelled = session.scalar(
        select(func.count()).select_from(Prediction)
        .join(Label, and_(Label.model_id == Prediction.model_id, Label.request_id == Prediction.request_id))
        .where(in_window, Label.id <= label_max)
    ) or 0
    newest = session.scalar(select(func.max(Prediction.ts)).where(in_window))
    return {"prediction_max_id": int(prediction_max), "label_max_id": int(label_max),
            "rows": int(rows), "labelled_rows": int(labelled),
            "newest_prediction": newest.isoformat() if newest else None}


def load_window(session: Session, model_id: int, start: dt.datetime, end: dt.datetime,
                version: str | None, watermark: dict[str, Any]) -> pd.DataFrame:
    """The frozen window as a DataFrame: one row per prediction, its label (or None) beside it."""
    statement = (
        select(Prediction.request_id, Prediction.ts, Prediction.version, Prediction.prediction,
               Prediction.score, Prediction.latency_ms, Prediction.status, Prediction.features,
               Label.label)
        .outerjoin(Label, and_(Label.model_id == Prediction.model_id,
                               Label.request_id == Prediction.request_id,
                               Label.id <= watermark["label_max_id"]))
        .where(_window_filter(model_id, start, end, version),
               Prediction.id <= watermark["prediction_max_id"])
        .order_by(Prediction.id)
    )
    result = session.execute(statement).all()
    columns = ["request_id", "ts", "version", "prediction", "score", "latency_ms", "status", "features", "label"]
    frame = pd.DataFrame.from_records(result, columns=columns)
    if len(frame):
        features = pd.DataFrame.from_records(frame.pop("features").tolist(), index=frame.index)
        features = features.drop(columns=[c for c in features.columns if c in frame.columns])
        frame = pd.concat([frame, features], axis=1)
    else:
        frame = frame.drop(columns=["features"])
    return frame


def labelled_history(session: Session, model_id: int, since: dt.datetime, limit: int = 200_000) -> pd.DataFrame:
    """Recent labelled predictions of a model across versions (the retrain action's training data)."""
    watermark = {"prediction_max_id": 2**62, "label_max_id": 2**62}
    frame = load_window(session, model_id, since, dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=1),
                        None, watermark)
    return frame[frame["label"].notna()].tail(limit) if len(frame) else frame

"""Candidate against serving: the evidence a retrain needs before it may promote.

Recent labelled rows are split once: a held-out share of the newest window (chosen by a hash of
the request id, so a re-run splits the same way) that the retrain callable never sees, and the
rest, which it trains on. On the held-out rows that the serving version answered, the serving
version's logged predictions are scored against the candidate's predictions of the same rows;
the candidate is promoted only if it beats the serving version by the policy's ``promote_margin``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.kpis import LOWER_IS_BETTER, evaluate
from monitor.spec import ModelSpec, RecoveryPolicy, Task

HOLDOUT_SHARE = 4  # one row in four of the newest window is held out


def split_holdout(data: pd.DataFrame, window: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training rows, held-out rows): held-out rows come from the newest ``window`` seconds only."""
    if data.empty:
        return data, data
    ts = pd.to_datetime(data["ts"], utc=True)
    recent = ts >= ts.max() - dt.timedelta(seconds=window)
    hashed = data["request_id"].astype(str).map(lambda r: zlib.crc32(r.encode()) % HOLDOUT_SHARE == 0)
    held = recent & hashed
    return data[~held].reset_index(drop=True), data[held].reset_index(drop=True)


def default_metric(spec: ModelSpec) -> str:
    return "rmse" if spec.task is Task.regression else "f1"


@dataclass(frozen=True)
class Comparison:
    metric: str
    candidate: float | None
    serving: float | None
    margin: float
    improvement: float | None
    promote: bool
    holdout_rows: int
    reason: str
    candidate_kpis: dict[str, Any]
    serving_kpis: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _kpis(spec: ModelSpec, truth: list, predicted: list, scores: list | None) -> dict[str, Any]:
    binary = spec.task is Task.binary_classification
    return evaluate(truth, predicted, spec.task, scores=scores if binary else None,
                    positive_label=spec.positive_label).kpis


def compare(spec: ModelSpec, policy: RecoveryPolicy, holdout: pd.DataFrame, serving_version: str | None,
            candidate_predictions: np.ndarray | list, candidate_scores: np.ndarray | list | None) -> Comparison:
    """Score both versions on the held-out rows the serving version answered."""
    metric = policy.promote_metric or default_metric(spec)
    mask = (holdout["version"] == serving_version).to_numpy() if len(holdout) else np.array([], dtype=bool)
    rows = int(mask.sum())

    def nothing(reason: str) -> Comparison:
        return Comparison(metric, None, None, policy.promote_margin, None, False, rows, reason, {}, {})

    if serving_version is None:
        return nothing("no serving version to compare with")
    if rows < spec.rules.min_labelled_rows:
        return nothing(f"only {rows} held-out rows answered by version {serving_version}; "
                       f"comparing needs {spec.rules.min_labelled_rows}")
    part = holdout[mask]
    truth = part["label"].tolist()
    predicted = list(np.asarray(candidate_predictions)[mask])
    scores = list(np.asarray(candidate_scores, dtype=float)[mask]) if candidate_scores is not None else None
    serving_scores = part["score"].tolist() if part["score"].notna().all() else None
    candidate_kpis = _kpis(spec, truth, predicted, scores)
    serving_kpis = _kpis(spec, truth, part["prediction"].tolist(), serving_scores)
    new, old = candidate_kpis.get(metric), serving_kpis.get(metric)
    if new is None or old is None:
        return Comparison(metric, new, old, policy.promote_margin, None, False, rows,
                          f"{metric} is not available for both versions", candidate_kpis, serving_kpis)
    improvement = (old - new) if metric in LOWER_IS_BETTER else (new - old)
    promote = improvement >= policy.promote_margin and improvement > 0
    verdict = "beats" if promote else "does not beat"
    reason = (f"candidate {metric} {new:.4f} {verdict} serving {old:.4f} by the margin {policy.promote_margin:g} "
              f"(improvement {improvement:+.4f}) on {rows} held-out rows")
    return Comparison(metric, new, old, policy.promote_margin, improvement, promote, rows, reason,
                      candidate_kpis, serving_kpis)

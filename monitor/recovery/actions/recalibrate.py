"""Recalibrate: refit the serving version's score calibration and decision threshold on recent labels.

For a binary classifier whose scores still rank well but whose probabilities (or threshold) no
longer fit the world, refitting two numbers is cheaper and safer than retraining. On the serving
version's recent labelled predictions this fits

* a Platt map ``p = 1 / (1 + exp(-(a * logit(score) + b)))`` from raw score to probability, and
* the raw-score ``threshold`` that maximises F1,

and stores them on the serving version's ``details["calibration"]``. modelwatch does not serve
models: the serving system reads the calibration (the action's result in ``GET /v1/recovery``, or
the version's details) and from then on predicts positive when ``score >= threshold`` and reports
``p`` as the probability. See docs/alerts-and-recovery.md.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np

from monitor.db.schema import utcnow
from monitor.kpis import label_key
from monitor.plugins import action
from monitor.recovery.actions.base import Action, ActionContext, Outcome
from monitor.spec import Task
from monitor.store import logs, models as store_models

EPSILON = 1e-6


def _logit(scores: np.ndarray) -> np.ndarray:
    clipped = np.clip(scores, EPSILON, 1 - EPSILON)
    return np.log(clipped / (1 - clipped))


def _at(truth: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    from sklearn.metrics import f1_score, precision_score, recall_score

    predicted = (scores >= threshold).astype(int)
    return {"threshold": float(threshold), "f1": float(f1_score(truth, predicted, zero_division=0)),
            "precision": float(precision_score(truth, predicted, zero_division=0)),
            "recall": float(recall_score(truth, predicted, zero_division=0))}


def fit(truth: np.ndarray, scores: np.ndarray, current_threshold: float = 0.5) -> dict[str, Any]:
    """The calibration of ``scores`` against binary ``truth``, with metrics before and after.

    >>> fit(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4]))["threshold"]
    0.3
    """
    # scikit-learn (~1 CPU-s to import) only when a calibration is fitted: validating a spec loads
    # every recovery action, and the CLI, beat and API server validate specs.
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, f1_score

    platt = LogisticRegression(C=1e6).fit(_logit(scores).reshape(-1, 1), truth)
    a, b = float(platt.coef_[0][0]), float(platt.intercept_[0])
    candidates = np.unique(np.quantile(scores, np.linspace(0.01, 0.99, 99)))
    best = max(candidates, key=lambda t: (f1_score(truth, (scores >= t).astype(int), zero_division=0), -abs(t - 0.5)))
    calibrated = 1 / (1 + np.exp(-(a * _logit(scores) + b)))
    return {"method": "platt+f1_threshold", "a": a, "b": b, "threshold": float(best),
            "rows": int(len(truth)), "positives": int(truth.sum()),
            "before": {**_at(truth, scores, current_threshold), "brier": float(brier_score_loss(truth, scores))},
            "after": {**_at(truth, scores, float(best)), "brier": float(brier_score_loss(truth, calibrated))}}


@action("recalibrate")
class Recalibrate(Action):
    """Refit the serving version's Platt calibration and F1-best threshold on recent labels."""

    def run(self, context: ActionContext) -> Outcome:
        return recalibrate(context)


def recalibrate(context: ActionContext) -> Outcome:
    """The serving version's calibration refitted and stored on its details (see the module doc)."""
    spec, session, model = context.spec, context.session, context.model
    if spec.task is not Task.binary_classification:
        return Outcome(False, f"recalibrate applies to binary classifiers with scores; {model.name} is {spec.task.value}")
    serving = store_models.serving_version(session, model.id)
    if serving is None:
        return Outcome(False, "no serving version to recalibrate")
    since = utcnow() - dt.timedelta(seconds=spec.window)
    data = logs.labelled_history(session, model.id, since)
    data = data[(data["version"] == serving.version) & data["score"].notna()] if len(data) else data
    if len(data) < spec.rules.min_labelled_rows:
        return Outcome(False, f"only {len(data)} labelled rows with scores of version {serving.version} in the "
                              f"last window; recalibrating needs {spec.rules.min_labelled_rows}")
    positive = label_key(spec.positive_label)
    truth = np.array([int(label_key(v) == positive) for v in data["label"]])
    if truth.min() == truth.max():
        return Outcome(False, "recent labels hold a single class; cannot fit a calibration")
    current = float(((serving.details or {}).get("calibration") or {}).get("threshold", 0.5))
    calibration = {**fit(truth, data["score"].astype(float).to_numpy(), current),
                   "fitted_at": utcnow().isoformat(), "action_id": context.action.id}
    serving.details = {**(serving.details or {}), "calibration": calibration}
    session.flush()
    before, after = calibration["before"], calibration["after"]
    return Outcome(True, f"version {serving.version} recalibrated on {len(data)} rows: threshold "
                         f"{before['threshold']:.3f} -> {after['threshold']:.3f}, F1 {before['f1']:.3f} -> {after['f1']:.3f}",
                   {"version": serving.version, "calibration": calibration})

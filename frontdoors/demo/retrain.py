"""The demo's retrain callable (``callable: frontdoors.demo.retrain:retrain`` in its spec).

It trains on the most recent labelled window the request carries (the world as it is now),
holds out 40% of it to build the new version's reference, and reports its validation metrics,
the booster's per-iteration train/validation log loss, and a ``predict`` function with which
modelwatch scores the candidate against the serving version before promoting it.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sklearn.metrics import f1_score, recall_score

from frontdoors.demo import data
from monitor.recovery.actions.retrain import RetrainRequest, RetrainResult


def retrain(request: RetrainRequest) -> RetrainResult:
    frame = request.data.copy()
    if frame.empty:
        raise ValueError("no labelled rows to retrain on")
    newest = pd.to_datetime(frame["ts"], utc=True).max()
    recent = frame[pd.to_datetime(frame["ts"], utc=True) >= newest - dt.timedelta(seconds=request.spec.window)]
    recent = recent.assign(label=recent["label"].astype(int)).sample(frac=1.0, random_state=0)
    # The reference is the new version's baseline: its recall and its feature ranges are what later
    # checks compare against. On a loaded machine the demo's traffic slows to ~70 rows/s, so a
    # quarter of one window was ~240 rows, and a baseline that noisy paged now and then about the
    # very version that had just fixed things. 40% keeps it near 400 rows.
    cut = int(len(recent) * 0.6)
    train, holdout = recent.iloc[:cut], recent.iloc[cut:]
    model = data.train(train[data.FEATURES + ["label"]], early_stopping=True)
    reference = data.with_predictions(model, holdout[data.FEATURES + ["label"]].reset_index(drop=True))
    metrics = {"training_rows": len(train), "holdout_rows": len(holdout),
               "holdout_recall": float(recall_score(reference["label"], reference["prediction"])),
               "holdout_f1": float(f1_score(reference["label"], reference["prediction"]))}
    booster = model.named_steps["clf"]
    history = {"train_log_loss": [-float(v) for v in booster.train_score_],
               "validation_log_loss": [-float(v) for v in booster.validation_score_]}
    return RetrainResult(version=request.next_version, reference=reference, artifact=data.dumps(model),
                         metrics=metrics, history=history, predict=lambda rows: data.predict(model, rows))

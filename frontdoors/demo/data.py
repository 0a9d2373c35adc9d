"""Synthetic churn data with a knob for concept shift, and the demo's scikit-learn models.

Churn probability rises with support calls and falls with tenure; income matters through the
plan. ``shift`` moves the population (more short-tenure customers) and changes the concept
(in the shifted world high monthly charges drive churn far harder), which a model trained on
the old world misses: its recall falls. A model retrained on recent labelled data recovers.
"""

from __future__ import annotations

import io

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["tenure_months", "monthly_charges", "support_calls", "age"]
CATEGORICAL = ["plan", "region"]
FEATURES = NUMERIC + CATEGORICAL
#: typical serving latency of a healthy version (ms); the demo's traffic draws around it
LATENCY_MS = 40.0


def customers(n: int, rng: np.random.Generator, shift: float = 0.0) -> pd.DataFrame:
    """``n`` customers with labels; ``shift`` in [0, 1] blends in the changed world."""
    tenure = rng.gamma(2.0, 12.0 * (1 - 0.6 * shift), n)
    charges = rng.normal(70 + 15 * shift, 20, n).clip(10, 200)
    calls = rng.poisson(1.5 + shift, n)
    age = rng.normal(42, 12, n).clip(18, 90)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    region = rng.choice(["north", "south", "east", "west"], n)
    logit = -1.2 - 0.05 * tenure + 0.55 * calls + 0.01 * (charges - 70) + 0.4 * (plan == "basic")
    logit = logit + shift * (0.12 * (charges - 85) - 0.5 * calls + 0.05 * tenure)
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame({"tenure_months": tenure.round(1), "monthly_charges": charges.round(2),
                         "support_calls": calls, "age": age.round(0), "plan": plan, "region": region,
                         "label": churn.astype(int)})


def train(frame: pd.DataFrame, *, seed: int = 0, max_iter: int = 150, early_stopping: bool = False) -> Pipeline:
    """A gradient-boosted classifier with its preprocessing, as one picklable pipeline.

    With ``early_stopping`` it holds out 10% of ``frame`` and keeps the per-iteration train and
    validation loss (``train_score_``, ``validation_score_``), which a retrain reports.
    """
    pre = ColumnTransformer([("num", StandardScaler(), NUMERIC),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])
    model = Pipeline([("pre", pre), ("clf", HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=0.08, random_state=seed, class_weight="balanced",
        early_stopping=early_stopping))])
    return model.fit(frame[FEATURES], frame["label"])


def predict(model: Pipeline, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    scores = model.predict_proba(frame[FEATURES])[:, 1]
    return (scores >= 0.5).astype(int), scores


def with_predictions(model: Pipeline, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus the model's ``prediction`` and ``score``: a reference table."""
    predictions, scores = predict(model, frame)
    return frame.assign(prediction=predictions, score=scores.round(6))


def dumps(model) -> bytes:
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    return buffer.getvalue()


def loads(blob: bytes):
    return joblib.load(io.BytesIO(blob))


class Miscalibrated:
    """A "new version" with a serving bug: it thresholds the scores far too high.

    Offline it looked the same (it wraps the same model), in production it misses most churners.
    The same bug makes it slow (``latency_ms``, typical) and fail some requests (``error_share``).
    """

    latency_ms = 420.0
    error_share = 0.05

    def __init__(self, model: Pipeline, threshold: float = 0.85):
        self.model, self.threshold = model, threshold

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        scores = self.model.predict_proba(features)[:, 1] * (0.5 / self.threshold)
        return np.column_stack([1 - scores, scores])

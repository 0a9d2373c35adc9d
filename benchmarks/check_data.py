"""Seeded data for benchmarks/check_1m.py: a binary classifier's reference and a labelled window
with 20 numeric and 5 categorical features (``c0`` is a segment column), some of them drifted.

Both frames come in the layouts the service uses: the reference as the spec names its columns
(what ``build_profile`` reads), the window as ``logs.load_window`` returns it (CONTRACT.md:
float64 numeric features, object categoricals, the label beside each prediction).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = [f"n{i}" for i in range(20)]
CATEGORICAL = [f"c{i}" for i in range(5)]
LEVELS = [[f"{name}_{j}" for j in range(k)] for name, k in zip(CATEGORICAL, (5, 8, 12, 30, 3))]
#: features the window moves: a mean shift on two numeric columns, a mix change on one categorical
DRIFTED = ("n0", "n1", "c1")


def spec_document(name: str = "bench1m") -> dict:
    """The model spec of the benchmark (segments on ``c0``, every rule at its default)."""
    return {"name": name, "task": "binary_classification",
            "columns": {"numeric": NUMERIC, "categorical": CATEGORICAL, "segments": ["c0"]}}


def _features(rows: int, rng: np.random.Generator, drift: bool) -> dict[str, np.ndarray]:
    columns: dict[str, np.ndarray] = {}
    for i, name in enumerate(NUMERIC):
        shift = 0.5 if drift and name in DRIFTED else 0.0
        values = rng.normal(loc=i + shift, scale=1.0 + i / 10, size=rows)
        values[rng.random(rows) < 0.01] = np.nan
        columns[name] = values
    for name, levels in zip(CATEGORICAL, LEVELS):
        weights = np.linspace(1, 2, len(levels))
        if drift and name in DRIFTED:
            weights = weights[::-1] ** 2
        codes = rng.choice(len(levels), size=rows, p=weights / weights.sum())
        column = np.asarray(levels, dtype=object)[codes]
        column[rng.random(rows) < 0.01] = None
        columns[name] = column
    return columns


def _outputs(features: dict[str, np.ndarray], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    logit = 0.8 * np.nan_to_num(features["n0"]) - 0.5 * np.nan_to_num(features["n2"] - 2) + rng.normal(size=len(features["n0"]))
    score = 1 / (1 + np.exp(-logit))
    label = (rng.random(len(score)) < score).astype(np.int64)
    prediction = (score >= 0.5).astype(np.int64)
    return score, prediction, label


def reference_frame(rows: int = 200_000, seed: int = 1) -> pd.DataFrame:
    """The version's reference: features, ``prediction``, ``score`` and ``label`` columns."""
    rng = np.random.default_rng(seed)
    features = _features(rows, rng, drift=False)
    score, prediction, label = _outputs(features, rng)
    return pd.DataFrame({**features, "prediction": prediction, "score": score, "label": label})


def window_frame(rows: int = 1_000_000, seed: int = 2, start: str = "2026-01-01T00:00:00Z",
                 span_s: float = 3000.0) -> pd.DataFrame:
    """A labelled window in ``load_window``'s layout, timestamps spread over ``span_s`` seconds."""
    rng = np.random.default_rng(seed)
    features = _features(rows, rng, drift=True)
    score, prediction, label = _outputs(features, rng)
    ts = pd.Timestamp(start) + pd.to_timedelta(np.sort(rng.random(rows)) * span_s, unit="s")
    status = np.where(rng.random(rows) < 0.002, "error", "ok").astype(object)
    frame = pd.DataFrame({
        "request_id": np.char.add("r", np.arange(rows).astype(str)).astype(object),
        "ts": ts, "version": np.full(rows, "v1", dtype=object), "prediction": prediction, "score": score,
        "latency_ms": rng.gamma(2.0, 10.0, size=rows), "status": status, **features, "label": label})
    return frame

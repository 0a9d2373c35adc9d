"""Many small models, registered fast: the fleet benchmark's (and its profile's) data.

A *small model* is the issue's unit of fleet cost: a binary classifier with 3 features (two
numeric, one categorical) and 200 labelled predictions in its current window. Registering 10,000
of them through ``modelwatch apply`` would compute 10,000 identical reference profiles; here the
profile is built once (``monitor.registry.builtin.register`` for the first model) and copied onto
every other model's version through the store, in transactions of ``CHUNK`` models.

    from benchmarks.fleet_models import register_small_models
    names = register_small_models(url, 1000)      # fleet-00000 ... fleet-00999
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

ROWS = 200
CHUNK = 250
PREFIX = "fleet-"


def small_spec(name: str, every: str = "1h", multivariate: bool = True) -> dict[str, Any]:
    """The spec of one small model: default rules (optionally without the joint-drift classifier,
    to see the rest of a check's cost), the log channel, no recovery."""
    spec = {"name": name, "task": "binary_classification", "every": every, "window": "1h",
            "columns": {"numeric": ["amount", "age"], "categorical": ["channel"]}}
    if not multivariate:
        spec["rules"] = {"multivariate_auc": None}
    return spec


def labelled_frame(n: int, rng: np.random.Generator) -> pd.DataFrame:
    label = (rng.random(n) < 0.3).astype(int)
    prediction = np.where(label == 1, rng.random(n) < 0.9, rng.random(n) > 0.95).astype(int)
    score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.15, n), 0.001, 0.999)
    return pd.DataFrame({"amount": rng.gamma(2, 50, n).round(2), "age": rng.integers(18, 80, n).astype(float),
                         "channel": rng.choice(["web", "app", "pos"], n), "label": label,
                         "prediction": prediction, "score": score.round(4)})


def _window_rows(frame: pd.DataFrame, name: str, now: dt.datetime) -> tuple[list[dict], list[dict]]:
    predictions, labels = [], []
    for i, row in enumerate(frame.itertuples()):
        request_id = f"{name}-{i}"
        predictions.append({"request_id": request_id, "ts": now - dt.timedelta(seconds=30 + i * 5),
                            "prediction": int(row.prediction), "score": float(row.score),
                            "features": {"amount": float(row.amount), "age": float(row.age),
                                         "channel": row.channel}})
        labels.append({"request_id": request_id, "label": int(row.label)})
    return predictions, labels


def register_small_models(url: str, count: int, *, every: str = "1h", seed: int = 0,
                          multivariate: bool = True, progress: Any = None) -> list[str]:
    """Register ``count`` small models at ``url`` (version 1 serving, a reference profile, and
    ``ROWS`` labelled predictions of the last 20 minutes each). Returns their names."""
    from monitor.db.engine import session_scope
    from monitor.registry import builtin
    from monitor.spec import parse_spec
    from monitor.store import logs, models as store

    rng = np.random.default_rng(seed)
    reference = labelled_frame(2000, rng)
    window = labelled_frame(ROWS, rng)
    now = dt.datetime.now(dt.timezone.utc)
    names = [f"{PREFIX}{i:05d}" for i in range(count)]
    specs = parse_spec({"models": [small_spec(names[0], every, multivariate)]})
    template = None
    for start in range(0, count, CHUNK):
        with session_scope(url) as session:
            for name in names[start:start + CHUNK]:
                spec = specs[0].model_copy(update={"name": name})
                model, _ = store.upsert_model(session, spec)
                if template is None:
                    template = builtin.register(session, model, spec, "1", reference=reference).id
                    profile = store.reference_for(session, model.id, "1")
                else:
                    version, _ = store.add_version(session, model.id, "1")
                    store.save_reference(session, version, profile.profile, profile.baseline_kpis, profile.rows,
                                         drift_reference=profile.drift_reference)
                    store.set_serving(session, model.id, "1")
                predictions, labels = _window_rows(window, name, now)
                logs.insert_predictions(session, model.id, predictions, "1")
                logs.insert_labels(session, model.id, labels)
        if progress:
            progress(min(count, start + CHUNK), count)
    return names

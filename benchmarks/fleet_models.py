"""Many small models, registered fast: the fleet benchmark's (and its profile's) data.

A *small model* is the issue's unit of fleet cost: a binary classifier with 3 features (two
numeric, one categorical) and 200 labelled predictions in its current window. Registering 10,000
of them through ``modelwatch apply`` would compute 10,000 identical reference profiles; here the
profile is built once (``monitor.registry.builtin.register`` for the first model) and copied onto
every other model's version through the store, in transactions of ``CHUNK`` models.

Where the rows sit in time matters as much as how many there are: a dispatched check reads the
*scheduled* window, the last complete ``every`` (``monitor.check.windows.scheduled_window``), not
the last hour. So the rows end just before the last ``every`` boundary at registration, and a
small model's window is two ``every`` long: a dispatch in the same period as the registration
(window ending at that boundary) and one in the next period (registering 10,000 models takes
minutes, and may cross the boundary) both see all ``rows``. With the rows in the current period
and a window of one ``every``, as before, a dispatch within the same period checked empty windows
(no rule has data, so far cheaper) and one in the next checked full ones, so the fleet
benchmark's CPU per check depended on the hour it ran in (measured on 2026-12-03; the runs are in the git history of docs/performance.md).

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
    to see the rest of a check's cost), the log channel, no recovery; a window of two ``every``
    (see the module's docstring)."""
    from monitor.durations import parse_duration

    spec = {"name": name, "task": "binary_classification", "every": every, "window": 2 * parse_duration(every),
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


def _window_rows(frame: pd.DataFrame, name: str, end: dt.datetime) -> tuple[list[dict], list[dict]]:
    """The rows of ``frame`` as predictions and labels, the newest 30 s before ``end``, 5 s apart."""
    predictions, labels = [], []
    for i, row in enumerate(frame.itertuples()):
        request_id = f"{name}-{i}"
        predictions.append({"request_id": request_id, "ts": end - dt.timedelta(seconds=30 + i * 5),
                            "prediction": int(row.prediction), "score": float(row.score),
                            "features": {"amount": float(row.amount), "age": float(row.age),
                                         "channel": row.channel}})
        labels.append({"request_id": request_id, "label": int(row.label)})
    return predictions, labels


def register_small_models(url: str, count: int, *, every: str = "1h", seed: int = 0, rows: int = ROWS,
                          multivariate: bool = True, progress: Any = None) -> list[str]:
    """Register ``count`` small models at ``url`` (version 1 serving, a reference profile, and
    ``rows`` labelled predictions of the last minutes each). Returns their names.

    The first model goes through ``monitor.registry.builtin.register`` (which builds the
    reference profile); the others copy its rows with one multi-row INSERT per table and chunk,
    so registering costs a few statements per ``CHUNK`` models instead of a dozen per model.
    """
    from monitor.db.engine import session_scope
    from monitor.registry import builtin
    from monitor.spec import parse_spec
    from monitor.store import models as store

    rng = np.random.default_rng(seed)
    reference = labelled_frame(2000, rng)
    window = labelled_frame(rows, rng)
    names = [f"{PREFIX}{i:05d}" for i in range(count)]
    spec = parse_spec({"models": [small_spec(names[0], every, multivariate)]})[0]
    now = dt.datetime.now(dt.timezone.utc)
    end = rows_end(now, spec.every)
    with session_scope(url) as session:
        model, _ = store.upsert_model(session, spec)
        builtin.register(session, model, spec, "1", reference=reference)
        profile = store.reference_for(session, model.id, "1")
        template = {"profile": profile.profile, "baseline_kpis": profile.baseline_kpis, "rows": profile.rows,
                    "drift_reference": profile.drift_reference, "model": model}
        _insert_logs(session, {model.id: names[0]}, window, end)
    for start in range(1, count, CHUNK):
        with session_scope(url) as session:
            _insert_chunk(session, names[start:start + CHUNK], template, window, now, end)
        if progress:
            progress(min(count, start + CHUNK), count)
    return names


def rows_end(now: dt.datetime, every: float) -> dt.datetime:
    """Where the registered rows end: the last ``every`` boundary at ``now`` (the newest row is
    30 s before it), so that the scheduled window of a dispatch in this period or the next holds
    them all (see the module's docstring).

    >>> rows_end(dt.datetime(2026, 12, 3, 15, 35, tzinfo=dt.timezone.utc), 3600.0).isoformat()
    '2026-12-03T15:00:00+00:00'
    """
    from monitor.check.windows import scheduled_window

    return scheduled_window(now, every, every)[1]


def _insert_chunk(session, names: list[str], template: dict, window: pd.DataFrame, now: dt.datetime,
                  end: dt.datetime) -> None:
    from monitor.db.schema import Model, ModelVersion, ReferenceProfile

    model = template["model"]
    ids = session.execute(Model.__table__.insert().returning(Model.__table__.c.id, Model.__table__.c.name), [
        {"name": name, "task": model.task, "spec": {**model.spec, "name": name}, "every_seconds": model.every_seconds,
         "window_seconds": model.window_seconds, "status": "active", "created_at": now, "updated_at": now}
        for name in names]).all()
    by_id = {row[0]: row[1] for row in ids}
    versions = session.execute(ModelVersion.__table__.insert().returning(ModelVersion.__table__.c.id), [
        {"model_id": model_id, "version": "1", "source": "builtin", "status": "serving", "serving": True,
         "promoted_at": now, "details": {}, "created_at": now} for model_id in by_id]).scalars().all()
    session.execute(ReferenceProfile.__table__.insert(), [
        {"model_version_id": version_id, "rows": template["rows"], "profile": template["profile"],
         "baseline_kpis": template["baseline_kpis"], "drift_reference": template["drift_reference"],
         "created_at": now} for version_id in versions])
    _insert_logs(session, by_id, window, end)


def _insert_logs(session, models: dict[int, str], window: pd.DataFrame, end: dt.datetime) -> None:
    """Each model's window through the store (``monitor.store.logs``), one call per model and kind.

    Request ids are unique per model, so every model gets the same rows: the Arrow tables are
    built once (building them per model was a third of registering 10,000 models)."""
    from monitor.logstore.tables import table_from_rows
    from monitor.store import logs

    predictions, labels = _window_rows(window, "r", end)
    predictions, labels = table_from_rows("predictions", predictions), table_from_rows("labels", labels)
    for model_id in models:
        logs.insert_predictions(session, model_id, predictions, "1")
        logs.insert_labels(session, model_id, labels)

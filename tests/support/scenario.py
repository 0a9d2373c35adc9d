"""A small fraud model and windows of its traffic, written as the files a team would have."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

MODEL = "fraud"


def _labelled(n: int, rng: np.random.Generator, recall: float, specificity: float = 0.95) -> pd.DataFrame:
    label = (rng.random(n) < 0.3).astype(int)
    hit = rng.random(n)
    prediction = np.where(label == 1, hit < recall, hit > specificity).astype(int)
    score = np.clip(np.where(prediction == 1, 0.7, 0.3) + rng.normal(0, 0.15, n), 0.001, 0.999)
    return pd.DataFrame({"amount": rng.gamma(2, 50, n).round(2), "channel": rng.choice(["web", "app", "pos"], n),
                         "label": label, "prediction": prediction, "score": score.round(4)})


def write_model(folder: Path, webhook_url: str, *, secret: str = "s3cret", every: str = "1d",
                recovery: dict | None = None, seed: int = 0) -> Path:
    """A spec plus its reference data (recall about 0.9)."""
    rng = np.random.default_rng(seed)
    reference = folder / "fraud_reference.csv"
    _labelled(3000, rng, recall=0.9).to_csv(reference, index=False)
    spec = {"models": [{
        "name": MODEL, "task": "binary_classification", "every": every, "window": "1h",
        "columns": {"numeric": ["amount"], "categorical": ["channel"]},
        "reference": reference.name,
        "rules": {"recall_drop_pct": 10, "precision_drop_pct": None, "accuracy_drop_pct": None,
                  "f1_drop_pct": None, "roc_auc_drop_pct": None, "min_labelled_rows": 100},
        "alerts": [{"log": {}}, {"webhook": {"url": webhook_url, "secret": secret}}],
        "recovery": recovery if recovery is not None else {"recall_drop": {"action": "rollback", "after": "0s"}},
    }]}
    path = folder / "models.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def write_window(folder: Path, *, version: str, recall: float, n: int = 800, seed: int = 1,
                 prefix: str = "req") -> tuple[Path, Path]:
    """Prediction logs of the last half hour (of today, UTC) and their labels, as two CSV files."""
    rng = np.random.default_rng(seed)
    frame = _labelled(n, rng, recall=recall)
    now = dt.datetime.now(dt.timezone.utc)
    # Not before today's UTC midnight: rows in yesterday's window would make beat's scheduled check
    # of a daily model (its previous day, due all day) find them and act before the test's own check.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    span = max(6.0, min(1800.0, (now - midnight).total_seconds() - 1))
    frame["request_id"] = [f"{prefix}-{version}-{i}" for i in range(n)]
    frame["ts"] = [(now - dt.timedelta(seconds=float(s))).isoformat() for s in rng.uniform(5, span, n)]
    frame["version"] = version
    predictions = folder / f"predictions-{prefix}-{version}.csv"
    labels = folder / f"labels-{prefix}-{version}.csv"
    frame[["request_id", "ts", "version", "amount", "channel", "prediction", "score"]].to_csv(predictions, index=False)
    frame[["request_id", "label"]].to_csv(labels, index=False)
    return predictions, labels


def seed_dropped_version(stack, folder: Path, webhook_url: str, *, recall: float = 0.4) -> None:
    """The crash drills' start: the spec applied through ``stack``'s CLI, version 2 registered, and
    a window of version 2 whose recall fell, ingested with its labels (its check fires
    ``recall_drop``, notifies and rolls back)."""
    from monitor.registry import on_model_update

    stack.cli("apply", "-f", str(write_model(folder, webhook_url)))
    on_model_update(MODEL, "2", settings=stack.settings())
    predictions, labels = write_window(folder, version="2", recall=recall)
    stack.cli("ingest", "predictions", str(predictions), "--model", MODEL)
    stack.cli("ingest", "labels", str(labels), "--model", MODEL)


def seed_fraud(url: str, alerts: list, *, recall: float, rows: int, reference_rows: int, seed: int,
               recovery: dict | None = None, name: str = MODEL, extra: dict | None = None,
               earlier_version: str | None = None) -> None:
    """Register the fraud model straight into the database at ``url`` (version 1, reference recall
    about 0.9) with ``rows`` labelled predictions of the last minutes at ``recall``.

    ``extra`` adds spec fields (``every``, ``alerting``, ...); ``earlier_version`` registers a
    version that served before version 1, so a rollback has somewhere to go."""
    from monitor.registry import builtin
    from monitor.spec import parse_spec
    from monitor.store import logs, models as store
    from tests.conftest import session

    entry = {"name": name, "task": "binary_classification", "window": "1h",
             "columns": {"numeric": ["amount"], "categorical": ["channel"]},
             "rules": {"recall_drop_pct": 10, "min_labelled_rows": 100, "anomaly": None}, "alerts": alerts}
    if recovery is not None:
        entry["recovery"] = recovery
    entry.update(extra or {})
    spec = parse_spec({"models": [entry]})[0]
    rng = np.random.default_rng(seed)
    window = _labelled(rows, rng, recall=recall)
    now = dt.datetime.now(dt.timezone.utc)
    with session(url) as s:
        model, _ = store.upsert_model(s, spec)
        if earlier_version is not None:
            builtin.register(s, model, spec, earlier_version, reference=_labelled(reference_rows, rng, recall=0.9))
        builtin.register(s, model, spec, "1", reference=_labelled(reference_rows, rng, recall=0.9))
        logs.insert_predictions(s, model.id, [
            {"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=5 + i), "prediction": int(row.prediction),
             "score": float(row.score), "features": {"amount": float(row.amount), "channel": row.channel}}
            for i, row in enumerate(window.itertuples())], "1")
        logs.insert_labels(s, model.id, [{"request_id": f"r{i}", "label": int(v)} for i, v in enumerate(window["label"])])

"""Detection on a synthetic stream with a documented shift, in the spirit of NannyML's synthetic
car-loan data: eight chunks of a binary classifier's traffic; from chunk 5 on, ``tenure`` and
``channel`` shift (a covariate shift that moves most applicants into a region the model never learned:
new customers default far more often), and recall really falls. The chain must name exactly the shifted features in exactly the
shifted chunks, fire the performance rule only where recall fell, and its label-free estimate must
land within its confidence band of the realised KPI."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.registry import builtin
from monitor.spec import parse_spec
from monitor.check import stages
from monitor.store import logs, models as store, runs

pytestmark = pytest.mark.integration
CHUNK = 1500


def applicants(n: int, rng: np.random.Generator, shifted: bool) -> pd.DataFrame:
    income = rng.lognormal(10.5, 0.4, n)
    debt_ratio = rng.beta(2, 5, n)
    tenure = rng.gamma(1.0, 1.0, n) if shifted else rng.gamma(4, 2, n)
    channel = rng.choice(["web", "branch", "partner"], n, p=[0.2, 0.2, 0.6] if shifted else [0.6, 0.3, 0.1])
    # New customers (tenure under a year) default far more often. They were rare when the model was
    # trained, so it never learned that; after the shift they are most of the traffic.
    logit = -2.0 + 6.0 * debt_ratio + 3.5 * (tenure < 1.0)
    label = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    score = 1 / (1 + np.exp(-(-2.0 + 6.0 * debt_ratio + rng.normal(0, 0.2, n))))
    return pd.DataFrame({"income": income.round(0), "debt_ratio": debt_ratio.round(4), "tenure": tenure.round(3),
                         "channel": channel, "label": label, "score": score.round(5),
                         "prediction": (score >= 0.5).astype(int)})


def test_findings_name_the_shifted_features_in_the_shifted_chunks_and_estimates_hold(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{
        "name": "loans", "task": "binary_classification", "window": "1h",
        "columns": {"numeric": ["income", "debt_ratio", "tenure"], "categorical": ["channel"]},
        "rules": {"recall_drop_pct": 15, "precision_drop_pct": None, "accuracy_drop_pct": None,
                  "f1_drop_pct": None, "roc_auc_drop_pct": None, "min_labelled_rows": 200, "anomaly": None},
    }]})[0]
    rng = np.random.default_rng(11)
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=applicants(5000, rng, shifted=False))
        model_id = model.id

    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    verdicts = []
    for chunk in range(8):
        shifted = chunk >= 4
        frame = applicants(CHUNK, rng, shifted)
        begin = start + dt.timedelta(hours=chunk)
        with session_scope(db_url) as s:
            rows = [{"request_id": f"c{chunk}-{i}", "ts": begin + dt.timedelta(seconds=i), "version": "1",
                     "prediction": int(r.prediction), "score": float(r.score),
                     "features": {"income": r.income, "debt_ratio": r.debt_ratio, "tenure": r.tenure,
                                  "channel": r.channel}} for i, r in enumerate(frame.itertuples())]
            logs.insert_predictions(s, model_id, rows, "1")
            logs.insert_labels(s, model_id, [{"request_id": f"c{chunk}-{i}", "label": int(y)}
                                             for i, y in enumerate(frame["label"])])
            run, _ = runs.open_run(s, model_id=model_id, model_name="loans", version="1", trigger="schedule",
                                   start=begin, end=begin + dt.timedelta(hours=1))
            run_id = run.id
        for name, body in stages.STAGES.items():
            stages.run_stage(settings, run_id, name, body)
        with session_scope(db_url) as s:
            findings = runs.findings_of(s, run_id)
            result = runs.get_run(s, run_id).results
        drifted = {f.segment.split("=", 1)[1] for f in findings if f.rule == "data_drift" and f.status == "firing"}
        recall_fired = any(f.rule == "recall_drop" and f.status == "firing" for f in findings)
        verdicts.append((chunk, shifted, drifted, recall_fired, result["evaluation"]["kpis"]["recall"],
                         result["estimated"]))

    for chunk, shifted, drifted, recall_fired, recall, estimated in verdicts:
        assert drifted == ({"tenure", "channel"} if shifted else set()), (chunk, drifted)
        assert recall_fired == shifted, (chunk, recall, recall_fired)
    baseline_recall = verdicts[0][4]
    assert all(v[4] < baseline_recall * 0.85 for v in verdicts[4:])
    for _, _, _, _, _, estimated in verdicts:
        kpis, lower, upper = estimated["kpis"], estimated["lower"], estimated["upper"]
        assert lower["recall"] <= kpis["recall"] <= upper["recall"]
    realised = [(v[4], v[5]["lower"]["recall"], v[5]["upper"]["recall"]) for v in verdicts]
    inside = sum(lo <= value <= hi for value, lo, hi in realised[:4])
    assert inside >= 3, realised

"""Injected latency and errors in the logs fire the SLO alerts while the model's accuracy is fine."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.registry import builtin
from monitor.spec import parse_spec
from monitor.store import logs, models as store, runs
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration


def test_slow_and_failing_service_fires_slo_alerts_not_performance_ones(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{
        "name": "svc", "task": "binary_classification", "window": "1h",
        "columns": {"numeric": ["x"], "score": None},
        "rules": {"latency_p95_ms": 250, "error_rate_pct": 2, "anomaly": None},
    }]})[0]
    rng = np.random.default_rng(9)
    label = (rng.random(2000) < 0.4).astype(int)
    reference = pd.DataFrame({"x": rng.normal(size=2000), "label": label, "prediction": label})
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=reference)
        n = 1000
        y = (rng.random(n) < 0.4).astype(int)
        latency = np.where(rng.random(n) < 0.2, rng.uniform(400, 900, n), rng.uniform(20, 80, n))
        status = np.where(rng.random(n) < 0.1, "error", "ok")
        logs.insert_predictions(s, model.id, [
            {"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=i), "prediction": int(y[i]),
             "features": {"x": float(rng.normal())}, "latency_ms": float(latency[i]), "status": str(status[i])}
            for i in range(n)], "1")
        logs.insert_labels(s, model.id, [{"request_id": f"r{i}", "label": int(y[i])} for i in range(n)])

    run_id = run_chain(settings, "svc")
    with session_scope(db_url) as s:
        findings = {f.rule: f.status for f in runs.findings_of(s, run_id) if f.segment == ""}
        kpis = {k.name: k.value for k in runs.kpis_of(s, run_id)}
    assert findings["latency_p95"] == "firing" and findings["error_rate"] == "firing"
    assert findings["recall_drop"] == "ok" and findings["accuracy_drop"] == "ok"
    assert kpis["latency_p95_ms"] > 250 and 0.05 < kpis["error_rate"] < 0.15

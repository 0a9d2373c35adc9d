"""KPIs per segment: a recall drop confined to one region is seen, and only there."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from monitor.check.summary import build_summary
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.registry import builtin
from monitor.spec import parse_spec
from monitor.store import logs, models as store, runs
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration


def frame(n: int, rng, recall_by_region: dict[str, float]) -> pd.DataFrame:
    region = rng.choice(list(recall_by_region), n)
    label = (rng.random(n) < 0.4).astype(int)
    recall = np.array([recall_by_region[r] for r in region])
    prediction = np.where(label == 1, rng.random(n) < recall, rng.random(n) < 0.05).astype(int)
    return pd.DataFrame({"x": rng.normal(size=n), "region": region, "label": label, "prediction": prediction})


def test_recall_drop_in_one_segment_fires_only_for_that_segment(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{
        "name": "m", "task": "binary_classification", "window": "1h",
        "columns": {"numeric": ["x"], "categorical": ["region"], "segments": ["region"], "score": None},
        "rules": {"recall_drop_pct": 25, "precision_drop_pct": None, "accuracy_drop_pct": None,
                  "f1_drop_pct": None, "min_labelled_rows": 100},
    }]})[0]
    rng = np.random.default_rng(3)
    healthy = {"north": 0.9, "south": 0.9, "east": 0.9}
    window = frame(3000, rng, {"north": 0.9, "south": 0.4, "east": 0.9})
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=frame(6000, rng, healthy))
        rows = [{"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=i % 600), "prediction": int(p),
                 "features": {"x": float(x), "region": r}} for i, (x, r, p) in
                enumerate(zip(window["x"], window["region"], window["prediction"]))]
        logs.insert_predictions(s, model.id, rows, "1")
        logs.insert_labels(s, model.id, [{"request_id": f"r{i}", "label": int(y)} for i, y in enumerate(window["label"])])

    run_id = run_chain(settings, "m")
    with session_scope(db_url) as s:
        firing = {(f.rule, f.segment) for f in runs.findings_of(s, run_id)
                  if f.status == "firing" and f.kind == "performance_drop"}
        segment_kpis = {k.segment: k.value for k in runs.kpis_of(s, run_id) if k.name == "recall"}
    assert firing == {("recall_drop", "region=south")}
    assert segment_kpis["region=south"] < 0.5 < segment_kpis["region=north"]
    assert set(segment_kpis) == {"", "region=north", "region=south", "region=east"}
    with session_scope(db_url) as s:  # the report's KPIs are the whole window's, each segment's under "segments"
        summary = build_summary(s, runs.get_run(s, run_id))
    assert summary["kpis"]["recall"]["value"] == segment_kpis[""]
    assert summary["segments"]["region=south"]["kpis"]["recall"] == segment_kpis["region=south"]


def test_drift_confined_to_one_segment_is_named_with_its_segment(db_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{
        "name": "m", "task": "binary_classification", "window": "1h",
        "columns": {"numeric": ["x"], "categorical": ["region"], "segments": ["region"], "score": None},
        "rules": {"multivariate_auc": None, "anomaly": None},
    }]})[0]
    rng = np.random.default_rng(5)
    healthy = {"north": 0.9, "south": 0.9, "east": 0.9}
    window = frame(3000, rng, healthy)
    window.loc[window["region"] == "south", "x"] += 1.0  # only the south's inputs move
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=frame(6000, rng, healthy))
        logs.insert_predictions(s, model.id, [
            {"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=i % 600), "prediction": int(p),
             "features": {"x": float(x), "region": r}}
            for i, (x, r, p) in enumerate(zip(window["x"], window["region"], window["prediction"]))], "1")

    run_id = run_chain(settings, "m")
    with session_scope(db_url) as s:
        drifted = {f.segment for f in runs.findings_of(s, run_id) if f.rule == "data_drift" and f.status == "firing"}
    assert "region=south,feature=x" in drifted
    assert not {d for d in drifted if d.startswith(("region=north", "region=east"))}


def test_stages_redelivered_after_the_run_finished_change_nothing(db_url, tmp_path):
    """A worker that dies between a stage's return and its ack gets the rest of the chain
    delivered again, after the report released the frozen window: results must stand."""
    from monitor.check import stages

    settings = Settings(data_dir=tmp_path, database_url=db_url)
    spec = parse_spec({"models": [{"name": "m", "task": "binary_classification", "window": "1h",
                                   "columns": {"numeric": ["x"], "categorical": ["region"], "score": None}}]})[0]
    rng = np.random.default_rng(8)
    window = frame(800, rng, {"north": 0.5, "south": 0.5})
    now = dt.datetime.now(dt.timezone.utc)
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=frame(2000, rng, {"north": 0.9, "south": 0.9}))
        logs.insert_predictions(s, model.id, [
            {"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=i + 1), "prediction": int(p),
             "features": {"x": float(x), "region": r}}
            for i, (x, r, p) in enumerate(zip(window["x"], window["region"], window["prediction"]))], "1")
        logs.insert_labels(s, model.id, [{"request_id": f"r{i}", "label": int(y)} for i, y in enumerate(window["label"])])
    run_id = run_chain(settings, "m")

    def snapshot():
        with session_scope(db_url) as s:
            run = runs.get_run(s, run_id)
            return (run.status, run.results["counts"], sorted((k.name, k.segment, k.value) for k in runs.kpis_of(s, run_id)),
                    sorted((f.rule, f.segment, f.status) for f in runs.findings_of(s, run_id)))

    before = snapshot()
    for name in ("collect", "evaluate", "detect", "alert", "schedule_recovery", "report"):
        stages.run_stage(settings, run_id, name, stages.STAGES[name])
    assert snapshot() == before
    assert before[0] == "succeeded" and before[1]["rows"] == 800
    assert ("recall_drop", "", "firing") in before[3]

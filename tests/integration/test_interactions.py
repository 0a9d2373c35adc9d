"""User interactions end to end: a real worker fires the click-through alert while accuracy stays
fine; the HTTP endpoint and the Python client answer per-row errors; earlier windows pool into a
reference without counting an impression twice."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from frontdoors.api.app import create_app
from monitor.client import Client
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.spec import InteractionSpec
from monitor.reference import read_table
from monitor.db.schema import Alert, CheckRun, Finding, Interaction, KpiValue, QuarantinedRow, utcnow
from monitor.registry import builtin
from monitor.spec import load_spec_file, parse_spec
from monitor.store import interactions as store_interactions, logs, models as store
from tests.conftest import session
from tests.support.scenario import MODEL, write_model, write_window
from tests.support.stages import run_chain

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc


def _interactions(predictions: pd.DataFrame, ctr: float, seed: int) -> pd.DataFrame:
    """Clicks on a share ``ctr`` of the impressions, a few seconds after each prediction."""
    rng = np.random.default_rng(seed)
    clicked = predictions[rng.random(len(predictions)) < ctr]
    ts = pd.to_datetime(clicked["ts"], utc=True) + pd.Timedelta(seconds=2)
    return pd.DataFrame({"request_id": clicked["request_id"], "event": "click", "value": None,
                         "ts": [t.isoformat() for t in ts]})


def test_collapsed_click_through_fires_the_interaction_alert_while_accuracy_stays_fine(embedded_stack, tmp_path):
    stack = embedded_stack
    spec_path = write_model(tmp_path, "http://127.0.0.1:9/unused", recovery={})
    spec, = load_spec_file(spec_path)
    spec = spec.model_copy(update={"alerts": spec.alerts[:1], "interactions": InteractionSpec(
        reference={"click_through_rate": 0.2}, conversion_drop_pct=None)})
    upgrade(stack.database_url)
    with session_scope(stack.database_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1", reference=read_table(spec.reference), serving=True)
    predictions, labels = write_window(tmp_path, version="1", recall=0.9)  # healthy accuracy
    client = Client(MODEL, stack.settings())
    assert client.log_predictions(pd.read_csv(predictions).to_dict("records")).accepted == 800
    assert client.log_labels(pd.read_csv(labels).to_dict("records")).accepted == 800
    events = _interactions(pd.read_csv(predictions), ctr=0.03, seed=4)
    bad = pd.DataFrame({"request_id": ["req-1-0", "req-1-1"], "event": ["clik", "rating"], "value": [None, None],
                        "ts": [dt.datetime.now(UTC).isoformat()] * 2})
    path = tmp_path / "interactions.csv"
    pd.concat([events, bad]).to_csv(path, index=False)
    counts = json.loads(stack.cli("ingest", "interactions", str(path), "--model", MODEL, "--json").stdout)
    assert (counts["accepted"], counts["duplicates"], counts["quarantined"]) == (len(events), 0, 2)
    assert "unknown event 'clik'" in counts["examples"][0]

    stack.worker()
    summary = json.loads(stack.cli("check", MODEL, "--wait", "--json", "--timeout", "90").stdout)
    assert summary["status"] == "succeeded", summary.get("error")
    assert summary["kpis"]["recall"]["value"] > 0.8
    assert summary["kpis"]["click_through_rate"]["value"] == pytest.approx(len(events) / 800)
    assert summary["kpis"]["interaction_impressions"]["value"] == 800
    firing = {f["rule"] for f in summary["findings"] if f["status"] == "firing"}
    assert "ctr_drop" in firing
    assert not [f for f in summary["findings"] if f["kind"] == "performance_drop" and f["status"] == "firing"]
    assert [f["status"] for f in summary["findings"] if f["rule"] == "recall_drop"] == ["ok"]
    with session(stack.database_url) as s:
        finding = s.scalar(select(Finding).where(Finding.rule == "ctr_drop"))
        assert finding.details["method"] == "one_sample_score" and finding.details["p_value"] < 1e-6
        assert finding.details["rate"] == pytest.approx(len(events) / 800) and finding.details["reference_rate"] == 0.2
        assert finding.details["z"] < -5
        alerts = {(a.rule, a.kind, a.state) for a in s.scalars(select(Alert))}
        assert ("ctr_drop", "interaction_drop", "firing") in alerts
        assert not {a for a in alerts if a[1] == "performance_drop"}  # accuracy is fine
        # (the two quarantined rows fire the data-quality rule, as any quarantined rows do)
        quarantined = s.scalars(select(QuarantinedRow).where(QuarantinedRow.kind == "interactions")).all()
        assert len(quarantined) == 2


def _register(db_url: str, tmp_path, interactions: dict | None = None) -> tuple[int, object]:
    spec = parse_spec({"name": "rec", "task": "binary_classification", "interactions": interactions or {}})[0]
    with session_scope(db_url) as s:
        model, _ = store.upsert_model(s, spec)
        builtin.register(s, model, spec, "1")
        return model.id, spec


def test_http_endpoint_keeps_good_rows_and_answers_which_rows_were_rejected(db_url, tmp_path):
    model_id, _ = _register(db_url, tmp_path)
    app = create_app(Settings(data_dir=tmp_path, database_url=db_url, api_token="t0k", read_token="r3ad"))
    now = dt.datetime.now(UTC).isoformat()
    rows = [{"request_id": "r1", "event": "click", "ts": now},
            {"request_id": "r2", "event": "rating", "ts": now},
            {"request_id": "r3", "event": "purchase", "value": 12.5, "ts": now},
            "not an object"]
    with TestClient(app) as client:
        url = "/v1/models/rec/interactions"
        assert client.post(url, json=rows).status_code == 401
        assert client.post(url, json=rows, headers={"Authorization": "Bearer r3ad"}).status_code == 403
        write = {"Authorization": "Bearer t0k"}
        answer = client.post(url, json=rows, headers=write)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["accepted"], body["duplicates"], body["quarantined"]) == (2, 0, 2)
        assert body["rejected"] == [
            {"row": 2, "reason": "column 'value': a 'rating' event needs a numeric value"},
            {"row": 4, "reason": "expected an object (a mapping of column to value), got 'not an object'"}]
        again = client.post(url, json={"rows": rows[:1]}, headers=write).json()
        assert (again["accepted"], again["duplicates"]) == (0, 1)
        assert client.post(url, json={"rows": 3}, headers=write).status_code == 422
        assert client.post("/v1/models/nosuch/interactions", json=rows, headers=write).status_code == 404
    with session(db_url) as s:
        stored = s.scalars(select(Interaction).order_by(Interaction.id)).all()
        assert [(i.request_id, i.event, i.value) for i in stored] == [("r1", "click", None), ("r3", "purchase", 12.5)]
        sources = {q.source for q in s.scalars(select(QuarantinedRow))}
        assert sources == {"api:token:admin"}


def test_client_logs_one_interaction_and_the_chain_counts_it_against_the_window(db_url, tmp_path):
    model_id, spec = _register(db_url, tmp_path, {"min_impressions": 10, "reference": {"click_through_rate": 0.5}})
    settings = Settings(data_dir=tmp_path, database_url=db_url)
    now = dt.datetime.now(UTC)
    with session_scope(db_url) as s:
        logs.insert_predictions(s, model_id, [{"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=i + 5),
                                               "prediction": 1} for i in range(20)], "1")
    client = Client("rec", settings)
    assert client.log_interaction("r1", "click").accepted == 1
    assert client.log_interaction("r2", "Rating", value=4).accepted == 1
    assert client.log_interaction("other-model-request", "click").accepted == 1  # not in the window
    result = client.log_interaction("r3", "rating")
    assert (result.accepted, result.quarantined) == (0, 1) and "needs a numeric value" in result.reasons[0]

    run_id = run_chain(settings, "rec")
    with session(db_url) as s:
        kpis = {k.name: k.value for k in s.scalars(select(KpiValue).where(KpiValue.run_id == run_id))}
        assert kpis["click_through_rate"] == pytest.approx(1 / 20) and kpis["mean_feedback"] == 4.0
        assert kpis["interaction_clicks"] == 1 and kpis["conversion_rate"] == 0.0
        ctr = s.scalar(select(Finding).where(Finding.run_id == run_id, Finding.rule == "ctr_drop"))
        assert ctr.status == "firing" and ctr.value == pytest.approx(0.05) and ctr.baseline == 0.5


def test_impressions_younger_than_the_attribution_delay_are_left_out(db_url, tmp_path):
    model_id, _ = _register(db_url, tmp_path, {"attribution_delay": "5m"})
    now = dt.datetime.now(UTC)
    ages = [30, 60, 200, 400, 500, 900]  # seconds before now; the last three are old enough
    with session_scope(db_url) as s:
        logs.insert_predictions(s, model_id, [{"request_id": f"r{a}", "ts": now - dt.timedelta(seconds=a),
                                               "prediction": 1} for a in ages], "1")
    client = Client("rec", Settings(data_dir=tmp_path, database_url=db_url))
    client.log_interactions([{"request_id": r, "event": "click", "ts": now} for r in ("r30", "r60", "r400")])
    run_id = run_chain(Settings(data_dir=tmp_path, database_url=db_url), "rec")
    with session(db_url) as s:
        kpis = {k.name: k.value for k in s.scalars(select(KpiValue).where(KpiValue.run_id == run_id))}
    assert (kpis["interaction_impressions"], kpis["interaction_clicks"]) == (3, 1)
    assert kpis["click_through_rate"] == pytest.approx(1 / 3)


def test_models_that_never_logged_an_interaction_get_no_interaction_kpis(db_url, tmp_path):
    model_id, _ = _register(db_url, tmp_path)
    with session_scope(db_url) as s:
        logs.insert_predictions(s, model_id, [{"request_id": "r1", "ts": dt.datetime.now(UTC), "prediction": 1}], "1")
    run_id = run_chain(Settings(data_dir=tmp_path, database_url=db_url), "rec")
    with session(db_url) as s:
        names = {k.name for k in s.scalars(select(KpiValue).where(KpiValue.run_id == run_id))}
        assert "click_through_rate" not in names
        assert not s.scalars(select(Finding).where(Finding.kind == "interaction_drop")).all()


def test_without_a_spec_rate_the_chain_tests_against_pooled_earlier_windows(db_url, tmp_path):
    model_id, _ = _register(db_url, tmp_path, {"conversion_drop_pct": None})
    now = dt.datetime.now(UTC)
    with session_scope(db_url) as s:  # two earlier hours at 20% click-through
        for hours in (1, 2):
            end = now - dt.timedelta(hours=hours, minutes=1)
            run_id = f"earlier{hours}"
            s.add(CheckRun(id=run_id, model_id=model_id, version="1", trigger="schedule", dedup_key=run_id,
                           window_start=end - dt.timedelta(hours=1), window_end=end, status="succeeded"))
            s.flush()
            for name, value in (("interaction_impressions", 1000), ("interaction_clicks", 200),
                                ("interaction_conversions", 0)):
                s.add(KpiValue(run_id=run_id, model_id=model_id, version="1", name=name, value=value, window_end=end))
        logs.insert_predictions(s, model_id, [{"request_id": f"r{i}", "ts": now - dt.timedelta(seconds=5 + i),
                                               "prediction": 1} for i in range(500)], "1")
    client = Client("rec", Settings(data_dir=tmp_path, database_url=db_url))
    client.log_interactions([{"request_id": f"r{i}", "event": "click", "ts": now} for i in range(0, 500, 25)])
    run_id = run_chain(Settings(data_dir=tmp_path, database_url=db_url), "rec")
    with session(db_url) as s:
        ctr = s.scalar(select(Finding).where(Finding.run_id == run_id, Finding.rule == "ctr_drop"))
    assert ctr.status == "firing" and ctr.value == pytest.approx(0.04) and ctr.baseline == pytest.approx(0.2)
    assert (ctr.details["reference"], ctr.details["reference_windows"], ctr.details["reference_impressions"]) == \
        ("pooled", 2, 2000)
    assert ctr.details["method"] == "two_sample_pooled" and ctr.details["p_value"] < 1e-10


def test_pooled_reference_adds_earlier_windows_that_do_not_overlap(db_url, tmp_path):
    model_id, _ = _register(db_url, tmp_path)
    hour = dt.timedelta(hours=1)
    base = dt.datetime(2024, 5, 2, 12, tzinfo=UTC)

    def run(run_id: str, end: dt.datetime, impressions: int, clicks: int, status: str = "succeeded"):
        with session_scope(db_url) as s:
            s.add(CheckRun(id=run_id, model_id=model_id, version="1", trigger="schedule", window_start=end - hour,
                           window_end=end, dedup_key=run_id, status=status, created_at=utcnow()))
            s.flush()
            for name, value in (("interaction_impressions", impressions), ("interaction_clicks", clicks),
                                ("interaction_conversions", 0)):
                s.add(KpiValue(run_id=run_id, model_id=model_id, version="1", name=name, segment="", value=value,
                               window_end=end))

    run("current", base, 1000, 10)
    run("overlaps-current", base - dt.timedelta(minutes=30), 999, 999)
    run("a", base - hour, 1000, 100)
    run("overlaps-a", base - hour - dt.timedelta(minutes=5), 999, 999)
    run("failed", base - 2 * hour, 999, 999, status="failed")
    run("b", base - 2 * hour - dt.timedelta(minutes=10), 2000, 300)
    run("c", base - 4 * hour, 500, 40)
    with session(db_url) as s:
        current = s.get(CheckRun, "current")
        assert store_interactions.pooled_reference(s, current, windows=24) == store_interactions.PooledReference(
            impressions=3500, clicks=440, conversions=0, windows=3)
        assert store_interactions.pooled_reference(s, current, windows=2).clicks == 400

"""Real-time alerts: the online detectors on chunks of rows, their state across a restart, the
tick over a migrated SQLite file (cursor, gaps, one alert and one notification per break), and the
window check confirming or clearing a streaming alert without a second notification."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
from sqlalchemy import select

from monitor.alerts import lifecycle
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.migrate import upgrade
from monitor.db.schema import Alert, CheckRun, Finding, Notification, StreamState, WindowSegment, utcnow
from monitor.spec import parse_spec
from monitor.store import logs, models as store_models, runs as store_runs
from monitor.stream import confirm
from monitor.stream.detectors import STATISTICS, ModelStream, StreamRow
from monitor.stream.tick import _next_gaps, run_tick


def traffic(start: int, n: int, *, error_rate: float, score: float, latency: float = 40.0,
            seed: int = 0) -> list[StreamRow]:
    """Rows with noisy scores and latencies and exactly ``error_rate`` of them failed, spread evenly."""
    rng = np.random.default_rng(seed)
    return [StreamRow(i, None, float(np.clip(rng.normal(score, 0.15), 0, 1)), float(rng.normal(latency, 5)),
                      "error" if int((i + 1) * error_rate) > int(i * error_rate) else "ok")
            for i in range(start, start + n)]


def test_broken_deploy_raises_error_rate_and_score_alarms_in_the_first_broken_chunk():
    stream = ModelStream(None, chunk_rows=20)
    assert stream.feed(traffic(1, 400, error_rate=0.0, score=0.7)) == []
    findings = stream.feed(traffic(401, 20, error_rate=0.4, score=0.15, seed=1))
    by_rule = {f.rule: f for f in findings}
    assert set(by_rule) == {"stream_error_rate", "stream_score"}
    errors = by_rule["stream_error_rate"]
    assert errors.value > 0.2 and errors.baseline == 0.0 and errors.direction == "up"
    assert (errors.first_id, errors.last_id, errors.severity) == (401, 420, "critical")
    assert "error rate" in errors.message and "rows 401-420" in errors.message
    assert by_rule["stream_score"].direction == "down" and by_rule["stream_score"].limit < 0.7
    assert set(stream.alarms) == {"stream_error_rate", "stream_score"}


def test_healthy_noisy_traffic_and_a_lone_error_raise_nothing():
    stream = ModelStream(None, chunk_rows=20)
    assert stream.feed(traffic(1, 4000, error_rate=0.01, score=0.6, seed=3)) == []
    rows = traffic(4001, 20, error_rate=0.0, score=0.6, seed=4)
    rows[3] = StreamRow(4004, None, 0.6, 40.0, "error")
    assert stream.feed(rows) == []


def test_a_rollback_to_the_healthy_level_is_not_a_second_alarm():
    stream = ModelStream(None, chunk_rows=20)
    stream.feed(traffic(1, 400, error_rate=0.0, score=0.7))
    assert {f.rule for f in stream.feed(traffic(401, 20, error_rate=0.4, score=0.15, seed=1))} == {
        "stream_error_rate", "stream_score"}
    stream.feed(traffic(421, 400, error_rate=0.4, score=0.15, seed=2))  # broken for a while: the new baseline
    assert stream.feed(traffic(821, 400, error_rate=0.0, score=0.7, seed=3)) == []  # rolled back
    assert stream.alarms["stream_score"]["recovered"] is True
    stream.feed(traffic(821 + 400, 200, error_rate=0.0, score=0.7, seed=4))
    assert [f.rule for f in stream.feed(traffic(1421, 40, error_rate=0.0, score=0.99, seed=5))] == [
        "stream_score"]  # a new break, even upwards, still fires


def test_latency_jump_raises_a_latency_alarm():
    stream = ModelStream(None, chunk_rows=20)
    stream.feed(traffic(1, 200, error_rate=0.0, score=0.5, latency=40.0))
    findings = stream.feed(traffic(201, 40, error_rate=0.0, score=0.5, latency=400.0, seed=2))
    assert [f.rule for f in findings] == ["stream_latency"]


def test_state_survives_a_restart_bit_for_bit():
    rows = traffic(1, 300, error_rate=0.0, score=0.7) + traffic(301, 45, error_rate=0.5, score=0.1, seed=1)
    uninterrupted = ModelStream(None, chunk_rows=20)
    expected = uninterrupted.feed(rows)
    first = ModelStream(None, chunk_rows=20)
    assert first.feed(rows[:287]) == []  # stops mid-chunk
    saved = json.loads(json.dumps(first.state))  # as the stream_states table keeps it
    resumed = ModelStream(saved, chunk_rows=20)
    assert resumed.feed(rows[287:]) == expected and expected
    assert resumed.state == uninterrupted.state


def test_fresh_stream_rejects_a_one_row_chunk():
    with pytest.raises(ValueError, match="chunk_rows must be at least 2"):
        ModelStream(None, chunk_rows=1)


def test_window_verdicts_confirm_keep_or_clear():
    alarm = {"baseline": 0.0, "limit": 0.15, "direction": "up"}
    assert confirm.verdict("stream_error_rate", 0.3, alarm).status == "firing"
    assert confirm.verdict("stream_error_rate", 0.05, alarm).status == "ok"
    assert confirm.verdict("stream_error_rate", None, alarm).status == "insufficient_data"
    assert confirm.verdict("stream_score", 0.1, {"baseline": 0.7, "limit": 0.5, "direction": "down"}).status == "firing"
    assert confirm.verdict("stream_score", 0.1, None).status == "ok"  # state lost: the window clears it


def test_gaps_are_remembered_then_forgotten():
    rows = [type("R", (), {"id": i})() for i in (11, 13, 14)]
    gaps = _next_gaps({}, 10, rows, now=100.0, ttl=30)
    assert gaps == {"12": 100.0}
    assert _next_gaps(gaps, 14, [type("R", (), {"id": 12})()], now=101.0, ttl=30) == {}
    assert _next_gaps(gaps, 14, [], now=131.0, ttl=30) == {}
    assert _next_gaps(gaps, 14, [], now=120.0, ttl=30) == gaps


# --- over a database ---------------------------------------------------------------------------

SPEC = {"name": "churn", "task": "binary_classification", "every": "1h", "window": "1h",
        "alerts": [{"log": {}}], "rules": {"resolve_after": 2}}


@pytest.fixture
def db(tmp_path, migrate):
    url = migrate(Settings(data_dir=tmp_path).effective_database_url)
    with session_scope(url) as session:
        model, _ = store_models.upsert_model(session, parse_spec(SPEC)[0])
    return url, model.id


def _ingest(url: str, model_id: int, rows: list[StreamRow], ts: dt.datetime) -> None:
    with session_scope(url) as session:
        logs.insert_predictions(session, model_id, [
            {"request_id": f"r{r.id}", "ts": ts, "prediction": 1, "score": r.score, "latency_ms": r.latency_ms,
             "status": r.status} for r in rows], "1")


def _tick(url: str):
    with session_scope(url) as session:
        return run_tick(session, chunk_rows=20, batch_limit=5000, gap_ttl=30, public_url="http://mw")


def test_tick_raises_one_streaming_alert_with_one_notification_and_keeps_its_cursor(db):
    url, model_id = db
    now = utcnow()
    _tick(url)  # the first tick starts the cursor
    _ingest(url, model_id, traffic(1, 200, error_rate=0.0, score=0.7), now)
    assert _tick(url).fired == []
    _ingest(url, model_id, traffic(201, 40, error_rate=0.5, score=0.1, seed=1), now)
    result = _tick(url)
    assert result.claimed and result.rows == 40 and len(result.fired) == 2 and len(result.notifications) == 1
    assert _tick(url).claimed is False  # nothing new: no write at all
    _ingest(url, model_id, traffic(241, 40, error_rate=0.5, score=0.1, seed=2), now)
    assert _tick(url).fired == []  # still the same episode
    with session_scope(url) as session:
        alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert [(a.rule, a.kind, a.state) for a in alerts] == [("stream_error_rate", "streaming", "firing"),
                                                               ("stream_score", "streaming", "firing")]
        notification = session.scalars(select(Notification)).one()
        assert notification.dedup_key.startswith(f"s{model_id}-") and ":stream:" in notification.dedup_key
        assert {a["rule"] for a in notification.payload["alerts"]} == {"stream_error_rate", "stream_score"}
        assert session.get(StreamState, "cursor").state["cursor"] == 3  # the cursor is over segments: one per ingested batch


def test_a_tick_that_lost_the_claim_reads_nothing(db):
    url, model_id = db
    _tick(url)
    _ingest(url, model_id, traffic(1, 30, error_rate=0.0, score=0.7), utcnow())
    with session_scope(url) as late:
        late.get(StreamState, "cursor")  # this tick read revision r ...
        assert _tick(url).rows == 30  # ... another tick claimed r and committed meanwhile
        result = run_tick(late, chunk_rows=20, batch_limit=5000, gap_ttl=30, public_url="http://mw")
        assert (result.claimed, result.rows) == (False, 0)
    with session_scope(url) as session:
        assert session.get(StreamState, "cursor").state["cursor"] == 1


def _check(url: str, model_id: int, n: int, segment_ids: list[int]) -> list[int]:
    """A window check's detect and alert stages over the given segments' rows, frozen as its window."""
    with session_scope(url) as session:
        start = utcnow() - dt.timedelta(hours=1)
        run = CheckRun(id=f"run{n}", model_id=model_id, version="1", trigger="manual", window_start=start,
                       window_end=utcnow() + dt.timedelta(seconds=n), dedup_key=f"k{n}", status="running",
                       watermark={"key": f"w{n}"})
        session.add(run)
        session.add_all([WindowSegment(key=f"w{n}", segment_id=i) for i in segment_ids])
        session.flush()
        store_runs.save_findings(session, run, confirm.for_run(session, run))
        spec = store_models.spec_of(store_models.get_model_by_id(session, model_id))
        return lifecycle.apply_findings(session, run, spec, store_runs.findings_of(session, run.id), "u").notifications


def test_window_check_keeps_the_alert_without_a_second_notification_then_resolves_it(db):
    url, model_id = db
    now = utcnow()
    _tick(url)
    _ingest(url, model_id, traffic(1, 200, error_rate=0.0, score=0.7), now)
    _ingest(url, model_id, traffic(201, 20, error_rate=0.5, score=0.7, seed=1), now)
    assert len(_tick(url).fired) == 1
    # the window holds 200 healthy rows before the alarm: only the rows from the alarm on count
    assert _check(url, model_id, 1, [1, 2]) == []  # confirmed; the channel already heard of it
    with session_scope(url) as session:
        assert session.scalars(select(Finding.status).where(Finding.rule == "stream_error_rate")).one() == "firing"
    _ingest(url, model_id, traffic(221, 40, error_rate=0.0, score=0.7, seed=2), now)
    assert _tick(url).fired == []
    assert _check(url, model_id, 2, [3]) == []  # one clean check of two
    with session_scope(url) as session:
        alert = session.scalars(select(Alert)).one()
        assert (alert.state, alert.clean_checks) == ("firing", 1)
    assert len(_check(url, model_id, 3, [3])) == 1  # resolved: the channel hears it
    with session_scope(url) as session:
        assert session.scalars(select(Alert)).one().state == "resolved"
        assert [n.transition for n in session.scalars(select(Notification).order_by(Notification.id))] == [
            "firing", "resolved"]


def test_every_streamed_statistic_is_a_known_rule():
    from monitor.spec import finding_kinds, rule_names

    assert set(STATISTICS) <= set(rule_names()) and "streaming" in finding_kinds()


@pytest.mark.parametrize("module", ["monitor.stream.detectors", "monitor.stream.confirm"])
def test_docstring_examples(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed


def test_min_std_floors_the_baseline_spread_and_old_states_resume_without_it():
    from monitor.anomaly import PageHinkley, resume

    detector = PageHinkley(warmup=3)
    for value in (0.0, 0.0, 0.0):
        detector.update(value)
    assert detector.std < 1e-9
    detector.min_std = 0.05
    assert detector.std == 0.05 and resume(detector.state).std == 0.05
    old = detector.state
    del old["variables"]["min_std"]  # a KPI detector saved before the floor existed
    assert resume(old).min_std == 0.0


def test_rows_from_every_front_door_reach_the_stream(tmp_path):
    """The HTTP API, the Python client and the CLI's writer all land in ``predictions``: one tick
    reads them all, in id order (the CLI is driven for real in tests/integration/test_realtime_alerts.py)."""
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app
    from monitor.client import Client

    settings = Settings(data_dir=tmp_path, api_token="w")
    url = settings.effective_database_url
    upgrade(url)
    with session_scope(url) as session:
        store_models.upsert_model(session, parse_spec(SPEC)[0])
    _tick(url)
    stamp = utcnow().isoformat()
    row = {"ts": stamp, "prediction": 1, "score": 0.5, "latency_ms": 12.0, "status": "ok"}
    answer = TestClient(create_app(settings)).post(
        "/v1/models/churn/predictions", headers={"Authorization": "Bearer w"},
        json={"rows": [dict(row, request_id=f"http-{i}") for i in range(5)]})
    assert answer.status_code == 200 and answer.json()["accepted"] == 5, answer.text
    assert Client("churn", settings).log_predictions([dict(row, request_id=f"py-{i}") for i in range(7)]).accepted == 7
    result = _tick(url)
    assert (result.claimed, result.rows, result.cursor) == (True, 12, 2)  # two batches, two segments
    with session_scope(url) as session:
        chunk = session.get(StreamState, "model:1").state["chunk"]
        assert chunk["rows"] == 12 and chunk["status_rows"] == 12 and chunk["latency_sum"] == 144.0

"""The event outbox and its stream: events commit with their change, SSE framing, resume, auth."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from frontdoors.api import sse
from frontdoors.api.app import create_app
from frontdoors.api.routes import events as routes
from tests.support.sse import follow
from monitor import events
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.db.schema import Event

READ = {"Authorization": "Bearer r"}


@pytest.fixture
def settings(tmp_path, migrate):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r")
    migrate(settings.effective_database_url)
    return settings


@pytest.fixture
def published():
    """Notices the after-commit hook publishes, instead of Redis."""
    sent: list[tuple[str, dict]] = []
    events.use_publisher(lambda channel, message: sent.append((channel, json.loads(message))))
    yield sent
    events.use_publisher(None)


def _fire(url: str, alert_id: int, model: str = "fraud") -> None:
    with session_scope(url) as session:
        events.record(session, "alert.fired", model, alert_id=alert_id, rule="recall_drop", kind="performance_drop",
                      severity="critical", segment="")


# --- the outbox -----------------------------------------------------------------------------------

def test_an_event_exists_and_is_announced_only_if_its_transaction_commits(settings, published):
    url = settings.effective_database_url
    with pytest.raises(RuntimeError):
        with session_scope(url) as session:
            events.record(session, "run.finished", "fraud", run_id="r0", version="1", status="failed", trigger="manual")
            raise RuntimeError("the change failed")
    _fire(url, 1)
    with session_scope(url) as session:
        rows = events.after(session, 0)
    assert [(r.type, r.payload["alert_id"]) for r in rows] == [("alert.fired", 1)]
    assert published == [(events.CHANNEL, {"ids": [rows[0].id]})]


def test_unknown_types_and_envelope_fields_are_refused(settings):
    with session_scope(settings.effective_database_url) as session:
        with pytest.raises(ValueError, match="unknown event type 'alert.exploded'"):
            events.record(session, "alert.exploded", "fraud")
        with pytest.raises(ValueError, match=r"\['id'\] are the envelope's own"):
            events.record(session, "alert.fired", "fraud", id=3)


def test_wire_form_has_the_envelope_first_and_utc_time(settings):
    import datetime as dt

    _fire(settings.effective_database_url, 7)
    with session_scope(settings.effective_database_url) as session:
        events.record(session, "recovery.approved", "fraud", action_id=1, kind="rollback", actor="token:a",
                      eta=dt.datetime(2026, 12, 3, 4, 0, tzinfo=dt.timezone.utc))
    with session_scope(settings.effective_database_url) as session:
        fired, approved = (events.to_json(e) for e in events.recent(session))
    assert list(fired)[:4] == ["id", "type", "at", "model"]
    assert fired["at"].endswith("Z") and fired["alert_id"] == 7 and fired["model"] == "fraud"
    assert approved["eta"] == "2026-12-03T04:00:00+00:00"


def test_old_events_are_pruned_and_ids_never_reused(settings):
    import datetime as dt

    url = settings.effective_database_url
    _fire(url, 1)
    _fire(url, 2)
    with session_scope(url) as session:
        for row in session.query(Event):
            row.at = row.at - dt.timedelta(days=8)
    with session_scope(url) as session:
        assert events.prune(session) == 2
    _fire(url, 3)
    with session_scope(url) as session:
        assert [r.id for r in events.after(session, 0)] == [3]  # AUTOINCREMENT: not 1 again


# --- SSE framing and the cursor --------------------------------------------------------------------

def test_frame_is_one_sse_message_whose_data_is_one_json_line():
    text = sse.frame({"id": 12, "type": "alert.fired", "model": "m", "message": "two\nlines"})
    lines = text.split("\n")
    assert lines[:2] == ["id: 12", "event: alert.fired"] and text.endswith("\n\n")
    assert json.loads(lines[2].removeprefix("data: "))["message"] == "two\nlines"
    assert sse.comment("a\nb") == ": a b\n\n"


@pytest.mark.parametrize("header, after, expected", [
    ("41", 7, 41), (" 41 ", None, 41), (None, 7, 7), ("", 7, 7), (None, None, None), ("0", None, 0)])
def test_resume_point_prefers_last_event_id(header, after, expected):
    assert sse.resume_point(header, after) == expected


@pytest.mark.parametrize("header", ["abc", "-1", "1.5", "9" * 20])
def test_a_malformed_last_event_id_is_refused_by_name(header):
    with pytest.raises(ValueError, match="Last-Event-ID"):
        sse.resume_point(header, None)


def test_cursor_holds_back_events_behind_a_gap_until_the_grace_passes():
    now = [0.0]
    cursor = sse.Cursor(4, grace=5.0, clock=lambda: now[0])
    assert cursor.take([5, 6, 8, 9]) == [5, 6] and cursor.waiting
    now[0] = 3.0
    assert cursor.take([8, 9]) == []
    assert cursor.take([7, 8, 9]) == [7, 8, 9] and not cursor.waiting  # the straggler committed
    assert cursor.take([11]) == []
    now[0] = 8.1
    assert cursor.take([11, 12]) == [11, 12] and cursor.position == 12  # 10 rolled back
    assert cursor.take([3, 12]) == []


def test_cursor_without_grace_never_waits():
    cursor = sse.Cursor(0, grace=0.0)
    assert cursor.take([3, 9]) == [3, 9] and not cursor.waiting


# --- the stream itself ----------------------------------------------------------------------------

def _follow(settings, position: int, polls: int, model: str | None = None) -> list[dict]:
    chunks = follow(settings, sse.Cursor(position, grace=0.0), polls, model)
    assert chunks[0] == sse.preamble()
    return [json.loads(line.removeprefix("data: ")) for chunk in chunks for line in chunk.split("\n")
            if line.startswith("data: ")]


def test_stream_resumes_with_exactly_the_events_after_the_cursor(settings):
    url = settings.effective_database_url
    for alert_id in (1, 2, 3, 4):
        _fire(url, alert_id, model="fraud" if alert_id != 3 else "churn")
    assert [e["alert_id"] for e in _follow(settings, 0, polls=1)] == [1, 2, 3, 4]
    assert [e["id"] for e in _follow(settings, 2, polls=1)] == [3, 4]
    assert [e["alert_id"] for e in _follow(settings, 0, polls=1, model="fraud")] == [1, 2, 4]


def test_stream_sends_an_event_committed_while_it_waits(settings, monkeypatch):
    monkeypatch.setattr(routes, "POLL_EMBEDDED", 0.05)
    url = settings.effective_database_url
    original = routes._page
    calls = []

    def page(url_: str, position: int):
        calls.append(position)
        if len(calls) == 2:  # between the first and the second look, a check finishes
            with session_scope(url) as session:
                events.record(session, "run.finished", "fraud", run_id="r9", version="1", status="succeeded",
                              trigger="schedule")
        return original(url_, position)

    monkeypatch.setattr(routes, "_page", page)
    received = _follow(settings, 0, polls=3)
    assert [(e["type"], e["run_id"]) for e in received] == [("run.finished", "r9")]


def test_quiet_stream_sends_heartbeats(settings, monkeypatch):
    monkeypatch.setattr(sse, "HEARTBEAT", 0.05)
    monkeypatch.setattr(routes, "POLL_EMBEDDED", 0.06)

    assert sse.comment() in follow(settings, sse.Cursor(0, grace=0.0), polls=3)


# --- over HTTP ------------------------------------------------------------------------------------

def test_recent_events_need_a_read_token_and_give_the_cursor(settings):
    for alert_id in (1, 2, 3):
        _fire(settings.effective_database_url, alert_id)
    client = TestClient(create_app(settings))
    assert client.get("/v1/events/recent").status_code == 401
    assert client.get("/v1/events").status_code == 401
    body = client.get("/v1/events/recent?limit=2", headers=READ).json()
    assert [e["alert_id"] for e in body["events"]] == [2, 3] and body["last_id"] == 3
    assert client.get("/v1/events/recent?limit=0", headers=READ).status_code == 422
    for path in ("/v1/events/recent?model=nosuch", "/v1/events?model=nosuch"):
        answer = client.get(path, headers=READ)
        assert answer.status_code == 404 and "nosuch" in answer.json()["detail"], path


def test_the_dashboards_cookie_opens_the_event_reads(settings):
    from frontdoors.api.security import COOKIE

    _fire(settings.effective_database_url, 1)
    client = TestClient(create_app(settings))
    client.cookies.set(COOKIE, "r")
    assert client.get("/v1/events/recent").json()["last_id"] == 1
    client.cookies.set(COOKIE, "wrong")
    assert client.get("/v1/events/recent").status_code == 401


def test_a_bad_last_event_id_is_a_400_that_names_it(settings):
    client = TestClient(create_app(settings))
    answer = client.get("/v1/events", headers={**READ, "Last-Event-ID": "yesterday"})
    assert answer.status_code == 400 and "Last-Event-ID 'yesterday'" in answer.json()["detail"]
    assert client.get("/v1/events?after=-1", headers=READ).status_code == 422


def test_the_examples_in_the_docstrings_hold():
    import doctest

    from monitor.store import fleet, timeline

    for module in (sse, fleet, timeline):
        result = doctest.testmod(module)
        assert result.failed == 0 and result.attempted > 0, module.__name__

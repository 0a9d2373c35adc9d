"""Read endpoints in process: model detail without secrets, versions, audit trail, bounds, 404s."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from monitor import audit
from frontdoors.api.app import create_app
from monitor.config import Settings
from monitor.db.engine import session_scope
from monitor.redact import redact, redact_url
from monitor.registry import builtin
from monitor.spec import ModelSpec
from monitor.store import models as store

READ = {"Authorization": "Bearer r"}
SPEC = {"name": "churn", "task": "binary_classification", "every": "5m", "window": "1h",
        "alerts": [{"webhook": {"url": "https://ops:hunter2@hooks.example/x", "secret": "whsec-123"}}]}


@pytest.fixture
def api(tmp_path, migrate):
    settings = Settings(data_dir=tmp_path, api_token="w", read_token="r")
    migrate(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        spec = ModelSpec.model_validate(SPEC)
        model, _ = store.upsert_model(session, spec)
        builtin.register(session, model, spec, "1", serving=True)
        builtin.register(session, model, spec, "2", serving=True)
        audit.record(session, actor="token:alice", action="cancel", subject="recovery_action:7",
                     reason="false alarm", model_id=model.id, details={"token": "leaky"})
        audit.record(session, actor="system", action="register", subject="other")
    return TestClient(create_app(settings))


def test_model_detail_lists_versions_and_hides_secrets(api):
    answer = api.get("/v1/models/churn", headers=READ)
    assert answer.status_code == 200
    body = answer.json()
    assert body["serving_version"] == "2"
    assert [(v["version"], v["serving"], v["status"]) for v in body["versions"]] == [
        ("1", False, "retired"), ("2", True, "serving")]
    assert body["last_run"] is None
    text = answer.text
    assert "whsec-123" not in text and "hunter2" not in text
    assert body["spec"]["alerts"][0]["config"] == {"url": "https://ops:***@hooks.example/x", "secret": "***"}
    assert api.get("/v1/models/churn/versions", headers=READ).json() == body["versions"]


def test_reads_need_a_token_and_unknown_names_are_404(api):
    assert api.get("/v1/models/churn").status_code == 401
    for path in ("/v1/models/nosuch", "/v1/models/nosuch/versions", "/v1/models/nosuch/kpis",
                 "/v1/models/nosuch/findings", "/v1/models/nosuch/reports", "/v1/runs/nosuch/findings",
                 "/v1/audit?model=nosuch"):
        assert api.get(path, headers=READ).status_code == 404, path


def test_empty_history_reads_as_empty(api):
    assert api.get("/v1/models/churn/kpis", headers=READ).json() == {"model": "churn", "segment": "", "series": {}}
    assert api.get("/v1/models/churn/kpis?name=recall", headers=READ).json()["series"] == {"recall": []}
    assert api.get("/v1/models/churn/findings", headers=READ).json() == []
    assert api.get("/v1/models/churn/reports", headers=READ).json() == []


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "status=bogus"])
def test_pagination_is_bounded(api, query):
    assert api.get(f"/v1/models/churn/findings?{query}", headers=READ).status_code == 422


def test_audit_trail_filters_by_model_and_redacts_details(api):
    everything = api.get("/v1/audit", headers=READ).json()
    assert [e["subject"] for e in everything] == ["other", "recovery_action:7"]
    churn = api.get("/v1/audit?model=churn", headers=READ).json()
    assert len(churn) == 1
    event = churn[0]
    assert (event["actor"], event["action"], event["model"], event["reason"]) == (
        "token:alice", "cancel", "churn", "false alarm")
    assert event["details"] == {"token": "***"}
    assert len(api.get("/v1/audit?limit=1", headers=READ).json()) == 1


def test_redaction_of_urls_and_secret_keys():
    assert redact_url("postgresql+psycopg://mw:s3cr3t@db:5432/mw") == "postgresql+psycopg://mw:***@db:5432/mw"
    assert redact_url("rediss://:pw@redis:6380/0?ssl_cert_reqs=required") == "rediss://:***@redis:6380/0?ssl_cert_reqs=required"
    assert redact_url("https://x.example/hook?token=abc&page=2") == "https://x.example/hook?token=***&page=2"
    assert redact_url("redis://redis:6379/0") == "redis://redis:6379/0"
    slack = {"type": "slack", "config": {"url": "https://hooks.slack.com/services/T0/B0/XYZ"}}
    assert redact([slack]) == [{"type": "slack", "config": {"url": "***"}}]
    assert redact({"api_key": "k", "Authorization": "Bearer t", "max_tokens": 5, "note": "fine"}) == {
        "api_key": "***", "Authorization": "***", "max_tokens": 5, "note": "fine"}


def test_a_model_name_cannot_carry_markup():
    """Model names reach report titles, URLs and metric labels; the spec admits none with markup."""
    from monitor.errors import SpecError
    from monitor.spec import parse_spec

    with pytest.raises(SpecError, match="name"):
        parse_spec({"models": [dict(SPEC, name="<script>x</script>")]})

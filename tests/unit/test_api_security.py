"""Who may call what: tokens, read-only tokens, named tokens, and the open probes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from frontdoors.api.app import create_app
from frontdoors.api.security import authenticate
from monitor.config import Settings
from monitor.db.migrate import upgrade


def client(tmp_path, **tokens) -> TestClient:
    settings = Settings(data_dir=tmp_path, **tokens)
    upgrade(settings.effective_database_url)
    return TestClient(create_app(settings))


def test_no_token_configured_reads_are_open_and_writes_refused(tmp_path):
    api = client(tmp_path)
    assert api.get("/v1/models").status_code == 200
    refused = api.post("/v1/models/m/checks")
    assert refused.status_code == 403 and "MODELWATCH_API_TOKEN" in refused.json()["detail"]


def test_a_configured_token_closes_reads_too(tmp_path):
    api = client(tmp_path, api_token="w", read_token="r")
    assert api.get("/v1/models").status_code == 401
    assert api.get("/v1/models", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert api.get("/v1/models", headers={"Authorization": "Bearer r"}).status_code == 200
    assert api.get("/v1/models", cookies={"modelwatch_token": "r"}).status_code == 200
    assert api.post("/v1/models/m/checks", headers={"Authorization": "Bearer r"}).status_code == 403
    # the write token passes auth; the model does not exist
    assert api.post("/v1/models/m/checks", headers={"Authorization": "Bearer w"}).status_code == 404
    for path in ("/healthz", "/metrics", "/docs"):
        assert api.get(path).status_code == 200, path


def test_named_tokens_name_the_actor(tmp_path):
    settings = Settings(data_dir=tmp_path, tokens="alice=a1, grafana=g1:read")
    assert authenticate(settings, "a1").actor == "token:alice"
    assert authenticate(settings, "a1").can_write
    assert not authenticate(settings, "g1").can_write
    assert authenticate(settings, "g1:read") is None
    assert authenticate(settings, "") is None


def test_malformed_named_tokens_fail_at_start(tmp_path):
    with pytest.raises(ValueError, match="expected name=token"):
        create_app(Settings(data_dir=tmp_path, tokens="alice"))

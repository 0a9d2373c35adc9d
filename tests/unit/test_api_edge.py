"""The request-level edge (``frontdoors.api.guard``), in-process on SQLite: what no route should
ever meet is refused before any route runs, with a status and a reason; and the spec and
duration checks that refuse what would overflow later. The same cases on PostgreSQL and Redis,
over HTTP, are in tests/integration/test_api_fuzz.py."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

import monitor.config
from frontdoors.api.app import create_app
from frontdoors.cli.main import main
from monitor.config import Settings
from monitor.db.migrate import upgrade
from monitor.durations import parse_duration
from monitor.errors import SpecError
from monitor.spec.loading import load_spec_file
from monitor.storable import MAX_JSON_DEPTH, json_depth, unstorable

WRITE = {"Authorization": "Bearer w"}


@pytest.fixture(scope="module")
def api(tmp_path_factory) -> TestClient:
    """One app for the module: every case here is refused before it could change anything."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("edge"), api_token="w", max_body_bytes=64 * 1024)
    upgrade(settings.effective_database_url)
    return TestClient(create_app(settings), raise_server_exceptions=True)


def _json(raw: bytes) -> dict:
    return {"content": raw, "headers": {**WRITE, "Content-Type": "application/json"}}


@pytest.mark.parametrize("path", ["/v1/models/%00", "/v1/models/a%00b/runs", "/v1/alerts?model=%00",
                                  "/v1/audit?model=x%00", "/v1/runs/%00/report"])
def test_a_nul_in_the_path_or_query_is_a_400(api, path):
    response = api.get(path, headers=WRITE)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


@pytest.mark.parametrize("method,path", [("DELETE", "/v1/silences/{}"), ("POST", "/v1/alerts/{}/ack"),
                                         ("POST", "/v1/recovery/{}/approve"), ("POST", "/v1/recovery/{}/cancel")])
def test_ids_beyond_a_32_bit_integer_column_are_a_422_naming_the_bound(api, method, path):
    response = api.request(method, path.format(2**31), headers=WRITE)
    assert response.status_code == 422 and "2147483647" in response.text
    assert api.request(method, path.format(2**31 - 1), headers=WRITE).status_code == 404


@pytest.mark.parametrize("query", ["until=0001-01-01T00:00:00&last=7d", "until=9999-12-31T23:59:59-14:00",
                                   "since=0001-01-01T00:00:00%2B14:00"])
def test_times_at_the_ends_of_the_calendar_are_a_400_not_an_overflow(api, query):
    for page in ("timeseries", "drift", "annotations"):
        response = api.get(f"/v1/models/nope/{page}?{query}", headers=WRITE)
        assert response.status_code == 400 and ("year 1" in response.text or "range in UTC" in response.text)


@pytest.mark.parametrize("raw,status,words", [
    (b'{"comment": "\xff"}', 400, "not UTF-8"),
    (b"[" * 900 + b"]" * 900, 400, f"more than {MAX_JSON_DEPTH} levels"),
    (b'{"comment": "x\\u0000y", "model": "m"}', 422, "comment: contains a NUL"),
    (b'{"comment": "ok", "model": "\\ud800"}', 422, "model: contains a lone surrogate"),
    (b'{"comment": "ok", "model": "m", "\\u0000": 1}', 422, "(a key): contains a NUL"),
])
def test_whole_bodies_that_cannot_be_read_or_stored_are_refused_with_the_reason(api, raw, status, words):
    response = api.post("/v1/silences", **_json(raw))
    assert response.status_code == status and words in response.json()["detail"], response.text


def test_an_oversized_body_is_a_413_whether_declared_or_streamed(api):
    declared = api.post("/v1/silences", **_json(b" " * (65 * 1024)))
    assert declared.status_code == 413 and "MODELWATCH_MAX_BODY_BYTES" in declared.json()["detail"]
    streamed = api.post("/v1/silences", content=(b" " * 1024 for _ in range(70)),
                        headers={**WRITE, "Content-Type": "application/json"})
    assert streamed.status_code == 413


def test_batch_rows_with_bad_text_pass_the_guard_to_the_per_row_checks(api):
    """A NUL in one row is that row's problem (quarantined by monitor.ingest), not the batch's."""
    response = api.post("/v1/models/nope/predictions", **_json(b'{"rows": [{"request_id": "a\\u0000"}]}'))
    assert response.status_code == 404  # the route ran: the model does not exist
    deep = b'{"rows": [' + b"[" * 100 + b"]" * 100 + b"]}"
    for content_type in ("application/json", "text/plain"):  # a batch is read as JSON whatever it says
        response = api.post("/v1/models/nope/predictions", content=deep, headers={**WRITE, "Content-Type": content_type})
        assert response.status_code == 400 and "levels deep" in response.json()["detail"]


def test_json_depth_counts_without_parsing_and_ignores_brackets_in_strings():
    assert json_depth(b'{"a": "[[[{", "b": [[1], {"c": []}]}') == 4
    assert json_depth(json.dumps({"a": "\\\"[[", "b": ["]]]\\"]})) == 2
    assert json_depth(b"[" * 200_000) == MAX_JSON_DEPTH + 1  # unclosed: no RecursionError, no long loop
    assert json_depth(b"42") == 0


def test_unstorable_names_the_path_of_the_first_bad_string():
    assert unstorable({"a": [{"b": "ok"}, {"c": "\ud83d"}]}) == "a[1].c: contains a lone surrogate (\\ud83d), " \
                                                               "which is not valid Unicode text"
    assert unstorable(["\x00"]) == "[0]: contains a NUL character"
    assert unstorable({"emoji": "\U0001f600", "n": 1, "x": None}) is None


def test_durations_that_would_overflow_are_refused_naming_the_limit():
    assert parse_duration("3650d") == 3650 * 86400
    for value in ("99999999999999999999d", "3651d", 1e300):
        with pytest.raises(ValueError, match="longer than 10 years"):
            parse_duration(value)


SPEC = "models:\n  - name: churn\n    task: binary_classification\n    window: {window}\n"


def test_a_window_too_long_is_refused_at_validation_naming_the_field(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(window="99999999999999999999d"))
    with pytest.raises(SpecError, match=r'model "churn", field window: .*longer than 10 years'):
        load_spec_file(path)


@pytest.mark.parametrize("content,words", [
    (SPEC.format(window="1h").encode().replace(b"churn", b"ch\xe9rn"), "not UTF-8 text: byte 0xe9 at offset 20 (line 2)"),
    (SPEC.format(window='"1h\\ud800"').encode(), "field models[0].window: contains a lone surrogate"),
])
def test_a_spec_file_that_is_not_utf8_or_holds_bad_text_is_a_clear_cli_error(tmp_path, monkeypatch, content, words):
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path / "data"))
    monitor.config.get_settings.cache_clear()
    path = tmp_path / "spec.yaml"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["apply", "-f", str(path)])
    assert result.exit_code == 2 and words in result.output, result.output
    assert "Traceback" not in result.output
    monitor.config.get_settings.cache_clear()

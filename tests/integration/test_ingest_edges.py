"""Poison rows at each edge, on SQLite and PostgreSQL: the bad rows are quarantined with their
number and reason, the good rows of the same batch or file are stored."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from monitor.db.engine import session_scope
from monitor.db.schema import LogSegment, QuarantinedRow
from monitor.spec import ModelSpec
from monitor.store import models as store

SPEC = {"name": "churn", "task": "binary_classification", "every": "5m", "window": "1h",
        "columns": {"numeric": ["age"], "categorical": ["plan"]}}


def _register(url: str) -> None:
    with session_scope(url) as session:
        store.upsert_model(session, ModelSpec.model_validate(SPEC))


def _stored(url: str) -> tuple[int, list[tuple[int, str]]]:
    with session_scope(url) as session:
        rows = session.scalar(select(func.coalesce(func.sum(LogSegment.rows), 0)).where(LogSegment.kind == "predictions"))
        quarantined = session.execute(select(QuarantinedRow.row_number, QuarantinedRow.reason)
                                      .order_by(QuarantinedRow.row_number)).all()
    return int(rows), [tuple(q) for q in quarantined]


def test_http_batch_with_a_nul_row_and_a_surrogate_row_stores_the_good_rows(db_url, tmp_path):
    from frontdoors.api.app import create_app
    from monitor.config import Settings

    _register(db_url)
    settings = Settings(data_dir=tmp_path, database_url=db_url, api_token="w", read_token="r")
    now = dt.datetime.now(dt.timezone.utc).isoformat()
    good = json.dumps({"request_id": "g1", "ts": now, "prediction": 1, "age": 3, "plan": "pro"})
    body = ('{"rows": [' + good + ','
            '{"request_id": "x\\u0000y", "ts": "' + now + '", "prediction": 1},'
            '{"request_id": "s", "ts": "' + now + '", "prediction": 0, "plan": "\\ud800"},'
            + good.replace("g1", "g2") + ']}')
    answer = TestClient(create_app(settings)).post(
        "/v1/models/churn/predictions", content=body,
        headers={"Authorization": "Bearer w", "Content-Type": "application/json"})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["accepted"], result["quarantined"]) == (2, 2)
    assert [(r["index"], r["reason"]) for r in result["rejected"]] == [
        (1, "column 'request_id': contains a NUL character"),
        (2, "column 'plan': contains a lone surrogate (not valid Unicode)")]
    rows, quarantined = _stored(db_url)
    assert rows == 2 and [n for n, _ in quarantined] == [2, 3]


@pytest.fixture
def cli_env(db_url, tmp_path, monkeypatch):
    from monitor.config import get_settings

    monkeypatch.setenv("MODELWATCH_DATABASE_URL", db_url)
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_cli_csv_with_a_huge_field_a_bad_byte_and_a_stray_quote_stores_the_rest(cli_env, db_url, tmp_path):
    from frontdoors.cli.main import main

    _register(db_url)
    ts = b"2024-05-01T12:00:00Z"
    lines = [b"r%d,%s,1,40,pro" % (i, ts) for i in range(1, 9)]
    lines[1] = b"r2,%s,1,40,%s" % (ts, b"x" * 10_000_000)
    lines[3] = b"r4,%s,1,40,caf\xe9" % ts
    lines[5] = b'r6,%s,1,40,"pro' % ts
    path = tmp_path / "poison.csv"
    path.write_bytes(b"request_id,ts,prediction,age,plan\n" + b"\n".join(lines) + b"\x00tail\n")
    result = CliRunner().invoke(main, ["ingest", "predictions", str(path), "--model", "churn", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert result.stdout.strip(), result.output
    counts = json.loads(result.stdout)
    assert (counts["accepted"], counts["quarantined"]) == (4, 4)  # row 8 holds a NUL: quarantined too
    rows, quarantined = _stored(db_url)
    assert rows == 4
    assert [n for n, _ in quarantined] == [2, 4, 6, 8]
    assert "Traceback" not in result.output

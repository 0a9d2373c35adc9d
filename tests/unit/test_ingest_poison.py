"""Poison values are refused per row (NUL, lone surrogates, oversized, nested) and the file readers
stream past bad lines (a 10 MB field, a non-UTF-8 byte, a stray quote, JSON nested 200k deep)."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitor.ingest import read_batches, validate_records
from monitor.spec import parse_spec

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
TS = "2024-05-01T12:00:00Z"


@pytest.fixture
def spec():
    document = {"models": [{"name": "churn", "task": "binary_classification",
                            "columns": {"numeric": ["age"], "categorical": ["plan"]}}]}
    return parse_spec(document)[0]


def _row(rid: str, **values) -> dict:
    return {"request_id": rid, "ts": TS, "prediction": 1, "age": 40, "plan": "pro", **values}


def _strings(table: pa.Table) -> list[str]:
    return [v for column in table.columns if pa.types.is_string(column.type)
            for v in column.to_pylist() if v is not None]


@pytest.mark.parametrize("column, value, reason", [
    ("request_id", "x\x00y", "column 'request_id': contains a NUL character"),
    ("plan", "p\x00", "column 'plan': contains a NUL character"),
    ("version", "v\x001", "column 'version': contains a NUL character"),
    ("plan", "\ud800", "column 'plan': contains a lone surrogate (not valid Unicode)"),
    ("status", "ok\udfff", "column 'status': contains a lone surrogate (not valid Unicode)"),
    ("prediction", "c\x00t", "column 'prediction': contains a NUL character"),
])
def test_nul_and_lone_surrogates_are_rejected_per_row(spec, column, value, reason):
    batch = validate_records([_row("good"), _row("bad", **{column: value}), _row("also")], "predictions", spec, now=NOW)
    assert [(r.row_number, r.reason) for r in batch.rejected] == [(2, reason)]
    assert batch.table["request_id"].to_pylist() == ["good", "also"]
    for text in _strings(batch.table):
        assert "\x00" not in text
        text.encode("utf-8")
    raw = json.dumps(batch.rejected[0].row, ensure_ascii=False)  # quarantine can store it
    assert "\x00" not in raw
    raw.encode("utf-8")


def test_oversized_values_are_rejected_and_kept_short_in_quarantine(spec):
    huge = "x" * 10_000_000
    rows = [_row("a" * 129), _row("big", plan=huge), _row("v", version="v" * 65), _row("s", status="s" * 33),
            _row("n", age=huge), _row("t", ts=huge), _row("ok", plan="p" * 256)]
    batch = validate_records(rows, "predictions", spec, now=NOW)
    reasons = [r.reason for r in batch.rejected]
    assert reasons[:4] == ["column 'request_id': request id longer than 128 characters",
                           "column 'plan': categorical value longer than 256 characters",
                           "column 'version': version longer than 64 characters",
                           "column 'status': status longer than 32 characters"]
    assert reasons[4].startswith("column 'age': cannot parse 'xxx")
    assert reasons[5].startswith("column 'ts': cannot parse 'xxx")
    assert batch.table["request_id"].to_pylist() == ["ok"]
    assert all(len(json.dumps(r.row)) < 5000 for r in batch.rejected)


def test_nested_values_are_rejected_without_recursing(spec):
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    rows = [_row("d", age={"a": 1}), _row("l", plan=["x"]), _row("p", prediction={"k": [1]}),
            _row("deep", plan=deep), _row("ok")]
    batch = validate_records(rows, "predictions", spec, now=NOW)
    assert [r.reason for r in batch.rejected] == [
        "column 'age': expected a number, got a nested dict of 1 item(s)",
        "column 'plan': expected a single value, got a nested list of 1 item(s)",
        "column 'prediction': expected a class label (integer, string or boolean), got a nested dict of 1 item(s)",
        "column 'plan': expected a single value, got a nested list of 1 item(s)",
    ]
    json.dumps(batch.rejected[3].row)  # cut at a fixed depth
    assert batch.table["request_id"].to_pylist() == ["ok"]


def test_interactions_refuse_poison_too(spec):
    rows = [{"request_id": "r\x00", "event": "click", "ts": TS}, {"request_id": "r1", "event": "cl\ud800", "ts": TS},
            {"request_id": "r2", "event": "click", "ts": TS}]
    batch = validate_records(rows, "interactions", spec, now=NOW)
    assert [r.row_number for r in batch.rejected] == [1, 2]
    assert "NUL" in batch.rejected[0].reason and "surrogate" in batch.rejected[1].reason
    assert [row["request_id"] for row in batch.rows] == ["r2"]


def test_the_table_has_the_contract_layout(spec):
    batch = validate_records([_row("a", score=0.5, version="v1"), _row("b", plan=None)], "predictions", spec, now=NOW)
    assert batch.table.schema == pa.schema([
        ("request_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("version", pa.string()),
        ("prediction", pa.int64()), ("score", pa.float64()), ("latency_ms", pa.float64()), ("status", pa.string()),
        ("f.age", pa.float64()), ("f.plan", pa.string())])
    labels = validate_records([{"request_id": "a", "label": True}], "labels", spec, now=NOW)
    assert labels.table.schema.names == ["request_id", "label", "ts"] and labels.table["label"].type == pa.bool_()


def _csv(path, lines: list[bytes]) -> None:
    path.write_bytes(b"request_id,ts,prediction,age,plan\n" + b"".join(line + b"\n" for line in lines))


def _read(path, spec, **kwargs):
    batches = list(read_batches(path, "predictions", spec, **kwargs))
    good = [rid for b in batches for rid in b.table["request_id"].to_pylist()]
    return good, [(r.row_number, r.reason) for b in batches for r in b.rejected]


def test_csv_keeps_the_rows_around_a_huge_field_a_bad_byte_and_a_stray_quote(tmp_path, spec):
    path = tmp_path / "poison.csv"
    _csv(path, [b"r1,2024-05-01T12:00:00Z,1,40,pro",
                b"r2,2024-05-01T12:00:00Z,1,40," + b"x" * 10_000_000,
                b"r3,2024-05-01T12:00:00Z,1,40,pro",
                b"r4,2024-05-01T12:00:00Z,1,40,caf\xe9",
                b"r5,2024-05-01T12:00:00Z,1,40,pro",
                b'r6,2024-05-01T12:00:00Z,1,40,"pro',
                b"r7,2024-05-01T12:00:00Z,1,40,pro",
                b"r8,2024-05-01T12:00:00Z,1,41,basic"])
    good, rejected = _read(path, spec, batch_size=1000)
    assert good == ["r1", "r3", "r5", "r7", "r8"]
    assert [number for number, _ in rejected] == [2, 4, 6]
    assert rejected[0][1] == "column 'plan': categorical value longer than 256 characters"
    assert rejected[1][1].startswith("not UTF-8 text")
    assert "stray quote" in rejected[2][1]
    # the same answers whatever the chunking
    assert _read(path, spec, batch_size=3) == (good, rejected)


def test_csv_quote_that_would_swallow_lines_costs_only_its_line(tmp_path, spec):
    path = tmp_path / "swallow.csv"
    _csv(path, [b'a,2024-05-01T12:00:00Z,1,40,"pro', b"b,2024-05-01T12:00:00Z,1,40,pro",
                b'c,2024-05-01T12:00:00Z,1,40,pro"', b"d,2024-05-01T12:00:00Z,1,40,pro"])
    good, rejected = _read(path, spec)
    assert good == ["b", "c", "d"]  # a quote inside a field is text, as for the csv module
    assert [number for number, _ in rejected] == [1]


def test_jsonl_nested_200k_deep_and_bad_bytes_cost_one_line_each(tmp_path, spec):
    path = tmp_path / "deep.jsonl"
    good = json.dumps(_row("ok")).encode()
    path.write_bytes(good + b"\n" + b"[" * 200_000 + b"]" * 200_000 + b"\n"
                     + json.dumps(_row("bad", plan="caf")).encode()[:-2] + b'\xe9"}\n' + good.replace(b"ok", b"ok2") + b"\n")
    good_ids, rejected = _read(path, spec)
    assert good_ids == ["ok", "ok2"]
    assert [n for n, _ in rejected] == [2, 3]
    assert rejected[0][1] == "invalid JSON: nested too deep"
    assert rejected[1][1].startswith("not UTF-8 text")


def test_parquet_with_invalid_utf8_quarantines_only_that_row(tmp_path, spec):
    ids = pa.array([b"p1", b"p\xff2", b"p3"], pa.binary()).view(pa.string())
    table = pa.table({"request_id": ids, "ts": pa.array([TS] * 3), "prediction": pa.array([1, 0, 1])})
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)
    good, rejected = _read(path, spec)
    assert good == ["p1", "p3"]
    assert [number for number, _ in rejected] == [2] and rejected[0][1].startswith("column 'request_id'")

"""The validation edge: bad rows are quarantined with reasons, whole-input problems raise."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from monitor.errors import IngestError
from monitor.ingest import KINDS, Batch, Rejected, count_rows, read_batches, validate_records
from monitor.spec import parse_spec

UTC = dt.timezone.utc
NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=UTC)


def _spec(task: str = "binary_classification", **extra):
    document = {
        "models": [
            {
                "name": "churn",
                "task": task,
                "columns": {"numeric": ["age", "income"], "categorical": ["plan"]},
                **extra,
            }
        ]
    }
    return parse_spec(document)[0]


@pytest.fixture
def spec():
    return _spec()


def _rows(n: int = 3) -> list[dict]:
    base = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    plans = ["basic", "pro", None]
    return [
        {
            "request_id": f"r{i:03d}",
            "ts": base + dt.timedelta(minutes=i),
            "version": "v1",
            "age": 30 + i if i != 2 else None,
            "income": 1000.5 * (i + 1),
            "plan": plans[i % 3],
            "prediction": i % 2,
            "score": 0.25 * (i % 4),
            "latency_ms": 12.5,
            "status": "ok",
            "extra": "ignored",
        }
        for i in range(n)
    ]


def _write(path, rows: list[dict]) -> None:
    """Write rows as the file type of ``path``: timestamps as ISO text in CSV/JSONL."""
    suffix = path.suffix
    if suffix in (".parquet", ".pq"):
        pq.write_table(pa.Table.from_pylist(rows), path)
        return

    def text(value):
        return value.isoformat() if isinstance(value, dt.datetime) else value

    if suffix == ".csv":
        pd.DataFrame([{k: text(v) for k, v in row.items()} for row in rows]).to_csv(path, index=False)
    else:
        path.write_text("".join(json.dumps({k: text(v) for k, v in r.items()}) + "\n" for r in rows))


def _read_all(path, kind, spec, **kwargs) -> list[Batch]:
    return list(read_batches(path, kind, spec, **kwargs))


def _good(batches: list[Batch]) -> list[dict]:
    return [row for batch in batches for row in batch.rows]


def _rejected(batches: list[Batch]) -> list[Rejected]:
    return [r for batch in batches for r in batch.rejected]


# ------------------------------------------------------------------------------------------


def test_kinds():
    assert KINDS == ("predictions", "labels", "interactions")


@pytest.mark.parametrize("name", ["logs.csv", "logs.parquet", "logs.pq", "logs.jsonl", "logs.ndjson", "logs.json"])
def test_round_trip_formats_give_the_same_rows(tmp_path, spec, name):
    path = tmp_path / name
    _write(path, _rows())
    batches = _read_all(path, "predictions", spec)
    assert _rejected(batches) == []
    rows = _good(batches)
    base = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert rows == [
        {"request_id": "r000", "ts": base, "version": "v1",
         "features": {"age": 30.0, "income": 1000.5, "plan": "basic"},
         "prediction": 0, "score": 0.0, "latency_ms": 12.5, "status": "ok"},
        {"request_id": "r001", "ts": base + dt.timedelta(minutes=1), "version": "v1",
         "features": {"age": 31.0, "income": 2001.0, "plan": "pro"},
         "prediction": 1, "score": 0.25, "latency_ms": 12.5, "status": "ok"},
        {"request_id": "r002", "ts": base + dt.timedelta(minutes=2), "version": "v1",
         "features": {"age": None, "income": 3001.5, "plan": None},
         "prediction": 0, "score": 0.5, "latency_ms": 12.5, "status": "ok"},
    ]
    for row in rows:
        assert row["ts"].tzinfo is UTC
        assert type(row["prediction"]) is int
        json.dumps({k: v for k, v in row.items() if k != "ts"})
    assert count_rows(path) == 3


def test_bad_rows_are_rejected_with_the_column_and_good_rows_kept(spec):
    good = {"request_id": "ok", "ts": "2024-05-01T00:00:00Z", "age": 40, "income": 10.0, "plan": "pro",
            "prediction": 1, "score": 0.9}
    records = [
        {**good, "request_id": "a", "ts": "yesterday"},
        {**good, "request_id": "b", "age": "abc"},
        {**good, "request_id": "c", "score": 1.7},
        {**good, "request_id": ""},
        good,
    ]
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert [row["request_id"] for row in batch.rows] == ["ok"]
    assert [r.row_number for r in batch.rejected] == [1, 2, 3, 4]
    reasons = [r.reason for r in batch.rejected]
    assert reasons[0].startswith("column 'ts': cannot parse 'yesterday' as a timestamp")
    assert reasons[1] == "column 'age': cannot parse 'abc' as a number"
    assert reasons[2] == "column 'score': score 1.7 is outside [0, 1]"
    assert reasons[3] == "column 'request_id': empty request id"
    assert batch.rejected[1].row == {**good, "request_id": "b", "age": "abc"}
    assert batch.duplicates == 0


def test_rejected_rows_are_json_able(spec):
    record = {"request_id": np.int64(5), "ts": pd.Timestamp("2024-05-01 10:00"), "age": np.float64("nan"),
              "income": float("inf"), "plan": "x", "prediction": np.float32(0.5), "score": None}
    batch = validate_records([record], "predictions", spec, now=NOW)
    assert batch.rows == []
    (rejected,) = batch.rejected
    assert "column 'income'" in rejected.reason and "column 'prediction'" in rejected.reason
    assert rejected.row == {"request_id": 5, "ts": "2024-05-01T10:00:00", "age": None, "income": "inf",
                            "plan": "x", "prediction": 0.5, "score": None}
    json.dumps(rejected.row, allow_nan=False)


def test_numpy_and_pandas_values_are_normalised(spec):
    record = {"request_id": np.int64(7), "ts": pd.Timestamp("2024-05-01 10:00", tz="Europe/Paris"),
              "age": np.int32(41), "income": np.float64(2.5), "plan": np.str_("pro"),
              "prediction": np.float64(1.0), "score": np.float32(0.5), "latency_ms": pd.NA}
    (row,) = validate_records([record], "predictions", spec, now=NOW).rows
    assert row == {"request_id": "7", "ts": dt.datetime(2024, 5, 1, 8, 0, tzinfo=UTC), "version": None,
                   "features": {"age": 41.0, "income": 2.5, "plan": "pro"}, "prediction": 1,
                   "score": 0.5, "latency_ms": None, "status": None}
    assert type(row["ts"]) is dt.datetime
    assert type(row["prediction"]) is int and type(row["features"]["age"]) is float
    json.dumps({k: v for k, v in row.items() if k != "ts"})


def test_leading_zero_ids_survive_csv(tmp_path, spec):
    path = tmp_path / "p.csv"
    path.write_text(
        "request_id,ts,prediction,age\n"
        "007,2024-05-01T00:00:00Z,1,3\n"
        "0042,2024-05-01T00:00:00Z,0,\n"
        "NA,2024-05-01T00:00:00Z,0,NA\n"
    )
    rows = _good(_read_all(path, "predictions", spec))
    assert [row["request_id"] for row in rows] == ["007", "0042", "NA"]
    assert [row["features"]["age"] for row in rows] == [3.0, None, None]


def test_float_and_int_ids_become_strings(spec):
    records = [{"request_id": 7, "ts": 0, "prediction": 1}, {"request_id": 8.0, "ts": 0, "prediction": 1},
               {"request_id": 8.5, "ts": 0, "prediction": 1}, {"request_id": None, "ts": 0, "prediction": 1}]
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert [row["request_id"] for row in batch.rows] == ["7", "8"]
    assert [r.row_number for r in batch.rejected] == [3, 4]
    assert all("column 'request_id'" in r.reason for r in batch.rejected)


def test_epoch_and_naive_timestamps_are_utc(spec):
    expected = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    epoch = expected.timestamp()
    values = [epoch, int(epoch), str(int(epoch)), "2024-05-01T12:00:00", "2024-05-01 14:00:00+02:00",
              "2024-05-01T12:00:00Z", dt.datetime(2024, 5, 1, 12, 0), pd.Timestamp("2024-05-01 12:00"),
              np.datetime64("2024-05-01T12:00:00"), "2024-05-01T12:00:00.000000000Z"]
    records = [{"request_id": str(i), "ts": v, "prediction": 0} for i, v in enumerate(values)]
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert batch.rejected == []
    for row in batch.rows:
        assert row["ts"] == expected and row["ts"].tzinfo is UTC and type(row["ts"]) is dt.datetime


def test_future_timestamps_are_rejected(spec):
    records = [
        {"request_id": "soon", "ts": NOW + dt.timedelta(hours=23), "prediction": 0},
        {"request_id": "later", "ts": (NOW + dt.timedelta(days=2)).isoformat(), "prediction": 0},
        {"request_id": "ms", "ts": NOW.timestamp() * 1000, "prediction": 0},
    ]
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert [row["request_id"] for row in batch.rows] == ["soon"]
    assert [r.row_number for r in batch.rejected] == [2, 3]
    assert batch.rejected[0].reason.startswith("column 'ts': timestamp 2024-05-04T12:00:00+00:00 is more than 1 day in the future")
    assert "column 'ts'" in batch.rejected[1].reason and "milliseconds" in batch.rejected[1].reason


def test_missing_required_column_raises_naming_it(tmp_path, spec):
    rows = [{k: v for k, v in row.items() if k != "ts"} for row in _rows()]
    for name in ("p.csv", "p.parquet", "p.jsonl"):
        path = tmp_path / name
        _write(path, rows)
        with pytest.raises(IngestError) as info:
            read_batches(path, "predictions", spec)
        message = str(info.value)
        assert str(path) in message and "'ts'" in message and "request_id" in message  # columns found


def test_missing_value_in_a_required_column_is_a_bad_row(spec):
    batch = validate_records([{"request_id": "a", "prediction": 1}, {"request_id": "b", "ts": None, "prediction": 1}],
                             "predictions", spec, now=NOW)
    assert batch.rows == []
    assert [r.reason for r in batch.rejected] == ["column 'ts' is missing", "column 'ts': missing value"]


def test_unknown_extension_and_unreadable_files_raise(tmp_path, spec):
    path = tmp_path / "logs.xlsx"
    path.write_text("x")
    with pytest.raises(IngestError, match=r"logs\.xlsx.*unknown file extension '\.xlsx'"):
        read_batches(path, "predictions", spec)
    assert count_rows(path) is None
    with pytest.raises(IngestError, match="file not found"):
        read_batches(tmp_path / "nope.csv", "predictions", spec)
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    with pytest.raises(IngestError, match="bad.parquet"):
        read_batches(bad, "predictions", spec)
    array = tmp_path / "array.json"
    array.write_text(json.dumps([{"request_id": "a"}]))
    with pytest.raises(IngestError, match="JSON array"):
        read_batches(array, "predictions", spec)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(IngestError, match="empty"):
        read_batches(empty, "predictions", spec)
    with pytest.raises(ValueError, match="kind"):
        validate_records([], "features", spec)


def test_labels(tmp_path, spec):
    path = tmp_path / "labels.csv"
    path.write_text(
        "request_id,label,ts\n"
        "007,1,2024-05-01T00:00:00Z\n"
        "008,0.0,\n"
        "009,,2024-05-01T00:00:00Z\n"
        "010,yes,soon\n"
        "011,true,1714521600\n"
    )
    batches = _read_all(path, "labels", spec)
    # one batch mixing ints and a bool: a text column, ints and bools rendered with str() (CONTRACT.md)
    assert _good(batches) == [
        {"request_id": "007", "label": "1", "ts": dt.datetime(2024, 5, 1, tzinfo=UTC)},
        {"request_id": "008", "label": "0", "ts": None},
        {"request_id": "011", "label": "True", "ts": dt.datetime(2024, 5, 1, tzinfo=UTC)},
    ]
    assert [row["label"] for row in _good(_read_all(path, "labels", spec, batch_size=1))] == [1, 0, True]
    assert [(r.row_number, r.reason) for r in _rejected(batches)] == [
        (3, "column 'label': missing value"),
        (4, "column 'ts': cannot parse 'soon' as a timestamp (expected ISO 8601 or epoch seconds)"),
    ]
    missing = tmp_path / "nolabel.jsonl"
    missing.write_text(json.dumps({"request_id": "a", "y": 1}) + "\n")
    with pytest.raises(IngestError, match="'label'"):
        read_batches(missing, "labels", spec)
    # labels need no timestamp column at all
    batch = validate_records([{"request_id": 1, "label": "cat"}], "labels", spec, now=NOW)
    assert batch.rows == [{"request_id": "1", "label": "cat", "ts": None}]


def test_within_batch_duplicates_are_counted_not_rejected(spec):
    records = [{"request_id": rid, "ts": 0, "prediction": p} for rid, p in [("a", 1), ("b", 0), ("a", 0), ("a", 1)]]
    records.insert(0, {"request_id": "b", "ts": "bad", "prediction": 1})  # a rejected row does not count
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert [(row["request_id"], row["prediction"]) for row in batch.rows] == [("a", 1), ("b", 0)]
    assert batch.duplicates == 2
    assert [r.row_number for r in batch.rejected] == [1]


def test_chunking_keeps_source_row_numbers(tmp_path, spec):
    rows = []
    for i in range(10):
        row = _rows(1)[0]
        row["request_id"] = f"id{i}"
        row["age"] = "abc" if i % 2 else 20 + i  # even data rows (i odd) are bad
        rows.append(row)
    for name in ("c.csv", "c.jsonl"):  # text formats: "abc" in a numeric column
        path = tmp_path / name
        _write(path, rows)
        batches = _read_all(path, "predictions", spec, batch_size=3)
        assert [len(b.rows) + len(b.rejected) for b in batches] == [3, 3, 3, 1]
        assert [r.row_number for r in _rejected(batches)] == [2, 4, 6, 8, 10]
        assert all(r.reason == "column 'age': cannot parse 'abc' as a number" for r in _rejected(batches))
        assert [r.row["request_id"] for r in _rejected(batches)] == ["id1", "id3", "id5", "id7", "id9"]
        assert len(_good(batches)) == 5
    parquet_rows = [{**row, "age": None if row["age"] == "abc" else row["age"],
                     "score": 1.5 if row["age"] == "abc" else 0.5} for row in rows]
    path = tmp_path / "c.parquet"
    _write(path, parquet_rows)
    batches = _read_all(path, "predictions", spec, batch_size=3)
    assert sum(len(b.rows) + len(b.rejected) for b in batches) == 10
    assert [r.row_number for r in _rejected(batches)] == [2, 4, 6, 8, 10]
    assert validate_records(rows[1:2], "predictions", spec, first_row_number=42).rejected[0].row_number == 42


def test_bad_lines_are_quarantined_not_raised(tmp_path, spec):
    csv_path = tmp_path / "ragged.csv"
    csv_path.write_text("request_id,ts,prediction\na,2024-05-01,1\nb,2024-05-01,1,extra\n\nc,2024-05-01\nd,0,0\n")
    batches = _read_all(csv_path, "predictions", spec)
    assert [row["request_id"] for row in _good(batches)] == ["a", "d"]
    assert [(r.row_number, r.reason) for r in _rejected(batches)] == [
        (2, "row has 4 fields but the header has 3"),
        (3, "row has 2 fields but the header has 3"),
    ]
    jsonl = tmp_path / "broken.jsonl"
    jsonl.write_text('{"request_id": "a", "ts": 0, "prediction": 1}\n{"request_id": \n[1, 2]\n\n'
                     '{"request_id": "b", "ts": 0, "prediction": 1}\n')
    batches = _read_all(jsonl, "predictions", spec)
    assert [row["request_id"] for row in _good(batches)] == ["a", "b"]
    assert [r.row_number for r in _rejected(batches)] == [2, 3]
    assert _rejected(batches)[0].reason.startswith("invalid JSON")
    assert _rejected(batches)[1].reason.startswith("expected an object")


def test_classification_predictions_and_scores(spec):
    records = [
        {"request_id": "int", "ts": 0, "prediction": 1, "score": 1},
        {"request_id": "float", "ts": 0, "prediction": 1.0, "score": "0.5"},
        {"request_id": "str", "ts": 0, "prediction": "cat"},
        {"request_id": "bool", "ts": 0, "prediction": False},
        {"request_id": "frac", "ts": 0, "prediction": 0.7},
        {"request_id": "neg", "ts": 0, "prediction": 1, "score": -0.1},
        {"request_id": "lat", "ts": 0, "prediction": 1, "latency_ms": -3},
    ]
    batch = validate_records(records, "predictions", spec, now=NOW)
    # a batch mixing ints, text and bools is one text column (CONTRACT.md); an all-int batch stays int
    assert [(row["request_id"], row["prediction"]) for row in batch.rows] == [
        ("int", "1"), ("float", "1"), ("str", "cat"), ("bool", "False")]
    assert batch.rows[0]["prediction"] == batch.rows[1]["prediction"]
    ints = validate_records(records[:2], "predictions", spec, now=NOW).rows
    assert [row["prediction"] for row in ints] == [1, 1] and type(ints[1]["prediction"]) is int
    assert [r.reason.split(":")[0] for r in batch.rejected] == [
        "column 'prediction'", "column 'score'", "column 'latency_ms'"]


def test_regression_requires_a_float_prediction(tmp_path):
    spec = _spec("regression")
    records = [
        {"request_id": "a", "ts": 0, "prediction": 3, "score": 17.5},
        {"request_id": "b", "ts": 0, "prediction": "2.5"},
        {"request_id": "c", "ts": 0, "prediction": "high"},
        {"request_id": "d", "ts": 0, "prediction": True},
        {"request_id": "e", "ts": 0, "prediction": float("nan")},
        {"request_id": "f", "ts": 0, "prediction": float("inf")},
    ]
    batch = validate_records(records, "predictions", spec, now=NOW)
    assert [(row["request_id"], row["prediction"], row["score"]) for row in batch.rows] == [
        ("a", 3.0, 17.5), ("b", 2.5, None)]
    assert type(batch.rows[0]["prediction"]) is float
    assert [r.row_number for r in batch.rejected] == [3, 4, 5, 6]
    assert all(r.reason.startswith("column 'prediction'") for r in batch.rejected)
    labels = validate_records([{"request_id": "a", "label": "1.5"}, {"request_id": "b", "label": "x"}],
                              "labels", spec, now=NOW)
    assert labels.rows == [{"request_id": "a", "label": 1.5, "ts": None}]
    assert labels.rejected[0].reason == "column 'label': cannot parse 'x' as a number"


def test_custom_column_names(tmp_path):
    spec = _spec(columns={"id": "rid", "timestamp": "time", "prediction": "yhat", "score": None,
                          "numeric": ["age"]})
    path = tmp_path / "custom.csv"
    path.write_text("rid,time,yhat,score,age\n1,2024-05-01,1,9.9,5\n")
    (row,) = _good(_read_all(path, "predictions", spec))
    assert row["request_id"] == "1" and row["score"] is None and row["features"] == {"age": 5.0}
    with pytest.raises(IngestError, match="'rid'"):
        read_batches(path, "labels", _spec(columns={"id": "rid2"}))


def test_count_rows(tmp_path, spec):
    rows = _rows(7)
    for name in ("n.csv", "n.parquet", "n.jsonl"):
        _write(tmp_path / name, rows)
        assert count_rows(tmp_path / name) == 7
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4")  # no trailing newline
    assert count_rows(tmp_path / "t.csv") == 2
    assert count_rows(tmp_path / "missing.csv") is None


def test_large_csv_streams_in_batches_without_losing_rows(tmp_path, spec):
    n = 20_000
    frame = pd.DataFrame({
        "request_id": [f"{i:08d}" for i in range(n)],
        "ts": pd.date_range("2024-05-01", periods=n, freq="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ"),
        "age": np.arange(n) % 90,
        "income": np.arange(n) * 1.5,
        "plan": np.where(np.arange(n) % 2, "pro", "basic"),
        "prediction": np.arange(n) % 2,
        "score": (np.arange(n) % 100) / 100,
        "latency_ms": 3.5,
    })
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    batches = list(read_batches(path, "predictions", spec, batch_size=5000))
    assert len(batches) == 4
    assert sum(len(b.rows) for b in batches) == n and not _rejected(batches)
    assert batches[-1].rows[-1]["request_id"] == f"{n - 1:08d}"

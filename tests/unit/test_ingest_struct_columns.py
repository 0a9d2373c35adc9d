"""Parsed JSON rows are turned into columns in one Arrow pass (``json_without_booleans=True``): the batch
(good rows, every quarantine reason and raw row, the duplicate count) must be exactly the one the
column-by-column path gives, whatever the rows hold."""

from __future__ import annotations

import datetime as dt
import json
import math
import random

import pyarrow as pa
import pytest

import monitor.ingest.validate as validate
from frontdoors.api.routes.ingest import without_booleans
from monitor.ingest import validate_records
from monitor.spec import parse_spec

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)


def _spec(task: str = "binary_classification"):
    return parse_spec({"models": [{"name": "churn", "task": task,
                                   "columns": {"numeric": ["age", "income"], "categorical": ["plan"]}}]})[0]


CELLS = {
    "request_id": ["r1", "r2", "r1", " ", "", 7, 7.0, 7.5, None, True, "x\x00y", "\ud800", [1], {"a": 1}, 2**70],
    "ts": ["2024-05-01T12:00:00Z", "2024-05-01 12:00:00.123456+02:00", "yesterday", 1714560000, 1714560000.5,
           1e13, None, "", "2030-01-01T00:00:00Z", True, ["x"], math.nan],
    "version": ["v1", None, "", " ", 3, 2.0, "v" * 100, {"a": "b"}],
    "age": [31, 31.5, "42", " 7 ", "abc", None, math.nan, math.inf, True, 2**70, [1], "", "1e3"],
    "income": [1000.5, -3, None, "1,000", False],
    "plan": ["basic", "pro", None, 3, 2.5, "", "p\x00", True, {"k": [1]}],
    "prediction": [0, 1, 1.0, 0.5, "yes", True, False, None, "1", math.inf, [0]],
    "score": [0.1, 1.5, -0.2, None, "0.3", math.nan, True],
    "latency_ms": [12.5, -1, None, "fast"],
    "status": ["ok", "timeout", None, "x" * 40, 5],
    "extra": ["ignored", 1, None, {"deep": [1, {"x": 2}]}, [1, "a"]],
}


def _random_rows(rng: random.Random, n: int, odd: float) -> list:
    """Rows that mostly share one shape; ``odd`` is the chance of each odd thing in a cell."""
    rows: list = []
    for i in range(n):
        if rng.random() < odd / 4:
            rows.append(rng.choice([1, "row", None, ["a"]]))  # not an object
            continue
        row = {"request_id": f"r{i % max(1, n - 2)}", "ts": f"2024-05-01T12:{i % 60:02d}:00Z",
               "age": i, "income": i * 1.5, "plan": "basic", "prediction": i % 2, "score": 0.5}
        for column, choices in CELLS.items():
            if rng.random() < odd:
                row[column] = rng.choice(choices)
            if rng.random() < odd / 3:
                row.pop(column, None)
        rows.append(row)
    return rows


def _same(rows: list, kind: str, spec) -> None:
    """The route's choice (one pass only for JSON text without true/false) changes nothing."""
    text = json.dumps(rows, ensure_ascii=False).encode("utf-8", "surrogatepass")
    one_pass = validate_records(rows, kind, spec, now=NOW, json_without_booleans=without_booleans(text))
    by_column = validate_records(rows, kind, spec, now=NOW)
    assert one_pass.table.schema == by_column.table.schema
    assert one_pass.table.equals(by_column.table)
    assert one_pass.rejected == by_column.rejected
    assert one_pass.duplicates == by_column.duplicates


@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_one_pass_columns_give_the_column_by_column_batch(task):
    spec = _spec(task)
    rng = random.Random(3)
    for round_ in range(300):
        odd = rng.choice([0.0, 0.01, 0.05, 0.3])
        rows = _random_rows(rng, rng.randrange(0, 40), odd)
        if rng.random() < 0.5:  # as parsed from JSON (NaN and the like are what json.loads gives)
            rows = json.loads(json.dumps(rows))
        _same(rows, "predictions", spec)


def test_labels_take_the_one_pass_too():
    spec = _spec()
    rows = [{"request_id": f"r{i}", "label": [0, 1, "1", None, 2.5, "x"][i % 6]} for i in range(30)]
    rows[4].pop("label")
    _same(rows, "labels", spec)


def test_an_ordinary_batch_is_built_in_one_pass_and_a_mixed_column_falls_back(monkeypatch):
    spec = _spec()
    calls: list[str] = []
    real_struct, real_columns = validate._struct_columns, validate._columns_of
    monkeypatch.setattr(validate, "_struct_columns", lambda *a: calls.append("struct") or real_struct(*a))
    monkeypatch.setattr(validate, "_columns_of", lambda *a: calls.append("columns") or real_columns(*a))
    rows = [{"request_id": f"r{i}", "ts": "2024-05-01T12:00:00Z", "age": i, "income": 1.0, "plan": "a",
             "prediction": 1} for i in range(100)]
    assert validate_records(rows, "predictions", spec, now=NOW, json_without_booleans=True).table.num_rows == 100
    assert calls == ["struct"]
    rows[7]["age"] = "forty"  # a column of ints and text is not one Arrow column
    calls.clear()
    batch = validate_records(rows, "predictions", spec, now=NOW, json_without_booleans=True)
    assert calls == ["struct", "columns"]
    assert [r.reason for r in batch.rejected] == ["column 'age': cannot parse 'forty' as a number"]


def test_a_missing_key_and_a_null_are_told_apart():
    spec = _spec()
    rows = [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1},
            {"request_id": "b", "ts": None, "prediction": 1},
            {"request_id": "c", "prediction": 1}]
    batch = validate_records(rows, "predictions", spec, now=NOW, json_without_booleans=True)
    assert [(r.row_number, r.reason) for r in batch.rejected] == [
        (2, "column 'ts': missing value"), (3, "column 'ts' is missing")]
    assert isinstance(batch.table, pa.Table) and batch.table["request_id"].to_pylist() == ["a"]


def test_booleans_among_numbers_would_differ_in_one_pass_so_the_route_does_not_take_it():
    """Why the promise exists: Arrow's struct inference reads True among numbers as 1.0, where a
    column of them is refused and a regression's parser rejects the bool."""
    spec = _spec("regression")
    rows = [{"request_id": f"r{i}", "ts": "2024-05-01T12:00:00Z", "prediction": [False, 1, 2.5][i % 3]}
            for i in range(6)]
    by_column = validate_records(rows, "predictions", spec, now=NOW)
    assert [r.reason for r in by_column.rejected] == ["column 'prediction': expected a number, got False"] * 2
    one_pass = validate_records(rows, "predictions", spec, now=NOW, json_without_booleans=True)
    assert one_pass.rejected == []  # the difference the route avoids
    assert not without_booleans(json.dumps(rows).encode())
    assert not without_booleans('{"rows": [{"a": 1}]}'.encode("utf-16-le"))
    assert without_booleans(json.dumps([{"a": 1.5, "b": "x"}]).encode())

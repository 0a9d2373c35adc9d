"""A JSON batch body read straight into Arrow columns (``frontdoors/api/jsonbatch.py``) must give
exactly the batch that parsing it with ``json.loads``'s answers gives: the same good rows, every
quarantine reason and raw row, the same duplicate count, the same 413; and wherever it cannot be
sure, it must step aside (None), so that the old way answers. The bodies are written as JSON text
token by token, so they hold what ``json.dumps`` never writes: ``-0``, ``1e400``, ``NaN``, integers
beyond 64 bits, a key twice, escapes of every kind, a second document."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pyarrow as pa
import pytest
from fastapi import HTTPException

import frontdoors.api.routes.ingest as ingest_route
from frontdoors.api.jsonbatch import json_batch
from frontdoors.api.jsonbody import loads
from frontdoors.api.routes.ingest import batch_rows, without_booleans
from monitor.ingest import validate_columns, validate_records
from monitor.spec import parse_spec

NOW = dt.datetime(2024, 5, 2, 12, 0, tzinfo=dt.timezone.utc)
LIMIT = 50


def _spec(task: str = "binary_classification"):
    return parse_spec({"models": [{"name": "churn", "task": task,
                                   "columns": {"numeric": ["age", "income"], "categorical": ["plan"]}}]})[0]


#: Cells as JSON text: the plain ones, then the odd ones.
PLAIN = {
    "request_id": ['"r{i}"'],
    "ts": ['"2024-05-01T12:{m:02d}:00Z"', '"2024-05-01T12:{m:02d}:00+00:00"'],
    "age": ["{i}", "{i}.5", "-1{i}e-2"],
    "income": ["1000.25", "{i}", "3.5E3"],
    "plan": ['"basic"', '"pro"'],
    "prediction": ["{b}"],
    "score": ["0.{i}", "0.5"],
}
ODD = {
    "request_id": ['"r1"', '" "', '""', "7", "7.0", "null", "true", '"x\\u0000y"', '"\\ud800"', "[1]",
                   '{"a": 1}', "123456789012345678901234", '"\\u00e9\\"q\\\\"', '"\\ud83d\\ude00"', '"a\\nb"'],
    "ts": ['"yesterday"', "1714560000", "1714560000.5", "1e13", "null", '""', '"2030-01-01T00:00:00Z"',
           "false", '["x"]', "NaN", '"2024-05-01"', '"2024-05-01 12:00:00.123456+02:00"'],
    "version": ['"v1"', "null", '""', "3", "2.0", '"' + "v" * 100 + '"', '{"a": "b"}', '"2024-05-01"'],
    "age": ['"42"', '" 7 "', '"abc"', "null", "NaN", "Infinity", "-Infinity", "true", "-0", "-0.0", "0",
            "1e400", "-1e400", "1e-400", "9007199254740993", "9007199254740993.0", "1e20",
            "123456789012345678901234567890", "9223372036854775808", "-9223372036854775808", "[1]", '""',
            '"1e3"', "2.2250738585072011e-308", "4.9e-324", "0.30000000000000004", "1.7976931348623157e308"],
    "income": ["-3", "null", '"1,000"', "false", "1E400", "0.1", "-0"],
    "plan": ['"pro"', "null", "3", "2.5", '""', '"p\\u0000"', "true", '{"k": [1]}', '"\\ud800x"',
             '"caf\\u00e9"', '"tab\\there"', '"Inf"', '"NaN"', '"2024-01-01T00:00:00"'],
    "prediction": ["1.0", "0.5", '"yes"', "true", "false", "null", '"1"', "Infinity", "[0]", "2"],
    "score": ["1.5", "-0.2", "null", '"0.3"', "NaN", "true", "-0"],
    "latency_ms": ["12.5", "-1", "null", '"fast"', "0"],
    "status": ['"ok"', '"timeout"', "null", '"' + "x" * 40 + '"', "5"],
    "extra": ['"ignored"', "1", "null", '{"deep": [1, {"x": 2}]}', '[1, "a"]', "NaN", '"2024-05-01"', "1e400"],
}


def _cell(text: str, i: int, rng: random.Random) -> str:
    return text.format(i=i, m=i % 60, b=rng.choice([0, 1]))


def _row(rng: random.Random, i: int, odd: float) -> str:
    pairs = []
    for key in [*PLAIN, *[k for k in ODD if k not in PLAIN]]:
        if key in PLAIN and rng.random() >= odd / 3:
            pairs.append((key, _cell(rng.choice(PLAIN[key]), i, rng)))
        if rng.random() < odd:
            pairs = [p for p in pairs if p[0] != key] + [(key, rng.choice(ODD[key]))]
        if rng.random() < odd / 10 and pairs:
            pairs.append(rng.choice(pairs))  # a key twice
    if rng.random() < 0.3:
        rng.shuffle(pairs)
    sep = rng.choice([", ", ",", ",\n  "])
    return "{" + sep.join(f'"{k}": {v}' for k, v in pairs) + "}"


def _body(rng: random.Random, odd: float) -> bytes:
    n = rng.choice([0, 1, 2, 5, 20, 40, LIMIT + 1]) if rng.random() < 0.3 else rng.randrange(1, 30)
    rows = []
    for i in range(n):
        if rng.random() < odd / 8:
            rows.append(rng.choice(["1", '"row"', "null", '["a"]', "{}"]))
        else:
            rows.append(_row(rng, i, odd))
    items = rng.choice([", ", ",", ",\n"]).join(rows)
    body = rng.choice(['{{"rows": [{}]}}', '{{"rows":[{}]}}', '{{\n  "rows": [\n{}\n]\n}}\n', " {{ \"rows\" : [ {} ] }} "])
    body = body.format(items)
    if rng.random() < odd / 4:
        body = rng.choice([f"[{items}]", body + ' {"rows": []}', body[:-2], body.replace('{"rows"', '{"x": 1, "rows"', 1),
                           body + "\x0c", "\ufeff" + body, body.replace("[", "[null, ", 1)])
    return body.encode("utf-8", "surrogatepass")


def _old_way(body: bytes, kind: str, spec):
    """What the route did for every JSON body: the parsed rows' batch, or the error it answered."""
    try:
        rows = batch_rows(loads(body), LIMIT)
    except HTTPException as refused:
        return ("refused", refused.status_code, refused.detail)
    except (ValueError, RecursionError) as error:
        return ("not JSON", type(error).__name__)
    return validate_records(rows, kind, spec, now=NOW, json_without_booleans=without_booleans(body))


def _same(body: bytes, kind: str, spec) -> bool:
    """True when the columns were taken (and gave the old way's batch); False when they stepped aside."""
    old = _old_way(body, kind, spec)
    try:
        columns = json_batch(body, LIMIT)
    except HTTPException as refused:
        assert old == ("refused", refused.status_code, refused.detail), body
        return True
    if columns is None:
        return False
    assert not isinstance(old, tuple), (body, old)
    batch = validate_columns(columns.num_rows, columns.columns, kind, spec, columns.rows, now=NOW)
    assert batch.table.schema == old.table.schema, body
    assert batch.table.equals(old.table), body
    assert batch.rejected == old.rejected, body
    assert batch.duplicates == old.duplicates, body
    rows = loads(body)["rows"]
    assert columns.num_rows == len(rows)
    for name, column in columns.columns.items():  # the very column pa.array builds from the cells
        assert column.equals(pa.array([row.get(name) for row in rows], from_pandas=True)), (body, name)
    return True


@pytest.mark.parametrize("task", ["binary_classification", "regression"])
def test_columns_read_from_the_text_give_the_batch_of_the_parsed_rows(task):
    spec, rng = _spec(task), random.Random(11)
    taken = 0
    for _ in range(600):
        odd = rng.choice([0.0, 0.0, 0.02, 0.1, 0.4])
        taken += _same(_body(rng, odd), "predictions", spec)
    assert taken > 200  # the plain bodies (and some odd ones) do take the columns


def test_labels_take_the_columns_too():
    spec = _spec()
    for label in ["0", "1", '"1"', "null", "2.5", '"x"', "true", "-0"]:
        rows = [f'{{"request_id": "r{i}", "label": {label if i % 3 == 0 else i % 2}}}' for i in range(9)]
        rows.append('{"request_id": "r9"}')  # no label key: "is missing", not "missing value"
        _same(("{\"rows\": [" + ", ".join(rows) + "]}").encode(), "labels", spec)


@pytest.mark.parametrize("body", [
    b'{"rows": [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1, "age": 3, "plan": "x"}]}',
    b'{"rows":[{"request_id":"a","ts":"2024-05-01T12:00:00Z","prediction":1,"age":3.5,"income":-2e3}]}',
    b'{"rows": [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1, "plan": "caf\\u00e9 \\"x\\""}]}',
    b'{\n "rows": [\n  {"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": true}\n ]\n}\n',
    b'{"rows": [{"request_id": "a", "ts": "yesterday", "prediction": 1}, {"request_id": "a"}]}',  # bad rows too
    b'{"rows": [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1, "age": -0.0, "income": -0e1},'
    b' {"request_id": "b", "ts": "2024-05-01T12:00:00Z", "prediction": 0, "age": 0.5, "income": 1.5}]}',
])
def test_ordinary_bodies_take_the_columns(body):
    assert json_batch(body, LIMIT) is not None
    assert _same(body, "predictions", _spec())


@pytest.mark.parametrize("body", [
    b'{"rows": [{"request_id": "a", "age": NaN}]}', b'{"rows": [{"request_id": "a", "age": -Infinity}]}',
    b'{"rows": [{"request_id": "a", "plan": "NaN"}]}',                   # the word in a string: the old way too
    b'{"rows": [{"request_id": "a", "age": 1e400}]}', b'{"rows": [{"request_id": "a", "age": 9007199254740993}, {"age": 0.5}]}',
    b'{"rows": [{"request_id": "a", "age": -0}, {"age": 0.5}]}', b'{"rows": [{"request_id": "\\ud800"}]}',
    b'{"rows": [{"request_id": "a", "request_id": "b"}]}', b'{"rows": [{"age": 1}, {"age": "x"}]}',
    b'{"rows": [{"age": true}, {"age": 1}]}', b'{"rows": [{"plan": "2024-05-01"}]}', b'{"rows": [{"plan": [1]}]}',
    b'[{"request_id": "a"}]', b'{"rows": []}', b'{"rows": [{"a": 1}], "x": 1}', b'{"rows": [{"a": 1}, null]}',
    b'{"rows": [{"a": 1}]} {"rows": [{"a": 2}]}', b'\xef\xbb\xbf{"rows": [{"a": 1}]}', b'{"rows": [{"ts": 1714560000}]}',
    b'', b' ', b'{"rows": [{"a": 1}]', b'{"rows": [{"a": "x\ty"}]}',
])
def test_bodies_it_cannot_be_sure_of_go_the_old_way(body):
    assert json_batch(body, LIMIT) is None


_ROW = b'"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1'


@pytest.mark.parametrize("body", [
    b'{"rows": [{"re\\u0071uest_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1}]}',  # an escaped key
    b'{"r\\u006fws": [{' + _ROW + b'}]}',
    b'{"rows": [{' + _ROW + b', "\\u0072equest_id": "b"}]}',          # the same key twice, once escaped
    b'{"rows": [{"request_id": "a", "t\\u0073": 5, "prediction": 1}]}',
    b'{"rows": [{"request_id": "a", "t\\u0073": "2024-05-01T12:00:00Z", "prediction": 1}]}',
    b'{"rows": [{' + _ROW + b', "plan": "\\b\\f\\n\\r\\t\\/\\u2028\x7f"}]}',
    b'{"rows": [{' + _ROW + b', "plan": "\\u00e9\\u4e2d\\ud83d\\ude00 \xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"}]}',
    b'{"rows": [{' + _ROW + b', "extra": {"a": {"b": [[[1]]]}}}]}', b'{"rows": [{' + _ROW + b', "extra": [1, "x"]}]}',
    b'{"rows": [{' + _ROW + b'}, {"request_id": "b", "age": 12345678901234567890}]}',
    b'{"rows": [{"request_id": "a", "prediction": 9223372036854775807}, {"prediction": -9223372036854775808}]}',
    b'{"rows": [{' + _ROW + b', "age": 1e-400, "income": 5e-324, "score": 1.7976931348623157e308}]}',
    b'{"rows": [{' + _ROW + b', "plan": "' + b"x" * 300 + b'"}, {}, {"request_id": null, "ts": null}]}',
    b'{"rows": [{' + _ROW + b', "": 1, "rows": 2}]}', b'\r\n{"rows":\r\n[{' + _ROW + b'}]}\r\n',
    b'{"rows": [{' + _ROW + b'}]}\n{"rows": []}', b'{"rows": [{' + _ROW + b', "plan": "a\nb"}]}',
    b'{"rows": [{"request_id": "a", "prediction": 1e2, "score": 1E-0, "age": -0E+0}] }   ',
])
def test_tricky_bodies_give_the_same_batch(body):
    _same(body, "predictions", _spec())


def test_too_many_rows_is_the_same_413():
    body = ("{\"rows\": [" + ", ".join(f'{{"request_id": "r{i}"}}' for i in range(LIMIT + 1)) + "]}").encode()
    with pytest.raises(HTTPException) as refused:
        json_batch(body, LIMIT)
    assert _old_way(body, "predictions", _spec()) == ("refused", 413, refused.value.detail)


def test_the_rows_are_parsed_only_for_a_batch_that_needs_them():
    spec, asked = _spec(), []
    good = b'{"rows": [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1, "latency_ms": null}]}'
    columns = json_batch(good, LIMIT)
    validate_columns(columns.num_rows, columns.columns, "predictions", spec, lambda: asked.append(1) or columns.rows(), now=NOW)
    assert asked == []  # a null in a column that may be empty needs no dicts
    bad = json_batch(good.replace(b'2024-05-01T12:00:00Z', b'yesterday'), LIMIT)
    batch = validate_columns(bad.num_rows, bad.columns, "predictions", spec, lambda: asked.append(1) or bad.rows(), now=NOW)
    assert asked == [1] and batch.rejected[0].row == json.loads(bad.body)["rows"][0]


def test_the_route_answers_alike_either_way(monkeypatch, tmp_path, migrate):
    """Through the API: every answer (status and body) with the columns taken is the old way's."""
    from fastapi.testclient import TestClient

    from frontdoors.api.app import create_app
    from monitor.config import Settings
    from monitor.db.engine import session_scope
    from monitor.spec import ModelSpec
    from monitor.store import models as store

    settings = Settings(data_dir=tmp_path, api_token="w", max_batch_rows=LIMIT)
    migrate(settings.effective_database_url)
    with session_scope(settings.effective_database_url) as session:
        for name in ("churn", "twin"):  # one model per way, so that neither sees the other's rows
            store.upsert_model(session, ModelSpec.model_validate(
                {"name": name, "task": "binary_classification",
                 "columns": {"numeric": ["age", "income"], "categorical": ["plan"]}}))
    client, rng = TestClient(create_app(settings)), random.Random(5)
    bodies = [_body(rng, rng.choice([0.0, 0.1, 0.4])) for _ in range(40)]
    bodies += [b'{"rows": [{"request_id": "a", "ts": "2024-05-01T12:00:00Z", "prediction": 1}]}', b"", b"{", b" "]
    real, taken = ingest_route.json_batch, []

    def spying(body, limit):
        columns = real(body, limit)
        taken.append(columns is not None)
        return columns

    for body in bodies:
        answers = []
        for model, way in (("churn", spying), ("twin", lambda body, limit: None)):
            monkeypatch.setattr(ingest_route, "json_batch", way)
            for name in (model, "nope"):
                answer = client.post(f"/v1/models/{name}/predictions", content=body,
                                     headers={"Authorization": "Bearer w", "Content-Type": "application/json"})
                text = re.sub(r"\(now [^)]*\)", "(now)", answer.text)  # the clock moves between the two
                answers.append((answer.status_code, text.replace('"model":"twin"', '"model":"churn"')))
        assert answers[:2] == answers[2:], body
    assert sum(taken) > 20


def test_the_module_examples_hold():
    import doctest

    import frontdoors.api.jsonbatch as module

    result = doctest.testmod(module)
    assert result.attempted and not result.failed

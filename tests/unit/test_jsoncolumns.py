"""JSON columns are decoded by orjson only where it gives what ``json.loads`` gives
(``monitor.db.jsoncolumns``): NaN, infinities, numbers beyond a double, integers beyond 64 bits and
lone surrogates are read as the standard library reads them, from text (SQLite) or bytes (psycopg)."""

from __future__ import annotations

import doctest
import json
import math

import numpy as np
import pytest

from monitor.db import jsoncolumns
from monitor.db.engine import get_engine

TEXTS = [
    '{"a": 1, "b": [1.5, -0.0, 1e-320, 2.5e300], "c": {"d": null, "e": true, "f": "é"}}',
    '[NaN, Infinity, -Infinity]', '{"threshold": 1e400}', '[18446744073709551615]',
    '[18446744073709551616]', '[-9223372036854775809]', '{"id": "1234567890123456789012"}',
    '123456789012345678901234', '{"a":12345678901234567890123,"b":-0.00010379182635267118}',
    '["\\ud800"]', '"\\ud83d\\ude00"', '{"a": 1, "a": 2}', ' [1] \n', '{}', '[]', '0', '-0',
]


def _same(a, b) -> bool:
    """Equal values of equal types, NaN equal to NaN and -0.0 told from 0.0."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def test_the_doctests_hold():
    assert doctest.testmod(jsoncolumns).failed == 0


@pytest.mark.parametrize("text", TEXTS)
def test_loads_gives_what_json_loads_gives_from_text_and_bytes(text):
    expected = json.loads(text)
    assert _same(jsoncolumns.loads(text), expected)
    assert _same(jsoncolumns.loads(text.encode("utf-8", "surrogatepass")), expected)


def test_every_double_written_by_json_dumps_reads_back_bit_for_bit():
    rng = np.random.default_rng(11)
    values = rng.integers(0, 2**64, size=50_000, dtype=np.uint64).view(np.float64)
    values = [float(v) for v in values if math.isfinite(v)] + [float(v) for v in rng.normal(size=5_000)]
    text = json.dumps({"values": values, "rows": [{"x": v, "n": i} for i, v in enumerate(values[:2000])]})
    assert not jsoncolumns.may_hold_big_integer(text)  # orjson's path, not the fallback
    decoded = jsoncolumns.loads(text)
    assert np.array_equal(np.array(decoded["values"]).view(np.uint64), np.array(values).view(np.uint64))
    assert decoded == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": ', "[1, 2", "nul", ""])
def test_malformed_json_raises_what_json_loads_raises(text):
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as raised:
        jsoncolumns.loads(text)
    assert str(raised.value) == str(expected.value)


def test_the_engines_decode_json_columns_with_it(tmp_path):
    assert get_engine(f"sqlite:///{tmp_path / 'x.db'}").dialect._json_deserializer is jsoncolumns.loads

"""The fast JSON body path: orjson parses an ordinary batch, and every body gets exactly what
``json.loads`` gives (value or error); the guard's nesting count skips the strings it need not cut."""

from __future__ import annotations

import json
import math
import random
import re

import pytest

import monitor.storable as storable
from frontdoors.api import jsonbody
from monitor.storable import MAX_JSON_DEPTH, json_depth

_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'"[]{}')
_INNERMOST = re.compile(rb"\[\]|\{\}")


def reference_depth(raw: bytes, stop_after: int = MAX_JSON_DEPTH) -> int:
    """The nesting count as first written (every string cut by the regex): the fast path must agree."""
    unescaped = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = _STRING.sub(b"", unescaped.translate(None, _NOT_STRUCTURE))
    depth = 0
    while brackets and depth <= stop_after:
        brackets, removed = _INNERMOST.subn(b"", brackets)
        if not removed:
            return min(depth + len(brackets), stop_after + 1)
        depth += 1
    return depth


def _outcome(parse, body: bytes):
    """A comparable answer: the value's repr (NaN compares by repr), or the error's type and text."""
    try:
        return "value", repr(parse(body))
    except (ValueError, RecursionError) as exc:
        return type(exc).__name__, str(exc)


EDGE_BODIES = [
    b'{"rows": [{"request_id": "r1", "score": 0.25, "prediction": 1}]}',
    b"[NaN, Infinity, -Infinity]", b"[1e400, -1e400, 1e-400]",
    b'["\\ud800"]', b'{"id": "\\udfff x"}', b'["\\ud83d\\ude00"]', b'["a\\u0000b"]',
    b"[123456789012345678901234567890]", b"[-9223372036854775809]", b"[9223372036854775808]",
    b'{"request_id": 12345678901234567890123}', b"[0.12345678901234567890123]",
    b"\xef\xbb\xbf[1]", '[1, "é"]'.encode("utf-16"), b"[1,]", b"[01]", b'{"a": 1, "a": 2}',
    b'{"a":1,"b":2,"a":3}', b'["a\tb"]', b"[.5]", b"", b"   ", b"nul", b'{"rows": [', b"[-0, -0.0, 1.0, 5e-324]",
]


@pytest.mark.parametrize("body", EDGE_BODIES)
def test_loads_answers_what_json_loads_answers(body):
    assert _outcome(jsonbody.loads, body) == _outcome(json.loads, body)


def _random_value(rng: random.Random, depth: int = 0):
    pick = rng.randrange(12 if depth < 4 else 8)
    if pick == 0:
        return rng.choice([None, True, False])
    if pick == 1:
        return rng.randint(-2**70, 2**70) if rng.random() < 0.2 else rng.randint(-10**6, 10**6)
    if pick == 2:
        return rng.choice([math.nan, math.inf, -math.inf, 0.1, -0.0, 1e308, 5e-324, rng.uniform(-1e6, 1e6)])
    if pick in (3, 4, 5):
        alphabet = 'ab "\\/[]{}\x00\x1f\u00e9\u2028\U0001f600\ud800\udc00'
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if pick in (6, 7):
        return str(rng.randint(0, 10**25))
    if pick in (8, 9):
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {_random_value(rng, 4) if rng.random() < 0.9 else "k": _random_value(rng, depth + 1)
            for _ in range(rng.randrange(4))}


def test_loads_agrees_with_json_loads_on_random_documents():
    rng = random.Random(11)
    for _ in range(3000):
        value = _random_value(rng)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        body = text.encode("utf-8", "surrogatepass")
        if rng.random() < 0.1:  # damage it: the error message must be json's too
            cut = rng.randrange(len(body) + 1)
            body = body[:cut] + rng.choice([b"", b",", b"]", b"\xff", b"NaN"]) + body[cut:]
        assert _outcome(jsonbody.loads, body) == _outcome(json.loads, body), body


def test_an_ordinary_batch_is_parsed_by_orjson_and_the_odd_ones_by_json(monkeypatch):
    calls: list[bytes] = []
    real = json.loads
    monkeypatch.setattr(jsonbody.json, "loads", lambda body: calls.append(body) or real(body))
    batch = json.dumps({"rows": [{"request_id": f"r{i}", "ts": "2026-01-01T00:00:00Z", "score": i / 7,
                                  "prediction": i % 2, "city": "Zürich"} for i in range(500)]}).encode()
    assert jsonbody.loads(batch) == real(batch)
    assert calls == []  # orjson answered
    for odd in (b'{"rows": [{"score": NaN}]}', b'["\\ud800"]', b"[123456789012345678901]"):
        assert _outcome(jsonbody.loads, odd) == _outcome(real, odd)
    assert len(calls) == 3


def test_json_depth_agrees_with_cutting_every_string():
    rng = random.Random(5)
    for _ in range(50_000):
        text = bytes(rng.choice(b'""[]{}\\a,') for _ in range(rng.randrange(30)))
        for stop in (2, MAX_JSON_DEPTH):
            assert json_depth(text, stop) == reference_depth(text, stop), text


def test_json_depth_of_a_batch_cuts_only_the_strings_holding_brackets(monkeypatch):
    """A 10k-row batch has hundreds of thousands of strings; one regex match each cost 50 ms."""
    seen: list[int] = []

    class Counting:
        def sub(self, replacement, text):
            seen.append(text.count(b"\""))
            return _STRING.sub(replacement, text)

    monkeypatch.setattr(storable, "_STRING", Counting())
    rows = [{"request_id": f"r{i}", "status": "ok", "city": "a [b]" if i == 3 else "c", "n": [i]} for i in range(2000)]
    body = json.dumps({"rows": rows}).encode()
    assert json_depth(body) == 4 == reference_depth(body)
    assert seen == [2]  # one regex match: the string "a [b]", not 16,000 strings


def test_may_hold_booleans_finds_the_words_at_every_offset():
    for padding in range(9):
        for word, found in ((b"true", True), (b"false", True), (b"tru", False), (b"alse", False), (b"frue", False)):
            body = b"[" + b" " * padding + word + b"]"
            assert jsonbody.may_hold_booleans(body) is found, body
    assert not jsonbody.may_hold_booleans(b"")
    assert jsonbody.may_hold_booleans(b'{"note": "it is true"}')  # inside a string counts: a slower path, same answer

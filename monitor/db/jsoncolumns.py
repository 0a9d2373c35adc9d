"""JSON columns decoded by orjson, giving exactly what :func:`json.loads` gives.

Every JSON column the engines read (``check_runs.stages`` and ``results``, a model's spec, a
reference profile's 255 KB of column statistics and joint sample, findings' details...) goes
through :func:`loads`, the engines' ``json_deserializer`` (``monitor.db.engine``). orjson decodes
the reference profile of a small model in about 1.0 ms where ``json.loads`` takes 1.8 ms. Writing
stays with ``json.dumps``: orjson writes NaN as ``null`` and refuses integer keys, so the stored
text, and what a check's stage outputs compare against (``store.runs.claim_stage``), keep the
standard library's.

orjson is stricter than the standard library, and each of its refusals is handed to
``json.loads``, whose answer is the one modelwatch has always read: ``NaN`` and ``Infinity``
(``json.dumps`` writes them for a NaN KPI or an infinite threshold), numbers beyond a double
(``1e400``), lone surrogates. One difference is silent: orjson reads an integer beyond 64 bits as
a float, so a text with a run of 19 or more digits that does not follow a decimal point (a byte
scan, about 0.15 ms for the reference profile) is read by ``json.loads`` too. ``json.dumps``
writes a float with at most 17 significant digits, but a small one with its zeros
(``0.00010379182635267118``: 20 digits after the point), which is why the digits after a point
do not count: in the API's request bodies (``frontdoors/api/jsonbody.py``, the same rules
otherwise) they do, and every column holding such a number would take the slow path.

>>> loads('{"a": [1, 2.5, NaN, 123456789012345678901234567890]}')
{'a': [1, 2.5, nan, 123456789012345678901234567890]}
"""

from __future__ import annotations

import json
from typing import Any

import orjson

#: Digits become "0", the decimal point stays, every other byte becomes a space: a space and 19
#: zeros is a run of 19 digits that is not a fraction's.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b if b == 0x2E else 0x20 for b in range(256))
#: The shortest integer literal that can fall outside int64 (orjson keeps up to uint64 exact).
_LONG_DIGITS = b"0" * 19


def may_hold_big_integer(text: str | bytes) -> bool:
    """True when ``text`` has 19 or more digits in a row that do not follow a decimal point (in a
    string or not), where orjson might read an integer beyond 64 bits as a float.

    >>> may_hold_big_integer('{"id": 1234567890123456789}'), may_hold_big_integer('12345678901234567890')
    (True, True)
    >>> may_hold_big_integer(b'[0.12345678901234567, -0.00010379182635267118, 1e-300]')
    False
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    digits = raw.translate(_DIGITS_AS_ZERO)
    return b" " + _LONG_DIGITS in digits or digits.startswith(_LONG_DIGITS)


def loads(text: str | bytes) -> Any:
    """``json.loads(text)``, computed by orjson when it gives the same answer."""
    if may_hold_big_integer(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)  # its value (NaN, a lone surrogate...) or its error

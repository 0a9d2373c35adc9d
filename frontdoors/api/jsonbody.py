"""Parsing a JSON request body with orjson, giving exactly what :func:`json.loads` gives.

A 10k-row batch (5 MB) takes ``json.loads`` about 55 ms of CPU and orjson about 37 ms, so the
ingest routes parse with orjson the bodies :mod:`frontdoors.api.jsonbatch` does not read straight
into Arrow columns. orjson is stricter than the standard library, and each of its
refusals is handed to ``json.loads``, whose answer (a value, or the error the routes word as a
400) is the one modelwatch has always given:

* ``NaN``, ``Infinity``, numbers beyond a double (``1e400``): ``json.loads`` reads them (a NaN
  score is a missing one, an infinite one is quarantined with its reason);
* a lone surrogate (``"\\ud800"``): ``json.loads`` reads it, and the row is quarantined naming it;
* a UTF-8 byte order mark, UTF-16/32 bodies: ``json.loads`` detects the encoding;
* malformed JSON: the 400 quotes ``json.loads``'s message and position, as before.

One difference is silent: orjson turns an integer beyond 64 bits into a float (an id
``123456789012345678901234567890`` would lose digits). A body with a run of 19 or more digits
anywhere (a cheap byte scan, about 7 ms for 5 MB) is therefore parsed by ``json.loads`` too.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import orjson

#: Every byte to a space except digits, which become "0": a run of 19 zeros is 19 digits in a row.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
#: The shortest integer literal that can fall outside int64 (orjson keeps up to uint64 exact).
_LONG_DIGITS = b"0" * 19


def may_hold_big_integer(body: bytes) -> bool:
    """True when ``body`` has 19 or more digits in a row (inside a string or not): an integer
    there may exceed 64 bits, which orjson would read as a float."""
    return _LONG_DIGITS in body.translate(_DIGITS_AS_ZERO)


_TRUE, _FALS = (int(np.frombuffer(word, "<u4")[0]) for word in (b"true", b"fals"))


def may_hold_booleans(body: bytes) -> bool:
    """True when ``true`` or ``fals`` appears anywhere in ``body`` (inside a string too): compared
    as 4-byte words at each of the 4 offsets (about 2.5 ms for 5 MB, where ``b"true" in body``
    takes 5 ms, its search slowed by the many t, r, u and e of the keys)."""
    octets = np.frombuffer(body, dtype=np.uint8)
    for shift in range(4):
        words = octets[shift:shift + (len(body) - shift) // 4 * 4].view("<u4")
        if (words == _TRUE).any() or (words == _FALS).any():
            return True
    return False


def loads(body: bytes) -> Any:
    """``json.loads(body)``, computed by orjson when it gives the same answer.

    Raises what ``json.loads`` raises (``ValueError``, ``UnicodeDecodeError``, ``RecursionError``)."""
    if may_hold_big_integer(body):
        return json.loads(body)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return json.loads(body)  # its value (NaN, a lone surrogate...) or its error message

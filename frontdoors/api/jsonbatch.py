"""A JSON batch body read straight into Arrow columns, where that gives the batch parsing it gives.

A 10k-row batch of 25 columns is 250k cells. Parsed by orjson (a Python object per cell, then
freed) and turned into Arrow columns by ``pa.array``, it costs the server about 60 ms of CPU;
``pyarrow.json`` reads the same text into the same columns in about 30 ms with no Python object per
cell. Its reading differs from ``json.loads``'s in places, so :func:`json_batch` takes this way only
where it cannot, and returns None for every other body (the route then parses it as before, so the
answer, a 400 included, is the one it always was):

* the body must be ``{"rows": [{...}, ...]}``: one document, no key but ``rows``, at least one row,
  every row an object (a bare array, a null row, a second document go the old way);
* pyarrow.json refuses what ``json.loads`` refuses, and more (a key twice in a row, a lone surrogate
  escape, ``1e400``, a column mixing numbers and text or bools), except that it reads ``NaN``,
  ``Inf`` and ``Infinity``: a body holding ``NaN`` or ``Inf`` anywhere (in a string too) goes the
  old way, as does one starting with a UTF-8 byte order mark;
* numbers: a field of integer literals is int64 both ways; a field with a fraction or an exponent
  is double both ways, with the same correctly rounded values, except an integer beyond 2**53
  (exact for Python, rounded by pyarrow.json) and the integer ``-0`` (Python's int 0, pyarrow.json's
  -0.0): a double field holding a value of magnitude 2**53 or more, or a negative zero in a body
  where ``-0`` stands alone (not ``-0.0``), goes the old way;
* text: pyarrow.json reads ISO 8601 text as timestamps, so a ``"ts"`` field is declared text, and
  a body where any field comes out as anything but int64, double, text, bool or null (a timestamp,
  a nested value) goes the old way (a spec whose timestamp column is not ``ts`` goes the old way).

The rows as Python dicts are still what a quarantined row shows and what the per-cell parsers read
for a cell Arrow cannot decide: :meth:`JsonBatch.rows` parses the body the old way, and
:func:`monitor.ingest.validate_columns` calls it only for a batch that needs it.

>>> batch = json_batch(b'{"rows": [{"request_id": "a", "ts": "2026-12-04T10:00:00Z", "score": 0.5}]}', 10)
>>> batch.num_rows, sorted(batch.columns)
(1, ['request_id', 'score', 'ts'])
>>> json_batch(b'{"rows": [{"score": NaN}]}', 10) is None
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fastapi import HTTPException

#: The text field whose values pyarrow.json would otherwise read as timestamps (the spec's default).
TIMESTAMP_FIELD = "ts"
#: Beyond this an integer literal read as a double may differ from Python's exact int.
_EXACT = 2.0 ** 53
#: The integer literal -0 (an exponent's "-0" or one in a string matches too: the old way, same answer).
_INTEGER_MINUS_ZERO = re.compile(rb"-0(?![.0-9eE])")


@dataclass(frozen=True)
class JsonBatch:
    """The rows of a JSON batch body as Arrow columns, one per field some row has."""

    num_rows: int
    columns: dict[str, Any]  # field name -> pa.Array, as validate_dicts builds from the parsed rows
    body: bytes

    def rows(self) -> list[Any]:
        """The rows as ``json.loads`` gives them (parsed on demand: a bad cell's message, a
        quarantined row's raw value)."""
        from frontdoors.api.jsonbody import loads

        return loads(self.body)["rows"]


def too_many_rows(count: int, limit: int) -> HTTPException:
    return HTTPException(413, f"batch has {count} rows; the limit is {limit} "
                              "(MODELWATCH_MAX_BATCH_ROWS): split it into smaller batches")


def json_batch(body: bytes, limit: int) -> JsonBatch | None:
    """The body's rows as Arrow columns, or None when the rules above send it the old way; 413
    (as the old way words it) for more than ``limit`` rows."""
    import pyarrow as pa
    import pyarrow.json as pj

    if body.startswith(b"\xef\xbb\xbf") or _holds(body, b"NaN") or _holds(body, b"Inf"):
        return None
    declared = [(TIMESTAMP_FIELD, pa.string())] if b'"%s"' % TIMESTAMP_FIELD.encode() in body else []
    multiline = b"\n" in body or b"\r" in body
    try:
        table = pj.read_json(
            pa.BufferReader(body),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(len(body) + 1, 1 << 16)),
            parse_options=pj.ParseOptions(explicit_schema=pa.schema([("rows", pa.list_(pa.struct(declared)))]),
                                          unexpected_field_behavior="infer", newlines_in_values=multiline))
    except (pa.ArrowException, ValueError):  # not JSON, or not a shape read this way: the old way says which
        return None
    if table.num_rows != 1 or table.column_names != ["rows"] or table.column(0).null_count:
        return None
    structs = table.column(0).combine_chunks().flatten()
    if not len(structs) or structs.null_count:
        return None
    if len(structs) > limit:
        raise too_many_rows(len(structs), limit)
    columns = {}
    for index, field in enumerate(structs.type):
        column = structs.field(index)
        if not _same_as_parsed(column, body):
            return None
        if column.null_count == len(column):  # ("ts" declared text, yet no value): pa.array's null column
            column = pa.nulls(len(column))
        columns[field.name] = column
    return JsonBatch(len(structs), columns, body)


def _holds(body: bytes, word: bytes) -> bool:
    """``word in body``, first asking for its capital (one memchr, 0.2 ms for 5 MB; the search
    for the whole word takes 3 ms)."""
    return word[:1] in body and word in body


def _same_as_parsed(column, body: bytes) -> bool:
    """True when ``pa.array`` over the parsed cells would give this very column (rules above)."""
    import numpy as np
    import pyarrow as pa

    kind = column.type
    if pa.types.is_floating(kind):
        values = column.to_numpy(zero_copy_only=False)  # nulls as NaN (a NaN literal never gets here)
        values = values[~np.isnan(values)]
        if not (np.abs(values) < _EXACT).all():
            return False
        # -0.0 is what both make of "-0.0" or "-0e0"; only the integer "-0" is Python's 0 (a
        # double field's -0.0 is rare: a normal value rounded to 5 places is one in 10^5 or so)
        return not (np.signbit(values) & (values == 0)).any() or not _INTEGER_MINUS_ZERO.search(body)
    return (pa.types.is_int64(kind) or pa.types.is_string(kind) or pa.types.is_boolean(kind)
            or pa.types.is_null(kind))

"""The validation edge for logged predictions, labels and user interactions.

Bad *rows* never raise: each is quarantined as a :class:`Rejected` with its 1-based row number in
the source, a reason naming the column, and the raw row (made JSON-able, long text cut, NUL and
lone surrogates replaced); the good rows of the same batch are kept. Only a whole-input problem
raises :class:`monitor.errors.IngestError`: an unknown file extension, an unreadable file or
header, or a required column missing from the whole file.

What the storage or a report cannot hold is refused per row at every edge (files, HTTP, the
client): NUL characters, lone surrogates, text over its cap (``MAX_LEN``), nested values where a
single value is expected, JSON Lines nested too deep, lines that are not UTF-8.

A validated batch is a :class:`Batch`: a pyarrow Table of the good rows (the column layout of
notes/CONTRACT.md: request_id, ts, ..., one ``f.<name>`` column per spec feature), the rejected
rows, and the count of in-batch duplicates. Validation is vectorised: each column is converted
with Arrow compute and only the cells that are not plainly good meet the per-cell parsers (which
word every reason). ``Batch.rows`` gives the same rows as dicts, built on demand::

    predictions: {"request_id": str, "ts": aware UTC datetime, "version": str | None,
                  "features": {name: float | str | None}, "prediction": int | float | str | bool,
                  "score": float | None, "latency_ms": float | None, "status": str | None}
    labels:      {"request_id": str, "label": int | float | str | bool, "ts": aware UTC datetime | None}
    interactions: {"request_id": str, "event": str (lower case, a name the spec's interactions.events
                  knows), "value": float | None (required for feedback events), "ts": aware UTC datetime}

A classifier's predictions (labels) of one batch are int64 when all are ints, bool when all are
bools, else text (ints and bools rendered with ``str``).

Readers stream: CSV in chunks of whole lines parsed by ``pyarrow.csv`` (a chunk pyarrow refuses is
re-read line by line, so a bad line costs only itself), Parquet with ``ParquetFile.iter_batches``,
JSON Lines line by line. Within one batch a repeated request id (for interactions: the same
request id, event and ts) is a duplicate: the first row is kept.

Row numbers: CSV counts data rows (the header and blank lines are not counted); JSON Lines uses the
line number (blank lines are skipped but keep their number); Parquet counts rows from 1.

One module per concern: ``values`` (cell parsers), ``plan`` (which column feeds which key),
``columns`` (vectorised conversion), ``validate`` (batches and quarantine), ``csvfile`` and
``readers`` (the streaming file readers). This module only re-exports their public names.
"""

from monitor.ingest.plan import FUTURE_TOLERANCE, KINDS, MAX_LEN
from monitor.ingest.readers import (
    ALL_EXTENSIONS, CSV_EXTENSIONS, CSV_NA_VALUES, JSON_EXTENSIONS, JSONL_EXTENSIONS, PARQUET_EXTENSIONS,
    count_rows, read_batches,
)
from monitor.ingest.validate import Batch, Rejected, validate_columns, validate_records
from monitor.ingest.values import UTC

__all__ = [
    "ALL_EXTENSIONS", "CSV_EXTENSIONS", "CSV_NA_VALUES", "FUTURE_TOLERANCE", "JSONL_EXTENSIONS",
    "JSON_EXTENSIONS", "KINDS", "MAX_LEN", "PARQUET_EXTENSIONS", "UTC", "Batch", "Rejected", "count_rows",
    "read_batches", "validate_columns", "validate_records",
]

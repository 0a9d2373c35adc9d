"""The CLI's read-ahead keeps the file's order, raises a reader's error where it happened, and
stops (closing the file's generator) when the writer gives up."""

from __future__ import annotations

import threading

import pytest

from monitor.errors import IngestError
from monitor.ingest.prefetch import prefetched


def test_items_come_out_in_order_and_complete():
    assert list(prefetched(iter(range(100)), depth=2)) == list(range(100))


def test_a_reader_error_comes_out_after_the_items_before_it():
    def batches():
        yield 1
        yield 2
        raise IngestError("data.parquet: cannot read Parquet data after row 2")

    seen = []
    with pytest.raises(IngestError, match="after row 2"):
        for item in prefetched(batches()):
            seen.append(item)
    assert seen == [1, 2]


def test_stopping_early_closes_the_source_and_ends_the_reader():
    closed = threading.Event()

    def batches():
        try:
            for i in range(1_000_000):
                yield i
        finally:
            closed.set()

    reader = prefetched(batches())
    assert next(reader) == 0
    reader.close()  # what a failed write does to the for loop
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "ingest-reader"]

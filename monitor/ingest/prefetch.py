"""Read and validate the next batch of a file while the current one is being written.

Validation is mostly Arrow compute and the write mostly waits on the database and on pyarrow's
Parquet writer, all of which release the GIL, so one reader thread ahead of the writer overlaps
the two. Memory stays bounded: at most ``depth`` batches wait in the queue, one more is being
read, and one is being written.

>>> list(prefetched(iter(range(5))))
[0, 1, 2, 3, 4]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_DONE = object()


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """The items of ``items`` in order, produced by a thread that stays ``depth`` items ahead.

    An exception raised by ``items`` (a file unreadable half-way) comes out where that item would
    have; stopping early (the caller's write failed) stops the reader and closes ``items``.
    """
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(entry: tuple[object, BaseException | None]) -> bool:
        while not stop.is_set():
            try:
                waiting.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in items:
                if not hand_over((item, None)):
                    return
            hand_over((_DONE, None))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            hand_over((_DONE, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=read, name="ingest-reader", daemon=True)
    reader.start()
    try:
        while True:
            item, error = waiting.get()
            if error is not None:
                raise error
            if item is _DONE:
                return
            yield item
    finally:
        stop.set()
        reader.join()

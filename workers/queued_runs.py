"""Which check runs that no stage has started still have their first message in the broker.

The re-drive sweeper (``monitor.check.redrive``) must tell a run whose ``collect`` waits behind a
long queue (10,000 models due at once drain at a few checks a second: the last waits half an
hour) from a run whose message was lost (a Redis restarted empty, a publish that never happened).
Both look the same in the database: no stage started. So every publish of a chain's ``collect``
is noted *in the broker itself*, next to the message: a Redis sorted set (run id -> when it was
published) on the broker's Redis, or one file per run in the embedded broker's folder. The note
is written just after the message and dropped once ``collect`` has run (``workers.signals``; on
the embedded broker once it is fetched, since a fetched file cannot come back); a broker
that loses its data loses the notes with the messages, so a lost run has no note and is re-driven,
while a queued one has its note and waits. A note that outlives its message anyway (a purged
queue) counts only for ``Settings.redrive_queued_after``.

    with app.producer_or_acquire() as producer:
        ...publish the chains...
        record(["3f2a..."], producer.connection)
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

from monitor.config import Settings, get_settings

logger = logging.getLogger(__name__)

#: the sorted set on the broker's Redis (members: run ids; scores: publish time, epoch seconds)
KEY = "modelwatch:queued-runs"
FOLDER = "queued-runs"  # under the embedded broker's folder


def record(run_ids: Iterable[str], connection: Any, at: float | None = None) -> bool:
    """Note that the ``collect`` of each run was just published (one round trip for all).

    Best effort, and never raises: the messages are already queued, so a caller must not take a
    failed note for a failed publish (the API would withdraw a run whose chain is on its way). A
    run left without a note is at worst re-driven once while it waits: a harmless copy.
    """
    ids = list(run_ids)
    if not ids:
        return True
    at = time.time() if at is None else at
    try:
        folder = _folder(connection)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            for run_id in ids:
                path = folder / run_id
                path.touch()
                os.utime(path, (at, at))
        else:
            _client(connection).zadd(KEY, dict.fromkeys(ids, at))
    except (OSError, RedisError, KombuOperationalError) as exc:
        logger.warning("could not note %d queued run(s) in the broker (%s); a long wait may re-drive them", len(ids), exc)
        return False
    return True


def discard(run_id: str, connection: Any) -> None:
    """Forget ``run_id``'s note: its ``collect`` has run (on the embedded broker: was fetched).

    Best effort, and never raises: a note left behind (the broker just went away) is harmless,
    since a started run's note is never read and old notes are pruned (:func:`published`)."""
    try:
        folder = _folder(connection)
        if folder is not None:
            (folder / run_id).unlink(missing_ok=True)
            return
        _client(connection).zrem(KEY, run_id)
    except (OSError, RedisError, KombuOperationalError) as exc:
        logger.warning("run %s: its queue note stays in the broker (%s)", run_id, exc)


def published(run_ids: list[str], connection: Any) -> dict[str, dt.datetime]:
    """When each of ``run_ids`` that still has a note was published (runs without one are left out).

    Also drops notes older than ``redrive_queued_after``: they no longer keep any run waiting.
    When the broker cannot be asked, every run counts as waiting (a warning says so).
    """
    now = time.time()
    try:
        stamps = _stamps(run_ids, connection, now - get_settings().redrive_queued_after)
    except (OSError, RedisError, KombuOperationalError) as exc:
        # The broker cannot be asked, so it cannot take a re-published chain either: this sweep
        # counts every such run as waiting, and the next sweep asks again. (A broker that comes back
        # empty has lost the notes with the messages, so the lost runs are re-driven then.)
        logger.warning("could not ask the broker which of %d run(s) still wait in the queue (%s); "
                       "they are left alone until it answers", len(run_ids), exc)
        stamps = dict.fromkeys(run_ids, now)
    return {run_id: dt.datetime.fromtimestamp(at, dt.timezone.utc) for run_id, at in stamps.items()}


def _stamps(run_ids: list[str], connection: Any, oldest: float) -> dict[str, float]:
    """The notes' publish times (epoch seconds) of ``run_ids``; notes older than ``oldest`` are
    pruned first, whatever ``run_ids`` holds, so notes that a race left behind do not pile up."""
    folder = _folder(connection)
    if folder is not None:
        for stale in folder.glob("*") if folder.is_dir() else ():
            try:
                if stale.stat().st_mtime < oldest:
                    stale.unlink(missing_ok=True)
            except FileNotFoundError:
                continue
        stamps = {}
        for run_id in run_ids:
            try:
                stamps[run_id] = (folder / run_id).stat().st_mtime
            except FileNotFoundError:
                continue
        return stamps
    client = _client(connection)
    client.zremrangebyscore(KEY, "-inf", oldest)
    if not run_ids:
        return {}
    pipe = client.pipeline(transaction=False)
    for run_id in run_ids:
        pipe.zscore(KEY, run_id)
    return {run_id: score for run_id, score in zip(run_ids, pipe.execute()) if score is not None}


def _folder(connection: Any, settings: Settings | None = None) -> Path | None:
    """The notes' folder on the embedded (filesystem) broker; None on Redis."""
    if connection.transport.driver_type != "filesystem":
        return None
    return (settings or get_settings()).broker_folder / FOLDER


def _client(connection: Any):
    """The broker's own Redis client (kombu's: it already follows Sentinel and TLS settings)."""
    return connection.default_channel.client

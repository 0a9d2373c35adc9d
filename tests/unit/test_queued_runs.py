"""The embedded broker's notes of queued runs (``workers.queued_runs``): a file per run in the
broker's folder, so the sweeper can ask the filesystem broker what it asks Redis (the Redis side
runs against a real redis-server in tests/integration/test_redrive_queue.py)."""

from __future__ import annotations

import time

from kombu import Connection

from monitor.config import get_settings
from workers import queued_runs


def test_the_filesystem_broker_keeps_one_note_per_queued_run_until_collect_ran(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    with Connection("filesystem://") as broker:
        queued_runs.record(["a", "b"], broker, at=time.time() - 60)
        noted = queued_runs.published(["a", "b", "never-published"], broker)
        assert set(noted) == {"a", "b"}
        assert 55 < time.time() - noted["a"].timestamp() < 65  # when it was published, not when asked
        queued_runs.discard("a", broker)
        queued_runs.discard("a", broker)  # twice is harmless (a retried collect)
        assert set(queued_runs.published(["a", "b"], broker)) == {"b"}
    assert (tmp_path / "broker" / queued_runs.FOLDER / "b").exists()


def test_old_notes_are_pruned_even_when_no_run_is_asked_about(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWATCH_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    with Connection("filesystem://") as broker:
        queued_runs.record(["raced"], broker, at=time.time() - get_settings().redrive_queued_after - 60)
        queued_runs.record(["fresh"], broker)
        assert queued_runs.published([], broker) == {}
    assert not (tmp_path / "broker" / queued_runs.FOLDER / "raced").exists()
    assert (tmp_path / "broker" / queued_runs.FOLDER / "fresh").exists()


def test_a_broker_that_cannot_be_asked_leaves_every_run_waiting_for_this_sweep():
    """A sweep whose broker lookup fails must not roll back its other duties: the runs it asked
    about count as waiting (a re-publish would fail anyway), and the next sweep asks again."""
    with Connection("redis://127.0.0.1:1/0", transport_options={"socket_connect_timeout": 0.2,
                                                                 "max_retries": 0}) as broker:
        noted = queued_runs.published(["a", "b"], broker)
    assert set(noted) == {"a", "b"}
    assert all(time.time() - at.timestamp() < 60 for at in noted.values())


def test_dropping_a_note_when_the_broker_went_away_does_not_raise(caplog):
    """A run's collect ran just as the broker went away (a failover): the note cannot be dropped,
    and the task that ran must not be logged as failing for it; the note is left, and said so."""
    with Connection("redis://127.0.0.1:1/0", transport_options={"socket_connect_timeout": 0.2,
                                                                 "max_retries": 0}) as broker:
        queued_runs.discard("a", broker)
    assert "run a: its queue note stays in the broker" in caplog.text

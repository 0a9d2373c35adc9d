"""On PostgreSQL an event id is taken at insert but visible only at commit, so ids can become
visible out of order. The stream must never hand out a later id while an earlier one may still
commit (a resumed client would skip it for good), and must not wait forever for a rolled-back one."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.orm import sessionmaker

from frontdoors.api import sse
from frontdoors.api.routes import events as routes
from monitor import events
from monitor.config import Settings
from monitor.db.engine import get_engine
from monitor.db.migrate import upgrade
from tests.conftest import session
from tests.support.sse import follow

pytestmark = pytest.mark.integration


def _record(s, run_id: str) -> int:
    return events.record(s, "run.finished", "m", run_id=run_id, version="1", status="succeeded", trigger="manual").id


def _delivered(settings: Settings, cursor: sse.Cursor, polls: int = 2) -> list[str]:
    return [json.loads(line.removeprefix("data: "))["run_id"] for chunk in follow(settings, cursor, polls)
            for line in chunk.split("\n") if line.startswith("data: ")]


def test_stream_holds_a_later_event_until_an_earlier_one_commits_or_is_given_up(postgres_url, tmp_path, monkeypatch):
    monkeypatch.setattr(routes, "POLL_EMBEDDED", 0.05)
    upgrade(postgres_url)
    settings = Settings(data_dir=tmp_path, database_url=postgres_url)
    slow = sessionmaker(get_engine(postgres_url))()
    try:
        early = _record(slow, "early")  # taken first, still uncommitted
        with session(postgres_url) as s:
            late = _record(s, "late")
        assert late > early
        cursor = sse.Cursor(early - 1, grace=30.0)
        assert _delivered(settings, cursor) == []  # "late" is visible, but "early" may still come
        slow.commit()
        assert _delivered(settings, cursor) == ["early", "late"]

        lost = _record(slow, "lost")
        slow.rollback()  # its id is gone for good
        with session(postgres_url) as s:
            after = _record(s, "after")
        assert after > lost
        cursor.grace = 0.3
        assert _delivered(settings, cursor, polls=1) == []
        assert _delivered(settings, cursor, polls=12) == ["after"]  # the gap expired within the polls
    finally:
        slow.close()

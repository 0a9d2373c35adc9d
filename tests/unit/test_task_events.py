"""Celery task events are on unless the operator turns them off: Flower shows tasks from them
(tests/integration/test_flower.py), and a fleet with no Flower can spare their cost
(MODELWATCH_TASK_EVENTS, docs/operations.md)."""

from __future__ import annotations

from monitor.config import Settings
from workers.celeryconfig import build_config


def test_task_events_are_sent_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("MODELWATCH_TASK_EVENTS", raising=False)
    config = build_config(Settings(data_dir=tmp_path, broker_url="redis://10.0.0.1:6379/0"))
    assert config["worker_send_task_events"] is True and config["task_send_sent_event"] is True


def test_modelwatch_task_events_false_turns_both_kinds_off(tmp_path, monkeypatch):
    monkeypatch.setenv("MODELWATCH_TASK_EVENTS", "false")
    config = build_config(Settings(data_dir=tmp_path, broker_url="redis://10.0.0.1:6379/0"))
    assert config["worker_send_task_events"] is False and config["task_send_sent_event"] is False

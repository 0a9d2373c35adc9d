"""Issue 12, finding 8: with the old default visibility timeout (3600 s) the message a killed
worker held came back only after up to an hour. The defaults must bring it back within minutes;
the end-to-end proof with short settings is tests/integration/test_redelivery.py and the fault
drill (tests/faults)."""

from __future__ import annotations

from monitor.config import Settings
from workers.celeryconfig import build_config

FIVE_MINUTES_AND_A_SWEEP = 5 * 60 + 10


def test_a_killed_workers_message_comes_back_within_minutes_by_default(tmp_path, monkeypatch):
    for name in ("MODELWATCH_VISIBILITY_TIMEOUT", "MODELWATCH_REDRIVE_AFTER", "MODELWATCH_SWEEP_INTERVAL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(data_dir=tmp_path, broker_url="redis://10.0.0.1:6379/0")
    options = build_config(settings)["broker_transport_options"]

    # kombu restores an unacked message once it is older than the timeout, looking every interval
    assert options["visibility_timeout"] + options["unacked_restore_interval"] <= FIVE_MINUTES_AND_A_SWEEP
    assert options["unacked_restore_throttle"] == 1  # every restore pass looks at every unacked message
    # a chain whose message Redis lost is re-published by the sweeper within minutes as well
    assert settings.redrive_after + settings.sweep_interval <= FIVE_MINUTES_AND_A_SWEEP

"""`modelwatch flower`: Flower on this broker, never open to the network without a password."""

from __future__ import annotations


def test_modelwatch_flower_wants_a_password_off_loopback(monkeypatch):
    from click.testing import CliRunner

    from frontdoors.cli.flower import flower, flower_command

    monkeypatch.delenv("FLOWER_BASIC_AUTH", raising=False)
    refused = CliRunner().invoke(flower, ["--address", "0.0.0.0"])
    assert refused.exit_code == 2 and "FLOWER_BASIC_AUTH" in refused.output
    assert flower_command(5555, "127.0.0.1")[-4:] == ["workers.app", "flower", "--port=5555", "--address=127.0.0.1"]

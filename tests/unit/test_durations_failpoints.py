"""Durations as written in specs, and failpoints for failure drills."""

from __future__ import annotations

import math

import pytest

from monitor import failpoints
from monitor.durations import format_duration, parse_duration
from monitor.errors import ConfigError, SpecError
from monitor.spec import parse_spec

# --- parse_duration ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5m", 300.0),
        ("30s", 30.0),
        ("1h", 3600.0),
        ("1.5h", 5400.0),
        ("2d", 172800.0),
        ("1w", 604800.0),
        ("250ms", 0.25),
        ("45", 45.0),
        ("0", 0.0),
        ("  10 m  ", 600.0),
        ("0.5s", 0.5),
        (30, 30.0),
        (0, 0.0),
        (2.5, 2.5),
    ],
)
def test_parse_duration(value, seconds):
    result = parse_duration(value)
    assert result == seconds
    assert isinstance(result, float)


@pytest.mark.parametrize("value", ["", "m", "5 minutes", "5x", "-5m", "1h30m", "5M", ".5s", "1e3s", "five"])
def test_parse_duration_rejects_bad_text(value):
    with pytest.raises(ValueError, match="expected a duration like '30s', '5m', '1h' or '2d', got "):
        parse_duration(value)


@pytest.mark.parametrize("value", [-1, -0.5])
def test_parse_duration_rejects_negative_numbers(value):
    with pytest.raises(ValueError, match="a duration cannot be negative"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, False])
def test_parse_duration_rejects_booleans(value):
    with pytest.raises(ValueError, match="got a boolean"):
        parse_duration(value)


def test_parse_duration_rejects_nan():
    with pytest.raises(ValueError):
        parse_duration(float("nan"))


def test_spec_rejects_nan_every():
    with pytest.raises(SpecError):
        parse_spec({"name": "churn", "task": "regression", "every": math.nan})


# --- format_duration -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5400, "90m"),
        (300, "5m"),
        (3600, "1h"),
        (86400, "1d"),
        (1209600, "2w"),
        (604800, "1w"),
        (90, "90s"),
        (3601, "3601s"),
        (1, "1s"),
        (0, "0s"),
        (0.5, "0.5s"),
        (300.0, "5m"),
    ],
)
def test_format_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("seconds", [0, 0.5, 1, 59, 60, 61, 90, 3600, 5400, 86400, 90000, 604800, 1209600, 3601.5])
def test_format_then_parse_round_trips(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


@pytest.mark.parametrize("seconds", [1234567.5, 0.00001])
def test_format_duration_is_exact_for_any_value(seconds):
    assert parse_duration(format_duration(seconds)) == seconds


# --- failpoints ----------------------------------------------------------------------------------


def test_parse_failpoints():
    assert failpoints.parse("evaluate=sleep(5);alert.after=sleep(0.5); detect = raise ;") == {
        "evaluate": ("sleep", 5.0),
        "alert.after": ("sleep", 0.5),
        "detect": ("raise", 0.0),
    }


@pytest.mark.parametrize("spec", ["", ";", " ; ; "])
def test_parse_empty_failpoints(spec):
    assert failpoints.parse(spec) == {}


def test_last_definition_of_a_name_wins():
    assert failpoints.parse("evaluate=raise;evaluate=sleep(1)") == {"evaluate": ("sleep", 1.0)}


@pytest.mark.parametrize(
    "spec",
    ["evaluate", "evaluate=", "=raise", "evaluate=sleep", "evaluate=sleep()", "evaluate=sleep(-1)",
     "evaluate=sleep(5s)", "evaluate=crash", "evaluate=raise(1)", "ok=raise;evaluate=sleep(x)"],
)
def test_malformed_failpoints_raise_config_error(spec):
    with pytest.raises(ConfigError, match="MODELWATCH_FAILPOINTS: cannot read .*expected NAME=sleep"):
        failpoints.parse(spec)


def test_malformed_spec_raises_on_hit_too():
    with pytest.raises(ConfigError):
        failpoints.hit("evaluate=explode", "evaluate")


def test_sleep_zero_returns():
    assert failpoints.hit("evaluate=sleep(0)", "evaluate") is None


def test_sleep_sleeps_the_given_seconds(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(failpoints.time, "sleep", slept.append)
    failpoints.hit("evaluate=sleep(5);alert.after=sleep(30)", "alert.after")
    failpoints.hit("evaluate=sleep(5);alert.after=sleep(30)", "evaluate")
    assert slept == [30.0, 5.0]


def test_raise_raises_failpoint_error():
    with pytest.raises(failpoints.FailpointError, match="failpoint 'detect' raised on purpose"):
        failpoints.hit("evaluate=sleep(0);detect=raise", "detect")
    assert issubclass(failpoints.FailpointError, RuntimeError)


def test_unknown_name_is_a_no_op(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(failpoints.time, "sleep", slept.append)
    assert failpoints.hit("evaluate=raise;collect=sleep(9)", "alert") is None
    assert slept == []


def test_empty_spec_is_a_no_op():
    assert failpoints.hit("", "evaluate") is None


def test_hold_waits_while_its_file_exists_and_goes_on_once_it_is_deleted(tmp_path):
    import threading
    import time

    gate = tmp_path / "gate"
    gate.touch()
    assert failpoints.parse(f"alert.after=hold({gate})") == {"alert.after": ("hold", str(gate))}
    threading.Timer(0.5, gate.unlink).start()
    started = time.monotonic()
    failpoints.hit(f"alert.after=hold({gate})", "alert.after")
    assert 0.4 < time.monotonic() - started < 5
    started = time.monotonic()
    failpoints.hit(f"alert.after=hold({gate})", "alert.after")  # no file: no wait
    assert time.monotonic() - started < 0.1


def test_a_hold_without_a_path_is_malformed():
    with pytest.raises(ConfigError, match="NAME=hold"):
        failpoints.parse("alert.after=hold()")

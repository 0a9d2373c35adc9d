"""Graphite export: the plaintext lines one run produces, and the sender against a local listener."""

from __future__ import annotations

import datetime as dt
import doctest
import socket
import threading

import pytest

from monitor.config import Settings
from monitor.export import graphite
from monitor.export.graphite import RunMetrics, drift_figures, metric_lines, path_component

END = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.timezone.utc)
STAMP = int(END.timestamp())


def parsed(lines: list[str]) -> dict[str, tuple[float, int]]:
    """Each line as carbon's plaintext receiver splits it: path, float value, integer timestamp."""
    points = {}
    for line in lines:
        assert line.endswith("\n") and line.count("\n") == 1
        path, value, stamp = line.split()
        points[path] = (float(value), int(stamp))
    return points


def test_doctests_of_the_module_hold():
    assert doctest.testmod(graphite).failed == 0


def test_every_kind_of_figure_lands_under_its_documented_path_at_the_window_end():
    run = RunMetrics("fraud", END, kpis={"recall": 0.55, "accuracy": 0.9},
                     service={"latency_p95_ms": 312.5, "error_rate": 0.02},
                     drift={"amount": {"score": 0.4, "p_value": 1e-6, "drifted": True},
                            "channel": {"score": 0.01, "p_value": 0.8, "drifted": False}},
                     open_alerts={"critical": 2, "warning": 1})
    points = parsed(metric_lines("modelwatch", run))
    assert points == {
        "modelwatch.fraud.kpi.accuracy": (0.9, STAMP), "modelwatch.fraud.kpi.recall": (0.55, STAMP),
        "modelwatch.fraud.service.error_rate": (0.02, STAMP), "modelwatch.fraud.service.latency_p95_ms": (312.5, STAMP),
        "modelwatch.fraud.drift.amount.score": (0.4, STAMP), "modelwatch.fraud.drift.amount.p_value": (1e-6, STAMP),
        "modelwatch.fraud.drift.amount.drifted": (1.0, STAMP), "modelwatch.fraud.drift.channel.score": (0.01, STAMP),
        "modelwatch.fraud.drift.channel.p_value": (0.8, STAMP), "modelwatch.fraud.drift.channel.drifted": (0.0, STAMP),
        "modelwatch.fraud.alerts.open.critical": (2.0, STAMP), "modelwatch.fraud.alerts.open.warning": (1.0, STAMP),
        "modelwatch.fraud.alerts.open.total": (3.0, STAMP),
    }


def test_names_with_dots_spaces_and_wildcards_become_one_path_component():
    run = RunMetrics("churn.v2 (eu)", END, drift={"city/name*": {"score": 0.2}}, kpis={"f1": 0.7})
    paths = list(parsed(metric_lines("prod.ml-watch", run)))
    assert paths == ["prod.ml-watch.churn_v2_eu_.kpi.f1", "prod.ml-watch.churn_v2_eu_.drift.city_name_.score"]
    assert all(len(p.split(".")) == len(paths[0].split(".")) + (1 if ".drift." in p else 0) for p in paths)
    assert path_component("...") == "_" and path_component("") == "_"


def test_missing_and_non_finite_values_are_gaps_not_zeros():
    run = RunMetrics("m", END, kpis={"recall": None, "roc_auc": float("nan"), "accuracy": float("inf"), "f1": 0.0})
    assert parsed(metric_lines("modelwatch", run)) == {"modelwatch.m.kpi.f1": (0.0, STAMP)}


def test_a_naive_window_end_is_read_as_utc():
    naive = RunMetrics("m", END.replace(tzinfo=None), kpis={"f1": 1.0})
    assert metric_lines("modelwatch", naive) == [f"modelwatch.m.kpi.f1 1 {STAMP}\n"]


def test_values_keep_their_precision():
    run = RunMetrics("m", END, kpis={"recall": 0.123456789012})
    assert parsed(metric_lines("x", run))["x.m.kpi.recall"][0] == pytest.approx(0.123456789012, rel=1e-11)


@pytest.mark.parametrize("prefix", ["", "a..b", ".modelwatch", "model watch", "a.*"])
def test_a_bad_prefix_is_refused_naming_it(prefix):
    with pytest.raises(ValueError, match="graphite prefix"):
        metric_lines(prefix, RunMetrics("m", END))
    with pytest.raises(ValueError, match="graphite_prefix"):
        Settings(graphite_prefix=prefix)


def test_settings_default_to_off_on_the_plaintext_port():
    settings = Settings()
    assert (settings.graphite_host, settings.graphite_port, settings.graphite_prefix) == (None, 2003, "modelwatch")


def test_drift_figures_take_the_adjusted_p_value_and_leave_skipped_columns_out():
    figures = drift_figures([
        {"column": "amount", "effect_size": 0.3, "p_value": 0.01, "p_value_adjusted": 0.02, "drifted": True,
         "skipped": None},
        {"column": "age", "effect_size": 0.1, "p_value": 0.5, "p_value_adjusted": None, "drifted": False,
         "skipped": None},
        {"column": "rare", "effect_size": None, "p_value": None, "p_value_adjusted": None, "drifted": False,
         "skipped": "too few values"},
    ])
    assert figures == {"amount": {"score": 0.3, "p_value": 0.02, "drifted": True},
                       "age": {"score": 0.1, "p_value": 0.5, "drifted": False}}


def test_send_writes_every_line_on_one_connection():
    with socket.create_server(("127.0.0.1", 0)) as server:
        received = bytearray()

        def accept():
            connection, _ = server.accept()
            with connection:
                while chunk := connection.recv(65536):
                    received.extend(chunk)

        reader = threading.Thread(target=accept)
        reader.start()
        lines = [f"a.b.c{i} {i} {STAMP}\n" for i in range(2000)]
        sent = graphite.send("127.0.0.1", server.getsockname()[1], lines, timeout=5)
        reader.join(5)
    assert received.decode() == "".join(lines) and sent == len(received)


def test_send_to_a_dead_carbon_raises_a_retryable_oserror_quickly():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(OSError):
            graphite.send("127.0.0.1", port, ["a 1 1\n"], timeout=2)


def test_the_export_task_runs_on_the_alerts_queue_and_retries_connection_errors_a_bounded_number_of_times():
    from tasks.export import graphite as task
    from workers.celeryconfig import ROUTES

    assert ROUTES["tasks.export.*"] == {"queue": "alerts"}
    assert issubclass(ConnectionRefusedError, task.autoretry_for) and issubclass(TimeoutError, task.autoretry_for)
    assert task.retry_backoff and task.retry_jitter and 0 < task.max_retries <= 10

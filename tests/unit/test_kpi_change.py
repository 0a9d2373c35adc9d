"""One "change" convention: signed (new - old), judged better/worse by what is better for the KPI,
coloured by the judgement and never by the sign — in the summary JSON, the CLI table and the report."""

from __future__ import annotations

import re

import click
import pytest

from monitor.check.summary import kpi_entry
from monitor.kpis.change import kpi_change
from monitor.reports import render_html


def test_log_loss_rising_is_a_positive_change_and_worse():
    change = kpi_change("log_loss", 0.681, 0.579)
    assert change.pct == pytest.approx(17.6166, abs=1e-3)
    assert change.delta == pytest.approx(0.102)
    assert (change.text, change.verdict, change.colour) == ("+17.6%, worse", "worse", "red")


def test_accuracy_falling_is_a_negative_change_and_worse():
    change = kpi_change("accuracy", 0.739, 0.742)
    assert (change.text, change.verdict, change.colour) == ("-0.4%, worse", "worse", "red")


@pytest.mark.parametrize(("kpi", "value", "baseline", "verdict"), [
    ("accuracy", 0.80, 0.70, "better"), ("recall", 0.5, 0.6, "worse"), ("roc_auc", 0.9, 0.9, "same"),
    ("mae", 1.0, 2.0, "better"), ("rmse", 3.0, 2.0, "worse"), ("r2", 0.5, 0.4, "better"),
    ("latency_p95_ms", 300.0, 200.0, "worse"), ("error_rate", 0.01, 0.02, "better"),
    ("availability", 0.99, 1.0, "worse"), ("throughput_rpm", 120.0, 100.0, "changed"),
])
def test_verdict_follows_what_is_better_for_the_kpi(kpi, value, baseline, verdict):
    change = kpi_change(kpi, value, baseline)
    assert change.verdict == verdict
    assert change.delta == pytest.approx(value - baseline)


def test_zero_baseline_has_no_percentage_but_a_signed_delta():
    change = kpi_change("error_rate", 0.02, 0.0)
    assert change.pct is None and change.text == "+0.02, worse"
    assert kpi_change("accuracy", None, 0.7) is None and kpi_change("accuracy", 0.7, None) is None


def test_summary_json_carries_the_signed_change_and_verdict():
    entry = kpi_entry("accuracy", 0.739, 0.742)
    assert entry["change_pct"] == pytest.approx(-0.4043, abs=1e-3)  # a drop is negative, not positive
    assert entry["verdict"] == "worse" and entry["change"] == pytest.approx(-0.003)
    assert kpi_entry("accuracy", None, 0.742)["verdict"] is None


def _kpi_row(document: str, name: str) -> str:
    return re.search(rf"<tr[^>]*><td>{name}.*?</tr>", document, re.S).group(0)


def test_report_colours_change_by_verdict_not_sign():
    document = render_html({"model": "m", "run_id": 1, "kpis": {
        "log_loss": {"value": 0.681, "baseline": 0.579}, "accuracy": {"value": 0.80, "baseline": 0.70}}})
    loss, accuracy = _kpi_row(document, "log_loss"), _kpi_row(document, "accuracy")
    assert '<span class="worse">+17.6%, worse</span>' in loss  # a rise, red
    assert '<span class="better">+14.3%, better</span>' in accuracy  # a rise too, green
    assert re.search(r"\.worse\{color:#b91c1c\}|\.down,\.worse\{color:#b91c1c\}", document)


def test_cli_table_prints_signed_change_with_verdict(capsys):
    import importlib

    cli_main = importlib.import_module("frontdoors.cli.main")
    cli_main._print_summary({
        "run_id": 7, "model": "m", "version": "1", "status": "succeeded",
        "window": {"start": "a", "end": "b"}, "counts": {"rows": 10, "labelled_rows": 10},
        "kpis": {"accuracy": kpi_entry("accuracy", 0.739, 0.742), "log_loss": kpi_entry("log_loss", 0.681, 0.579)},
        "findings": [], "alerts": [], "recovery_actions": [], "outcome": "healthy", "outcome_message": ""})
    lines = click.unstyle(capsys.readouterr().out).splitlines()
    accuracy = next(line for line in lines if line.startswith("accuracy"))
    loss = next(line for line in lines if line.startswith("log_loss"))
    assert accuracy.split()[1:] == ["0.7390", "0.7420", "-0.4%,", "worse"]
    assert loss.endswith("+17.6%, worse")


def test_cli_table_leaves_out_kpis_the_model_does_not_measure(capsys):
    import importlib

    importlib.import_module("frontdoors.cli.main")._print_summary({
        "run_id": 7, "model": "m", "version": "1", "status": "succeeded",
        "window": {"start": "a", "end": "b"}, "counts": {"rows": 10, "labelled_rows": 10},
        "kpis": {"accuracy": kpi_entry("accuracy", 0.739, 0.742), "latency_p95_ms": kpi_entry("latency_p95_ms", None, None)},
        "findings": [], "alerts": [], "recovery_actions": [], "outcome": "healthy", "outcome_message": ""})
    out = capsys.readouterr().out
    assert "accuracy" in out and "latency_p95_ms" not in out


def test_cli_colours_by_verdict():
    import importlib

    _change = importlib.import_module("frontdoors.cli.main")._change

    assert _change("log_loss", {"value": 0.681, "baseline": 0.579}) == click.style("+17.6%, worse", fg="red")
    assert _change("mae", {"value": 1.0, "baseline": 2.0}) == click.style("-50.0%, better", fg="green")

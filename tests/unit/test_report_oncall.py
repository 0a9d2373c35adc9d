"""The report for the person on call: open alerts first and grouped by cause, then what happens
next (rendered results, raw JSON collapsed), then the evidence; drift findings name their feature;
time ticks differ; deploys, rollbacks and retrains are marked on the KPI history."""

from __future__ import annotations

import re

from monitor.reports import render_html
from monitor.reports.oncall import groups
from monitor.reports.sections import subject
from monitor.reports.svg import line_chart
from monitor.reports.timeaxis import labels


def _drift_alert(i: int, feature: str) -> dict:
    return {"id": i, "rule": "data_drift", "kind": "data_drift", "segment": f"feature={feature}",
            "state": "firing", "severity": "warning", "message": f"{feature} drifted"}


def summary() -> dict:
    alerts = [_drift_alert(i, f) for i, f in enumerate(["income", "age", "tenure", "region"], start=1)]
    alerts.append({"id": 9, "rule": "recall_drop", "kind": "performance_drop", "segment": "", "state": "firing",
                   "severity": "critical", "message": "recall fell 31% below its baseline"})
    alerts.append({"id": 10, "rule": "accuracy_drop", "kind": "performance_drop", "segment": "",
                   "state": "resolved", "severity": "warning", "message": "old"})
    loss = [0.7 - i * 0.001 for i in range(300)]
    return {
        "model": "churn", "run_id": "r1", "alerts": alerts,
        "findings": [{"rule": "data_drift", "kind": "data_drift", "status": "firing", "metric": "psi",
                      "segment": "feature=income", "value": 0.4, "threshold": 0.2, "message": "x" * 400},
                     {"rule": "prediction_drift", "kind": "prediction_drift", "status": "ok", "metric": "psi",
                      "segment": "output=__score__", "value": 0.01, "threshold": 0.2, "message": "ok"}],
        "recovery_actions": [{"id": 3, "kind": "retrain", "state": "succeeded", "eta": "2026-12-03T00:10:00+00:00",
                              "reason": "recall_drop", "result": {"new_version": "3", "history": {"log_loss": loss}}}],
        "kpis": {"recall": {"value": 0.55, "baseline": 0.8}},
        "history": {"recall": [[f"2026-12-03T00:02:{s:02d}+00:00", 0.8 - s / 100] for s in (5, 15, 25, 35, 45, 55)]},
        "events": [{"at": "2026-12-03T00:02:30+00:00", "kind": "rollback", "label": "#2"},
                   {"at": "2026-12-01T00:00:00+00:00", "kind": "deploy", "label": "v1"}],
    }


def test_open_alerts_come_first_grouped_by_cause():
    out = render_html(summary())
    order = [out.index(f'<section id="{key}">') for key in ("alerts", "recovery", "kpis", "history", "findings")]
    assert order == sorted(order)
    alerts = out[out.index('<section id="alerts">'):out.index('<section id="recovery">')]
    assert alerts.count('<div class="group">') == 2  # four drift alerts are one story, the drop another
    assert "4 alerts: income, age, tenure, region" in alerts
    assert alerts.index("Performance drop") < alerts.index("Feature drift")  # critical cause first
    assert "1 resolved" in alerts


def test_groups_and_subjects():
    kinds = [kind for kind, _ in groups([_drift_alert(1, "a"), _drift_alert(2, "b")])]
    assert kinds == ["data_drift"]
    assert subject({"segment": "feature=income"}) == "income"
    assert subject({"segment": "region=EU,feature=income"}) == "income (region=EU)"
    assert subject({"segment": "output=__score__"}) == "model score"
    assert subject({"metric": "recall", "segment": "region=EU"}) == "recall (region=EU)"


def test_findings_name_the_feature_and_hide_internal_names():
    out = render_html(summary())
    findings = out[out.index('<section id="findings">'):]
    assert re.search(r"<td>data_drift</td><td>income</td>", findings)
    assert "<td>model score</td>" in findings
    assert "__score__" not in out
    assert '<td class="msg">' in findings  # the long message wraps instead of widening the table


def test_retrain_result_is_rendered_and_raw_json_collapsed():
    out = render_html(summary())
    recovery = out[out.index('<section id="recovery">'):out.index('<h2 class="part">')]
    assert "<dt>new version</dt><dd>3</dd>" in recovery
    assert re.search(r"<td>log_loss</td><td class=\"num\">300</td>", recovery)  # iterations, first/lowest/last
    assert "<svg" in recovery  # the loss curve as a small chart
    raw = recovery.index("<details><summary>Raw result</summary>")
    assert recovery.index("<svg") < raw and "&#34;history&#34;" not in recovery[:raw]  # JSON only inside
    assert "&#34;history&#34;" in recovery[raw:]


def test_ticks_of_checks_within_one_minute_differ():
    times = [f"2026-12-03T00:02:{s:02d}+00:00" for s in (5, 35)]
    shown = labels(times)
    assert len(set(shown.values())) == 2 and shown[times[0]] == "00:02:05"
    chart = line_chart({"recall": [(t, 0.5) for t in times]}, "t")
    assert "00:02:05" in chart and "00:02:35" in chart


def test_events_marked_on_the_kpi_history():
    history = render_html(summary())
    history = history[history.index('<section id="history">'):]
    history = history[:history.index("</section>")]
    assert history.count('<g class="event">') == 1  # the rollback; the deploy is outside the span
    assert "rollback #2" in history and "Dotted lines mark deploys, rollbacks and retrains." in history


def test_cli_and_metric_names_of_the_model_outputs():
    from monitor.detect.frames import column_label, segment_label

    assert segment_label("output=__score__") == "output=model_score"
    assert segment_label("region=EU,feature=income") == "region=EU,feature=income"
    assert column_label("__prediction__") == "model_prediction"

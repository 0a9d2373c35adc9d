"""One word of health per model, shared by `modelwatch status` and the dashboard."""

from types import SimpleNamespace as Row

from monitor.alerts.lifecycle import health_of


def test_health_words_in_order_of_urgency():
    ok_run, failed_run = Row(status="succeeded"), Row(status="failed")
    warning, critical = Row(severity="warning"), Row(severity="critical")
    assert health_of(None, []) == "unchecked"
    assert health_of(ok_run, []) == "ok"
    assert health_of(failed_run, []) == "failed"  # a failing check is not "ok"
    assert health_of(failed_run, [warning]) == "alerting"
    assert health_of(ok_run, [warning, critical]) == "critical"

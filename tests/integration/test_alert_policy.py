"""Alert policy on both engines: hysteresis, acknowledgement, silences, repeat interval, grouping
and severity routing, asserted on what the database kept (notifications and the alert
transitions each carries)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from monitor.alerts import ack, lifecycle, silences
from monitor.db.schema import Alert, AuditEvent, Notification, NotificationAlert, utcnow
from monitor.detect.findings import RuleEvaluation
from monitor.errors import ConfigError, Conflict
from monitor.spec import ModelSpec, parse_spec
from monitor.store import models as store_models, runs as store_runs
from tests.conftest import session

pytestmark = pytest.mark.integration

UTC = dt.timezone.utc
T0 = dt.datetime(2031, 5, 4, 12, 0, tzinfo=UTC)
STEP = dt.timedelta(minutes=5)


def make_spec(**extra) -> ModelSpec:
    document = {"name": "churn", "task": "binary_classification", "every": "5m", "window": "1h",
                "alerts": [{"log": {}}, {"webhook": "http://127.0.0.1:9/x"}], **extra}
    return parse_spec({"models": [document]})[0]


def add_model(url: str, spec: ModelSpec) -> int:
    with session(url) as s:
        return store_models.upsert_model(s, spec)[0].id


def recall(status: str, value: float = 0.5) -> RuleEvaluation:
    return RuleEvaluation(rule="recall_drop", kind="performance_drop", status=status, message=f"recall {status}",
                          metric="recall", value=value, baseline=0.9, threshold=10.0)


def precision(status: str, severity: str = "warning") -> RuleEvaluation:
    return RuleEvaluation(rule="precision_drop", kind="performance_drop", status=status, severity=severity,
                          message=f"precision {status}", metric="precision", value=0.5, baseline=0.9, threshold=10.0)


def check(url: str, model_id: int, spec: ModelSpec, n: int, *evaluations: RuleEvaluation) -> lifecycle.AlertChanges:
    end = T0 + n * STEP
    with session(url) as s:
        run, _ = store_runs.open_run(s, model_id=model_id, model_name=spec.name, version=None, trigger="schedule",
                                     start=end - dt.timedelta(hours=1), end=end)
        store_runs.save_findings(s, run, list(evaluations))
        return lifecycle.apply_findings(s, run, spec, store_runs.findings_of(s, run.id), "http://mw/r")


def sent(url: str, channel: str = "1:webhook") -> list[list[tuple[str, str]]]:
    """Per notification of ``channel``, in order: the (rule, transition) pairs it carries."""
    with session(url) as s:
        notes = s.scalars(select(Notification).where(Notification.channel == channel).order_by(Notification.id))
        return [[(a["rule"], a["transition"]) for a in n.payload["alerts"]] for n in notes]


def alerts(url: str) -> list[tuple[str, str]]:
    with session(url) as s:
        return [(a.rule, a.state) for a in s.scalars(select(Alert).order_by(Alert.id))]


def test_flapping_metric_raises_one_alert_and_one_notification(db_url):
    spec = make_spec(alerting={"rules": {"recall_drop": {"resolve_after": 3}}})
    model_id = add_model(db_url, spec)
    for n in range(10):  # the metric hovers at its threshold: firing, ok, firing, ok, ...
        check(db_url, model_id, spec, n, recall("firing" if n % 2 == 0 else "ok"))
    assert alerts(db_url) == [("recall_drop", "firing")]
    assert sent(db_url) == [[("recall_drop", "firing")]]
    for n in range(10, 13):  # three clean checks in a row: now it resolves, once
        check(db_url, model_id, spec, n, recall("ok"))
    assert alerts(db_url) == [("recall_drop", "resolved")]
    assert sent(db_url) == [[("recall_drop", "firing")], [("recall_drop", "resolved")]]


def test_model_wide_resolve_after_applies_when_the_rule_sets_none(db_url):
    spec = make_spec(rules={"resolve_after": 2}, alerting={"rules": {"precision_drop": {"resolve_after": 4}}})
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, recall("firing"), precision("firing"))
    check(db_url, model_id, spec, 1, recall("ok"), precision("ok"))
    check(db_url, model_id, spec, 2, recall("ok"), precision("ok"))
    assert alerts(db_url) == [("recall_drop", "resolved"), ("precision_drop", "firing")]


def test_one_grouped_notification_per_run_and_channel(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    changes = check(db_url, model_id, spec, 0, recall("firing"), precision("firing"))
    assert len(changes.fired) == 2 and len(changes.notifications) == 2  # two channels, not four
    assert sent(db_url) == [[("recall_drop", "firing"), ("precision_drop", "firing")]]
    with session(db_url) as s:
        carried = s.execute(select(NotificationAlert.alert_id, NotificationAlert.transition)).all()
    assert sorted(t for _, t in carried) == ["firing"] * 4
    check(db_url, model_id, spec, 1, recall("ok"), precision("firing"))  # one resolves, one keeps firing
    assert sent(db_url)[1:] == [[("recall_drop", "resolved")]]


def test_severity_from_the_spec_and_routing_by_severity(db_url):
    spec = make_spec(alerts=[{"log": {}}, {"webhook": "http://127.0.0.1:9/x", "severities": ["critical"]}],
                     alerting={"rules": {"recall_drop": {"severity": "critical"}}})
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, recall("firing"), precision("firing"))
    with session(db_url) as s:
        assert {a.rule: a.severity for a in s.scalars(select(Alert))} == {"recall_drop": "critical",
                                                                          "precision_drop": "warning"}
    assert sent(db_url, "1:webhook") == [[("recall_drop", "firing")]]
    assert sent(db_url, "0:log") == [[("recall_drop", "firing"), ("precision_drop", "firing")]]


def test_a_severity_change_reroutes_and_the_resolve_follows_the_firing(db_url):
    spec = make_spec(alerts=[{"log": {}}, {"webhook": "http://127.0.0.1:9/x", "severities": ["critical"]}])
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, precision("firing", "warning"))
    assert sent(db_url) == []  # a warning is not for the pager
    check(db_url, model_id, spec, 1, precision("firing", "critical"))
    assert sent(db_url) == [[("precision_drop", "firing")]]  # escalated: now it is
    check(db_url, model_id, spec, 2, precision("firing", "warning"))
    check(db_url, model_id, spec, 3, precision("ok"))
    assert sent(db_url) == [[("precision_drop", "firing")], [("precision_drop", "resolved")]]


def test_still_firing_alerts_repeat_only_after_the_repeat_interval(db_url):
    spec = make_spec(alerting={"repeat_interval": "1h"})
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, recall("firing"))
    check(db_url, model_id, spec, 1, recall("firing"))
    assert sent(db_url) == [[("recall_drop", "firing")]]
    with session(db_url) as s:  # the firing notification went out more than an hour ago
        s.execute(update(Notification).values(created_at=utcnow() - dt.timedelta(hours=1, seconds=1)))
    check(db_url, model_id, spec, 2, recall("firing"))
    check(db_url, model_id, spec, 3, recall("firing"))
    assert sent(db_url) == [[("recall_drop", "firing")], [("recall_drop", "repeat")]]


def test_acknowledged_alert_stays_open_stops_repeats_and_still_resolves(db_url):
    spec = make_spec(alerting={"repeat_interval": "0s"})
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, recall("firing"))
    check(db_url, model_id, spec, 1, recall("firing"))
    assert sent(db_url) == [[("recall_drop", "firing")], [("recall_drop", "repeat")]]
    with session(db_url) as s:
        alert_id = s.scalar(select(Alert.id))
        acked = ack.acknowledge(s, alert_id, actor="cli:alice", reason="looking into it")
        assert (acked.state, acked.acknowledged_by) == ("acknowledged", "cli:alice")
    with session(db_url) as s:
        assert ack.acknowledge(s, alert_id, actor="cli:bob").acknowledged_by == "cli:alice"  # once
        trail = [(e.actor, e.action, e.subject, e.reason) for e in s.scalars(select(AuditEvent))]
    assert trail == [("cli:alice", "acknowledge", f"alert:{alert_id}", "looking into it")]

    check(db_url, model_id, spec, 2, recall("firing"))
    assert len(sent(db_url)) == 2 and alerts(db_url) == [("recall_drop", "acknowledged")]
    with pytest.raises(IntegrityError):  # still the open alert of its rule
        with session(db_url) as s:
            s.add(Alert(model_id=model_id, rule="recall_drop", kind="performance_drop", segment="", state="firing",
                        message="m", first_run_id="x", last_run_id="x", last_window_end=T0))
    with session(db_url) as s:
        assert [a.id for a in lifecycle.list_alerts(s, open_only=True)] == [alert_id]
    check(db_url, model_id, spec, 3, recall("ok"))
    assert alerts(db_url) == [("recall_drop", "resolved")]
    assert sent(db_url)[-1] == [("recall_drop", "resolved")]
    with session(db_url) as s, pytest.raises(Conflict):
        ack.acknowledge(s, alert_id, actor="cli:alice")


def test_silence_holds_notifications_and_its_expiry_restores_them(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    with session(db_url) as s:
        silence_id = silences.create(s, actor="cli:alice", comment="deploy in progress", model="churn",
                                     rule="performance_drop", duration="2h").id
    check(db_url, model_id, spec, 0, recall("firing"))
    check(db_url, model_id, spec, 1, recall("firing"))
    assert alerts(db_url) == [("recall_drop", "firing")] and sent(db_url) == []
    with session(db_url) as s:
        silences.expire(s, silence_id, actor="cli:alice", reason="deploy done")
        assert silences.list_silences(s) == [] and len(silences.list_silences(s, include_expired=True)) == 1
        trail = [(e.action, e.subject) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert trail == [("silence", f"silence:{silence_id}"), ("unsilence", f"silence:{silence_id}")]
    check(db_url, model_id, spec, 2, recall("firing"))
    assert sent(db_url) == [[("recall_drop", "firing")]]


def test_no_resolve_notification_for_a_firing_one_never_sent(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    with session(db_url) as s:
        silences.create(s, actor="cli:alice", comment="known", severity="warning", duration="1h")
    check(db_url, model_id, spec, 0, recall("firing"))
    check(db_url, model_id, spec, 1, recall("ok"))
    assert alerts(db_url) == [("recall_drop", "resolved")] and sent(db_url) == []


def test_a_failed_firing_notification_gets_no_resolve(db_url):
    spec = make_spec()
    model_id = add_model(db_url, spec)
    check(db_url, model_id, spec, 0, recall("firing"))
    with session(db_url) as s:
        s.execute(update(Notification).where(Notification.channel == "1:webhook").values(state="failed"))
    check(db_url, model_id, spec, 1, recall("ok"))
    assert sent(db_url) == [[("recall_drop", "firing")]]
    assert sent(db_url, "0:log")[-1] == [("recall_drop", "resolved")]


def test_silence_needs_a_matcher_a_comment_and_a_future_end(db_url):
    add_model(db_url, make_spec())
    with session(db_url) as s:
        with pytest.raises(ConfigError, match="matcher"):
            silences.create(s, actor="a", comment="x", duration="1h")
        with pytest.raises(ConfigError, match="comment"):
            silences.create(s, actor="a", comment=" ", model="churn", duration="1h")
        with pytest.raises(ConfigError, match="exactly one"):
            silences.create(s, actor="a", comment="x", model="churn")
        with pytest.raises(ConfigError, match="future"):
            silences.create(s, actor="a", comment="x", model="churn", until=utcnow() - dt.timedelta(minutes=1))


def quality(segment: str, status: str) -> RuleEvaluation:
    return RuleEvaluation(rule="data_quality", kind="data_quality", status=status, segment=segment,
                          message=f"{segment} {status}", metric="missing_share", value=0.5, threshold=0.1)


def test_a_wildcard_ok_clears_the_rules_open_alerts_the_run_did_not_find_again_and_no_other_rules(db_url):
    spec = make_spec(alerting={"rules": {"data_quality": {"resolve_after": 1}, "recall_drop": {"resolve_after": 1}}})
    model_id = add_model(db_url, spec)
    first = check(db_url, model_id, spec, 0, quality("amount", "firing"), quality("age", "firing"), recall("firing"))
    assert len(first.fired) == 3 and first.applied
    # the next check finds "age" again, nothing else wrong with the data, and says nothing of recall
    second = check(db_url, model_id, spec, 1, quality("age", "firing"), quality("*", "ok"))
    with session(db_url) as s:
        states = {(a.rule, a.segment): a.state for a in s.scalars(select(Alert))}
    assert states == {("data_quality", "amount"): "resolved", ("data_quality", "age"): "firing",
                      ("recall_drop", ""): "firing"}
    assert len(second.resolved) == 1 and second.fired == [] and second.applied
    again = check(db_url, model_id, spec, 1, quality("*", "ok"))  # the same window's run: applied already
    assert not again.applied and again.resolved == [] and alerts(db_url).count(("data_quality", "firing")) == 1


def test_on_sqlite_a_copy_holding_the_run_from_before_another_copy_applied_it_changes_nothing(sqlite_url):
    """Two copies of the alert stage on SQLite (no row locks): the second read the run before the
    first committed, then waited for the write lock; it must see the run applied and not count its
    clean check a second time."""
    spec = make_spec(alerting={"rules": {"recall_drop": {"resolve_after": 3}}})
    model_id = add_model(sqlite_url, spec)
    check(sqlite_url, model_id, spec, 0, recall("firing"))
    end = T0 + STEP
    with session(sqlite_url) as s:
        run, _ = store_runs.open_run(s, model_id=model_id, model_name=spec.name, version=None, trigger="schedule",
                                     start=end - dt.timedelta(hours=1), end=end)
        store_runs.save_findings(s, run, [recall("ok")])
        run_id = run.id
    with session(sqlite_url) as late:
        stale = store_runs.get_run(late, run_id)  # read before the other copy commits
        findings = store_runs.findings_of(late, run_id)
        with session(sqlite_url) as first:
            applied = lifecycle.apply_findings(first, store_runs.get_run(first, run_id), spec,
                                               store_runs.findings_of(first, run_id), "http://mw/r")
        assert applied.applied and not stale.alerts_applied
        again = lifecycle.apply_findings(late, stale, spec, findings, "http://mw/r")
    assert not again.applied
    with session(sqlite_url) as s:
        assert [(a.state, a.clean_checks) for a in s.scalars(select(Alert))] == [("firing", 1)]

"""The model spec: a valid spec parses with its defaults; every invalid one names the model and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.alerts.channels.log import LogChannel
from monitor.alerts.channels.webhook import WebhookChannel
from monitor.errors import SpecError
from monitor.spec import (
    ModelSpec,
    RecoveryPolicy,
    Task,
    load_spec_file,
    parse_spec,
)

FULL_SPEC = textwrap.dedent(
    """
    models:
      - name: churn
        task: binary_classification
        every: 5m
        window: 2h
        registry_check_delay: 30s
        positive_label: churned
        reference: data/churn-reference.csv
        columns:
          id: rid
          timestamp: when
          numeric: [age, income]
          categorical: [plan, region]
          segments: [plan]
        rules:
          recall_drop_pct: 7.5
          roc_auc_drop_pct: null
          min_labelled_rows: 20
          resolve_after: 3
          drift:
            p_value: 0.05
            min_samples: 30
            numeric_effect: psi
        alerts:
          - webhook: https://hooks.example.com/mw
          - webhook: {url: "http://127.0.0.1:9000/hook", secret: s3cret, timeout: 2}
          - log: {level: error}
        recovery:
          recall_drop:
            - {action: retrain, callable: "models.churn:retrain", after: 10m, cooldown: 1d}
            - {action: rollback, max_version_age: 2d}
          performance_drop: {action: rollback}
      - name: price.v2
        task: regression
    """
)


def _problems(document, source=None) -> list[str]:
    with pytest.raises(SpecError) as caught:
        parse_spec(document, source)
    return caught.value.problems


def _model(**fields) -> dict:
    return {"models": [{"name": "churn", "task": "binary_classification", **fields}]}


def _only_problem(document) -> str:
    problems = _problems(document)
    assert len(problems) == 1, problems
    return problems[0]


# --- valid specs ---------------------------------------------------------------------------------


def test_full_spec_parses(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text(FULL_SPEC)

    churn, price = load_spec_file(path)

    assert churn.name == "churn"
    assert churn.task is Task.binary_classification
    assert churn.every == 300.0
    assert churn.window == 7200.0
    assert churn.registry_check_delay == 30.0
    assert churn.positive_label == "churned"
    assert churn.columns.id == "rid"
    assert churn.columns.timestamp == "when"
    assert churn.columns.features == ["age", "income", "plan", "region"]
    assert churn.columns.segments == ["plan"]
    assert churn.rules.recall_drop_pct == 7.5
    assert churn.rules.roc_auc_drop_pct is None
    assert churn.rules.min_labelled_rows == 20
    assert churn.rules.resolve_after == 3
    assert churn.rules.drift.p_value == 0.05
    assert churn.rules.drift.min_samples == 30
    assert churn.rules.drift.numeric_effect == "psi"
    # untouched rules keep their defaults
    assert churn.rules.precision_drop_pct == 10.0

    channels = [c.parsed() for c in churn.alerts]
    assert [c.type for c in churn.alerts] == ["webhook", "webhook", "log"]
    assert channels[0] == WebhookChannel.Config(url="https://hooks.example.com/mw")
    assert channels[1] == WebhookChannel.Config(url="http://127.0.0.1:9000/hook", secret="s3cret", timeout=2)
    assert channels[2] == LogChannel.Config(level="error")

    retrain, rollback = churn.recovery["recall_drop"]
    assert retrain.action == "retrain"
    assert retrain.callable == "models.churn:retrain"
    assert retrain.after == 600.0
    assert retrain.cooldown == 86400.0
    assert rollback.action == "rollback"
    assert rollback.max_version_age == 2 * 86400.0
    assert rollback.after == 0.0

    assert price.name == "price.v2"
    assert price.task is Task.regression
    assert not price.task.is_classification
    assert churn.task.is_classification


def test_defaults():
    (spec,) = parse_spec(_model())

    assert spec.every == 300.0
    assert spec.window == 3600.0
    assert spec.registry_check_delay == 0.0
    assert spec.positive_label == 1
    assert spec.reference is None
    assert spec.source == "builtin"
    assert spec.recovery == {}
    assert spec.columns.id == "request_id"
    assert spec.columns.timestamp == "ts"
    assert spec.columns.prediction == "prediction"
    assert spec.columns.score == "score"
    assert spec.columns.label == "label"
    assert spec.columns.features == []
    assert [c.type for c in spec.alerts] == ["log"]
    assert spec.alerts[0].parsed() == LogChannel.Config(level="warning")
    rules = spec.rules
    assert (rules.accuracy_drop_pct, rules.precision_drop_pct, rules.recall_drop_pct, rules.f1_drop_pct) == (
        10.0, 10.0, 10.0, 10.0)
    assert rules.roc_auc_drop_pct == 5.0
    assert rules.r2_drop_pct == 10.0
    assert rules.mae_increase_pct == 20.0
    assert rules.rmse_increase_pct == 20.0
    assert rules.min_labelled_rows == 50
    assert rules.resolve_after == 1
    assert rules.drift.enabled is True
    assert rules.drift.p_value == 0.01
    assert rules.drift.min_samples == 100
    assert rules.anomaly is not None and rules.anomaly.method == "ewma"


def test_a_single_model_mapping_is_accepted_without_models():
    (spec,) = parse_spec({"name": "churn", "task": "regression"})
    assert spec.name == "churn"
    assert spec.task is Task.regression


@pytest.mark.parametrize(
    ("written", "seconds"),
    [("5m", 300.0), ("30s", 30.0), ("1h", 3600.0), ("1.5h", 5400.0), ("2d", 172800.0), (90, 90.0), ("45", 45.0)],
)
def test_durations_in_the_spec(written, seconds):
    (spec,) = parse_spec(_model(every=written))
    assert spec.every == seconds


def test_drift_p_value_shortcut_sets_drift_p_value():
    (spec,) = parse_spec(_model(rules={"drift_p_value": 0.05}))
    assert spec.rules.drift.p_value == 0.05


def test_parsed_spec_is_frozen():
    (spec,) = parse_spec(_model())
    with pytest.raises(Exception):
        spec.name = "other"  # type: ignore[misc]


# --- errors name the model and the field --------------------------------------------------------


def test_unknown_field_names_model_and_field():
    problem = _only_problem(_model(rules={"recal_drop_pct": 5}))
    assert problem == 'model "churn", field rules.recal_drop_pct: unknown field'


def test_unknown_top_level_model_field():
    assert _only_problem(_model(windw="1h")) == 'model "churn", field windw: unknown field'


def test_error_message_carries_source_and_problems():
    with pytest.raises(SpecError) as caught:
        parse_spec(_model(rules={"recal_drop_pct": 5}), "models.yaml")
    error = caught.value
    assert error.source == "models.yaml"
    assert str(error) == (
        'models.yaml: invalid model spec:\n  - model "churn", field rules.recal_drop_pct: unknown field'
    )


def test_wrong_task_names_allowed_values():
    problem = _only_problem({"models": [{"name": "churn", "task": "binary"}]})
    assert problem.startswith('model "churn", field task: ')
    for allowed in ("binary_classification", "multiclass_classification", "regression"):
        assert allowed in problem


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5 minutes", "expected a duration like '30s', '5m', '1h' or '2d', got '5 minutes'"),
        ("5x", "expected a duration like '30s', '5m', '1h' or '2d', got '5x'"),
        (-5, "a duration cannot be negative, got -5"),
        (True, "got a boolean"),
        ("0s", "expected at least 1s"),
        ("500ms", "expected at least 1s"),
    ],
)
def test_bad_duration_names_field(value, expected):
    problem = _only_problem(_model(every=value))
    assert problem.startswith('model "churn", field every: ')
    assert expected in problem


def test_bad_duration_inside_recovery_policy():
    problem = _only_problem(_model(recovery={"recall_drop": {"action": "rollback", "after": "soon"}}))
    assert problem.startswith('model "churn", field recovery.recall_drop.0.after: ')
    assert "got 'soon'" in problem


@pytest.mark.parametrize("policy", [{"action": "retrain"}, {"action": "retrain", "callable": "no_colon_here"}])
def test_retrain_without_callable(policy):
    problem = _only_problem(_model(recovery={"recall_drop": policy}))
    assert problem == (
        "model \"churn\", field recovery.recall_drop.0: action 'retrain' needs callable: 'package.module:function'"
    )


def test_unknown_recovery_key_lists_known_ones():
    problem = _only_problem(_model(recovery={"recal_drop": {"action": "rollback"}}))
    assert problem.startswith('model "churn": recovery names unknown rule(s) [\'recal_drop\']')
    for known in ("recall_drop", "performance_drop", "data_drift", "kpi_anomaly", "mae_increase",
                  "estimated_recall_drop", "estimated_performance_drop"):
        assert repr(known) in problem


def test_unknown_recovery_action():
    problem = _only_problem(_model(recovery={"recall_drop": {"action": "reboot"}}))
    assert problem.startswith('model "churn", field recovery.recall_drop.0.action: ')
    assert "rollback" in problem and "retrain" in problem


def test_duplicate_model_names():
    document = {"models": [{"name": "churn", "task": "regression"},
                           {"name": "churn", "task": "binary_classification"}]}
    assert _only_problem(document) == "model name 'churn' appears twice"


def test_bad_channel():
    problem = _only_problem(_model(alerts=[{"pagerduty": "https://x"}]))
    assert problem == (
        "model \"churn\", field alerts.0: unknown alert channel 'pagerduty'; expected one of "
        "['alertmanager', 'email', 'log', 'slack', 'webhook']"
    )


def test_channels_with_severity_routing_and_the_alerting_block():
    spec = parse_spec(_model(
        alerts=[{"slack": "https://hooks.example/x", "severities": ["critical"]}, {"email": "oncall@example.com"},
                {"alertmanager": {"url": "http://am:9093", "labels": {"team": "ml"}}}],
        alerting={"repeat_interval": "30m", "rules": {"recall_drop": {"severity": "critical", "resolve_after": 3},
                                                      "data_drift": {"resolve_after": 5}}}))[0]
    slack, mail, am = spec.alerts
    assert (slack.type, slack.config, slack.routes("critical"), slack.routes("warning")) == (
        "slack", {"url": "https://hooks.example/x"}, True, False)
    assert mail.config == {"to": ["oncall@example.com"]} and mail.routes("warning")
    assert am.parsed().labels == {"team": "ml"}
    assert spec.alerting.repeat_interval == 1800.0
    assert spec.alerting.severity_for("recall_drop", "performance_drop", "warning") == "critical"
    assert spec.alerting.severity_for("f1_drop", "performance_drop", "critical") == "critical"
    assert spec.alerting.resolve_after_for("psi", "data_drift", 1) == 5  # by finding kind
    assert spec.alerting.resolve_after_for("f1_drop", "performance_drop", 2) == 2  # the model's default
    assert parse_spec(spec.model_dump(mode="json"))[0] == spec  # stored and read back unchanged


@pytest.mark.parametrize("fields, words", [
    ({"alerts": [{"slack": "ftp://x"}]}, "field alerts.0.url: expected an http:// or https:// URL"),
    ({"alerts": [{"email": "not-an-address"}]}, "expected one or more email addresses"),
    ({"alerts": [{"email": {"to": "a@b.c", "ssl": True, "starttls": True}}]}, "choose ssl"),
    ({"alerts": [{"log": {}, "severities": ["page"]}]}, "field alerts.0.severities.0"),
    ({"alerting": {"rules": {"recal_drop": {"severity": "critical"}}}}, "unknown rule(s) ['recal_drop']"),
    ({"alerting": {"rules": {"recall_drop": {"severity": "high"}}}}, "field alerting.rules.recall_drop.severity"),
    ({"alerting": {"rules": {"recall_drop": {"resolve_after": 0}}}}, "resolve_after"),
    ({"alerting": {"repeat_interval": "often"}}, "field alerting.repeat_interval"),
])
def test_bad_alerting_settings_name_the_field(fields, words):
    assert words in _only_problem(_model(**fields))


def test_channel_with_two_keys():
    problem = _only_problem(_model(alerts=[{"log": {}, "webhook": "https://x"}]))
    assert problem.startswith('model "churn", field alerts.0: each alert channel is a mapping with one key')


def test_webhook_needs_http_url():
    problem = _only_problem(_model(alerts=[{"log": {}}, {"webhook": "ftp://example.com/hook"}]))
    assert problem == (
        "model \"churn\", field alerts.1.url: expected an http:// or https:// URL, got 'ftp://example.com/hook'"
    )


@pytest.mark.parametrize("name", ["my model", "-churn", "", "x" * 129, "churn/v2"])
def test_bad_model_name(name):
    problem = _only_problem({"models": [{"name": name, "task": "regression"}]})
    assert problem.endswith(
        "field name: expected 1-128 letters, digits, '_', '-' or '.', starting with a letter or digit")
    if name:
        assert problem.startswith(f'model "{name}", ')
    else:
        assert problem.startswith("model #1, ")


def test_missing_name_counts_the_model():
    document = {"models": [{"name": "ok", "task": "regression"}, {"task": "regression"}]}
    assert _only_problem(document) == "model #2, field name: required field is missing"


def test_every_problem_is_reported():
    problems = _problems(_model(task="binary", every="never", rules={"recal_drop_pct": 5}))
    assert len(problems) == 3
    assert all(p.startswith('model "churn", field ') for p in problems)
    assert {p.split(":")[0] for p in problems} == {
        'model "churn", field task', 'model "churn", field every', 'model "churn", field rules.recal_drop_pct'}


def test_features_both_numeric_and_categorical():
    problem = _only_problem(_model(columns={"numeric": ["age"], "categorical": ["age"]}))
    assert problem == "model \"churn\", field columns: columns listed as both numeric and categorical: ['age']"


def test_segment_must_be_categorical():
    problem = _only_problem(_model(columns={"numeric": ["age"], "segments": ["age"]}))
    assert problem == "model \"churn\", field columns: segments ['age'] must also be listed under categorical"


@pytest.mark.parametrize("document", [["churn"], "churn", 42, None])
def test_not_a_mapping(document):
    assert _problems(document, "models.yaml") == ["expected a mapping with a 'models' list at the top"]


def test_mapping_without_models():
    problems = _problems({"model": []})
    assert "field models: required field is missing" in problems
    assert "field model: unknown field" in problems


def test_invalid_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("models:\n  - name: churn\n    task: [regression\n")
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert caught.value.source == str(path)
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("not valid YAML: ")


def test_empty_yaml_file_is_not_a_mapping(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert caught.value.problems == ["expected a mapping with a 'models' list at the top"]


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert caught.value.problems == [f"file not found: {path}"]


def test_errors_in_a_file_name_the_file(tmp_path):
    path = tmp_path / "models.yaml"
    path.write_text("models:\n  - name: churn\n    task: regression\n    rules: {recal_drop_pct: 5}\n")
    with pytest.raises(SpecError) as caught:
        load_spec_file(path)
    assert str(caught.value).startswith(f"{path}: invalid model spec:")
    assert caught.value.problems == ['model "churn", field rules.recal_drop_pct: unknown field']


# --- reference paths, recovery lists, policies_for ------------------------------------------------


def test_relative_reference_resolves_against_the_spec_folder(tmp_path, monkeypatch):
    folder = tmp_path / "specs"
    folder.mkdir()
    path = folder / "models.yaml"
    path.write_text(textwrap.dedent(f"""
        models:
          - {{name: rel, task: regression, reference: data/ref.csv}}
          - {{name: up, task: regression, reference: ../shared/ref.parquet}}
          - {{name: abs, task: regression, reference: {tmp_path / 'abs.csv'}}}
          - {{name: none, task: regression}}
    """))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    rel, up, absolute, none = load_spec_file(Path("..") / "specs" / "models.yaml")

    assert rel.reference == str((folder / "data" / "ref.csv").resolve())
    assert up.reference == str((tmp_path / "shared" / "ref.parquet").resolve())
    assert absolute.reference == str(tmp_path / "abs.csv")
    assert none.reference is None


def test_parse_spec_leaves_relative_reference_alone():
    (spec,) = parse_spec(_model(reference="data/ref.csv"))
    assert spec.reference == "data/ref.csv"


def test_single_recovery_policy_becomes_a_list():
    (spec,) = parse_spec(_model(recovery={"recall_drop": {"action": "rollback", "after": "5m"}}))
    assert spec.recovery == {"recall_drop": [RecoveryPolicy(action="rollback", after=300.0)]}


def test_policies_for_falls_back_from_rule_to_kind():
    (spec,) = parse_spec(_model(recovery={
        "recall_drop": [{"action": "retrain", "callable": "pkg.mod:fn"}, {"action": "rollback"}],
        "performance_drop": {"action": "rollback", "after": "1h"},
    }))

    by_rule = spec.policies_for("recall_drop", "performance_drop")
    assert [p.action for p in by_rule] == ["retrain", "rollback"]
    assert by_rule[0].callable == "pkg.mod:fn"

    by_kind = spec.policies_for("f1_drop", "performance_drop")
    assert [(p.action, p.after) for p in by_kind] == [("rollback", 3600.0)]

    assert spec.policies_for("data_drift", "data_drift") == []


def test_load_callable_reports_unimportable(tmp_path):
    policy = RecoveryPolicy(action="retrain", callable="no_such_module_mw:fn")
    with pytest.raises(SpecError) as caught:
        policy.load_callable()
    assert "recovery callable 'no_such_module_mw:fn' cannot be imported" in caught.value.problems[0]


def test_load_callable_imports():
    import os.path

    policy = RecoveryPolicy(action="retrain", callable="os.path:join")
    assert policy.load_callable() is os.path.join


def test_spec_round_trips_through_json():
    (spec,) = parse_spec(_model(every="5m", recovery={"recall_drop": {"action": "rollback"}},
                                alerts=[{"webhook": "https://x.example"}]))
    again = ModelSpec.model_validate(spec.model_dump(mode="json"))
    assert again == spec

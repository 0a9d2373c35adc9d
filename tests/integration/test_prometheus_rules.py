"""The platform alerts of ``deploy/prometheus/rules.yml``: valid for ``promtool check rules``, and
``promtool test rules`` replays series through them (``deploy/prometheus/rules_test.yml``: each
alert fires for the series that should page and stays quiet for a healthy neighbour). The
Alertmanager config passes ``amtool check-config``. That every metric the rules query is one
``/metrics`` exposes is checked in test_metrics.py, on a real scrape."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT, unavailable

pytestmark = pytest.mark.integration

PROMETHEUS = ROOT / "deploy/prometheus"
ALERTS = ("ModelwatchDown", "ModelwatchCheckOverdue", "ModelwatchQueueBacklog", "ModelwatchBrokerDown",
          "ModelwatchAlertDeliveriesFailing", "ModelwatchRecoveryFailed", "ModelwatchChecksFailing")


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        unavailable(f"{name} is not installed (Debian's {package} package)")
    return path


def _run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, f"{' '.join(command)}:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_rules_pass_promtool_check():
    output = _run(_tool("promtool", "prometheus"), "check", "rules", str(PROMETHEUS / "rules.yml"))
    rules = [r["alert"] for g in yaml.safe_load((PROMETHEUS / "rules.yml").read_text())["groups"] for r in g["rules"]]
    assert set(ALERTS) <= set(rules) and f"{len(rules)} rules found" in output


def test_every_alert_fires_in_the_rules_unit_test():
    tests = yaml.safe_load((PROMETHEUS / "rules_test.yml").read_text())["tests"]
    firing = {case["alertname"] for test in tests for case in test["alert_rule_test"] if case["exp_alerts"]}
    assert set(ALERTS) <= firing, f"no promtool test expects these to fire: {set(ALERTS) - firing}"
    _run(_tool("promtool", "prometheus"), "test", "rules", str(PROMETHEUS / "rules_test.yml"))


def test_alertmanager_config_passes_amtool():
    if shutil.which("amtool") is None:  # optional in scripts/ensure-services.sh, so a skip even in CI
        pytest.skip("amtool is not installed (Debian's prometheus-alertmanager package)")
    _run("amtool", "check-config", str(ROOT / "deploy/alertmanager/alertmanager.yml"))

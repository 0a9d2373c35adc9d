"""A real check, run by a worker, while carbon is down: the check succeeds untouched and the
export task retries on its own queue; once carbon-cache is up the retry lands, and the run's KPIs,
drift scores, service KPIs and open-alert counts are read back from carbon's whisper files."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from monitor.db.migrate import upgrade
from monitor.db.schema import CheckRun, KpiValue
from tests.conftest import session, wait_for
from tests.support.carbon_server import Carbon, carbon  # noqa: F401 (fixture)
from tests.support.scenario import seed_fraud

pytestmark = pytest.mark.integration
MODEL = "fraud.eu"  # a dot in the name: one path component in Graphite (fraud_eu)


def _seed(url: str) -> None:
    """The fraud model with a healthy reference, and a served window whose recall fell to ~0.45."""
    upgrade(url)
    seed_fraud(url, [{"log": {}}], recall=0.45, rows=600, reference_rows=2000, seed=3, name=MODEL)


def _finished(url: str) -> CheckRun | None:
    with session(url) as s:
        return s.scalar(select(CheckRun).where(CheckRun.status.in_(("succeeded", "failed"))))


def test_a_check_survives_a_dead_carbon_and_its_figures_land_in_whisper_once_carbon_is_up(
        embedded_stack, carbon: Carbon):
    url = embedded_stack.database_url
    _seed(url)
    embedded_stack.env.update({"MODELWATCH_GRAPHITE_HOST": carbon.host, "MODELWATCH_GRAPHITE_PORT": str(carbon.port),
                               "MODELWATCH_GRAPHITE_PREFIX": "mw.test"})
    embedded_stack.worker()
    embedded_stack.celery("call", "tasks.check.run_check", "--args", json.dumps([MODEL]))

    run = wait_for(lambda: _finished(url), 60, "the check to finish while carbon is down")
    assert run.status == "succeeded", run.error
    log = embedded_stack.logs / "worker-w1.log"
    wait_for(lambda: "tasks.export.graphite" in log.read_text() and "Retry in" in log.read_text(), 30,
             "the export task to schedule a retry (carbon refused the connection)")

    carbon.start()
    end = int(run.window_end.replace(tzinfo=run.window_end.tzinfo or dt.timezone.utc).timestamp())
    with session(url) as s:
        kpis = {k.name: k.value for k in s.scalars(select(KpiValue).where(KpiValue.run_id == run.id,
                                                                          KpiValue.segment == ""))}

    def point(path: str) -> float | None:
        return carbon.points(f"mw.test.fraud_eu.{path}", end - 5, end + 5).get(end)

    expected = ("kpi.recall", "kpi.accuracy", "service.throughput_rpm", "alerts.open.critical",
                "alerts.open.warning", "alerts.open.total", "drift.amount.score", "drift.amount.drifted",
                "drift.channel.p_value")  # carbon writes each metric's file on its own schedule
    wait_for(lambda: all(point(p) is not None for p in expected), 60, "the retried export in carbon's whisper files")
    assert point("kpi.recall") == pytest.approx(kpis["recall"]) and kpis["recall"] < 0.6
    assert point("kpi.accuracy") == pytest.approx(kpis["accuracy"])
    assert point("service.throughput_rpm") == pytest.approx(kpis["throughput_rpm"])
    assert point("alerts.open.critical") + point("alerts.open.warning") == point("alerts.open.total") >= 1
    assert point("drift.amount.score") >= 0 and point("drift.amount.drifted") in (0, 1)
    assert 0 <= point("drift.channel.p_value") <= 1
    ours = [m for m in carbon.metrics() if not m.startswith("carbon.")]  # carbon also records its own stats
    assert ours and all(m.startswith("mw.test.fraud_eu.") for m in ours)

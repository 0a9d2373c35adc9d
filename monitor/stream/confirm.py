"""The window check's word on streaming alerts: it confirms, keeps or clears them.

A streaming alarm is raised on a chunk of a few dozen rows; the window check, which sees the whole
window, stays the authority. For every open streaming alert of the model it measures the same
statistic over the window's rows from the alarm's first row on and compares it with the limit recorded at the alarm (the running
baseline plus :data:`~monitor.stream.detectors.CONFIRM_SPREADS` baseline spreads, in the alarm's
direction). The verdict is an ordinary rule evaluation under the streaming rule's name, so the
alert lifecycle applies unchanged: ``firing`` keeps the alert open (its channels already heard of
it, so no second notification until ``alerting.repeat_interval``), ``ok`` counts a clean check and
``resolve_after`` clean checks in a row resolve it (the hysteresis of every other rule).

>>> import pandas as pd
>>> frame = pd.DataFrame({"status": ["ok"] * 6 + ["error"] * 4, "score": [0.5] * 10, "latency_ms": [9.0] * 10})
>>> window_statistics(frame)["stream_error_rate"]
0.4
>>> verdict("stream_error_rate", 0.4, {"baseline": 0.0, "limit": 0.15, "direction": "up"}).status
'firing'
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from monitor.detect.findings import RuleEvaluation
from monitor.service import OK_STATUSES
from monitor.stream.detectors import STATISTICS

KIND = "streaming"


def window_statistics(window: pd.DataFrame) -> dict[str, float | None]:
    """Each streamed statistic over a whole window (None where the window logged no such column)."""
    out: dict[str, float | None] = {rule: None for rule in STATISTICS}
    if not len(window):
        return out
    if "status" in window:
        status = window["status"].dropna().astype(str).str.strip().str.lower()
        status = status[status != ""]
        if len(status):
            out["stream_error_rate"] = float((~status.isin(OK_STATUSES)).mean())
    for rule, column in (("stream_latency", "latency_ms"), ("stream_score", "score")):
        if column in window:
            values = pd.to_numeric(window[column], errors="coerce").dropna()
            if len(values):
                out[rule] = float(values.mean())
    return out


def verdict(rule: str, value: float | None, alarm: dict[str, Any] | None) -> RuleEvaluation:
    """The window's verdict on one streaming alert (pure)."""
    statistic = STATISTICS[rule]
    if alarm is None:
        return RuleEvaluation(rule=rule, kind=KIND, status="ok", metric=rule, value=value,
                              message=f"the stream no longer holds an alarm for {statistic.label} (its state was "
                                      f"reset); the window check clears it")
    if value is None:
        return RuleEvaluation(rule=rule, kind=KIND, status="insufficient_data", metric=rule, threshold=alarm["limit"],
                              baseline=alarm["baseline"],
                              message=f"no {statistic.label} was logged in this window to confirm the streaming alarm")
    beyond = value > alarm["limit"] if alarm["direction"] == "up" else value < alarm["limit"]
    verb = "above" if alarm["direction"] == "up" else "below"
    shown, limit = statistic.show(value), statistic.show(alarm["limit"])
    message = (f"window confirms the streaming alarm: {statistic.label} {shown} is {verb} {limit} "
               f"(baseline {statistic.show(alarm['baseline'])})" if beyond else
               f"window {statistic.label} {shown} is back within {limit} (baseline "
               f"{statistic.show(alarm['baseline'])})")
    return RuleEvaluation(rule=rule, kind=KIND, status="firing" if beyond else "ok", metric=rule, value=value,
                          baseline=alarm["baseline"], threshold=alarm["limit"], message=message,
                          severity="critical" if beyond and rule == "stream_error_rate" and value >= 0.2 else "warning")


def open_alarms(session, run) -> list[tuple[str, float | None, dict[str, Any] | None]]:
    """What the window check needs to judge the model's open streaming alerts: per alert, its rule,
    the statistic over the run's window rows from the alarm's first row on, and the alarm.

    Measured from the alarm's first row: the rows before it are the healthy traffic the alarm was
    measured against, and counting them would dilute a real break into a resolve (300 healthy rows
    and 80 broken ones average to a tolerable error rate). Read once per run by the detect stage's
    context (``monitor.check.context``); the ``streaming`` rule turns it into verdicts.
    """
    from monitor.stream.tick import alarms_of, open_streaming_alerts

    alerts = open_streaming_alerts(session, run.model_id)
    if not alerts:
        return []
    alarms = alarms_of(session, run.model_id)
    found = []
    for alert in alerts:
        if alert.rule not in STATISTICS:
            continue
        alarm = alarms.get(alert.rule)
        rows = _window_since(session, run, int((alarm or {}).get("first_id") or 0))
        found.append((alert.rule, window_statistics(rows).get(alert.rule), alarm))
    return found


def for_run(session, run) -> list[RuleEvaluation]:
    """Verdicts on the model's open streaming alerts for one run (what the ``streaming`` rule finds)."""
    return [verdict(rule, value, alarm) for rule, value, alarm in open_alarms(session, run)]


def _window_since(session, run, first_id: int) -> pd.DataFrame:
    """The run's frozen window rows with a row id of at least ``first_id`` (the alarm's first row)."""
    from monitor.store.log_windows import window_rows_since

    return window_rows_since(session, run, first_id, ["status", "score", "latency_ms"])

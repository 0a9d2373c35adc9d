"""Human-readable text of a grouped notification, shared by the Slack, email and log channels.

>>> headline({"model": "churn", "alerts": [{"transition": "firing"}, {"transition": "resolved"}]})
'[modelwatch] churn: 1 firing, 1 resolved'
"""

from __future__ import annotations

from typing import Any

_WORDS = {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED"}


def counts(payload: dict[str, Any]) -> dict[str, int]:
    """How many of the group's alerts fire (new or repeated) and how many resolved."""
    items = payload.get("alerts") or []
    firing = sum(a.get("transition") in ("firing", "repeat") for a in items)
    return {"firing": firing, "resolved": len(items) - firing}


def headline(payload: dict[str, Any]) -> str:
    c = counts(payload)
    parts = [f"{c[k]} {k}" for k in ("firing", "resolved") if c[k]]
    return f"[modelwatch] {payload.get('model')}: {', '.join(parts) or 'no change'}"


def _number(value: Any) -> str:
    return "-" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def alert_line(alert: dict[str, Any]) -> str:
    """``FIRING recall_drop [critical] segment=web: recall 0.45 (baseline 0.9)``"""
    segment = f" segment={alert['segment']}" if alert.get("segment") else ""
    numbers = f"value {_number(alert.get('value'))}, baseline {_number(alert.get('baseline'))}"
    return (f"{_WORDS.get(alert.get('transition'), str(alert.get('transition')).upper())} {alert.get('rule')} "
            f"[{alert.get('severity')}]{segment}: {alert.get('message')} ({numbers})")


def body(payload: dict[str, Any]) -> str:
    """A plain-text body: what changed, the numbers, the window, and where the report is."""
    window = payload.get("window") or {}
    lines = [headline(payload), "",
             f"model {payload.get('model')} version {payload.get('version')}, check run {payload.get('run_id')}",
             f"window {window.get('start')} .. {window.get('end')}", ""]
    lines += [f"- {alert_line(a)}" for a in payload.get("alerts") or []]
    lines += ["", f"report: {payload.get('report_url')}"]
    return "\n".join(lines)

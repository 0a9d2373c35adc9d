"""The report's first screen, for the person on call: what is open, grouped by cause, and what
happens next (this run's recovery actions, rendered rather than dumped as JSON).

Grouping: the alerts of one kind (every feature-drift alert, every performance drop) tell one
story, usually one upstream shift, so they are one group whose line names every subject; the
individual alerts stay listed under it. Same rules as :mod:`monitor.reports.html`: any key may be
missing, every string is escaped.
"""

from __future__ import annotations

import json

from monitor.alerts.policy import OPEN_STATES
from monitor.reports import svg
from monitor.reports.recovery import time_text as when
from monitor.reports.sections import as_dict, as_list, esc, num, subject, table

#: what an alert or finding kind is about, in the words of the person reading the page
CAUSES = {
    "data_drift": "Feature drift", "prediction_drift": "Model output drift", "performance_drop": "Performance drop",
    "estimated_performance_drop": "Estimated performance drop", "service_slo": "Service SLO breach",
    "variance_change": "Variance change", "multivariate_drift": "Joint drift", "data_quality": "Data quality",
    "kpi_anomaly": "KPI anomaly", "interaction_drop": "Interaction drop",
}
_RANK = {"critical": 0, "warning": 1}


def groups(alerts: list[dict]) -> list[tuple[str, list[dict]]]:
    """Open alerts by cause, the most severe cause first."""
    out: dict[str, list[dict]] = {}
    for alert in alerts:
        out.setdefault(str(alert.get("kind") or alert.get("rule") or "other"), []).append(alert)
    return sorted(out.items(), key=lambda kv: (min(_RANK.get(a.get("severity"), 2) for a in kv[1]), -len(kv[1])))


def open_alerts(s: dict) -> str:
    """Open alerts grouped by cause; closed ones of this run in a collapsed list."""
    alerts = [a for a in as_list(s.get("alerts")) if isinstance(a, dict)]
    if not alerts:
        return ""
    live = [a for a in alerts if a.get("state") in OPEN_STATES]
    view = [{"cause": CAUSES.get(kind, kind.replace("_", " ")), "members": members,
             "severity": "critical" if any(a.get("severity") == "critical" for a in members) else "warning",
             "subjects": list(dict.fromkeys(subject(a) for a in members))}
            for kind, members in groups(live)]
    from monitor.reports import templating

    return templating.render("alerts.html.j2", groups=view,
                             closed=[a for a in alerts if a.get("state") not in OPEN_STATES])


def _loss_history(history: dict) -> str:
    """A retrain's per-iteration curves: a small chart and a table of first, best and last values."""
    curves = {str(k): as_list(v) for k, v in history.items() if as_list(v)}
    if not curves:
        return ""
    rows = []
    for name, values in curves.items():
        finite = [f for f in (svg.finite(v) for v in values) if f is not None]
        best = min(finite) if finite else None
        rows.append(f'<tr><td>{esc(name)}</td><td class="num">{len(values)}</td><td class="num">{num(values[0])}</td>'
                    f'<td class="num">{num(best)}</td><td class="num">{num(values[-1])}</td></tr>')
    series = {n: [(f"{i:04d}", v) for i, v in enumerate(vals, start=1)] for n, vals in curves.items()}
    chart = svg.line_chart(series, "Training curves per iteration")
    heads = ["Curve", "Iterations", "First", "Lowest", "Last"]
    return (table(heads, rows, "", frozenset(heads[1:]))
            + f'<figure class="small">{chart}<figcaption>x: training iteration.</figcaption></figure>')


def _action(action: dict) -> dict:
    """An action as the template shows it: sentences, facts, a chart; the raw JSON for collapsing."""
    from markupsafe import Markup

    result = action.get("result")
    details = result if isinstance(result, dict) else {}
    facts = [(k, v) for k, v in details.items() if k not in ("history", "evaluation", "summary")
             and isinstance(v, (str, int, float, bool)) and v is not None]
    return {**action, "eta": Markup(when(action.get("eta"))), "summary": details.get("summary"), "facts": facts,
            "evaluation": as_dict(details.get("evaluation")), "history": Markup(_loss_history(as_dict(details.get("history")))),
            "raw": None if result is None else json.dumps(result, indent=2, sort_keys=True, default=str)}


def next_steps(s: dict) -> str:
    """This run's recovery actions: when each runs (or ran), and what it did."""
    actions = [a for a in as_list(s.get("recovery_actions")) if isinstance(a, dict)]
    if not actions:
        return ""
    from monitor.reports import templating

    return templating.render("next_steps.html.j2", actions=[_action(a) for a in actions])
